"""The zero-handling families and the joint model on real fits: the example trial with
default settings (4 x 1000, seed 11; the hurdle model 4 x 2000) samples cleanly and gives
an effects table of the same shape and meaning as negbin_hier's; zero inflation is
recovered from simulated data.

fd_bayes warnings (diagnostics, model notes) are errors in the tests, so a fit that does
not sample cleanly fails here."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import expit

import fd_bayes as fdb
from fd_bayes.modelling.families import of_posterior

MODELS = ("zinb_hier", "hurdle_negbin_hier", "negbin_joint")


#: Draws per chain. The hurdle model mixes slowest (lowest ESS/s of the catalogue): with
#: 4 x 1000 draws and seed 11 its largest R-hat is 1.012 (an intercept, bulk ESS 718;
#: seeds 1-3 gave 1.005-1.007), i.e. at the threshold by Monte Carlo noise; 4 x 2000 gives
#: 1.004. The others sample cleanly with the defaults.
DRAWS = {"hurdle_negbin_hier": 2000}


@pytest.fixture(scope="module", params=MODELS)
def family_fit(request):
    fit = fdb.fit(
        fdb.example_trial(),
        request.param,
        draws=DRAWS.get(request.param, 1000),
        tune=1000,
        chains=4,
        seed=11,
        progress=False,
    )
    return request.param, fit


def _overall(fit) -> dict[str, float]:
    e = fit.effects()
    return e[e["level"] == "overall"].set_index("outcome")["rr_median"].to_dict()


def test_samples_cleanly(family_fit):
    _, fit = family_fit
    d = fit.diagnostics()
    assert d["divergences"] == 0
    assert d["max_rhat"] <= 1.01
    assert d["min_ess_bulk"] >= 400 and d["min_ess_tail"] >= 400


def test_effects_table_means_the_same(family_fit, example_fit):
    """Same rows and columns as negbin_hier's; overall rate ratios of expected counts close
    to negbin_hier's (the example has no zero inflation and one shared person effect,
    so the extra parts should change little)."""
    name, fit = family_fit
    e, base = fit.effects(), example_fit.effects()
    assert list(e.columns) == list(base.columns)
    keys = ["level", "outcome", "crime_type", "age_band"]
    assert e[keys].equals(base[keys])
    rr, rr_base = _overall(fit), _overall(example_fit)
    for outcome, value in rr_base.items():
        assert abs(np.log(rr[outcome]) - np.log(value)) < 0.15, (name, outcome)
    assert fit.spec.family == of_posterior(fit.idata.posterior)


def test_checking_works_for_every_family(family_fit):
    """Posterior predictive zeros bracket the observed share; LOO is finite."""
    _, fit = family_fit
    table = fit.ppc()
    zeros = table[(table["stat"] == "share_zeros") & (table["crime_type"] == "all")]
    assert ((zeros["ppp"] > 0.01) & (zeros["ppp"] < 0.99)).all()
    ll = fit.log_likelihood()["y"].values
    assert np.isfinite(ll).all() and ll.shape[-1] == len(fit.design.cell_idx)


def test_save_load_round_trip(family_fit, tmp_path):
    """A saved fit reports the same effects and log-likelihood without the data."""
    _, fit = family_fit
    loaded = fdb.load(fit.save(tmp_path / "fit.nc"))
    assert loaded.effects().equals(fit.effects())
    np.testing.assert_allclose(
        loaded.log_likelihood()["y"].values, fit.idata.log_likelihood["y"].values
    )


def test_joint_model_estimates_a_positive_correlation(family_fit):
    """The example's person effect is one for both outcomes (correlation 1)."""
    name, fit = family_fit
    if name != "negbin_joint":
        pytest.skip("joint model only")
    corr = fit.idata.posterior["person_corr"].values[..., 0, 1]
    assert corr.mean() > 0.3
    assert (corr > 0).mean() > 0.95


def test_zero_inflation_is_recovered():
    """Simulated counts with 35% structural zeros (and a true rate ratio of 0.6): the
    rate ratio of expected counts is recovered, and the structural-zero share moves from
    its prior (median 12%) towards the truth.

    The share itself is under-estimated here (posterior median about 0.21, 95% interval
    0.12 to 0.32): the split of the zeros between the structural part and the NB part
    (dispersion, person effect) is weakly identified with 240 people, and the prior pulls
    towards 12%. So the test asserts the direction, not coverage of 0.35.
    """
    trial, _ = fdb.simulate_trial(
        n_treated=80,
        n_control=160,
        crime_types={"knife": 1.5, "violence": 2.5, "robbery": 1.0},
        rate_ratios=0.6,
        person_sd=0.4,
        dispersion=3.0,
        zero_inflation=0.35,
        seed=4,
    )
    # ZINB on truly zero-inflated data sits at the diagnostics' threshold. With the folded
    # scale parameters and the count-scale priors, the package defaults (one round,
    # adapt=False) give max R-hat 1.006, 1.016 and 1.010 with seeds 3, 4 and 5, bulk ESS
    # 476, 401 and 583, no divergence (measured 2026-12-04); the default adaptive sampling
    # reruns the ones that fall short. The test fits at the package defaults, as a user
    # would, and checks that the fit passes and recovers the zero part.
    fit = fdb.fit(trial, "zinb_hier", seed=3, progress=False)
    d = fit.diagnostics()
    assert d["divergences"] == 0 and d["max_rhat"] <= 1.01
    pi = expit(fit.idata.posterior["zi_intercept"].values).mean(axis=-1)
    assert (pi > 0.12).mean() > 0.9
    assert np.quantile(pi, 0.975) > 0.25
    overall = fit.effects().query("level == 'overall'").iloc[0]
    assert overall["rr_lower"] < 0.6 < overall["rr_upper"]
