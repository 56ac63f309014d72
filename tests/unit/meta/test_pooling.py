"""Pooling trials from individual data (issue 7): concat, the multi-trial design, the
trial and new-trial rows of the effects table (hand-made draws, no MCMC)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import fd_bayes as fdb
from fd_bayes.data.simulate_sites import simulate_sites
from fd_bayes.inference import idata as infd
from fd_bayes.modelling import Design, build_model, resolve_structure
from fd_bayes.modelling.spec import load_spec
from fd_bayes.results.effects import EFFECT_COLUMNS
from fd_bayes.results.fit import NEW_TRIAL_SEED_OFFSET, Fit
from tests.helpers import small_counts


def _two_trials(harm_b=None):
    a = fdb.Trial.from_counts(small_counts(4, seed=1), harm_weights={"knife": 3.0, "violence": 1.0})
    # trial b: other crime types, one age band, person ids that repeat trial a's
    b_counts = small_counts(5, crime_types=("knife", "robbery"), seed=2)
    b_counts = b_counts[b_counts["age_band"] == "18-25"]
    b = fdb.Trial.from_counts(b_counts, harm_weights=harm_b)
    return a, b


def test_concat_labels_trials_and_keeps_people_apart():
    a, b = _two_trials()
    t = fdb.Trial.concat([a, b], names=["A", "B"])
    assert t.trials == ["A", "B"]
    assert t.n_people == a.n_people + b.n_people  # repeated ids are different people
    assert set(t.crime_types) == {"knife", "violence", "robbery"}
    # absent cells stay absent: trial B has no violence rows, trial A no robbery rows
    d = t.data
    assert not ((d["trial"] == "B") & (d["crime_type"] == "violence")).any()
    assert not ((d["trial"] == "A") & (d["crime_type"] == "robbery")).any()
    assert len(d) == len(a.data) + len(b.data)


def test_concat_names_default_and_errors():
    a, b = _two_trials()
    a.name, b.name = "first", "second"
    assert fdb.Trial.concat([a, b]).trials == ["first", "second"]
    with pytest.raises(fdb.DataError, match="distinct"):
        fdb.Trial.concat([a, b], names=["x", "x"])
    with pytest.raises(fdb.DataError, match="one name per trial"):
        fdb.Trial.concat([a, b], names=["x"])
    pooled = fdb.Trial.concat([a, b], names=["x", "y"])
    with pytest.raises(fdb.DataError, match="already holds 2 trials"):
        fdb.Trial.concat([pooled, a], names=["p", "a"])


def test_concat_harm_weights_merge_or_conflict():
    a, b = _two_trials(harm_b={"knife": 3.0, "robbery": 2.0})
    t = fdb.Trial.concat([a, b], names=["A", "B"])
    assert t.harm_weights == {"knife": 3.0, "violence": 1.0, "robbery": 2.0}
    a, b = _two_trials(harm_b={"knife": 5.0, "robbery": 2.0})
    with pytest.raises(fdb.DataError, match="conflict for crime type 'knife'"):
        fdb.Trial.concat([a, b], names=["A", "B"])
    a, b = _two_trials(harm_b=None)  # weights that do not cover robbery are dropped
    assert fdb.Trial.concat([a, b], names=["A", "B"]).harm_weights is None


def test_multi_trial_design_has_per_trial_cells_and_round_trips():
    a, b = _two_trials()
    t = fdb.Trial.concat([a, b], names=["A", "B"])
    d = Design.from_trial(t)
    assert d.trials == ["A", "B"]
    # A: 2 crime types x 2 age bands; B: 2 crime types x 1 age band
    assert len(d.cells) == 6
    assert list(d.cells.groupby("trial").size()) == [4, 2]
    _, labels = d.base_cells()
    assert len(labels) == 5  # knife 18-25 is shared by both trials
    assert d.coords["trial"] == ["A", "B"]
    # baseline centred within crime type x outcome x trial
    rows = t.data["trial"] == "B"
    assert d.x_pre[rows.to_numpy()].mean() == pytest.approx(0.0, abs=1e-12)
    back = Design.from_dataset(d.to_dataset())
    assert back.trials == ["A", "B"]
    assert (back.cell_trial_idx == d.cell_trial_idx).all()
    single = Design.from_dataset(Design.from_trial(a).to_dataset())
    assert single.trials == [""] and not single.multi_trial


def test_pooled_spec_structure_and_notes():
    a, b = _two_trials()
    spec = load_spec("negbin_pooled")
    assert spec.treatment["trial"] == "pooled"
    assert spec.priors["trial_sd"].describe() == "HalfNormal(sigma=0.5)"
    multi = Design.from_trial(fdb.Trial.concat([a, b], names=["A", "B"]))
    s = resolve_structure(spec, multi)
    assert s.treatment["trial"] == "pooled"  # two trials keep the variance, with a note
    assert any("Only 2 trials" in n for n in s.notes)
    model, _ = build_model(spec, multi, s)
    names = {v.name for v in model.free_RVs}
    # trial_sd = |trial_sd_signed| (a folded half-normal, see pymc_model._folded_rv)
    assert {"trial_sd_signed", "z_trial"} <= names
    assert {"trial_sd", "trial_effect"} <= {v.name for v in model.deterministics}
    single = resolve_structure(spec, Design.from_trial(a))
    assert single.treatment["trial"] == "none"
    assert "Treatment trial term left out: there is only one level." in single.notes
    common = resolve_structure(load_spec("negbin_hier"), multi)
    assert any("common treatment effect" in n for n in common.notes)
    model, _ = build_model(load_spec("negbin_hier"), multi, common)
    assert "trial_sd" not in {v.name for v in model.free_RVs}


def test_spec_hash_of_single_trial_specs_unchanged_by_trial_term():
    # a spec without a trial term hashes as before the term existed
    spec = load_spec("negbin_hier")
    raw = spec.to_dict()
    raw["treatment"].pop("trial")
    from fd_bayes.modelling.spec import spec_from_dict

    assert spec_from_dict(raw).content_hash == spec.content_hash


# --- effects of a hand-made pooled fit -----------------------------------------------------


def _handmade_pooled(tau: float = 0.3, n_draw: int = 300, seed: int = 0, hurdle: bool = False):
    trial, _ = simulate_sites(3, 8, 16, tau=0.3, seed=5)
    design = Design.from_trial(trial)
    rng = np.random.default_rng(seed)
    n_chain, n_cell, n_co, n_t = 2, len(design.cells), len(design.crime_outcomes), 3
    eta = rng.normal([0.4, -0.4, 0.0], 0.05, (n_chain, n_draw, n_t))
    base = rng.normal(-0.5, 0.05, (n_chain, n_draw, n_cell))
    post = {
        "intercept": rng.normal(-0.5, 0.1, (n_chain, n_draw, n_cell)),
        "baseline_slope": rng.normal(0.3, 0.05, (n_chain, n_draw, n_co)),
        "person_sd": np.abs(rng.normal(0.5, 0.05, (n_chain, n_draw))),
        "z_person": rng.normal(0, 1, (n_chain, n_draw, design.n_people)),
        "trial_sd": np.full((n_chain, n_draw), tau),
        "trial_effect": eta,
        "theta": base + eta[..., design.cell_trial_idx],
    }
    if hurdle:  # a hurdle NB: dispersion and zero part per crime type x outcome
        post["dispersion"] = rng.gamma(20.0, 0.1, (n_chain, n_draw, n_co))
        post["hurdle_intercept"] = rng.normal(0.8, 0.1, (n_chain, n_draw, n_co))
        post["hurdle_treated"] = rng.normal(0.3, 0.1, (n_chain, n_draw))
    dims = {
        "dispersion": ["crime_outcome"],
        "hurdle_intercept": ["crime_outcome"],
        "intercept": ["cell"],
        "theta": ["cell"],
        "baseline_slope": ["crime_outcome"],
        "z_person": ["person"],
        "trial_effect": ["trial"],
    }
    idata = infd.from_dict(
        posterior=post,
        sample_stats={"diverging": np.zeros((n_chain, n_draw), bool)},
        dims=dims,
        coords=design.coords,
    )
    infd.add_groups(idata, {"constant_data": design.to_dataset()})
    idata.posterior.attrs.update({"seed": 11})
    return Fit(idata, load_spec("negbin_pooled"), design), post, design


def _mu(post, design):
    rows = np.flatnonzero(design.treated == 1)
    flat = {k: v.reshape(-1, *v.shape[2:]) for k, v in post.items()}
    c, co, p = design.cell_idx[rows], design.co_idx[rows], design.person_idx[rows]
    mu0 = np.exp(
        flat["intercept"][:, c]
        + flat["baseline_slope"][:, co] * design.x_pre[rows]
        + flat["person_sd"][:, None] * flat["z_person"][:, p]
    )
    return rows, mu0, mu0 * np.exp(flat["theta"][:, c]), flat


def test_trial_rows_are_g_computed_within_each_trial():
    fit, post, design = _handmade_pooled()
    table = fit.effects()
    assert list(table.columns) == EFFECT_COLUMNS
    assert EFFECT_COLUMNS[-3:] == ["trial", "sd_ratio", "informed"]  # extended at the end
    assert {"trial", "new_trial"} <= set(table["level"])
    assert (table.loc[~table["level"].isin(["trial"]), "trial"] == "all").all()
    rows, mu0, mu1, _ = _mu(post, design)
    trial_of = design.cell_trial_idx[design.cell_idx[rows]]
    crime = design.cells["crime_type"].to_numpy()[design.cell_idx[rows]]
    for t, label in enumerate(design.trials):
        m = trial_of == t
        got = table[(table["level"] == "trial") & (table["trial"] == label)]
        overall = got[got["crime_type"] == "all"].iloc[0]
        rr = mu1[:, m].sum(1) / mu0[:, m].sum(1)
        assert overall["rr_median"] == pytest.approx(np.median(rr))
        assert overall["n_treatment"] == 8
        knife = got[got["crime_type"] == "knife"].iloc[0]
        mk = m & (crime == "knife")
        assert knife["rr_median"] == pytest.approx(np.median(mu1[:, mk].sum(1) / mu0[:, mk].sum(1)))
    # site 1 (eta +0.4) has a weaker effect than site 2 (eta -0.4)
    tr = table[(table["level"] == "trial") & (table["crime_type"] == "all")].set_index("trial")
    assert tr.loc["site 1", "rr_median"] > tr.loc["site 2", "rr_median"]
    assert "HalfNormal(sigma=0.5)" in tr.loc["site 1", "note"]


def test_new_trial_rows_replace_the_site_effect_by_a_fresh_draw():
    fit, post, design = _handmade_pooled(tau=0.3)
    table = fit.effects()
    rows, mu0, mu1, flat = _mu(post, design)
    trial_of = design.cell_trial_idx[design.cell_idx[rows]]
    z = np.random.default_rng(11 + NEW_TRIAL_SEED_OFFSET).standard_normal(mu0.shape[0])
    eta_new = flat["trial_sd"] * z
    mu_new = mu1 * np.exp(eta_new[:, None] - flat["trial_effect"][:, trial_of])
    rr = mu_new.sum(1) / mu0.sum(1)
    got = table[(table["level"] == "new_trial") & (table["crime_type"] == "all")].iloc[0]
    assert got["rr_median"] == pytest.approx(np.median(rr))
    assert got["p_reduction"] == pytest.approx((rr < 1).mean())
    # the new site is more uncertain than the pooled cohort
    overall = table[table["level"] == "overall"].iloc[0]
    assert got["rr_upper"] - got["rr_lower"] > overall["rr_upper"] - overall["rr_lower"]
    # with no heterogeneity the new site is the mean site (eta = 0)
    fit0, post0, _ = _handmade_pooled(tau=1e-12)
    t0 = fit0.effects()
    _, mu0_, mu1_, flat0 = _mu(post0, design)
    mean_site = (mu1_ * np.exp(-flat0["trial_effect"][:, trial_of])).sum(1) / mu0_.sum(1)
    got0 = t0[(t0["level"] == "new_trial") & (t0["crime_type"] == "all")].iloc[0]
    assert got0["rr_median"] == pytest.approx(np.median(mean_site))


def test_new_trial_rows_of_a_hurdle_model_shift_the_count_part_not_the_mean():
    """For the hurdle NB, E[y] = (1 - p0) mu / (1 - NB0) is not proportional to mu: the
    new site's shift must be applied to mu before the mean is taken."""
    fit, post, design = _handmade_pooled(tau=0.5, hurdle=True)
    table = fit.effects()
    rows, mu0, mu1, flat = _mu(post, design)
    trial_of = design.cell_trial_idx[design.cell_idx[rows]]
    co = design.co_idx[rows]
    z = np.random.default_rng(11 + NEW_TRIAL_SEED_OFFSET).standard_normal(mu0.shape[0])
    shift = np.exp((flat["trial_sd"] * z)[:, None] - flat["trial_effect"][:, trial_of])
    phi = flat["dispersion"][:, co]

    def hurdle_mean(mu, treated):
        nb0 = stats.nbinom.pmf(0, phi, phi / (phi + mu))
        logit_p0 = np.log(nb0 / (1 - nb0)) + flat["hurdle_intercept"][:, co]
        logit_p0 = logit_p0 + flat["hurdle_treated"][:, None] * treated
        return mu / (1 - nb0) / (1 + np.exp(logit_p0))

    rr = hurdle_mean(mu1 * shift, 1).sum(1) / hurdle_mean(mu0, 0).sum(1)
    got = table[(table["level"] == "new_trial") & (table["crime_type"] == "all")].iloc[0]
    assert got["rr_median"] == pytest.approx(np.median(rr), rel=1e-9)
    # the old approximation (shifting E[y] itself) gives a different answer here
    approx = (hurdle_mean(mu1, 1) * shift).sum(1) / hurdle_mean(mu0, 0).sum(1)
    assert abs(np.median(approx) - np.median(rr)) > 1e-3


