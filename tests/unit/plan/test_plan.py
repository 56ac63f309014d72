"""Planning without MCMC: designs, simulation, estimands, seeds, results and the CLI's errors.

Studies that fit models are in ``tests/integration/test_plan_study.py``; here the
per-simulation summaries are computed from hand-made posteriors, and the result objects
from hand-made simulation tables.
"""

from __future__ import annotations

import sys
import warnings

import numpy as np
import pandas as pd
import pytest

import fd_bayes as fdb
from fd_bayes import cli, plan
from fd_bayes.errors import DiagnosticsWarning, SettingsError
from fd_bayes.plan import simstudy, study
from tests.helpers import handmade_fit, small_counts


def tiny_design(**kw) -> plan.PlanDesign:
    args = dict(person_sd=0.3, dispersion=5.0, baseline_slope=0.3)
    args.update(kw)
    return plan.PlanDesign.stated(
        {"11-17": 10, "18-25": 12},
        {"11-17": 20, "18-25": 24},
        {"knife": 0.5, "violence": 0.8},
        **args,
    )


# -- seeds and the study runner ------------------------------------------------------------------
def draw_job(index, seq):
    return {"x": float(np.random.default_rng(seq).random()), "index_seen": index}


def warning_job(index, seq):
    if index == 1:
        raise ValueError("boom")
    warnings.warn("diagnostics failed", DiagnosticsWarning, stacklevel=1)
    return {"ok": True}


def test_sim_seed_equals_spawn():
    children = np.random.SeedSequence(7).spawn(5)
    for i, child in enumerate(children):
        assert (
            simstudy.sim_seed(7, i).generate_state(2).tolist() == child.generate_state(2).tolist()
        )


def test_results_do_not_depend_on_batches():
    a = simstudy.run_study(draw_job, 7, seed=3, workers=1, batch_size=2)
    b = simstudy.run_study(draw_job, 7, seed=3, workers=1, batch_size=7)
    assert [r["sim"] for r in a.records] == list(range(7))
    assert [r["x"] for r in a.records] == [r["x"] for r in b.records]
    c = simstudy.run_study(draw_job, 7, seed=4, workers=1)
    assert [r["x"] for r in a.records] != [r["x"] for r in c.records]
    assert a.where == "this process" and len(a.batches) == 4


def test_a_dask_client_gives_the_same_results_in_any_batching():
    distributed = pytest.importorskip("dask.distributed")
    serial = simstudy.run_study(draw_job, 9, seed=3, workers=1)
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        run = simstudy.run_study(draw_job, 9, seed=3, client=client, batch_size=2)
    assert run.where == "dask cluster (2 workers)" and len(run.batches) == 5
    assert [r["x"] for r in run.records] == [r["x"] for r in serial.records]


def test_warnings_are_recorded_and_errors_do_not_stop_the_study():
    run = simstudy.run_study(warning_job, 3, seed=1, workers=1)  # no warning escapes
    assert [r["error"] for r in run.records] == ["", "ValueError: boom", ""]
    assert run.records[0]["warnings"] == [("DiagnosticsWarning", "diagnostics failed")]
    with pytest.raises(SettingsError):
        simstudy.run_study(draw_job, 0, seed=1)


# -- designs -------------------------------------------------------------------------------
def test_stated_design_and_sizes():
    d = tiny_design()
    assert d.crime_outcomes == [("offending", "knife"), ("offending", "violence")]
    assert len(d.cells) == 4 and d.n_treated == 22 and d.n_control == 44
    d2 = d.with_sizes(45)
    assert d2.treated == {"11-17": 20, "18-25": 25} and d2.control == d.control
    assert d.with_sizes({"11-17": 3, "18-25": 4}).n_treated == 7
    with pytest.raises(SettingsError, match="same age bands"):
        d.with_sizes({"11-17": 3})
    with pytest.raises(SettingsError, match="at least one"):
        d.with_sizes({"11-17": 0, "18-25": 4})


