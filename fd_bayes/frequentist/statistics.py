"""The statistics of :func:`fd_bayes.frequentist.compare`, on numpy arrays.

Each function takes arrays (or arm totals) and returns numbers: an :class:`Estimate` (or a
tuple), with ``NaN`` and a ``reason`` where a method is undefined for the data. Warnings
from statsmodels/scipy are caught by :func:`run_quietly` and become notes, never leak.
Count regressions (:func:`fit_negbin`, :func:`fit_poisson`) return a :class:`GlmResult`;
:func:`wald_ratio` turns one into the rate ratio's estimate. Randomisation inference:
:func:`stratified_allocations` re-runs the stratified allocation, and
:func:`mh_log_rate_ratio`, :func:`mean_difference` and :func:`permutation_p` give the
statistics and two-sided p over those allocations. The methods are described in the
package docstring (:mod:`fd_bayes.frequentist`) and ``docs/frequentist.md``.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import stats

from fd_bayes.constants import HDI_PROB

#: NB2 dispersion MLEs below this are taken as the Poisson limit (alpha = 0), where the
#: Hessian is singular in alpha; the Poisson fit (same limit) gives the standard errors.
ALPHA_BOUNDARY: float = 1e-4

NAN = float("nan")


# -- small results -------------------------------------------------------------------------
@dataclass
class Estimate:
    """One estimate with its interval and p-value; NaN fields are explained in ``reason``."""

    estimate: float = NAN
    lower: float = NAN
    upper: float = NAN
    p_value: float = NAN
    reason: str = ""
    mc_se: float = NAN


@dataclass
class GlmResult:
    """A fitted count regression: the treatment log rate ratio, its SE and the fit status."""

    params: np.ndarray
    bse: np.ndarray
    converged: bool
    alpha: float = NAN
    notes: list[str] = field(default_factory=list)


def _z(level: float) -> float:
    return float(stats.norm.ppf(0.5 + level / 2.0))


def run_quietly(func: Callable, notes: list[str]):
    """Call ``func()``; warnings become plain-text notes instead of leaking."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with np.errstate(all="ignore"):
            out = func()
    for w in caught:
        text = f"{w.category.__name__}: {str(w.message).splitlines()[0]}"
        if text not in notes:
            notes.append(text)
    return out


def join_notes(*parts: str | Iterable[str]) -> str:
    """Notes (strings or lists of strings) joined with ``"; "``, empty and repeated ones
    left out: the text of a ``reason``."""
    flat: list[str] = []
    for p in parts:
        for item in [p] if isinstance(p, str) else p:
            if item and item not in flat:
                flat.append(item)
    return "; ".join(flat)


