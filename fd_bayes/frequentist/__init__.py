"""Frequentist comparisons beside the Bayesian results.

:func:`compare` runs the classical analyses a reviewer expects on a :class:`~fd_bayes.Trial`
and returns them as one tidy table, one row per method x measure x outcome x crime type x
age band. Statistics are computed on arrays first (the functions below take numpy arrays
and return numbers); the table is built last.

Modules: :mod:`~fd_bayes.frequentist.statistics` (the statistics on arrays),
:mod:`~fd_bayes.frequentist.cells` (a trial cut into outcome x crime type cells, pooling
and the count regressions of a cell) and :mod:`~fd_bayes.frequentist.table`
(:func:`compare`).

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

# names this module had before the split (imported there); not part of __all__
from fd_bayes.constants import DAYS_PER_YEAR, HDI_PROB  # noqa: F401
from fd_bayes.data import Trial  # noqa: F401
from fd_bayes.errors import SettingsError  # noqa: F401
from fd_bayes.frequentist.cells import (
    Cell,
    glm_design,
    glm_estimate,
    pool_cells,
    trial_cells,
)
from fd_bayes.frequentist.statistics import (
    ALPHA_BOUNDARY,
    Estimate,
    GlmResult,
    exact_rate_test,
    fit_negbin,
    fit_poisson,
    hedges_g,
    holm,
    mean_difference,
    mh_log_rate_ratio,
    permutation_p,
    rank_biserial,
    risk_ratio_fisher,
    stratified_allocations,
    wald_ratio,
)
from fd_bayes.frequentist.table import (
    COLUMNS,
    DEFAULT_N_PERMUTATIONS,
    METHODS,
    compare,
)

__all__ = [
    "ALPHA_BOUNDARY",
    "COLUMNS",
    "DEFAULT_N_PERMUTATIONS",
    "METHODS",
    "Cell",
    "Estimate",
    "GlmResult",
    "compare",
    "exact_rate_test",
    "fit_negbin",
    "fit_poisson",
    "glm_design",
    "glm_estimate",
    "hedges_g",
    "holm",
    "mean_difference",
    "mh_log_rate_ratio",
    "permutation_p",
    "pool_cells",
    "rank_biserial",
    "risk_ratio_fisher",
    "stratified_allocations",
    "trial_cells",
    "wald_ratio",
]