def test_design_from_trial_keeps_sizes_and_gives_plausible_values():
    d = plan.design_from(fdb.example_trial())
    assert d.treated == {"11-17": 20, "18-25": 25} and d.control == {"11-17": 65, "18-25": 85}
    assert len(d.crime_types) == 5 and len(d.outcomes) == 2
    assert (d.cells["rate"] > 0).all()
    assert 0.1 < d.person_sd < 1.5
    assert all(v > 0 for v in d.dispersion.values())
    assert d.baseline_profiles.shape[0] == 195
    assert plan.design_from(fdb.example_trial(), treated=90).n_treated == 90


def test_design_from_fit_recovers_baselines_and_rates():
    fit, post, trial = handmade_fit(small_counts(8), intercept=-0.5, theta=-0.4)
    d = plan.design_from(fit)
    people = trial.data.groupby(trial.person_index())
    assert d.n_treated + d.n_control == trial.n_people
    knife = d.baseline_profiles["offending / knife"].to_numpy()
    truth = (
        trial.data[trial.data["crime_type"] == "knife"]
        .assign(p=trial.person_index()[trial.data["crime_type"].to_numpy() == "knife"])
        .sort_values("p")["pre_count"]
        .to_numpy()
    )
    np.testing.assert_array_equal(knife, truth)
    assert people.ngroups == len(d.baseline_profiles)
    np.testing.assert_allclose(
        np.log(d.cells["rate"]), post["intercept"].mean(axis=(0, 1)), rtol=1e-12
    )
    assert d.person_sd == pytest.approx(post["person_sd"].mean())


# -- simulation --------------------------------------------------------------------------------
def test_simulate_is_deterministic_and_has_the_stated_rates():
    d = tiny_design()
    a, ta = plan.simulate(d, 0.5, 11)
    b, _ = plan.simulate(d, 0.5, 11)
    pd.testing.assert_frame_equal(a.data, b.data)
    c, _ = plan.simulate(d, 0.5, 12)
    assert not a.data["post_count"].equals(c.data["post_count"])
    assert ta.rr(plan.Estimand()) == pytest.approx(0.5)
    # no person effect, no slope: the control rate is the stated one
    big = plan.PlanDesign.stated(
        {"all": 10},
        {"all": 20000},
        {"knife": 0.5},
        person_sd=0.0,
        baseline_slope=0.0,
        custody_share=0.0,
    )
    trial, _ = plan.simulate(big, 1.0, 1)
    ctrl = trial.data[trial.data["arm"] == "control"]
    assert ctrl["post_count"].mean() == pytest.approx(0.5, rel=0.05)


def test_the_effect_lowers_the_treated_arms_rate_not_the_controls():
    """Catches a rate ratio applied to the wrong arm (or inverted): with RR 0.4 the
    treated mean count is 0.4 x the stated rate and the control mean the rate itself."""
    big = plan.PlanDesign.stated(
        {"all": 20000},
        {"all": 20000},
        {"knife": 0.5},
        person_sd=0.0,
        baseline_slope=0.0,
        custody_share=0.0,
    )
    trial, _ = plan.simulate(big, 0.4, 2)
    means = trial.data.groupby("arm")["post_count"].mean()
    assert means["control"] == pytest.approx(0.5, rel=0.04)
    assert means["treatment"] == pytest.approx(0.2, rel=0.06)


def test_truth_of_aggregated_estimands_weights_by_expected_counts():
    d = tiny_design()
    _, truth = plan.simulate(d, {"knife": 0.5}, 3)
    overall = truth.rr(plan.Estimand())
    cells = truth.cells
    expect = (cells["mu0"] * cells["rr"]).sum() / cells["mu0"].sum()
    assert overall == pytest.approx(expect) and 0.5 < overall < 1.0
    assert truth.rr(plan.Estimand("crime_type", "offending", "knife")) == pytest.approx(0.5)
    assert truth.rr(plan.Estimand("crime_type", "offending", "violence")) == pytest.approx(1.0)