def test_single_trial_tables_have_no_trial_rows(counts):
    from tests.helpers import handmade_fit

    fit, _, _ = handmade_fit(counts, intercept=-0.5, theta=-0.3)
    table = fit.effects()
    assert not table["level"].isin(["trial", "new_trial"]).any()
    assert (table["trial"] == "all").all()


def test_simulate_sites_truth():
    trial, truth = simulate_sites(
        4, [10, 12, 8, 10], 20, site_effects=[0.1, -0.2, 0.0, 0.3], rate_ratio=0.5, seed=2
    )
    assert trial.trials == ["site 1", "site 2", "site 3", "site 4"]
    assert trial.n_treated == 40
    assert truth.sites["eta"].tolist() == [0.1, -0.2, 0.0, 0.3]
    c = truth.cells.set_index(["trial", "crime_type"])["rr"]
    assert c[("site 2", "knife")] == pytest.approx(0.5 * np.exp(-0.2))
    again, _ = simulate_sites(
        4, [10, 12, 8, 10], 20, site_effects=[0.1, -0.2, 0.0, 0.3], rate_ratio=0.5, seed=2
    )
    assert again.data_hash() == trial.data_hash()


# --- aggregate tables, two-stage combination, CLI errors (no MCMC) -------------------------


def test_read_aggregate_accepts_yi_vi_sei_or_counts(tmp_path):
    from fd_bayes import meta
    from fd_bayes.data.aggregate import read_aggregate

    labels, yi, vi = read_aggregate(
        pd.DataFrame({"trial": ["a", "b"], "yi": [-0.5, 0.1], "sei": [0.2, 0.3]})
    )
    assert labels == ["a", "b"] and vi == pytest.approx([0.04, 0.09])
    counts = pd.DataFrame(
        {
            "trial": ["a", "b"],
            "events_t": [10, 0],
            "exposure_t": [50.0, 20.0],
            "events_c": [30, 4],
            "exposure_c": [100.0, 21.0],
        }
    )
    path = tmp_path / "trials.csv"
    counts.to_csv(path, index=False)
    _, yi, vi = read_aggregate(path)
    want = meta.log_rate_ratio([10, 0], [50.0, 20.0], [30, 4], [100.0, 21.0])
    assert yi == pytest.approx(want[0]) and vi == pytest.approx(want[1])
    with pytest.raises(fdb.DataError, match="needs columns yi and vi"):
        read_aggregate(pd.DataFrame({"trial": ["a"], "estimate": [1.0]}))
    with pytest.raises(fdb.DataError, match="column 'trial'"):
        read_aggregate(pd.DataFrame({"yi": [1.0], "vi": [1.0]}))


