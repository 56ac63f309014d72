"""The hand-written likelihoods equal the reference log-pmfs (scipy), also in the limits."""

from __future__ import annotations

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest
from scipy import stats

from fd_bayes.modelling.likelihood import excess_counts, negbin_loglik, poisson_loglik


@pytest.fixture
def data():
    rng = np.random.default_rng(3)
    y = rng.negative_binomial(1.2, 0.4, 400)
    y[:5] = [0, 1, 17, 40, 2]
    eta = rng.normal(-0.3, 1.2, 400)
    log_phi = rng.normal(0.0, 1.0, 400)
    return y, eta, log_phi


def nb(y, eta, log_phi):
    """The NB log-likelihood with one dispersion group per row."""
    group = np.arange(len(y))
    return negbin_loglik(y, eta, log_phi, group, excess_counts(y, group, len(y)))


def test_negbin_matches_scipy(data):
    y, eta, log_phi = data
    mu, phi = np.exp(eta), np.exp(log_phi)
    ref = stats.nbinom.logpmf(y, phi, phi / (phi + mu)).sum()
    got = nb(y, pt.as_tensor(eta), pt.as_tensor(log_phi)).eval()
    assert got == pytest.approx(ref, rel=1e-12)


def test_negbin_all_zero_counts(data):
    _, eta, log_phi = data
    y = np.zeros_like(eta, dtype=int)
    mu, phi = np.exp(eta), np.exp(log_phi)
    ref = stats.nbinom.logpmf(y, phi, phi / (phi + mu)).sum()
    assert nb(y, pt.as_tensor(eta), pt.as_tensor(log_phi)).eval() == pytest.approx(ref)


def test_negbin_tends_to_poisson_with_stable_gradients(data):
    """As phi grows the NB must tend to the Poisson; gammaln differences would lose it."""
    y, eta, _ = data
    huge = np.full_like(eta, np.log(1e12))
    ref = stats.poisson.logpmf(y, np.exp(eta)).sum()
    got = nb(y, pt.as_tensor(eta), pt.as_tensor(huge)).eval()
    assert got == pytest.approx(ref, rel=1e-9)
    e, lp = pt.dvector(), pt.dvector()
    grad = pytensor.function([e, lp], pytensor.grad(nb(y, e, lp), [e, lp]))
    g_eta, g_phi = grad(eta, huge)
    np.testing.assert_allclose(g_eta, y - np.exp(eta), atol=1e-6)
    assert np.abs(g_phi).max() < 1e-6


def test_poisson_matches_scipy(data):
    y, eta, _ = data
    ref = stats.poisson.logpmf(y, np.exp(eta)).sum()
    assert poisson_loglik(y, pt.as_tensor(eta)).eval() == pytest.approx(ref, rel=1e-12)


def test_negbin_shared_groups_match_scipy(data):
    """Rows share the shape of their group (crime type x outcome), as in the model."""
    y, eta, _ = data
    group = np.arange(len(y)) % 7
    log_phi = np.linspace(-1.5, 3.0, 7)
    mu, phi = np.exp(eta), np.exp(log_phi)[group]
    ref = stats.nbinom.logpmf(y, phi, phi / (phi + mu)).sum()
    excess = excess_counts(y, group, 7)
    got = negbin_loglik(y, pt.as_tensor(eta), pt.as_tensor(log_phi), group, excess).eval()
    assert got == pytest.approx(ref, rel=1e-12)


def test_excess_counts_width_is_bucketed():
    """Same-design data sets share a shape so a compiled model can be reused."""
    group = np.array([0, 0, 1, 1])
    assert excess_counts(np.array([0, 3, 1, 5]), group, 2).tolist() == [
        [1, 1, 0, 0, 0, 0, 0, 0],  # y = 3: k = 1, 2
        [1, 1, 1, 1, 0, 0, 0, 0],  # y = 5: k = 1..4 (y = 1 adds nothing)
    ]
    assert excess_counts(np.array([0, 0, 0, 0]), group, 2).shape == (2, 8)
    assert excess_counts(np.array([0, 12, 0, 0]), group, 2).shape == (2, 16)
