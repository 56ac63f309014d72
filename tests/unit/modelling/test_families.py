"""The zero-handling families (zinb, hurdle_negbin) and the correlated person effect,
without MCMC: likelihoods against scipy (mixture / explicit hurdle formula), the numpy
pointwise likelihood against the model's PyTensor one, means against direct sums,
predictive draws against means, and validation of the new spec slots."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytensor
import pytensor.tensor as pt
import pytest
from scipy import stats
from scipy.special import expit, logit

import fd_bayes as fdb
from fd_bayes import SpecError
from fd_bayes.inference import posterior_predictive, sample_prior
from fd_bayes.modelling import families
from fd_bayes.modelling.design import Design
from fd_bayes.modelling.families import RowParams
from fd_bayes.modelling.likelihood import excess_counts, negbin_loglik, zero_part_loglik
from fd_bayes.modelling.posterior import expected_counts, pointwise_loglik
from fd_bayes.modelling.pymc_model import build_model
from fd_bayes.modelling.spec import load_spec
from fd_bayes.modelling.structure import resolve_structure
from tests.helpers import small_counts

ZERO_FAMILIES = ("zinb", "hurdle_negbin")
NEW_MODELS = ("zinb_hier", "hurdle_negbin_hier", "negbin_joint")


@pytest.fixture
def data():
    rng = np.random.default_rng(5)
    n = 300
    y = rng.negative_binomial(1.0, 0.4, n)
    y[:80] = 0
    y[:6] = [0, 0, 1, 17, 40, 2]
    eta = rng.normal(-0.5, 1.3, n)
    log_phi = rng.normal(0.0, 1.0, n)
    z = rng.normal(-1.0, 1.5, n)
    return y, eta, log_phi, z


def _scipy(family: str, y, mu, phi, z) -> np.ndarray:
    """The reference: the zero-inflated mixture, or the hurdle written out."""
    nb = stats.nbinom(phi, phi / (phi + mu))
    if family == "zinb":
        pi = expit(z)
        return np.log(np.where(y == 0, pi, 0.0) + (1.0 - pi) * nb.pmf(y))
    nb0 = nb.pmf(0)
    p0 = expit(logit(nb0) + z)
    return np.where(y == 0, np.log(p0), np.log1p(-p0) + nb.logpmf(y) - np.log1p(-nb0))


def _pytensor_total(family: str, y, eta, log_phi, z) -> float:
    group = np.arange(len(y))
    eta, log_phi, z = (pt.as_tensor(np.asarray(v, float)) for v in (eta, log_phi, z))
    nb = negbin_loglik(y, eta, log_phi, group, excess_counts(y, group, len(y)))
    return float((nb + zero_part_loglik(family, y, eta, log_phi, z)).eval())


@pytest.mark.parametrize("family", ZERO_FAMILIES)
def test_likelihoods_match_scipy(data, family):
    y, eta, log_phi, z = data
    mu, phi = np.exp(eta), np.exp(log_phi)
    ref = _scipy(family, y, mu, phi, z)
    pointwise = families.logpmf(family, y, RowParams(mu[None], phi[None], z[None]))[0]
    np.testing.assert_allclose(pointwise, ref, rtol=1e-10)
    assert _pytensor_total(family, y, eta, log_phi, z) == pytest.approx(ref.sum(), rel=1e-12)


@pytest.mark.parametrize(("family", "z"), [("zinb", -60.0), ("hurdle_negbin", 0.0)])
def test_zero_part_switched_off_is_the_negbin(data, family, z):
    """ZINB with pi -> 0 and the hurdle with no shift are the NB exactly."""
    y, eta, log_phi, _ = data
    mu, phi = np.exp(eta), np.exp(log_phi)
    zs = np.full_like(eta, z)
    ref = stats.nbinom.logpmf(y, phi, phi / (phi + mu))
    got = families.logpmf(family, y, RowParams(mu[None], phi[None], zs[None]))[0]
    np.testing.assert_allclose(got, ref, rtol=1e-9, atol=1e-12)
    assert _pytensor_total(family, y, eta, log_phi, zs) == pytest.approx(ref.sum(), rel=1e-10)


def test_hurdle_is_stable_for_tiny_means_and_the_poisson_limit():
    """log(1 - NB0) by log1mexp: no cancellation as mu -> 0 or phi -> infinity."""
    y = np.array([0, 1, 2, 0, 1, 3])
    eta = np.log(np.array([1e-9, 1e-9, 1e-6, 2.0, 2.0, 0.5]))
    log_phi = np.log(np.array([2.0, 2.0, 0.5, 1e12, 1e12, 1e12]))
    z = np.array([0.5, 0.5, -1.0, 0.0, 2.0, -2.0])
    p = RowParams(np.exp(eta)[None], np.exp(log_phi)[None], z[None])
    got = families.logpmf("hurdle_negbin", y, p)[0]
    assert np.isfinite(got).all()
    # the Poisson limit of the hurdle, written out
    mu = np.exp(eta[3:])
    p0 = expit(logit(np.exp(-mu)) + z[3:])
    ref = np.where(
        y[3:] == 0,
        np.log(p0),
        np.log1p(-p0) + stats.poisson.logpmf(y[3:], mu) - np.log(-np.expm1(-mu)),
    )
    np.testing.assert_allclose(got[3:], ref, rtol=1e-9)
    # a positive count with a vanishing mean: P(y = 1 | y > 0) -> 1 and the odds of y > 0
    # are the NB's, (1 - NB0) / NB0 -> mu, times exp(-z)
    assert got[1] == pytest.approx(np.log(1e-9) - z[1], abs=1e-6)
    assert _pytensor_total("hurdle_negbin", y, eta, log_phi, z) == pytest.approx(got.sum())
    e, lp = pt.dvector(), pt.dvector()
    total = negbin_loglik(y, e, lp, np.arange(6), excess_counts(y, np.arange(6), 6))
    total = total + zero_part_loglik("hurdle_negbin", y, e, lp, pt.as_tensor(z))
    grads = pytensor.function([e, lp], pytensor.grad(total, [e, lp]))(eta, log_phi)
    assert all(np.isfinite(g).all() for g in grads)


@pytest.mark.parametrize("family", ["negbin", "poisson", *ZERO_FAMILIES])
def test_means_are_the_expected_counts(family):
    """E[y] equals sum_y y p(y) under the family's pmf."""
    mu = np.array([0.05, 0.6, 3.0])
    phi = None if family == "poisson" else np.array([0.7, 2.0, 5.0])
    z = np.array([-1.0, 0.3, 1.2])
    p = RowParams(mu[None], None if phi is None else phi[None], z[None])
    grid = np.arange(0, 3000)[:, None]
    pmf = np.exp(families.logpmf(family, grid, RowParams(mu, phi, z)))
    np.testing.assert_allclose(pmf.sum(axis=0), 1.0, rtol=1e-10)
    np.testing.assert_allclose(families.mean(family, p)[0], (grid * pmf).sum(axis=0), rtol=1e-9)


