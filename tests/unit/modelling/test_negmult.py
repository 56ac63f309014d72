"""The negative-multinomial family (gamma person frailty integrated out): its likelihood
against numerical integration over the frailty, its limits, and the frailty's conditional
posterior (issue 7)."""

from __future__ import annotations

import numpy as np
import pytensor.tensor as pt
import pytest
from scipy import integrate, stats
from scipy.special import gammaln

from fd_bayes.modelling import families
from fd_bayes.modelling.likelihood import excess_counts, negmult_loglik
from fd_bayes.modelling.posterior import _log_gamma


@pytest.fixture
def people():
    """Four people with 1-5 rows each, counts including zeros, a 0-total person and a
    large count."""
    rng = np.random.default_rng(7)
    person = np.array([0, 0, 0, 1, 1, 1, 1, 1, 2, 3, 3])
    y = np.array([0, 2, 5, 0, 0, 1, 0, 3, 0, 12, 1])
    eta = rng.normal(-0.5, 0.8, len(y))
    return person, y, eta


def loglik(person, y, eta, cv):
    total = np.bincount(person, weights=y).astype(float)
    lyf = np.asarray(gammaln(y + 1.0).sum())
    excess = excess_counts(total, np.zeros(len(total)), 1)
    ll = negmult_loglik(y, pt.as_tensor(eta), person, total, excess, pt.as_tensor(cv), lyf)
    return float(ll.eval())


def by_quadrature(person, y, eta, cv):
    """sum_i log int prod_c Poisson(y_c | g mu_c) Gamma(g; k, rate k) dg, numerically."""
    k = 1.0 / cv**2
    out = 0.0
    for i in np.unique(person):
        yi, mi = y[person == i], np.exp(eta[person == i])

        def integrand(g, yi=yi, mi=mi):
            return np.exp(
                stats.poisson.logpmf(yi, g * mi).sum() + stats.gamma.logpdf(g, k, scale=1 / k)
            )

        value, _ = integrate.quad(integrand, 0, np.inf, limit=200, epsabs=0, epsrel=1e-11)
        out += np.log(value)
    return out


@pytest.mark.parametrize("cv", [0.3, 1.0, 1.8])
def test_negmult_equals_the_integral_over_the_frailty(people, cv):
    person, y, eta = people
    assert loglik(person, y, eta, cv) == pytest.approx(by_quadrature(person, y, eta, cv), rel=1e-8)


def test_one_row_per_person_is_the_negative_binomial(people):
    _, y, eta = people
    cv = 0.7
    k, mu = 1.0 / cv**2, np.exp(eta)
    ref = stats.nbinom.logpmf(y, k, k / (k + mu)).sum()
    got = loglik(np.arange(len(y)), y, eta, cv)
    assert got == pytest.approx(ref, rel=1e-12)


def test_small_cv_is_the_poisson_limit(people):
    person, y, eta = people
    ref = stats.poisson.logpmf(y, np.exp(eta)).sum()
    assert loglik(person, y, eta, 1e-7) == pytest.approx(ref, rel=1e-9)


def test_conditional_frailty_posterior_is_the_conjugate_gamma(people):
    """E[g | y] by quadrature equals the mean of Gamma(k + S, rate k + M), which is what
    frailty_draws samples from."""
    person, y, eta = people
    cv = 0.9
    k = 1.0 / cv**2
    for i in np.unique(person):
        yi, mi = y[person == i], np.exp(eta[person == i])

        def dens(g, yi=yi, mi=mi):
            return np.exp(
                stats.poisson.logpmf(yi, g * mi).sum() + stats.gamma.logpdf(g, k, scale=1 / k)
            )

        opts = {"limit": 200, "epsabs": 0, "epsrel": 1e-11}
        z, _ = integrate.quad(dens, 0, np.inf, **opts)
        m1, _ = integrate.quad(lambda g, d=dens: g * d(g), 0, np.inf, **opts)
        assert m1 / z == pytest.approx((k + yi.sum()) / (k + mi.sum()), rel=1e-7)


@pytest.mark.parametrize("shape", [0.05, 0.4, 3.0])
def test_log_gamma_draws_have_the_gamma_moments(shape):
    rng = np.random.default_rng(1)
    n = 200_000
    a = np.full(n, shape)
    g = np.exp(_log_gamma(rng, a, np.full(n, 2.0)))
    assert np.isfinite(np.log(g[g > 0])).all()
    mean, var = shape / 2.0, shape / 4.0
    assert g.mean() == pytest.approx(mean, abs=5 * np.sqrt(var / n))
    # a Kolmogorov-Smirnov test against Gamma(shape, rate 2)
    assert stats.kstest(g[:20_000], stats.gamma(shape, scale=0.5).cdf).pvalue > 0.001


def test_negmult_family_is_poisson_given_the_frailty():
    fam = families.get("negmult")
    assert fam.frailty and not fam.negbin and fam.zero is None
    assert families.of_posterior({"person_cv": 1, "dispersion": 1}) == "negmult"
