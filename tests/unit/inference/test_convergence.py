"""The vectorised R-hat and ESS give ArviZ's numbers (ArviZ is the reference: its
estimators are those of Vehtari et al. 2021, which Stan's posterior package also uses)."""

from __future__ import annotations

import logging

import arviz as az
import numpy as np
import pytest

from fd_bayes.inference import convergence


def _arviz(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """ArviZ's rank R-hat, bulk and tail ESS of every quantity of x (chain, draw, k)."""
    logging.getLogger("arviz").setLevel(logging.ERROR)
    with np.errstate(invalid="ignore", divide="ignore"):
        cols = [x[:, :, j] for j in range(x.shape[2])]
        return (
            np.array([float(az.rhat(c)) for c in cols]),
            np.array([float(az.ess(c, method="bulk")) for c in cols]),
            np.array([float(az.ess(c, method="tail")) for c in cols]),
        )


def _ar1(rng, chains, draws, k, phi, shift=0.0):
    """AR(1) chains (autocorrelation ``phi``); chain c offset by ``shift * c``."""
    e = rng.normal(size=(chains, draws, k))
    x = np.empty_like(e)
    x[:, 0] = e[:, 0]
    for t in range(1, draws):
        x[:, t] = phi * x[:, t - 1] + e[:, t]
    return x + shift * np.arange(chains)[:, None, None]


CASES = {
    "independent": lambda rng: rng.normal(size=(4, 1000, 6)),
    "autocorrelated": lambda rng: _ar1(rng, 4, 1000, 5, 0.9),
    "very autocorrelated": lambda rng: _ar1(rng, 4, 400, 3, 0.99),
    "chains disagree": lambda rng: _ar1(rng, 4, 500, 3, 0.5, shift=0.5),
    "heavy tails": lambda rng: rng.standard_cauchy(size=(4, 800, 4)),
    "odd draws, two chains": lambda rng: rng.normal(size=(2, 101, 3)),
    "few draws": lambda rng: rng.normal(size=(2, 5, 2)),
    "ties (counts)": lambda rng: rng.poisson(0.3, size=(4, 500, 4)).astype(float),
    "antithetic (ESS above S)": lambda rng: _ar1(rng, 4, 600, 2, -0.7),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_matches_arviz(case):
    x = CASES[case](np.random.default_rng(7))
    want_rhat, want_bulk, want_tail = _arviz(x)
    np.testing.assert_allclose(convergence.rhat(x), want_rhat, rtol=1e-9, equal_nan=True)
    np.testing.assert_allclose(convergence.ess_bulk(x), want_bulk, rtol=1e-9, equal_nan=True)
    np.testing.assert_allclose(convergence.ess_tail(x), want_tail, rtol=1e-9, equal_nan=True)
    together = convergence.summary(x)
    for got, want in zip(together, (want_rhat, want_bulk, want_tail), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-9, equal_nan=True)


def test_constant_and_nan_quantities_are_treated_as_arviz_treats_them():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(4, 200, 4))
    x[:, :, 1] = 1.0  # a constant element (the unit diagonal of a correlation matrix)
    x[2, 17, 2] = np.nan  # one failed draw
    want = _arviz(x)
    got = (convergence.rhat(x), convergence.ess_bulk(x), convergence.ess_tail(x))
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-9, equal_nan=True)
    assert np.isnan(got[0][1]) and got[1][1] == 800  # as ArviZ: no R-hat, ESS = S
    assert all(np.isnan(g[2]) for g in got)


def test_one_chain_has_ess_but_no_rhat():
    x = np.random.default_rng(1).normal(size=(1, 400, 2))
    assert np.isnan(convergence.rhat(x)).all()
    np.testing.assert_allclose(convergence.ess_bulk(x), _arviz(x)[1], rtol=1e-9)


def test_shapes_follow_the_draws():
    x = np.random.default_rng(2).normal(size=(3, 100, 2, 5))
    assert convergence.rhat(x).shape == (2, 5)
    assert isinstance(convergence.ess_bulk(x[:, :, 0, 0]), float)
    with pytest.raises(ValueError, match="chain, draw"):
        convergence.rhat(np.zeros(10))