@pytest.mark.parametrize("family", ["negbin", "poisson", *ZERO_FAMILIES])
def test_draws_match_means_and_zero_shares(family):
    n = 200_000
    mu = np.repeat([[0.002, 0.3, 2.5]], n, axis=0)
    phi = None if family == "poisson" else np.repeat([[0.8, 1.5, 4.0]], n, axis=0)
    z = np.repeat([[-4.0, 0.5, -0.7]], n, axis=0)  # -4: the hurdle's rare positives
    p = RowParams(mu, phi, z)
    y = families.draw(family, np.random.default_rng(17), p)
    expected = families.mean(family, p)[0]
    se = y.std(axis=0) / np.sqrt(n)
    assert (np.abs(y.mean(axis=0) - expected) < 4.5 * se + 1e-12).all()
    p_zero = np.exp(families.logpmf(family, np.zeros((1, 3), int), p))[0]
    share = (y == 0).mean(axis=0)
    assert (np.abs(share - p_zero) < 4.5 * np.sqrt(p_zero * (1 - p_zero) / n) + 1e-9).all()
    if family == "hurdle_negbin":
        # positives come from the zero-truncated NB, also where rejection gives up
        assert y.min() >= 0 and (y[:, 0] > 0).any()


def test_family_of_posterior():
    assert families.of_posterior({"zi_intercept": 0, "dispersion": 1}) == "zinb"
    assert families.of_posterior({"hurdle_intercept": 0, "dispersion": 1}) == "hurdle_negbin"
    assert families.of_posterior({"dispersion": 1}) == "negbin"
    assert families.of_posterior({}) == "poisson"
    with pytest.raises(ValueError, match="unknown family"):
        families.get("binomial")