def test_effect_distribution_and_discount():
    fit, _, _ = handmade_fit(small_counts(8), intercept=-0.5, theta=-0.4, theta_sd=0.3)
    e1 = plan.effect_from(fit)
    e2 = plan.effect_from(fit, discount=4.0)
    rng1, rng2 = np.random.default_rng(1), np.random.default_rng(1)
    d1 = np.log([e1.draw(rng1)[k] for k in sorted(e1.draw(rng1))])
    draws1 = np.array([list(e1.draw(rng1).values()) for _ in range(400)])
    draws2 = np.array([list(e2.draw(rng2).values()) for _ in range(400)])
    assert d1.size == 4
    ratio = np.log(draws2).std(axis=0) / np.log(draws1).std(axis=0)
    assert np.allclose(ratio, 2.0, rtol=0.2)  # variance x4 -> SD x2
    with pytest.raises(SettingsError, match="discount"):
        plan.effect_from(fit, discount=0.5)
    with pytest.raises(SettingsError, match="not in the design"):
        plan.assurance(tiny_design(), {"robbery": 0.5}, n_sims=1, workers=1)
    with pytest.raises(SettingsError, match="rate ratio"):
        plan.assurance(tiny_design(), "big", n_sims=1, workers=1)


# -- estimands and decisions --------------------------------------------------------------------
def test_estimand_parsing():
    d = tiny_design(outcomes=("offending", "victimisation"))
    assert plan.Estimand.parse("overall", d) == plan.Estimand("overall", "offending")
    assert plan.Estimand.parse("knife", d).level == "crime_type"
    assert plan.Estimand.parse("knife/11-17", d) == plan.Estimand(
        "cell", "offending", "knife", "11-17"
    )
    assert plan.Estimand.parse("18-25", d).level == "age_band"
    assert plan.Estimand.parse("victimisation:knife", d).outcome == "victimisation"
    dec = plan.Decision.parse("knife", d)
    assert dec.describe() == "a reduction in knife offending with probability above 95%"
    with pytest.raises(SettingsError, match="crime type"):
        plan.Decision.parse("robbery", d)
    with pytest.raises(SettingsError):
        plan.Decision.parse({"prob": 1.5}, d)


def test_summarise_fit_from_a_handmade_posterior():
    fit, _, _ = handmade_fit(small_counts(8), intercept=-0.5, theta=-1.0, theta_sd=0.1)
    dec = plan.Decision.parse(None, plan.design_from(fit))
    rec = plan.summarise_fit(fit, dec.estimand, dec, true_rr=np.exp(-1.0))
    assert rec["success"] and rec["p_reduction"] == 1.0
    assert rec["covered"] and rec["rr_lower"] < rec["rr_median"] < rec["rr_upper"]
    assert rec["headline_rhat"] < 1.02
    miss = plan.summarise_fit(fit, dec.estimand, dec, true_rr=1.0)
    assert not miss["covered"]


# -- results ------------------------------------------------------------------------------------
def fake_sims(n, p_success, seed=0, failing=0):
    rng = np.random.default_rng(seed)
    success = rng.random(n) < p_success
    return pd.DataFrame(
        {
            "sim": np.arange(n),
            "true_rr": 0.6,
            "rr_median": np.where(success, 0.5, 0.9),
            "success": success,
            "freq_success": success & (rng.random(n) < 0.7),
            "covered": rng.random(n) < 0.95,
            "max_rhat": np.r_[np.full(failing, 1.05), np.full(n - failing, 1.001)],
            "min_ess_bulk": 500.0,
            "min_ess_tail": 500.0,
            "divergences": 0,
            "headline_rhat": 1.0,
            "headline_ess_bulk": 600.0,
            "headline_ess_tail": 600.0,
            "p_decision": 0.9,
            "warnings": [[] for _ in range(n)],
            "error": "",
        }
    )


