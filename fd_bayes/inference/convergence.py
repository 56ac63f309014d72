"""Rank-normalised split R-hat and bulk/tail effective sample sizes, all quantities at once.

The estimators of Vehtari, Gelman, Simpson, Carpenter and Bürkner (2021), "Rank-
normalization, folding, and localization: an improved R-hat for assessing convergence
of MCMC", Bayesian Analysis 16(2), as ArviZ 0.23 computes them (``az.rhat`` with
``method="rank"``, ``az.ess`` with ``method="bulk"`` and ``"tail"``), step for step:

- split each chain in halves (the middle draw of an odd count is dropped);
- R-hat: the larger of the R-hat of the rank-normalised draws (ranks averaged over ties,
  Blom's offset 3/8, the normal quantile) and of the rank-normalised draws folded
  about their median;
- bulk ESS: the ESS of the rank-normalised split draws; tail ESS: the smaller ESS of
  the indicators ``draw <= q`` for the 5% and 95% quantiles (R's type 7);
- ESS from the FFT autocovariance with Geyer's initial positive and initial monotone
  sequences, and the floor ``tau >= 1 / log10(S)``.

ArviZ loops over the quantities one by one in Python (about 0.3 s per statistic for the
seed's 300 quantities, three statistics, twice per fit); here the ranks, normal
quantiles and autocovariances of every quantity are one array operation each, and only
Geyer's truncation runs per quantity. ``tests/unit/inference/test_convergence.py`` pins
the results to ArviZ's on random and awkward draws (ties, constants, NaN, few draws).
Like ArviZ, a quantity with a NaN draw gets NaN, and R-hat needs two chains.
"""

from __future__ import annotations

import numpy as np
from scipy import special, stats
from scipy.fft import next_fast_len

#: Blom's offset of the rank normalisation.
_BLOM = 3 / 8
#: The quantiles whose indicators give the tail ESS.
TAIL_PROBS = (0.05, 0.95)


def _as_quantities(draws: np.ndarray) -> np.ndarray:
    """Draws (chain, draw, ...) as (quantity, chain, draw), in float."""
    x = np.asarray(draws, dtype=float)
    if x.ndim < 2:
        raise ValueError(f"expected draws of shape (chain, draw, ...), got {x.shape}")
    chains, n = x.shape[:2]
    return np.moveaxis(x.reshape(chains, n, -1), -1, 0)


def _split(x: np.ndarray) -> np.ndarray:
    """(quantity, chain, draw) -> (quantity, 2 chain, draw // 2): each chain's halves."""
    half = x.shape[2] // 2
    return np.concatenate([x[:, :, :half], x[:, :, x.shape[2] - half :]], axis=1)


def _z_scale(x: np.ndarray) -> np.ndarray:
    """Rank-normalised values of each quantity (ranks over all its chains together)."""
    q, c, n = x.shape
    flat = x.reshape(q, c * n)
    ranks = stats.rankdata(flat, method="average", axis=1)
    z = special.ndtri((ranks - _BLOM) / (c * n - 2 * _BLOM + 1))  # = stats.norm.ppf
    return z.reshape(q, c, n)