# -- specs -----------------------------------------------------------------------------
def test_new_catalogue_specs():
    assert set(NEW_MODELS) <= set(fdb.available_models())
    zinb, hurdle, joint = (load_spec(m) for m in NEW_MODELS)
    assert (zinb.family, hurdle.family, joint.family) == ("zinb", "hurdle_negbin", "negbin")
    assert {"zi_intercept", "zi_treated", "inv_sqrt_dispersion"} <= set(zinb.priors)
    assert {"hurdle_intercept", "hurdle_treated"} <= set(hurdle.priors)
    assert joint.terms["person_effect"] == "correlated"
    assert joint.priors["person_corr"].dist == "LKJCorr"
    assert joint.priors["person_corr"].params == {"eta": 2.0}
    # the count part and the effect priors are negbin_hier's
    base = load_spec("negbin_hier").priors
    for spec in (zinb, hurdle, joint):
        assert all(spec.priors[k] == v for k, v in base.items())


def _text(model: str) -> str:
    return load_spec(model).source


@pytest.mark.parametrize(
    ("model", "edit", "message"),
    [
        (
            "zinb_hier",
            lambda t: t.replace('zi_treated = { dist = "Normal", mu = 0.0, sigma = 0.5 }', ""),
            "missing prior 'zi_treated'",
        ),
        (
            "zinb_hier",
            lambda t: t.replace("zi_intercept =", "hurdle_intercept ="),
            "unknown prior 'hurdle_intercept'",
        ),
        (
            "hurdle_negbin_hier",
            lambda t: t.replace(
                'hurdle_intercept = { dist = "Normal", mu = 0.0, sigma = 1.0 }',
                'hurdle_intercept = { dist = "HalfNormal", sigma = 1.0 }',
            ),
            "needs a real distribution",
        ),
        (
            "negbin_hier",
            lambda t: t + '\nzi_intercept = { dist = "Normal", mu = -2.0, sigma = 1.0 }\n',
            "unknown prior 'zi_intercept'",
        ),
        (
            "negbin_joint",
            lambda t: t.replace('"correlated"', '"yes"'),
            'must be true or false or "correlated"',
        ),
        (
            "negbin_joint",
            lambda t: t.replace("baseline = true", 'baseline = "correlated"'),
            "baseline must be true or false",
        ),
        (
            "negbin_joint",
            lambda t: t.replace(
                'person_corr = { dist = "LKJCorr", eta = 2.0 }',
                'person_corr = { dist = "Normal", mu = 0.0, sigma = 1.0 }',
            ),
            "needs a correlation distribution",
        ),
        ("negbin_joint", lambda t: t.replace("eta = 2.0", "eta = 0.0"), "must be > 0"),
        (
            "negbin_joint",
            lambda t: t.replace(
                'person_sd = { dist = "HalfNormal", sigma = 0.75 }',
                'person_sd = { dist = "LKJCorr", eta = 1.0 }',
            ),
            "needs a positive distribution",
        ),
        (
            "negbin_joint",
            lambda t: t.replace('"correlated"', "true"),
            "unknown prior 'person_corr'",
        ),
    ],
)
def test_new_slots_are_validated(tmp_path, model, edit, message):
    path = tmp_path / "mine.toml"
    path.write_text(edit(_text(model)))
    with pytest.raises(SpecError, match=message):
        load_spec(path)


def test_with_priors_validates_new_slots():
    spec = load_spec("zinb_hier").with_priors(
        {"zi_treated": {"dist": "Normal", "mu": 0.0, "sigma": 0.3}}
    )
    assert spec.priors["zi_treated"].params["sigma"] == 0.3
    with pytest.raises(SpecError, match="eta"):
        load_spec("negbin_joint").with_priors({"person_corr": {"dist": "LKJCorr", "nu": 2}})


# -- models: the PyTensor likelihood equals the numpy pointwise one --------------------------
def two_outcome_trial(seed: int = 0) -> fdb.Trial:
    """small_counts with a second outcome (victimisation) for every person and crime type."""
    off = small_counts(n_per_arm=5, seed=seed).assign(outcome="offending")
    rng = np.random.default_rng(seed + 1)
    vic = off.assign(outcome="victimisation", post_count=rng.poisson(0.4, len(off)))
    return fdb.Trial.from_counts(pd.concat([off, vic], ignore_index=True))