def fake_assurance(design, p=0.8, n=200, null=None, failing=0):
    dec = plan.Decision.parse(None, design)
    return plan.Assurance(
        sims=fake_sims(n, p, failing=failing),
        design=design,
        decision=dec,
        settings=plan.FitSettings(),
        effect_label="as the example suggests",
        seed=1,
        n_sims=n,
        null=null,
    )


def test_assurance_result_numbers_and_text():
    d = tiny_design()
    null = fake_assurance(d, p=0.03)
    res = fake_assurance(d, p=0.8, null=null, failing=3)
    assert res.probability == pytest.approx(res.sims["success"].mean())
    assert res.mc_error == pytest.approx(np.sqrt(res.probability * (1 - res.probability) / 200))
    assert res.false_positive_rate == pytest.approx(null.probability)
    tallies = res.diagnostics()
    assert tallies["rhat_over_1.01"] == 3 and tallies["any_failure"] == 3
    table = res.table()
    assert list(table["scenario"]) == ["effect", "effect", "no effect", "no effect"]
    text = res.summary()
    assert text.startswith("With 10 and 12 young people treated, a replication has an estimated")
    assert "wrongly show one" in text and "3 of 200 simulated fits failed" in text
    assert "| scenario |" in res.markdown()


def test_sample_size_table_plot_and_files(monkeypatch, tmp_path):
    d = tiny_design()
    probs = {22: 0.5, 44: 0.75, 66: 0.9}

    def fake(design, effect, **kw):
        return fake_assurance(design, p=probs[design.n_treated], n=400)

    monkeypatch.setattr(study, "assurance", fake)
    res = plan.sample_size(d, 0.6, target=0.8, sizes=[22, 44, 66], n_sims=400)
    assert res.table()["n_treated"].tolist() == [22, 44, 66]
    assert res.smallest.design.n_treated == 66
    assert "66 treated" in res.summary()
    paths = plan.write_plan(res, tmp_path / "plan")
    names = {p.name for p in paths}
    assert {"assurance.csv", "plan.md", "assurance_curve.png", "assurance_curve.svg"} <= names
    assert "warnings" not in pd.read_csv(tmp_path / "plan" / "simulations.csv").columns


def test_parse_sizes():
    assert plan.parse_sizes(["11-17=40", " 18-25 = 50"]) == {"11-17": 40, "18-25": 50}
    with pytest.raises(SettingsError, match="BAND=NUMBER"):
        plan.parse_sizes(["40"])


# -- CLI ---------------------------------------------------------------------------------
def run_cli(monkeypatch, capsys, *args):
    monkeypatch.setattr(sys, "argv", ["fd-bayes", *args])
    with pytest.raises(SystemExit) as info:
        cli.main()
    return info.value.code, capsys.readouterr().err


def test_plan_cli_errors(monkeypatch, capsys, tmp_path):
    code, err = run_cli(monkeypatch, capsys, "plan", "--from", str(tmp_path / "no"), "--out", "o")
    assert code == 2 and "does not exist" in err
    (tmp_path / "empty").mkdir()
    code, err = run_cli(
        monkeypatch, capsys, "plan", "--from", str(tmp_path / "empty"), "--out", "o"
    )
    assert code == 2 and "holds no fit.nc" in err
    data = tmp_path / "data.csv"
    small_counts(6).to_csv(data, index=False)
    code, err = run_cli(
        monkeypatch,
        capsys,
        "plan",
        "--from",
        str(data),
        "--out",
        str(tmp_path / "p"),
        "--treated",
        "40",
    )
    assert code == 2 and "BAND=NUMBER" in err and "Traceback" not in err
    code, err = run_cli(
        monkeypatch, capsys, "plan", "--from", str(data), "--out", str(tmp_path / "p")
    )
    assert code == 2 and "--effect posterior needs" in err


