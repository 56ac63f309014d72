"""Meta-analysis of published (aggregate) estimates: frequentist and Bayesian.

Three parts, array-first:

- :func:`frequentist` (:mod:`fd_bayes.meta.rma`) — the random-effects (or fixed-effect)
  model and meta-regression as R's metafor ``rma()`` fits them: heterogeneity estimators
  ``REML`` (Fisher scoring), ``DL`` (DerSimonian-Laird), ``PM`` (Paule-Mandel) and
  ``FE``; Wald-type (``z``) or Knapp-Hartung (``knha``) inference. Reference numbers from
  metafor are frozen in ``tests/unit/meta/test_meta.py``.
- :func:`bayes` (:mod:`fd_bayes.meta.bayesian`) — the normal-normal hierarchical model in
  PyMC, non-centred, with a half-normal, half-Cauchy or Turner et al. (2012) log-normal
  prior on the heterogeneity.
- Effect-size helpers: :func:`log_rate_ratio` (arm-level counts and exposure) and
  :func:`hedges_g` (means and SDs), from :mod:`fd_bayes.data.aggregate`;
  :func:`from_fit` (a saved fd_bayes fit) and :func:`bayes_combined` (fits and published
  estimates, two-stage), in :mod:`fd_bayes.meta.two_stage`.

Effects are on the scale given (log rate ratios for the defaults): negative values favour
the intervention.
"""

from __future__ import annotations

from fd_bayes.constants import DEFAULT_OUTCOME, HDI_PROB, META_TARGET_ACCEPT
from fd_bayes.data.aggregate import ZERO_RULES, hedges_g, log_rate_ratio
from fd_bayes.errors import DataError, SettingsError
from fd_bayes.meta.bayesian import (
    BAYES_DEFAULTS,
    TAU_PRIORS,
    TURNER_LOG_TAU2_MEAN,
    TURNER_LOG_TAU2_SD,
    BayesMetaResult,
    bayes,
    bayes_settings,
    build_bayes_model,
)
from fd_bayes.meta.rma import METHODS, TESTS, MetaResult, frequentist
from fd_bayes.meta.two_stage import bayes_combined, from_fit

__all__ = [
    "BAYES_DEFAULTS",
    "DEFAULT_OUTCOME",
    "HDI_PROB",
    "META_TARGET_ACCEPT",
    "METHODS",
    "TAU_PRIORS",
    "TESTS",
    "TURNER_LOG_TAU2_MEAN",
    "TURNER_LOG_TAU2_SD",
    "ZERO_RULES",
    "BayesMetaResult",
    "DataError",
    "MetaResult",
    "SettingsError",
    "bayes",
    "bayes_combined",
    "bayes_settings",
    "build_bayes_model",
    "frequentist",
    "from_fit",
    "hedges_g",
    "log_rate_ratio",
]