# -- array statistics ----------------------------------------------------------------------
def holm(p_values: Sequence[float] | np.ndarray) -> np.ndarray:
    """Holm step-down adjusted p-values; NaN entries are left out of the family.

    Parameters
    ----------
    p_values : array-like of float

    Returns
    -------
    numpy.ndarray
        Adjusted p-values (NaN where the input is NaN).

    Examples
    --------
    >>> holm([0.01, 0.04, 0.03, 0.005]).round(3).tolist()
    [0.03, 0.06, 0.06, 0.02]
    """
    p = np.asarray(p_values, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = np.flatnonzero(np.isfinite(p))
    m = ok.size
    if m == 0:
        return out
    order = ok[np.argsort(p[ok], kind="stable")]
    adjusted = np.maximum.accumulate(p[order] * (m - np.arange(m)))
    out[order] = np.minimum(adjusted, 1.0)
    return out


def rank_biserial(treatment: np.ndarray, control: np.ndarray) -> float:
    """Rank-biserial correlation P(T > C) - P(T < C) over all treatment x control pairs.

    Negative values mean treated people tend to have the lower values. Equals
    ``2 U_T / (n_T n_C) - 1`` with ``U_T`` the Mann-Whitney U of the treatment arm.

    Examples
    --------
    >>> rank_biserial(np.array([0, 0, 1]), np.array([1, 2, 0, 0]))
    -0.25
    """
    t = np.asarray(treatment, dtype=float)
    c = np.sort(np.asarray(control, dtype=float))
    if t.size == 0 or c.size == 0:
        return NAN
    below = np.searchsorted(c, t, side="left")  # controls strictly below each t
    above = c.size - np.searchsorted(c, t, side="right")  # controls strictly above
    return float((below.sum() - above.sum()) / (t.size * c.size))


def hedges_g(
    treatment: np.ndarray, control: np.ndarray, level: float = HDI_PROB
) -> tuple[float, float, float, str]:
    """Hedges' g (treatment - control) with its normal-approximation interval.

    ``g = J d`` with ``d`` the mean difference over the pooled SD and
    ``J = 1 - 3 / (4 (n_T + n_C) - 9)``; ``var(g) = J^2 ((n_T + n_C) / (n_T n_C) +
    d^2 / (2 (n_T + n_C)))`` (Hedges & Olkin 1985; Borenstein et al. 2009, ch. 4).

    Returns
    -------
    (g, lower, upper, reason)
        NaN with a reason when an arm has fewer than two people or the pooled SD is 0.
    """
    t = np.asarray(treatment, dtype=float)
    c = np.asarray(control, dtype=float)
    n1, n0 = t.size, c.size
    if n1 < 2 or n0 < 2:
        return NAN, NAN, NAN, "fewer than two people in an arm"
    pooled_var = ((n1 - 1) * t.var(ddof=1) + (n0 - 1) * c.var(ddof=1)) / (n1 + n0 - 2)
    if not pooled_var > 0:
        return NAN, NAN, NAN, "no variation in follow-up counts (pooled SD is 0)"
    d = (t.mean() - c.mean()) / np.sqrt(pooled_var)
    j = 1.0 - 3.0 / (4.0 * (n1 + n0) - 9.0)
    g = j * d
    se = j * np.sqrt((n1 + n0) / (n1 * n0) + d**2 / (2.0 * (n1 + n0)))
    z = _z(level)
    return float(g), float(g - z * se), float(g + z * se), ""


def exact_rate_test(
    count_t: float, exposure_t: float, count_c: float, exposure_c: float, level: float = HDI_PROB
) -> Estimate:
    """Rate ratio (treatment / control) with the exact conditional test and interval.

    Conditional on the total, the treatment count is binomial; the p-value is
    statsmodels ``test_poisson_2indep(..., method="exact-cond")`` (two-sided, minimum
    likelihood, as R's ``binom.test``) and the interval is the Clopper-Pearson interval
    of the binomial proportion mapped to the rate ratio (as R's ``poisson.test``).
    """
    from statsmodels.stats.rates import test_poisson_2indep

    total = count_t + count_c
    if total == 0:
        return Estimate(reason="no events in either arm: rate ratio undefined")
    notes: list[str] = []
    res = run_quietly(
        lambda: test_poisson_2indep(
            int(count_t), exposure_t, int(count_c), exposure_c, method="exact-cond"
        ),
        notes,
    )
    alpha = 1.0 - level
    lo_p = stats.beta.ppf(alpha / 2, count_t, count_c + 1) if count_t > 0 else 0.0
    hi_p = stats.beta.ppf(1 - alpha / 2, count_t + 1, count_c) if count_c > 0 else 1.0
    scale = exposure_c / exposure_t
    lower = lo_p / (1 - lo_p) * scale
    upper = hi_p / (1 - hi_p) * scale if hi_p < 1 else np.inf
    if count_c == 0:
        notes.insert(0, "no control events: rate ratio infinite, interval unbounded above")
        est = NAN
    else:
        est = (count_t / exposure_t) / (count_c / exposure_c)
    return Estimate(est, float(lower), float(upper), float(res.pvalue), join_notes(notes))


def risk_ratio_fisher(
    events_t: int, n_t: int, events_c: int, n_c: int, level: float = HDI_PROB
) -> Estimate:
    """Risk ratio of any event (treatment / control), Koopman score interval, Fisher's p."""
    from statsmodels.stats.proportion import confint_proportions_2indep

    if events_t + events_c == 0:
        return Estimate(reason="no one with an event in either arm: risk ratio undefined")
    table = np.array([[events_t, n_t - events_t], [events_c, n_c - events_c]])
    p = float(stats.fisher_exact(table).pvalue)
    notes: list[str] = []
    try:
        lower, upper = run_quietly(
            lambda: confint_proportions_2indep(
                events_t, n_t, events_c, n_c, method="score", compare="ratio", alpha=1 - level
            ),
            notes,
        )
    except (ValueError, ZeroDivisionError, FloatingPointError) as exc:
        lower, upper = NAN, NAN
        notes.append(f"score interval failed: {exc}")
    if events_c == 0:
        notes.insert(0, "no control events: risk ratio infinite")
        est = NAN
    else:
        est = (events_t / n_t) / (events_c / n_c)
    return Estimate(est, float(lower), float(upper), p, join_notes(notes))


def fit_negbin(
    y: np.ndarray,
    X: np.ndarray,
    offset: np.ndarray | None = None,
    groups: np.ndarray | None = None,
    maxiter: int = 200,
) -> GlmResult:
    """NB2 regression with the dispersion alpha estimated by maximum likelihood.

    statsmodels ``discrete.NegativeBinomial(loglike_method="nb2")`` fitted by BFGS
    (log-alpha scale) and polished by Newton's method; variance ``mu + alpha mu^2``.
    With ``groups``, standard errors are cluster-robust by group. Warnings become
    ``notes``; ``converged`` is False when neither optimiser converged. When the
    dispersion MLE is at the Poisson limit (``alpha < ALPHA_BOUNDARY``) the estimate is
    returned with NaN standard errors (the Hessian is singular in alpha there):
    :func:`compare` then reports the Poisson fit's model-based standard errors.

    Returns
    -------
    GlmResult
        ``params`` and ``bse`` exclude alpha; ``alpha`` holds the dispersion.
    """
    from statsmodels.discrete.discrete_model import NegativeBinomial

    notes: list[str] = []
    cov = {} if groups is None else {"cov_type": "cluster", "cov_kwds": {"groups": groups}}
    model = NegativeBinomial(y, X, loglike_method="nb2", offset=offset)
    k = X.shape[1]
    failed = GlmResult(np.full(k, np.nan), np.full(k, np.nan), False, notes=notes)
    try:
        first_notes: list[str] = []
        first = run_quietly(lambda: model.fit(method="bfgs", maxiter=1000, disp=False), first_notes)
        if first.params[-1] < ALPHA_BOUNDARY and np.isfinite(first.llf):
            # Poisson limit: the profile likelihood increases as alpha -> 0; Newton steps
            # in alpha (and polygamma at 1/alpha) misbehave there, so stop here
            params = np.asarray(first.params, dtype=float)
            return GlmResult(params[:-1], np.full(k, np.nan), True, float(params[-1]), notes)
        polish_notes: list[str] = []
        res = run_quietly(
            lambda: model.fit(
                start_params=first.params, method="newton", maxiter=maxiter, disp=False
            ),
            polish_notes,
        )
        if res.mle_retvals.get("converged", False) and np.isfinite(res.llf):
            best = res if res.llf >= first.llf - 1e-6 else first
            notes += polish_notes
        elif first.mle_retvals.get("converged", False) and np.isfinite(first.llf):
            best = first
            notes += first_notes
        else:
            notes += [*first_notes, *polish_notes]
            return failed
        if cov:  # same estimate, cluster-robust covariance
            best = run_quietly(
                lambda: model.fit(
                    start_params=best.params, method="bfgs", maxiter=0, disp=False, **cov
                ),
                [],
            )
    except (np.linalg.LinAlgError, ValueError, OverflowError) as exc:
        notes.append(str(exc))
        return failed
    params = np.asarray(best.params, dtype=float)
    bse = np.asarray(best.bse, dtype=float)
    converged = True
    return GlmResult(params[:-1], bse[:-1], converged, float(params[-1]), notes)


def fit_poisson(
    y: np.ndarray,
    X: np.ndarray,
    offset: np.ndarray | None = None,
    groups: np.ndarray | None = None,
    robust: bool = True,
) -> GlmResult:
    """Poisson GLM (IRLS) with sandwich standard errors: HC0, or clustered by ``groups``.

    ``robust=False`` (and no ``groups``) gives model-based standard errors.
    """
    import statsmodels.api as sm

    notes: list[str] = []
    if groups is not None:
        cov: dict = {"cov_type": "cluster", "cov_kwds": {"groups": groups}}
    else:
        cov = {"cov_type": "HC0" if robust else "nonrobust"}
    model = sm.GLM(y, X, family=sm.families.Poisson(), offset=offset)
    try:
        res = run_quietly(lambda: model.fit(maxiter=100, **cov), notes)
    except (np.linalg.LinAlgError, ValueError, OverflowError) as exc:
        k = X.shape[1]
        return GlmResult(np.full(k, np.nan), np.full(k, np.nan), False, notes=[str(exc)])
    return GlmResult(
        np.asarray(res.params, float), np.asarray(res.bse, float), bool(res.converged), notes=notes
    )


def wald_ratio(fit: GlmResult, level: float, col: int = 1) -> Estimate:
    """The rate ratio of coefficient ``col`` (the treatment) with its Wald interval and p."""
    b, se = fit.params[col], fit.bse[col]
    notes = list(fit.notes)
    if not fit.converged:
        return Estimate(reason=join_notes("model did not converge", notes))
    if not (np.isfinite(b) and np.isfinite(se) and se > 0):
        return Estimate(reason=join_notes("non-finite estimate or standard error", notes))
    z = _z(level)
    p = float(2 * stats.norm.sf(abs(b / se)))
    return Estimate(
        float(np.exp(b)), float(np.exp(b - z * se)), float(np.exp(b + z * se)), p, join_notes(notes)
    )


def stratified_allocations(
    strata: np.ndarray, treated: np.ndarray, n_permutations: int, rng: np.random.Generator
) -> np.ndarray:
    """Re-run a stratified allocation: same number treated in each stratum.

    Parameters
    ----------
    strata : array of int, shape (n,)
        Stratum code per person.
    treated : array of bool, shape (n,)
        The observed allocation.
    n_permutations : int
    rng : numpy.random.Generator

    Returns
    -------
    numpy.ndarray of bool, shape (n_permutations, n)
        Each row an allocation with ``treated[strata == s].sum()`` treated in stratum s,
        uniformly over such allocations.
    """
    strata = np.asarray(strata)
    treated = np.asarray(treated, dtype=bool)
    out = np.zeros((n_permutations, strata.size), dtype=bool)
    rows = np.arange(n_permutations)[:, None]
    for s in np.unique(strata):
        members = np.flatnonzero(strata == s)
        k = int(treated[members].sum())
        if k == 0:
            continue
        keys = rng.random((n_permutations, members.size))
        chosen = np.argpartition(keys, k - 1, axis=1)[:, :k] if k < members.size else None
        if chosen is None:
            out[:, members] = True
        else:
            out[rows, members[chosen]] = True
    return out


def mh_log_rate_ratio(
    alloc: np.ndarray, y: np.ndarray, exposure: np.ndarray, strata: np.ndarray
) -> np.ndarray:
    """Mantel-Haenszel log rate ratio for each allocation (rows of ``alloc``)."""
    a = alloc.astype(float, copy=False)
    num = np.zeros(a.shape[0])
    den = np.zeros(a.shape[0])
    for s in np.unique(strata):
        m = strata == s
        a_s, y_s, e_s = a[:, m], y[m], exposure[m]
        y1, e1 = a_s @ y_s, a_s @ e_s
        y0, e0 = y_s.sum() - y1, e_s.sum() - e1
        num += y1 * e0 / e_s.sum()
        den += y0 * e1 / e_s.sum()
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log(num) - np.log(den)


def mean_difference(alloc: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Difference in mean ``y`` (treated - control) for each allocation (rows of ``alloc``)."""
    a = alloc.astype(float, copy=False)
    k = a.sum(axis=1)
    s1 = a @ y
    return s1 / k - (y.sum() - s1) / (y.size - k)


def permutation_p(observed: float, permuted: np.ndarray) -> tuple[float, float]:
    """Two-sided p (observed allocation counted once) and its Monte Carlo SE."""
    tol = 1e-9 * max(1.0, abs(observed)) if np.isfinite(observed) else 0.0
    hits = np.count_nonzero(np.abs(permuted) >= abs(observed) - tol)
    n = permuted.size
    p = (1 + hits) / (1 + n)
    return float(p), float(np.sqrt(p * (1 - p) / n))
