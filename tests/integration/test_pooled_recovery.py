"""Pooled individual data (negbin_pooled): recovery of site effects and tau, and
`fd-bayes pool` end to end (issue 7)."""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import pytest

import fd_bayes as fdb
from fd_bayes import cli, meta
from fd_bayes.data.simulate_sites import simulate_sites
from tests.helpers import MEAN_RR, SITE_EFFECTS, covered, mean_log_rr_draws

pytestmark = [
    # short chains to keep the suite fast: ESS below 400 is expected, and asserted on
    # where it matters (the recovery fit)
    pytest.mark.filterwarnings("ignore::fd_bayes.errors.DiagnosticsWarning"),
]


@pytest.fixture(scope="module", params=["negbin_pooled", "negmult_pooled"])
def pooled(request):
    """Both pooled models on the same simulation (drawn from negbin_pooled's model: NB
    counts, log-normal person effects; for negmult_pooled the person effect's
    distribution is misspecified, the mean structure is not)."""
    trial, truth = simulate_sites(
        6,
        30,
        120,
        tau=0.3,
        site_effects=SITE_EFFECTS,
        rate_ratio=MEAN_RR,
        crime_types={"knife": 0.9, "violence": 1.3},
        seed=11,
    )
    fit = fdb.fit(
        trial,
        request.param,
        draws=500,
        tune=500,
        chains=2,
        seed=5,
        progress=False,
        adapt=False,
        predictive=False,
    )
    return fit, trial, truth


def test_pooled_fit_samples_cleanly(pooled):
    fit, _, _ = pooled
    d = fit.diagnostics()
    assert d["divergences"] == 0
    assert d["max_rhat"] < 1.05


def test_mean_effect_and_tau_are_covered(pooled):
    fit, _, truth = pooled
    for crime, rr in truth.mean_rr.items():
        assert covered(mean_log_rr_draws(fit, crime), np.log(rr)), crime
    assert covered(fit.idata.posterior["trial_sd"], truth.tau)


def test_site_effects_are_shrunk_towards_the_mean(pooled):
    fit, trial, truth = pooled
    post_eta = fit.idata.posterior["trial_effect"].mean(("chain", "draw")).values
    # unpooled per-site log rate ratios (all crime types), centred
    crude = []
    for site in trial.trials:
        d = trial.data[trial.data["trial"] == site]
        ev = d.groupby("arm", observed=True)["post_count"].sum()
        n = d.drop_duplicates("person_id").groupby("arm", observed=True).size()
        crude.append(
            np.log(ev["treatment"] / n["treatment"]) - np.log(ev["control"] / n["control"])
        )
    crude = np.asarray(crude) - np.mean(crude)
    assert np.std(post_eta) < np.std(crude)
    # shrunk, but in the right order on the whole
    assert np.corrcoef(post_eta, truth.sites["eta"])[0, 1] > 0.3
    table = fit.effects()
    assert set(table.loc[table["level"] == "trial", "trial"]) == set(trial.trials)
    new = table[(table["level"] == "new_trial") & (table["crime_type"] == "all")].iloc[0]
    overall = table[table["level"] == "overall"].iloc[0]
    assert new["rr_upper"] - new["rr_lower"] > overall["rr_upper"] - overall["rr_lower"]
    assert 0.5 < new["p_reduction"] < 1.0
    assert "HalfNormal(sigma=0.5)" in new["note"]
    # the two-stage summary of this fit is usable by the aggregate meta-analysis
    y, s = meta.from_fit(fit)
    assert np.isfinite(y) and s > 0


def test_cli_pool_ipd_writes_the_report(monkeypatch, capsys, tmp_path):
    trial_a, _ = fdb.simulate_trial(20, 40, crime_types={"knife": 0.8, "violence": 1.0}, seed=1)
    trial_b, _ = fdb.simulate_trial(15, 45, crime_types={"knife": 0.8, "robbery": 0.5}, seed=2)
    paths = []
    for name, t in (("force_a", trial_a), ("force_b", trial_b)):
        path = tmp_path / f"{name}.csv"
        t.data.drop(columns="trial").to_csv(path, index=False)
        paths.append(str(path))
    out = tmp_path / "out"
    args = ["fd-bayes", "pool", "--ipd", *paths, "--out", str(out)]
    args += ["--draws", "200", "--tune", "200", "--chains", "2", "--seed", "3", "--no-adapt"]
    monkeypatch.setattr(sys, "argv", args)
    cli.main()
    effects = pd.read_csv(out / "effects.csv", keep_default_na=False)
    assert set(effects.loc[effects["level"] == "trial", "trial"]) == {"force_a", "force_b"}
    assert (effects["level"] == "new_trial").any()
    text = (out / "pooled.md").read_text()
    assert "new site" in text and "force_b" in text
    assert (out / "report.html").exists() and (out / "fit.nc").exists()
    loaded = fdb.load(out / "fit.nc")
    assert loaded.design.trials == ["force_a", "force_b"]
    assert (loaded.effects()["level"] == "new_trial").any()


def test_cli_pool_aggregate_writes_tables(monkeypatch, capsys, tmp_path):
    table = pd.DataFrame(
        {"trial": ["A", "B", "C"], "yi": [-0.5, -0.2, -0.4], "vi": [0.05, 0.04, 0.09]}
    )
    path = tmp_path / "trials.csv"
    table.to_csv(path, index=False)
    out = tmp_path / "agg"
    args = ["fd-bayes", "pool", str(path), "--out", str(out)]
    args += ["--draws", "500", "--tune", "500", "--chains", "2", "--seed", "1"]
    monkeypatch.setattr(sys, "argv", args)
    cli.main()
    freq = pd.read_csv(out / "meta_frequentist.csv", index_col=0)
    want = meta.frequentist(table["yi"], table["vi"])
    assert freq.loc["pooled (REML)", "yi"] == pytest.approx(want.estimate)
    bayes = pd.read_csv(out / "meta_bayes.csv", index_col=0)
    assert {"mu", "tau", "A", "new_study"} <= set(bayes.index)
    assert "P(a new site sees a reduction)" in (out / "pooled.md").read_text()
    assert (out / "forest.png").exists() and (out / "forest_bayes.png").exists()


@pytest.mark.parametrize(
    ("sampler", "model"),
    [
        ("nutpie-jax", "negbin_pooled"),
        ("numpyro", "negbin_pooled"),
        ("numpyro", "negmult_pooled"),
    ],
)
def test_pooled_model_fits_with_jax_samplers(sampler, model):
    """Users with a GPU fit the pooled models with JAX (the test extra installs it)."""
    pytest.importorskip("jax")
    if sampler == "numpyro":
        pytest.importorskip("numpyro")
    trial, _ = simulate_sites(3, 10, 30, tau=0.3, seed=4)
    fit = fdb.fit(
        trial,
        model,
        draws=150,
        tune=150,
        chains=2,
        seed=2,
        sampler=sampler,
        progress=False,
        adapt=False,
        predictive=False,
    )
    assert fit.info["sampler"] == sampler
    assert {"trial_sd", "trial_effect"} <= set(fit.idata.posterior.data_vars)
    assert (fit.effects()["level"] == "new_trial").any()
