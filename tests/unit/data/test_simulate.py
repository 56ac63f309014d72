"""The simulator and the embedded example trial."""

import math

import numpy as np
import pytest

import fd_bayes as fdb
from fd_bayes.data.simulate import example_trial_with_truth


def test_example_trial_has_the_milton_keynes_design():
    trial = fdb.example_trial()
    people = trial.people
    treated = people[people["arm"] == "treatment"]
    assert len(treated) == 45
    assert treated["age_band"].value_counts().to_dict() == {"11-17": 20, "18-25": 25}
    assert len(people) == 195
    assert trial.crime_types == ["knife", "violence", "sexual", "robbery", "drugs"]
    assert trial.outcomes == ["offending", "victimisation"]
    assert "synthetic" in fdb.example_trial.__doc__.lower()
    assert trial.harm_weights == fdb.ILLUSTRATIVE_HARM_WEIGHTS


def test_example_trial_is_deterministic():
    assert fdb.example_trial().data_hash() == fdb.example_trial().data_hash()


def test_simulation_truth_and_seed():
    a, truth = fdb.simulate_trial(30, 30, rate_ratios={"knife": 0.5}, seed=4)
    b, _ = fdb.simulate_trial(30, 30, rate_ratios={"knife": 0.5}, seed=4)
    c, _ = fdb.simulate_trial(30, 30, rate_ratios={"knife": 0.5}, seed=5)
    assert a.data_hash() == b.data_hash() != c.data_hash()
    rr = dict(zip(truth.crime_type["crime_type"], truth.crime_type["rr"], strict=True))
    assert rr == {"knife": 0.5, "violence": 1.0}


def test_pre_counts_predict_post_counts():
    trial, _ = example_trial_with_truth()
    d = trial.data[trial.data["arm"] == "control"]
    assert np.corrcoef(np.log1p(d["pre_count"]), np.log1p(d["post_count"]))[0, 1] > 0.2


def test_simulated_rates_match_the_stated_base_rates():
    trial, _ = fdb.simulate_trial(
        1,
        4000,
        crime_types={"knife": 0.8},
        rate_ratios=1.0,
        person_sd=0.3,
        custody_share=0.0,
        baseline_slope=0.0,
        seed=2,
    )
    d = trial.data[trial.data["arm"] == "control"]
    # E[exp(u)] = exp(sd^2 / 2) for the log-normal person effect
    assert abs(d["post_count"].mean() / (0.8 * np.exp(0.045)) - 1) < 0.06


def test_gamma_frailty_with_poisson_counts_has_negative_multinomial_moments():
    """person_frailty="gamma", dispersion=inf: the model of negmult_pooled. Each count is
    marginally NB(mu, k) with k = 1 / cv^2 (variance mu + cv^2 mu^2), and two crime types
    of one person covary by cv^2 mu_1 mu_2 (the shared frailty)."""
    cv, rates = 0.8, {"knife": 1.0, "violence": 2.0}
    trial, truth = fdb.simulate_trial(
        1,
        20000,
        crime_types=rates,
        rate_ratios=1.0,
        person_sd=cv,
        dispersion=math.inf,
        person_frailty="gamma",
        custody_share=0.0,
        baseline_slope=0.0,
        seed=3,
    )
    assert truth.person_frailty == "gamma"
    d = trial.data[trial.data["arm"] == "control"]
    wide = d.pivot(index="person_id", columns="crime_type", values="post_count")
    for crime, mu in rates.items():
        # the frailty has mean 1, so the rate is the stated one (SE of the mean ~1%)
        assert wide[crime].mean() == pytest.approx(mu, rel=0.04)
        assert wide[crime].var() == pytest.approx(mu + cv**2 * mu**2, rel=0.06)
    cov = np.cov(wide["knife"], wide["violence"])[0, 1]
    assert cov == pytest.approx(cv**2 * 1.0 * 2.0, rel=0.1)


def test_bad_frailty_or_dispersion_is_refused():
    with pytest.raises(ValueError, match="person_frailty"):
        fdb.simulate_trial(5, 5, person_frailty="weibull", seed=1)
    with pytest.raises(ValueError, match="dispersion"):
        fdb.simulate_trial(5, 5, dispersion=0.0, seed=1)