def _rhat_of(x: np.ndarray) -> np.ndarray:
    """Gelman-Rubin R-hat of each quantity of (quantity, chain, draw)."""
    n = x.shape[2]
    between = n * np.var(x.mean(axis=2), axis=1, ddof=1)
    within = np.var(x, axis=2, ddof=1).mean(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.sqrt((between / within + n - 1) / n)


def _autocov(x: np.ndarray) -> np.ndarray:
    """Autocovariance at every lag along the last axis (FFT), divided by n."""
    n = x.shape[-1]
    m = next_fast_len(2 * n)
    centred = x - x.mean(axis=-1, keepdims=True)
    f = np.fft.rfft(centred, n=m, axis=-1)
    f *= np.conjugate(f)
    return np.fft.irfft(f, n=m, axis=-1)[..., :n] / n


def _ess_of(x: np.ndarray) -> np.ndarray:
    """Effective sample size of each quantity of (quantity, chain, draw)."""
    q, c, n = x.shape
    out = np.full(q, np.nan)
    valid = ~np.isnan(x).any(axis=(1, 2))
    spread = np.where(valid, np.nanmax(x, axis=(1, 2)) - np.nanmin(x, axis=(1, 2)), 0.0)
    constant = valid & (spread < np.finfo(float).resolution)
    out[constant] = c * n
    todo = np.flatnonzero(valid & ~constant)
    if not todo.size:
        return out
    y = x[todo]
    acov = _autocov(y)  # (k, chain, lag)
    mean_var = acov[:, :, 0].mean(axis=1) * n / (n - 1.0)
    var_plus = mean_var * (n - 1.0) / n
    if c > 1:
        var_plus = var_plus + np.var(y.mean(axis=2), axis=1, ddof=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        rho = 1.0 - (mean_var[:, None] - acov.mean(axis=1)) / var_plus[:, None]  # (k, lag)
    floor = 1.0 / np.log10(c * n)
    for j, k in enumerate(todo):
        out[k] = c * n / max(_geyer_tau(rho[j], n), floor)
    return out


def _geyer_tau(rho: np.ndarray, n: int) -> float:
    """The integrated autocorrelation time from the autocorrelations ``rho`` (lag 0..),
    truncated by Geyer's initial positive sequence and made monotone (as ArviZ does)."""
    rho_t = np.zeros(n)
    even, odd = 1.0, float(rho[1])
    rho_t[0], rho_t[1] = even, odd
    t = 1
    while t < n - 3 and even + odd > 0.0:
        even, odd = float(rho[t + 1]), float(rho[t + 2])
        if even + odd >= 0:
            rho_t[t + 1], rho_t[t + 2] = even, odd
        t += 2
    max_t = t - 2
    if even > 0:
        rho_t[max_t + 1] = even
    t = 1
    while t <= max_t - 2:
        if rho_t[t + 1] + rho_t[t + 2] > rho_t[t - 1] + rho_t[t]:
            rho_t[t + 1] = (rho_t[t - 1] + rho_t[t]) / 2.0
            rho_t[t + 2] = rho_t[t + 1]
        t += 2
    tau = -1.0 + 2.0 * rho_t[: max_t + 1].sum() + rho_t[max_t + 1 : max_t + 2].sum()
    return float("nan") if np.isnan(rho_t).any() else float(tau)


def _valid(x: np.ndarray) -> np.ndarray:
    return ~np.isnan(x).any(axis=(1, 2))


def _rhat_from(split: np.ndarray, z: np.ndarray) -> np.ndarray:
    """R-hat from split draws and their rank-normalised values."""
    folded = np.abs(split - np.median(split.reshape(split.shape[0], -1), axis=1)[:, None, None])
    bulk, tail = _rhat_of(z), _rhat_of(_z_scale(folded))
    return np.where(tail > bulk, tail, bulk)  # Python's max(bulk, tail), as ArviZ


def _tail_from(x: np.ndarray) -> np.ndarray:
    flat = x.reshape(x.shape[0], -1)
    low, high = (
        # R's type 7 quantile, as ArviZ's mquantiles(alphap=1, betap=1)
        _ess_of(_split((x <= np.quantile(flat, prob, axis=1)[:, None, None]).astype(float)))
        for prob in TAIL_PROBS
    )
    return np.where(high < low, high, low)  # Python's min(low, high), as ArviZ


def summary(draws: np.ndarray) -> tuple:
    """``(rhat, ess_bulk, ess_tail)`` of every quantity of ``draws`` (chain, draw, ...),
    each shaped like one draw; the rank normalisation is computed once for all three."""
    x = _as_quantities(draws)
    out = [np.full(x.shape[0], np.nan) for _ in range(3)]
    ok = _valid(x)
    if x.shape[2] >= 4 and ok.any():
        y = x[ok]
        split = _split(y)
        z = _z_scale(split)
        if x.shape[1] >= 2:
            out[0][ok] = _rhat_from(split, z)
        out[1][ok] = _ess_of(z)
        out[2][ok] = _tail_from(y)
    return tuple(_shaped(o, draws) for o in out)


def rhat(draws: np.ndarray) -> np.ndarray:
    """Rank-normalised split R-hat of every quantity of ``draws`` (chain, draw, ...),
    shaped like one draw (a float for draws of shape (chain, draw)); NaN with one chain."""
    x = _as_quantities(draws)
    out = np.full(x.shape[0], np.nan)
    ok = _valid(x)
    if x.shape[1] >= 2 and x.shape[2] >= 4 and ok.any():
        split = _split(x[ok])
        out[ok] = _rhat_from(split, _z_scale(split))
    return _shaped(out, draws)


def ess_bulk(draws: np.ndarray) -> np.ndarray:
    """Bulk effective sample size of every quantity of ``draws`` (chain, draw, ...)."""
    x = _as_quantities(draws)
    out = np.full(x.shape[0], np.nan)
    ok = _valid(x)
    if x.shape[2] >= 4 and ok.any():
        out[ok] = _ess_of(_z_scale(_split(x[ok])))
    return _shaped(out, draws)


def ess_tail(draws: np.ndarray) -> np.ndarray:
    """Tail effective sample size (5% and 95% quantiles) of every quantity of ``draws``."""
    x = _as_quantities(draws)
    out = np.full(x.shape[0], np.nan)
    ok = _valid(x)
    if x.shape[2] >= 4 and ok.any():
        out[ok] = _tail_from(x[ok])
    return _shaped(out, draws)


def _shaped(values: np.ndarray, draws: np.ndarray):
    shape = np.shape(draws)[2:]
    return float(values[0]) if not shape else values.reshape(shape)


__all__ = ["TAIL_PROBS", "ess_bulk", "ess_tail", "rhat", "summary"]
