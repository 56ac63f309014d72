"""Frequentist comparisons beside the Bayesian results.

:func:`compare` runs the classical analyses a reviewer expects on a :class:`~fd_bayes.Trial`
and returns them as one tidy table, one row per method x measure x outcome x crime type x
age band. Statistics are computed on arrays first (the functions below take numpy arrays
and return numbers); the table is built last.

Zero counts are the normal case in small trials. No method divides by zero or raises
because an arm has no events: where a method is undefined for the data (no events in
either arm, a rate ratio whose maximum-likelihood estimate is 0 or infinite, a GLM that
does not converge), the row carries ``NaN`` and says why in the ``reason`` column.
Warnings from statsmodels/scipy are caught and written to ``reason``, never leaked.

Methods (see ``docs/frequentist.md``):

``negbin_glm``
    NB2 regression, dispersion by maximum likelihood (statsmodels
    ``discrete.NegativeBinomial``, not the GLM family, which fixes it at 1:
    statsmodels#8360): ``post ~ treatment + log1p(pre) [+ age band] +
    offset(log(person-years))``; Wald interval and p for the rate ratio. Plus an
    ``overall`` row per outcome pooling crime types (crime-type intercepts, one baseline
    slope, one treatment effect) with standard errors clustered by person. The NB2
    estimate is the MLE of ``discrete.NegativeBinomial`` for the same design; where the
    dispersion MLE is at the Poisson limit the Poisson fit's model-based SE is used.
``poisson_glm``
    The same mean model as a Poisson GLM with sandwich (HC0) standard errors
    (cluster-robust by person for ``overall``).
``rate_test``
    Exact conditional test of two Poisson rates on the arm totals with exposure
    (statsmodels ``test_poisson_2indep``, ``method="exact-cond"``) and the matching
    Clopper-Pearson interval for the rate ratio (as R's ``poisson.test``).
``mann_whitney``
    Mann-Whitney U on follow-up counts per person-year, two-sided (normal
    approximation with tie and continuity correction, as R's ``wilcox.test`` with
    ties); effect size the rank-biserial correlation P(T > C) - P(T < C).
``welch_t``
    Difference in mean follow-up counts (treatment - control), Welch interval and p.
``hedges_g``
    Standardised mean difference with the small-sample correction and its normal
    interval (Hedges & Olkin; as pooled in the Campbell review of focused deterrence).
``fisher_any``
    Any event in follow-up: risk ratio with the Koopman score interval (defined with
    zero cells) and Fisher's exact p.
``randomisation``
    Randomisation inference re-running the trial's stratified allocation (same number
    treated in each trial x age-band stratum) ``n_permutations`` times. Statistics: the
    Mantel-Haenszel (Poisson) log rate ratio across strata and the difference in mean
    follow-up counts. Two-sided p = (1 + #{|t*| >= |t|}) / (1 + n_permutations), with
    its Monte Carlo standard error in ``mc_se``.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from fd_bayes.constants import DAYS_PER_YEAR, HDI_PROB
from fd_bayes.data.trial import Trial
from fd_bayes.errors import SettingsError

__all__ = [
    "COLUMNS",
    "DEFAULT_N_PERMUTATIONS",
    "METHODS",
    "compare",
    "exact_rate_test",
    "fit_negbin",
    "fit_poisson",
    "hedges_g",
    "holm",
    "rank_biserial",
    "risk_ratio_fisher",
    "stratified_allocations",
]

#: Default number of re-randomisations for the ``randomisation`` method.
DEFAULT_N_PERMUTATIONS: int = 10_000

#: Every method :func:`compare` knows, in the order rows appear.
METHODS: tuple[str, ...] = (
    "negbin_glm",
    "poisson_glm",
    "rate_test",
    "mann_whitney",
    "welch_t",
    "hedges_g",
    "fisher_any",
    "randomisation",
)

#: Columns of the table :func:`compare` returns.
COLUMNS: tuple[str, ...] = (
    "method",
    "measure",
    "outcome",
    "crime_type",
    "age_band",
    "estimate",
    "lower",
    "upper",
    "p_value",
    "p_holm",
    "n_treatment",
    "n_control",
    "mc_se",
    "reason",
)

#: NB2 dispersion MLEs below this are taken as the Poisson limit (alpha = 0), where the
#: Hessian is singular in alpha; the Poisson fit (same limit) gives the standard errors.
ALPHA_BOUNDARY: float = 1e-4

_ALL = "all"
_OVERALL = "all"  # pooled crime types, as in the effects table
_NAN = float("nan")


# -- small results -------------------------------------------------------------------------
@dataclass
class Estimate:
    """One estimate with its interval and p-value; NaN fields are explained in ``reason``."""

    estimate: float = _NAN
    lower: float = _NAN
    upper: float = _NAN
    p_value: float = _NAN
    reason: str = ""
    mc_se: float = _NAN


@dataclass
class GlmResult:
    """A fitted count regression: the treatment log rate ratio, its SE and the fit status."""

    params: np.ndarray
    bse: np.ndarray
    converged: bool
    alpha: float = _NAN
    notes: list[str] = field(default_factory=list)


def _z(level: float) -> float:
    return float(stats.norm.ppf(0.5 + level / 2.0))


def _run_quietly(func: Callable, notes: list[str]):
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


def _join(*parts: str | Iterable[str]) -> str:
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
        return _NAN
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
        return _NAN, _NAN, _NAN, "fewer than two people in an arm"
    pooled_var = ((n1 - 1) * t.var(ddof=1) + (n0 - 1) * c.var(ddof=1)) / (n1 + n0 - 2)
    if not pooled_var > 0:
        return _NAN, _NAN, _NAN, "no variation in follow-up counts (pooled SD is 0)"
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
    res = _run_quietly(
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
        est = _NAN
    else:
        est = (count_t / exposure_t) / (count_c / exposure_c)
    return Estimate(est, float(lower), float(upper), float(res.pvalue), _join(notes))


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
        lower, upper = _run_quietly(
            lambda: confint_proportions_2indep(
                events_t, n_t, events_c, n_c, method="score", compare="ratio", alpha=1 - level
            ),
            notes,
        )
    except (ValueError, ZeroDivisionError, FloatingPointError) as exc:
        lower, upper = _NAN, _NAN
        notes.append(f"score interval failed: {exc}")
    if events_c == 0:
        notes.insert(0, "no control events: risk ratio infinite")
        est = _NAN
    else:
        est = (events_t / n_t) / (events_c / n_c)
    return Estimate(est, float(lower), float(upper), p, _join(notes))


def _check_design(y: np.ndarray, X: np.ndarray, col: int = 1) -> str:
    """Why the treatment coefficient (column ``col``) has no finite MLE, or ''."""
    if y.sum() == 0:
        return "no events in either arm: rate ratio undefined"
    treated = X[:, col] == 1
    if y[treated].sum() == 0:
        return "no treatment-arm events: rate ratio MLE is 0 (log scale -inf); see rate_test"
    if y[~treated].sum() == 0:
        return "no control-arm events: rate ratio MLE is infinite; see rate_test"
    if np.linalg.matrix_rank(X) < X.shape[1]:
        return "design matrix is rank deficient"
    return ""


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
        first = _run_quietly(
            lambda: model.fit(method="bfgs", maxiter=1000, disp=False), first_notes
        )
        if first.params[-1] < ALPHA_BOUNDARY and np.isfinite(first.llf):
            # Poisson limit: the profile likelihood increases as alpha -> 0; Newton steps
            # in alpha (and polygamma at 1/alpha) misbehave there, so stop here
            params = np.asarray(first.params, dtype=float)
            return GlmResult(params[:-1], np.full(k, np.nan), True, float(params[-1]), notes)
        polish_notes: list[str] = []
        res = _run_quietly(
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
            best = _run_quietly(
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
        res = _run_quietly(lambda: model.fit(maxiter=100, **cov), notes)
    except (np.linalg.LinAlgError, ValueError, OverflowError) as exc:
        k = X.shape[1]
        return GlmResult(np.full(k, np.nan), np.full(k, np.nan), False, notes=[str(exc)])
    return GlmResult(
        np.asarray(res.params, float), np.asarray(res.bse, float), bool(res.converged), notes=notes
    )


def _wald_ratio(fit: GlmResult, level: float, col: int = 1) -> Estimate:
    b, se = fit.params[col], fit.bse[col]
    notes = list(fit.notes)
    if not fit.converged:
        return Estimate(reason=_join("model did not converge", notes))
    if not (np.isfinite(b) and np.isfinite(se) and se > 0):
        return Estimate(reason=_join("non-finite estimate or standard error", notes))
    z = _z(level)
    p = float(2 * stats.norm.sf(abs(b / se)))
    return Estimate(
        float(np.exp(b)), float(np.exp(b - z * se)), float(np.exp(b + z * se)), p, _join(notes)
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


def _mh_log_rate_ratio(
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


def _mean_difference(alloc: np.ndarray, y: np.ndarray) -> np.ndarray:
    a = alloc.astype(float, copy=False)
    k = a.sum(axis=1)
    s1 = a @ y
    return s1 / k - (y.sum() - s1) / (y.size - k)


def _permutation_p(observed: float, permuted: np.ndarray) -> tuple[float, float]:
    """Two-sided p (observed allocation counted once) and its Monte Carlo SE."""
    tol = 1e-9 * max(1.0, abs(observed)) if np.isfinite(observed) else 0.0
    hits = np.count_nonzero(np.abs(permuted) >= abs(observed) - tol)
    n = permuted.size
    p = (1 + hits) / (1 + n)
    return float(p), float(np.sqrt(p * (1 - p) / n))


# -- the per-cell data ----------------------------------------------------------------------
@dataclass
class _Cell:
    """Arrays for one outcome x crime type (x age band) subset, one entry per row/person."""

    y: np.ndarray
    pre: np.ndarray
    exposure_years: np.ndarray
    treated: np.ndarray
    strata: np.ndarray  # trial x age-band code
    person: np.ndarray  # integer person index
    crime: np.ndarray | None = None  # crime-type code (overall rows only)

    @property
    def n_treatment(self) -> int:
        return int(np.unique(self.person[self.treated]).size)

    @property
    def n_control(self) -> int:
        return int(np.unique(self.person[~self.treated]).size)

    def subset(self, mask: np.ndarray) -> _Cell:
        crime = None if self.crime is None else self.crime[mask]
        return _Cell(
            self.y[mask],
            self.pre[mask],
            self.exposure_years[mask],
            self.treated[mask],
            self.strata[mask],
            self.person[mask],
            crime,
        )


def _dummies(codes: np.ndarray) -> np.ndarray:
    levels = np.unique(codes)
    return (codes[:, None] == levels[None, 1:]).astype(float)


def _design(cell: _Cell) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str], np.ndarray]:
    """Design for the count regressions, with uninformative parts dropped.

    Columns: intercept, treatment, ``log1p(pre)`` (one common slope), then crime-type
    (overall rows) and trial x age-band dummies. Levels with no events carry no
    information on the treatment effect once they have their own intercept (whose MLE
    is -inf): their rows are dropped. Likewise, when nobody with a baseline count has a
    follow-up event, the baseline slope's MLE is -inf and the limiting fit uses only the
    people with ``pre = 0`` (without the slope). Each of these is said in the notes.
    Constant covariate columns are dropped.
    """
    notes: list[str] = []
    keep = np.ones(cell.y.size, dtype=bool)
    for codes, what in ((cell.strata, "age band"), (cell.crime, "crime type")):
        if codes is None:
            continue
        totals = pd.Series(cell.y).groupby(codes).sum()
        empty = totals.index[totals.to_numpy() == 0]
        if len(empty) and len(empty) < len(totals):
            keep &= ~np.isin(codes, empty)
            notes.append(f"{len(empty)} {what} level(s) with no events left out of the GLM")
    with_pre = keep & (cell.pre > 0)
    if with_pre.any() and cell.y[with_pre].sum() == 0 and cell.y[keep].sum() > 0:
        keep &= cell.pre == 0
        notes.append(
            "no follow-up events among people with baseline counts (baseline slope MLE is "
            "-inf): fitted on people with pre_count = 0"
        )
    c = cell.subset(keep)
    columns = [np.ones(c.y.size), c.treated.astype(float), np.log1p(c.pre.astype(float))]
    if c.crime is not None:
        columns.extend(_dummies(c.crime).T)
    columns.extend(_dummies(c.strata).T)
    X = np.column_stack(columns)
    informative = np.r_[True, True, np.ptp(X[:, 2:], axis=0) > 0]
    X = X[:, informative]
    return c.y.astype(float), X, np.log(c.exposure_years), notes, c.person


def _glm_estimate(cell: _Cell, method: str, level: float, overall: bool) -> Estimate:
    y, X, offset, notes, person = _design(cell)
    problem = _check_design(y, X)
    if problem:
        return Estimate(reason=_join(problem, notes))
    groups = person if overall else None
    if method == "poisson_glm":
        fit = fit_poisson(y, X, offset, groups=groups)
    else:
        fit = fit_negbin(y, X, offset, groups=groups)
        if fit.converged and fit.alpha < ALPHA_BOUNDARY:
            # the NB2 likelihood is maximised at the Poisson limit; its Hessian is
            # singular in alpha there, so use the Poisson fit's (identical) estimate
            fit = fit_poisson(y, X, offset, groups=groups, robust=False)
            fit.notes.insert(
                0, "dispersion MLE at 0 (Poisson limit): Poisson model-based SE reported"
            )
    fit.notes = [*notes, *fit.notes]
    return _wald_ratio(fit, level)


# -- the table ------------------------------------------------------------------------------
def _cells(trial: Trial) -> dict[tuple[str, str], _Cell]:
    d = trial.data
    person = trial.person_index()
    strata_labels = d["trial"].astype(str) + "\x1f" + d["age_band"].astype(str)
    strata, _ = pd.factorize(strata_labels)
    out = {}
    for (outcome, crime), idx in d.groupby(
        ["outcome", "crime_type"], observed=True
    ).indices.items():
        rows = d.iloc[idx]
        out[(str(outcome), str(crime))] = _Cell(
            y=rows["post_count"].to_numpy(dtype=float),
            pre=rows["pre_count"].to_numpy(dtype=float),
            exposure_years=rows["exposure_days"].to_numpy(dtype=float) / DAYS_PER_YEAR,
            treated=(rows["arm"] == "treatment").to_numpy(),
            strata=strata[idx],
            person=person[idx],
        )
    return out


def _simple_rows(cell: _Cell, method: str, level: float) -> list[tuple[str, Estimate]]:
    t, c = cell.treated, ~cell.treated
    if method == "rate_test":
        est = exact_rate_test(
            cell.y[t].sum(),
            cell.exposure_years[t].sum(),
            cell.y[c].sum(),
            cell.exposure_years[c].sum(),
            level,
        )
        return [("rate_ratio", est)]
    if method == "mann_whitney":
        rate = cell.y / cell.exposure_years
        r = rank_biserial(rate[t], rate[c])
        if np.all(rate == rate[0]):
            return [("rank_biserial", Estimate(r, reason="all follow-up rates equal: no test"))]
        notes: list[str] = []
        res = _run_quietly(
            lambda: stats.mannwhitneyu(rate[t], rate[c], alternative="two-sided"), notes
        )
        notes.insert(0, "no interval for the rank-biserial correlation")
        return [("rank_biserial", Estimate(r, p_value=float(res.pvalue), reason=_join(notes)))]
    if method == "welch_t":
        y1, y0 = cell.y[t], cell.y[c]
        diff = float(y1.mean() - y0.mean())
        if y1.size < 2 or y0.size < 2:
            return [("difference", Estimate(diff, reason="fewer than two people in an arm"))]
        if y1.var(ddof=1) + y0.var(ddof=1) == 0:
            return [("difference", Estimate(diff, reason="no variation in either arm: no test"))]
        notes = []
        res = _run_quietly(lambda: stats.ttest_ind(y1, y0, equal_var=False), notes)
        ci = res.confidence_interval(confidence_level=level)
        est = Estimate(diff, float(ci.low), float(ci.high), float(res.pvalue), _join(notes))
        return [("difference", est)]
    if method == "hedges_g":
        g, lo, hi, why = hedges_g(cell.y[t], cell.y[c], level)
        return [("hedges_g", Estimate(g, lo, hi, reason=why or "p-value: see welch_t"))]
    if method == "fisher_any":
        anyev = cell.y > 0
        est = risk_ratio_fisher(
            int(anyev[t].sum()), int(t.sum()), int(anyev[c].sum()), int(c.sum()), level
        )
        return [("risk_ratio", est)]
    raise AssertionError(method)  # pragma: no cover


def _randomisation_rows(cell: _Cell, alloc: np.ndarray) -> list[tuple[str, Estimate]]:
    """Both randomisation statistics; ``alloc`` columns are indexed by ``cell.person``."""
    same = cell.person.size == alloc.shape[1] and (cell.person == np.arange(alloc.shape[1])).all()
    a = alloc if same else alloc[:, cell.person]
    n_perm = a.shape[0]
    why_no_ci = f"no interval; p from {n_perm} stratified re-randomisations"
    if cell.y.sum() == 0:
        none = Estimate(reason="no events in either arm: statistic undefined")
        return [("rate_ratio", none), ("difference", none)]
    out = []
    obs = _mh_log_rate_ratio(cell.treated[None, :], cell.y, cell.exposure_years, cell.strata)[0]
    perm = _mh_log_rate_ratio(a, cell.y, cell.exposure_years, cell.strata)
    p, se = _permutation_p(obs, perm)
    if np.isposinf(obs):
        est, extra = _NAN, "no control events: rate ratio infinite"
    else:
        est, extra = float(np.exp(obs)), ""
    rr = Estimate(est, p_value=p, mc_se=se, reason=_join(extra, "Mantel-Haenszel", why_no_ci))
    out.append(("rate_ratio", rr))
    obs_d = _mean_difference(cell.treated[None, :], cell.y)[0]
    p, se = _permutation_p(obs_d, _mean_difference(a, cell.y))
    out.append(("difference", Estimate(float(obs_d), p_value=p, mc_se=se, reason=why_no_ci)))
    return out


def _check_args(methods, n_permutations, level) -> tuple[str, ...]:
    if methods is None:
        chosen = METHODS
    else:
        chosen = (methods,) if isinstance(methods, str) else tuple(methods)
        unknown = [m for m in chosen if m not in METHODS]
        if unknown:
            raise SettingsError(f"unknown method(s) {unknown}; choose from {list(METHODS)}")
    if "randomisation" in chosen and (int(n_permutations) != n_permutations or n_permutations < 1):
        raise SettingsError(f"n_permutations must be a positive integer, got {n_permutations}")
    if not 0 < level < 1:
        raise SettingsError(f"level must be between 0 and 1, got {level}")
    return tuple(m for m in METHODS if m in chosen)


def compare(
    trial: Trial,
    methods: str | Sequence[str] | None = None,
    n_permutations: int = DEFAULT_N_PERMUTATIONS,
    seed: int | None = None,
    *,
    level: float = HDI_PROB,
) -> pd.DataFrame:
    """Classical analyses of a trial, one tidy row per method x measure x cell.

    Parameters
    ----------
    trial : Trial
    methods : str or sequence of str, optional
        Subset of :data:`METHODS` (default: all).
    n_permutations : int
        Re-randomisations for the ``randomisation`` method.
    seed : int, optional
        Seed of the re-randomisations (the only random part).
    level : float
        Confidence level of every interval (default :data:`fd_bayes.HDI_PROB`).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`COLUMNS`: ``method``, ``measure`` (rate_ratio, risk_ratio,
        difference, hedges_g, rank_biserial), ``outcome``, ``crime_type``
        (``overall`` for the pooled GLM rows), ``age_band`` (``all`` where age bands
        are pooled with the band as a covariate/stratum; a single band keeps its name),
        ``estimate``, ``lower``, ``upper``, ``p_value``, ``p_holm`` (Holm-adjusted
        across crime types within method, measure, outcome and age band; the
        ``overall`` rows are their own family), ``n_treatment``, ``n_control``,
        ``mc_se`` (Monte Carlo SE of randomisation p-values) and ``reason`` (why a
        value is NaN, and notes such as caught warnings).

    Examples
    --------
    >>> import fd_bayes as fdb
    >>> from fd_bayes import frequentist
    >>> table = frequentist.compare(fdb.example_trial(), methods="rate_test")
    >>> sorted(table["age_band"].unique())
    ['11-17', '18-25', 'all']
    """
    chosen = _check_args(methods, n_permutations, level)
    cells = _cells(trial)
    bands = trial.age_bands
    # subsets: the pooled one ("all", bands as covariate/strata) and each band
    band_of_person = trial.data.groupby(trial.person_index())["age_band"].first()
    subsets: list[tuple[str, np.ndarray | None]] = []
    if len(bands) > 1:
        subsets.append((_ALL, None))
        subsets += [(b, band_of_person.astype(str).to_numpy() == b) for b in bands]
    else:
        subsets.append((str(bands[0]), None))

    alloc = None
    if "randomisation" in chosen:
        n_people = trial.n_people
        strata = np.zeros(n_people, dtype=int)
        treated = np.zeros(n_people, dtype=bool)
        for cell in cells.values():  # every person appears in some cell
            strata[cell.person] = cell.strata
            treated[cell.person] = cell.treated
        alloc = stratified_allocations(
            strata, treated, int(n_permutations), np.random.default_rng(seed)
        ).astype(float)  # once, for the matrix products of every cell

    records: list[tuple] = []

    def add(method, measure, outcome, crime, band, cell, est: Estimate) -> None:
        records.append(
            (
                method,
                measure,
                outcome,
                crime,
                band,
                est.estimate,
                est.lower,
                est.upper,
                est.p_value,
                cell.n_treatment,
                cell.n_control,
                est.mc_se,
                est.reason,
            )
        )

    for method in chosen:
        for band, person_mask in subsets:
            for (outcome, crime), full in cells.items():
                cell = full if person_mask is None else full.subset(person_mask[full.person])
                if method in ("negbin_glm", "poisson_glm"):
                    est = _glm_estimate(cell, method, level, overall=False)
                    add(method, "rate_ratio", outcome, crime, band, cell, est)
                elif method == "randomisation":
                    for measure, est in _randomisation_rows(cell, alloc):
                        add(method, measure, outcome, crime, band, cell, est)
                else:
                    for measure, est in _simple_rows(cell, method, level):
                        add(method, measure, outcome, crime, band, cell, est)
            if method in ("negbin_glm", "poisson_glm"):
                for outcome in trial.outcomes:
                    parts = [cl for (o, _), cl in cells.items() if o == outcome]
                    if len(parts) < 2:
                        continue
                    pooled = _pool(parts)
                    if person_mask is not None:
                        pooled = pooled.subset(person_mask[pooled.person])
                    est = _glm_estimate(pooled, method, level, overall=True)
                    add(method, "rate_ratio", outcome, _OVERALL, band, pooled, est)

    columns = [c for c in COLUMNS if c != "p_holm"]
    table = pd.DataFrame.from_records(records, columns=columns)
    family = ["method", "measure", "outcome", "age_band", table["crime_type"] == _OVERALL]
    table["p_holm"] = table.groupby(family, sort=False)["p_value"].transform(
        lambda p: pd.Series(holm(p.to_numpy()), index=p.index)
    )
    return table[list(COLUMNS)]


def _pool(cells: list[_Cell]) -> _Cell:
    """Stack crime types of one outcome, with a crime-type code (for the overall rows)."""
    return _Cell(
        np.concatenate([c.y for c in cells]),
        np.concatenate([c.pre for c in cells]),
        np.concatenate([c.exposure_years for c in cells]),
        np.concatenate([c.treated for c in cells]),
        np.concatenate([c.strata for c in cells]),
        np.concatenate([c.person for c in cells]),
        np.concatenate([np.full(c.y.size, i) for i, c in enumerate(cells)]),
    )