def test_bayes_combined_is_two_stage(monkeypatch):
    from fd_bayes import meta
    from fd_bayes.inference import SamplerSettings
    from fd_bayes.meta import two_stage
    from tests.helpers import report_fit

    fit, _ = report_fit()
    captured = {}

    def fake_bayes(y, s, labels=None, **kwargs):
        captured.update(y=y, s=s, labels=labels, kwargs=kwargs)
        return meta.BayesMetaResult(None, list(labels), y, s, {"mu": "x"}, "none")

    monkeypatch.setattr(two_stage, "bayes", fake_bayes)
    res = meta.bayes_combined(fit, [-0.3, -0.1], [0.2, 0.25], labels=["B", "C"], seed=4)
    y0, s0 = meta.from_fit(fit)
    assert captured["y"] == pytest.approx([y0, -0.3, -0.1])
    assert captured["s"] == pytest.approx([s0, 0.2, 0.25])
    assert captured["labels"] == ["hand-made test trial (IPD)", "B", "C"]
    assert captured["kwargs"] == {"seed": 4}
    assert res.prior["method"].startswith("two-stage: 1 IPD trial(s)")
    settings = SamplerSettings(draws=10)
    meta.bayes_combined(fit, [-0.3], [0.2], labels=["B"], settings=settings)
    assert captured["kwargs"] == {"settings": settings}  # stage 2's sampler settings
    with pytest.raises(fdb.FdBayesError, match="at least one"):
        meta.bayes_combined([], [0.1], [0.2])