@pytest.mark.parametrize("model", ["negbin_hier", *NEW_MODELS])
def test_model_loglik_equals_pointwise_sum(model):
    """At prior draws, the model's Potential equals the summed numpy log-likelihood, and
    expected counts are the family's means with and without the treatment term."""
    spec = load_spec(model)
    design = Design.from_trial(two_outcome_trial())
    pm_model, structure = build_model(spec, design)
    assert structure.person_effect == spec.terms["person_effect"]
    prior = sample_prior(pm_model, 12, seed=3)
    f = pytensor.function(pm_model.free_RVs, pm_model.potentials[0])
    want = pointwise_loglik(prior, design, spec.family).sum(axis=-1).ravel()
    got = [
        f(*[prior[rv.name].values[0, d] for rv in pm_model.free_RVs])
        for d in range(prior.sizes["draw"])
    ]
    np.testing.assert_allclose(got, want, rtol=1e-9)
    rows = np.flatnonzero(design.treated == 1)
    mu1, mu0 = expected_counts(prior, design, rows)
    if spec.family == "zinb":

        def draws(name):
            return prior[name].stack(s=("chain", "draw")).transpose("s", ...).values

        theta = draws("theta")[:, design.cell_idx[rows]]
        zi = draws("zi_intercept")[:, design.co_idx[rows]]
        zt = draws("zi_treated")[:, None]
        # E[y] = (1 - pi) mu: the ratio carries the zero part's treatment effect too
        np.testing.assert_allclose(
            mu1 / mu0, np.exp(theta) * expit(-(zi + zt)) / expit(-zi), rtol=1e-10
        )
    pp = posterior_predictive(prior, design, spec.family, 5)["y"]
    assert pp.shape == (1, 12, len(design.cell_idx))


def test_correlated_person_effect_needs_two_outcomes():
    spec = load_spec("negbin_joint")
    design = Design.from_trial(fdb.Trial.from_counts(small_counts()))
    structure = resolve_structure(spec, design)
    assert structure.person_effect is True
    assert any("single outcome" in n for n in structure.notes)
    pm_model, _ = build_model(spec, design, structure)
    assert "person_corr" not in pm_model.named_vars


def test_correlated_person_effect_in_numpy_matches_the_model():
    """u[i, o] recomputed from person_sd, person_corr and z_person equals the model's."""
    design = Design.from_trial(two_outcome_trial())
    pm_model, _ = build_model(load_spec("negbin_joint"), design)
    prior = sample_prior(pm_model, 6, seed=4)
    corr = prior["person_corr"].values
    np.testing.assert_allclose(np.diagonal(corr, axis1=-2, axis2=-1), 1.0)
    assert (np.abs(corr) <= 1 + 1e-12).all()  # a unit diagonal may round to 1 + 2e-16
    assert prior["z_person"].dims[-2:] == ("person", "outcome")


def test_nb_draws_follow_the_nb_pmf():
    """The Poisson-gamma draws have scipy's NB2 probabilities, count by count."""
    from scipy import stats

    n = 200_000
    mu, phi = np.full((n, 2), [0.4, 3.0]), np.full((n, 2), [0.6, 2.0])
    y = families.draw("negbin", np.random.default_rng(5), RowParams(mu, phi))
    for j in range(2):
        pmf = stats.nbinom.pmf(np.arange(8), phi[0, j], phi[0, j] / (phi[0, j] + mu[0, j]))
        share = np.bincount(y[:, j], minlength=8)[:8] / n
        assert (np.abs(share - pmf) < 4.5 * np.sqrt(pmf * (1 - pmf) / n)).all()


@pytest.mark.parametrize("nb", [True, False])
def test_logpmf_of_row_counts_is_scipys(nb):
    """The row-count path (terms of positive counts on their rows only) against scipy,
    with mostly zeros, a large count and a shape shared by every row."""
    from scipy import stats

    rng = np.random.default_rng(9)
    y = np.where(rng.random(300) < 0.7, 0, rng.poisson(4.0, 300))
    y[0] = 60
    mu = rng.gamma(2.0, 0.8, size=(50, 300))
    phi = rng.gamma(3.0, 0.5, size=(50, 1)) if nb else None
    got = families.count_logpmf(y, RowParams(mu, phi))
    want = stats.nbinom.logpmf(y, phi, phi / (phi + mu)) if nb else stats.poisson.logpmf(y, mu)
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9)