# -- calibration results (hand-made ranks) ------------------------------------------------
def test_calibration_table_and_summary_from_handmade_ranks(tmp_path):
    from fd_bayes.plan.calibrate import Calibration

    rng = np.random.default_rng(0)
    n = 200
    ranks = pd.DataFrame(
        {
            "sim": np.tile(np.arange(n), 2),
            "parameter": np.repeat(["effect_overall", "person_sd"], n),
            "true": 0.0,
            # uniform ranks for one parameter, ranks piled at the top for the other
            "rank": np.r_[rng.integers(0, 100, n), rng.integers(90, 100, n)],
            "in_50": np.r_[rng.random(n) < 0.5, np.zeros(n, bool)],
            "in_95": np.r_[rng.random(n) < 0.95, rng.random(n) < 0.5],
        }
    )
    sims = pd.DataFrame(
        {
            "sim": np.arange(n + 2),
            "rejected": [False] * n + [True, True],
            "max_rhat": 1.0,
            "min_ess_bulk": 500.0,
            "min_ess_tail": 500.0,
            "divergences": 0,
            "warnings": [[] for _ in range(n + 2)],
            "error": "",
        }
    )
    cal = Calibration(sims, ranks, plan.FitSettings(), tiny_design(), 1, 99, 100)
    t = cal.table().set_index("parameter")
    assert t.loc["effect_overall", "p_uniform"] > 0.001
    assert t.loc["person_sd", "p_uniform"] < 1e-6 and t.loc["person_sd", "mean_rank"] > 0.9
    assert cal.rejected == 2 and cal.diagnostics()["fits"] == n
    assert "200 fitted, 2 rejected (a count above 100)" in cal.summary()
    cal.plot(tmp_path / "ranks.png")
    assert (tmp_path / "ranks.png").exists()


# -- sampler settings of the simulated fits ------------------------------------------------
def test_fit_settings_hold_a_sampler_settings_and_keep_the_old_fields():
    from fd_bayes.inference import SamplerSettings

    old = plan.FitSettings(draws=100, tune=150, chains=2)
    assert isinstance(old.sampling, SamplerSettings)
    assert (old.draws, old.tune, old.chains, old.cores) == (100, 150, 2, 1)
    assert not old.sampling.progress
    assert plan.FitSettings().sampling == plan.PLAN_SAMPLING
    new = plan.FitSettings("negbin_hier", sampling=SamplerSettings(draws=100, tune=150, chains=2))
    assert new.draws == 100 and new.cores is None and not new.sampling.progress
    assert old.describe() == (
        "negbin_hier, 2 chains x 100 draws after 150 warm-up, target_accept 0.9, sampler auto"
    )


def test_studies_take_sampler_settings_or_keywords_not_both():
    from fd_bayes.inference import SamplerSettings
    from fd_bayes.plan.calibrate import calibrate
    from fd_bayes.plan.settings import plan_sampler_settings

    given = SamplerSettings(draws=123, chains=3, cores=4, progress=True)
    s = plan_sampler_settings(given)
    assert (s.draws, s.chains, s.cores, s.progress) == (123, 3, 1, False)
    assert plan_sampler_settings(draws=50).replace(draws=plan.PLAN_DRAWS) == plan.PLAN_SAMPLING
    with pytest.raises(SettingsError, match="not both"):
        plan.assurance(tiny_design(), 0.6, n_sims=1, workers=1, draws=100, settings=given)
    with pytest.raises(SettingsError, match="not both"):
        plan.sample_size(tiny_design(), 0.6, sizes=[22], n_sims=1, chains=2, settings=given)
    with pytest.raises(SettingsError, match="not both"):
        calibrate("negbin_hier", tiny_design(), n_sims=1, tune=10, settings=given)
    with pytest.raises(SettingsError, match="SamplerSettings"):
        plan.assurance(tiny_design(), 0.6, n_sims=1, workers=1, settings={"draws": 100})
    with pytest.raises(SettingsError, match="draws"):  # validated once, before any simulation
        plan.assurance(tiny_design(), 0.6, n_sims=1, workers=1, draws=0)