def test_cli_pool_errors(monkeypatch, capsys, tmp_path):
    import sys

    from fd_bayes import cli

    def run(*args):
        monkeypatch.setattr(sys, "argv", ["fd-bayes", *args])
        with pytest.raises(SystemExit) as info:
            cli.main()
        return info.value.code, capsys.readouterr().err

    bad = tmp_path / "bad.csv"
    pd.DataFrame({"trial": ["a"], "effect": [0.1]}).to_csv(bad, index=False)
    code, err = run("pool", str(bad), "--out", str(tmp_path / "o"))
    assert code == 2 and "yi and vi" in err
    code, err = run("pool", str(bad), str(bad), "--out", str(tmp_path / "o"))
    assert code == 2 and "--ipd" in err
    code, err = run(
        "pool", "--ipd", str(bad), str(bad), "--name", "x", "--out", str(tmp_path / "o")
    )
    assert code == 2 and "--name" in err


def test_trial_rows_markdown_lists_trials_and_the_new_site():
    from fd_bayes.report.trials import trial_rows_markdown

    fit, _, _ = _handmade_pooled()
    text = trial_rows_markdown(fit.effects())
    assert text.startswith("# Pooled trials (individual data)\n")
    assert "| offending | site 2 | knife |" in text
    assert "| offending | new site | all crime types |" in text
    assert "Note: between-trial SD prior: trial_sd ~ HalfNormal(sigma=0.5)." in text


