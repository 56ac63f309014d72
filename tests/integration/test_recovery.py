"""Parameter recovery on simulated data with known truth (about 600 people)."""

from __future__ import annotations

import pytest

import fd_bayes as fdb

TRUE_RR = {"knife": 0.5, "violence": 1.0, "robbery": 0.7}


@pytest.fixture(scope="module")
def recovery():
    trial, truth = fdb.simulate_trial(
        n_treated={"11-17": 150, "18-25": 150},
        n_control={"11-17": 150, "18-25": 150},
        crime_types={"knife": 0.8, "violence": 1.2, "robbery": 0.5},
        rate_ratios=TRUE_RR,
        person_sd=0.6,
        dispersion=2.0,
        seed=2024,
    )
    fit = fdb.fit(trial, draws=1000, tune=1000, chains=4, seed=7, progress=False)
    return fit, truth


def test_recovery_samples_cleanly(recovery):
    fit, _ = recovery
    d = fit.diagnostics()
    assert d["divergences"] == 0
    assert d["max_rhat"] <= 1.01


def test_crime_type_intervals_cover_the_truth(recovery):
    fit, truth = recovery
    e = fit.effects().query("level == 'crime_type'").set_index("crime_type")
    for crime, rr in zip(truth.crime_type["crime_type"], truth.crime_type["rr"], strict=True):
        assert e.loc[crime, "rr_lower"] <= rr <= e.loc[crime, "rr_upper"], crime


def test_probability_of_reduction(recovery):
    fit, _ = recovery
    e = fit.effects().query("level == 'crime_type'").set_index("crime_type")
    assert e.loc["knife", "p_reduction"] > 0.99  # true RR 0.5
    assert 0.025 < e.loc["violence", "p_reduction"] < 0.975  # true RR 1


def test_person_effect_sd_is_recovered(recovery):
    fit, truth = recovery
    sd = fit.idata.posterior["person_sd"].values.ravel()
    lo, hi = (float(q) for q in __import__("numpy").quantile(sd, [0.005, 0.995]))
    assert lo < truth.person_sd < hi
