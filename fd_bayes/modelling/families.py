"""Likelihood families: the distribution of one follow-up count given its parameters.

Every family has a count part with mean ``mu`` (log link: the linear predictor of
:func:`fd_bayes.modelling.pymc_model.build_model`) and, for the negative-binomial families, a shape
``phi`` (variance ``mu + mu^2 / phi``). The zero-handling families add a zero part with
a linear predictor ``z`` per row (its crime type x outcome and arm):

- ``zinb``, zero-inflated NB: with probability ``pi = expit(z)`` the count is a
  structural zero, otherwise it is NB(mu, phi)::

      P(0) = pi + (1 - pi) NB0,   P(y) = (1 - pi) NB(y) for y > 0,   E[y] = (1 - pi) mu

- ``hurdle_negbin``, hurdle NB: a zero with probability ``p0``, otherwise a draw from
  the zero-truncated NB::

      P(0) = p0,   P(y) = (1 - p0) NB(y) / (1 - NB0) for y > 0,
      E[y] = (1 - p0) mu / (1 - NB0)

  The zero probability is a shift of the NB's own: ``logit p0 = logit NB0 + z``. So
  ``z = 0`` is the NB exactly, and the zero part keeps what makes a person more or less
  likely to offend at all (person effect, baseline count, exposure); ``z`` says how many
  more (``z > 0``) or fewer zeros the data have than the NB predicts.

with ``NB0 = (phi / (phi + mu))^phi``, ``log NB0 = -phi * log1p(mu / phi)``.

- ``negmult``, negative multinomial: given a person's frailty ``g`` (a multiplier of
  all their rates, ``g ~ Gamma(k, k)``, mean 1, SD ``person_cv = 1 / sqrt(k)``) each
  count is Poisson(g mu). The frailty is integrated out in the model, so the sampler
  sees no per-person parameter: for a person with counts ``y_c``, total ``S`` and
  summed mean ``M``::

      log p(y) = sum_c [y_c log mu_c - log y_c!] + log Gamma(k + S) - log Gamma(k)
                 + k log k - (k + S) log(k + M)

  Each count is marginally NB(mu, k); a person's counts are positively correlated
  through ``g`` (the role of the normal person effect of the other families). After
  sampling, each draw's frailties are drawn from their exact conditional posterior
  ``Gamma(k + S, k + M)`` (:func:`fd_bayes.modelling.posterior.frailty_draws`), so everything
  computed from draws (effects, predictive checks) is the Poisson family given ``g``.

Each family is stated twice: in PyTensor, in :mod:`fd_bayes.modelling.likelihood`, as
what its zero part adds to the NB log-likelihood
(:func:`fd_bayes.modelling.likelihood.zero_part_loglik` added to
:func:`fd_bayes.modelling.likelihood.negbin_loglik`; all data symbolic, so a compiled
model takes new data of the same shape), and here in numpy, for what is computed from
posterior draws: the pointwise log-likelihood (PSIS-LOO), the mean ``E[y]`` that
g-computation sums (so an effects table means the same for every family: ratios of
expected counts) and replicated counts (predictive checks).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats
from scipy.special import gammaln, log_expit, xlogy


@dataclass(frozen=True)
class Family:
    """A likelihood family: its count part and its zero part.

    ``zero`` is ``None`` (no zero part), ``"inflated"`` or ``"hurdle"``; ``zero_priors``
    names the priors of the zero part's intercept per crime type x outcome and of its
    treatment coefficient.
    """

    name: str
    negbin: bool
    zero: str | None = None
    zero_priors: tuple[str, str] | None = None
    #: the person effect is a gamma frailty integrated out of the likelihood
    frailty: bool = False


REGISTRY: dict[str, Family] = {
    f.name: f
    for f in (
        Family("negbin", negbin=True),
        Family("poisson", negbin=False),
        Family("negmult", negbin=False, frailty=True),
        Family("zinb", negbin=True, zero="inflated", zero_priors=("zi_intercept", "zi_treated")),
        Family(
            "hurdle_negbin",
            negbin=True,
            zero="hurdle",
            zero_priors=("hurdle_intercept", "hurdle_treated"),
        ),
    )
}


def get(name: str) -> Family:
    """The family called ``name`` (a spec's ``family``)."""
    try:
        return REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown family {name!r}; known: {', '.join(REGISTRY)}") from None


def of_posterior(posterior) -> str:
    """The family of a model from the variables of its posterior (or prior) draws."""
    for fam in REGISTRY.values():
        if fam.zero_priors and fam.zero_priors[0] in posterior:
            return fam.name
    if "person_cv" in posterior:
        return "negmult"
    return "negbin" if "dispersion" in posterior else "poisson"


@dataclass(frozen=True)
class RowParams:
    """Per draw and row: count-part mean ``mu``, NB shape ``phi`` (None for a Poisson)
    and zero-part linear predictor ``zero`` (None without a zero part); arrays
    (draws, rows)."""

    mu: np.ndarray
    phi: np.ndarray | None = None
    zero: np.ndarray | None = None


# -- numpy: from posterior draws ------------------------------------------------------------
def _log1mexp(x: np.ndarray) -> np.ndarray:
    """log(1 - exp(x)) for x <= 0, accurate near 0 and far below it."""
    x = np.asarray(x, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(x > -np.log(2.0), np.log(-np.expm1(x)), np.log1p(-np.exp(x)))


def log_nb0(p: RowParams) -> np.ndarray:
    """log P(y = 0) under the count part: ``-phi log1p(mu / phi)`` (``-mu`` for Poisson)."""
    if p.phi is None:
        return -p.mu
    return -p.phi * np.log1p(p.mu / p.phi)


def count_logpmf(y: np.ndarray, p: RowParams) -> np.ndarray:
    """NB2 (or Poisson) log-probabilities of ``y`` (rows) under every draw.

    A zero count's log-probability is ``-mu`` (Poisson) or ``-phi s`` (NB2, with
    ``s = log(1 + mu / phi)``); the terms of a positive count are added to its rows
    only, so the cost follows the positive counts (a quarter of the seed's rows), not
    every row times the largest count.
    """
    y = np.asarray(y, dtype=float)
    if y.ndim != 1:  # counts per draw too: every element's terms
        return _count_logpmf_dense(y, p)
    mu = np.asarray(p.mu, dtype=float)
    phi = None if p.phi is None else np.broadcast_to(np.asarray(p.phi, dtype=float), mu.shape)
    if phi is None:
        ll = -mu
    else:
        s = np.log1p(mu / phi)
        ll = -phi * s
    pos = np.flatnonzero(y > 0)
    if not pos.size:
        return ll
    yp, mp = y[pos], mu[..., pos]
    part = xlogy(yp, mp) - gammaln(yp + 1.0)
    if phi is not None:
        # lgamma(y + phi) - lgamma(phi) = y log(phi) + sum_{k<y} log1p(k / phi), which
        # keeps its precision as phi grows (the Poisson limit)
        part -= yp * s[..., pos]
        php = phi[..., pos]
        for k in range(1, int(yp.max())):
            rows = np.flatnonzero(yp > k)
            part[..., rows] += np.log1p(k / php[..., rows])
    ll[..., pos] += part
    return ll


def _count_logpmf_dense(y: np.ndarray, p: RowParams) -> np.ndarray:
    mu, phi = p.mu, p.phi
    if phi is None:
        return xlogy(y, mu) - mu - gammaln(y + 1.0)
    s = np.log1p(mu / phi)
    ll = xlogy(y, mu) - y * s - phi * s - gammaln(y + 1.0)
    for k in range(1, int(y.max(initial=0))):
        ll = ll + np.where(y > k, np.log1p(k / phi), 0.0)
    return ll


def _hurdle_logit_p0(p: RowParams, l0: np.ndarray) -> np.ndarray:
    return l0 - _log1mexp(l0) + p.zero


def logpmf(family: str, y: np.ndarray, p: RowParams) -> np.ndarray:
    """Pointwise log-likelihood of counts ``y`` (rows) under every draw (draws, rows)."""
    fam = get(family)
    ll = count_logpmf(y, p)
    if fam.zero is None:
        return ll
    y = np.asarray(y)
    l0 = log_nb0(p)
    if fam.zero == "inflated":
        log_pi, log_1mpi = log_expit(p.zero), log_expit(-p.zero)
        return np.where(y == 0, np.logaddexp(log_pi, log_1mpi + l0), log_1mpi + ll)
    a = _hurdle_logit_p0(p, l0)
    return np.where(y == 0, log_expit(a), log_expit(-a) + ll - _log1mexp(l0))


def mean(family: str, p: RowParams) -> np.ndarray:
    """``E[y]`` per draw and row: what g-computation sums."""
    fam = get(family)
    if fam.zero is None:
        return p.mu
    if fam.zero == "inflated":
        return np.exp(log_expit(-p.zero)) * p.mu
    l0 = log_nb0(p)
    return np.exp(log_expit(-_hurdle_logit_p0(p, l0)) + np.log(p.mu) - _log1mexp(l0))


def _count_draw(rng: np.random.Generator, mu, phi):
    if phi is None:
        return rng.poisson(mu)
    # NB2 as its Poisson-gamma mixture, y ~ Poisson(Gamma(phi, scale mu / phi)): the
    # distribution of rng.negative_binomial(phi, phi / (phi + mu)), drawn in two array
    # passes (numpy's two-parameter negative_binomial takes 2.4x as long)
    return rng.poisson(rng.gamma(phi, np.asarray(mu) / phi))


def _truncated_draw(rng: np.random.Generator, mu, phi, tries: int = 20) -> np.ndarray:
    """Draws from the zero-truncated count part: rejection, then the inverse CDF for
    the rows (small means) still at zero."""
    out = _count_draw(rng, mu, phi)
    for _ in range(tries):
        redo = out == 0
        if not redo.any():
            return out
        out[redo] = _count_draw(rng, mu[redo], None if phi is None else phi[redo])
    redo = np.flatnonzero(out == 0)
    m = mu[redo]
    if phi is None:
        dist = stats.poisson(m)
    else:
        ph = phi[redo]
        dist = stats.nbinom(ph, ph / (ph + m))
    f0 = dist.cdf(0)
    u = f0 + (1.0 - f0) * rng.random(len(redo))
    q = dist.ppf(u)
    # where P(0) rounds to 1 the truncated distribution is (in the limit) a point mass at 1
    out[redo] = np.where(np.isfinite(q), np.maximum(q, 1), 1).astype(out.dtype)
    return out


def draw(family: str, rng: np.random.Generator, p: RowParams) -> np.ndarray:
    """One replicated count per draw and row (draws, rows)."""
    fam = get(family)
    if fam.zero is None:
        return _count_draw(rng, p.mu, p.phi)
    if fam.zero == "inflated":
        y = _count_draw(rng, p.mu, p.phi)
        return np.where(rng.random(p.mu.shape) < np.exp(log_expit(p.zero)), 0, y)
    p0 = np.exp(log_expit(_hurdle_logit_p0(p, log_nb0(p))))
    positive = rng.random(p.mu.shape) >= p0
    y = np.zeros(p.mu.shape, dtype="int64")
    phi = None if p.phi is None else p.phi[positive]
    y[positive] = _truncated_draw(rng, p.mu[positive], phi)
    return y


__all__ = ["REGISTRY", "Family", "RowParams", "draw", "get", "logpmf", "mean", "of_posterior"]