def test_report_of_a_pooled_fit_shows_trial_rows(tmp_path):
    """The full report of a (hand-made) pooled fit: the pooled-trials table in report.html
    and summary.md, per-trial diagnostics labelled by trial, trial rows in effects.csv."""
    from fd_bayes.report.full import report
    from fd_bayes.report.html import quantity_diagnostics

    fit, _, _ = _handmade_pooled()
    effects = fit.effects()
    paths = report(fit, tmp_path, formats=("html", "md", "csv", "json"))
    html = paths["report.html"].read_text(encoding="utf-8")
    summary = paths["summary.md"].read_text(encoding="utf-8")
    assert '<section id="pooled-trials">' in html and "## Pooled trials" in summary
    new = effects[(effects["level"] == "new_trial") & (effects["crime_type"] == "all")].iloc[0]
    row = f"| offending | new site | all crime types | {new['rr_median']:.2f} |"
    assert row in summary and "a new site sees a reduction in offending" in summary
    cells = f'<td>new site</td><td>all crime types</td><td class="num">{new["rr_median"]:.2f}'
    assert cells in html
    labels = [q["label"] for q in quantity_diagnostics(fit, effects)]
    assert "site 2: all crime types" in labels and "site 2: knife" in labels
    assert labels.count("All crime types") == 1  # the pooled row only
    csv = pd.read_csv(paths["effects.csv"])
    assert list(csv.columns) == EFFECT_COLUMNS
    assert set(csv.loc[csv["level"] == "trial", "trial"]) == {"site 1", "site 2", "site 3"}
    assert (csv.loc[csv["level"] == "trial", "n_treatment"] == 8).all()
