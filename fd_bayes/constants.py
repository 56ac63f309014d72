"""Every default the package uses, in one place.

Change a default here and nowhere else: the interval probability, the reduction
thresholds, the diagnostic thresholds and the disclosure threshold are read from this
module by every function that needs them (CausalPy#889 shows what happens when an
interval default drifts through ``**kwargs``). ``tests/unit/test_constants.py`` guards
the values.
"""

from __future__ import annotations

#: Probability mass of every reported credible interval (highest-density interval).
HDI_PROB: float = 0.95

#: Reductions whose probabilities are reported besides P(RR < 1): P(RR < 1 - t).
REDUCTION_THRESHOLDS: tuple[float, ...] = (0.25, 0.50)

#: Diagnostics: warn when any R-hat exceeds this ...
RHAT_MAX: float = 1.01
#: ... or any bulk/tail effective sample size is below this ...
ESS_MIN: float = 400.0
#: ... or there is any divergent transition.
DIVERGENCES_MAX: int = 0

#: An estimand is *weakly informed* when the posterior SD of its log rate ratio is more
#: than this share of its prior SD: 1/sqrt(2), where (for a normal likelihood) the data
#: carry less information than the prior. The report states no probability of reduction
#: for it (see docs/effects.md, "How much the data informed each estimate").
WEAK_INFORMATION_SD_RATIO: float = 2**-0.5

#: The report says so next to a crime type whose partially pooled rate ratio lies this
#: factor or more from its estimate on its own (the NB GLM of that crime type alone),
#: towards the other crime types.
SHRINKAGE_NOTE_FACTOR: float = 1.25

#: Exported tables suppress counts from cells with fewer people than this.
DISCLOSURE_THRESHOLD: int = 5

#: Follow-up length that rates are expressed per (days).
DAYS_PER_YEAR: float = 365.0

#: Default exposure (days at risk in follow-up) when the column is absent.
DEFAULT_EXPOSURE_DAYS: float = 365.0

#: The label of a collapsed dimension in the effects table ("all" crime types, ...).
ALL: str = "all"

#: Default outcome when the column is absent.
DEFAULT_OUTCOME: str = "offending"

#: The two arm labels of the canonical format.
ARMS: tuple[str, str] = ("treatment", "control")

#: Default model in the catalogue.
DEFAULT_MODEL: str = "negbin_hier"

#: Default MCMC settings.
DEFAULT_DRAWS: int = 1000
DEFAULT_TUNE: int = 1000
DEFAULT_CHAINS: int = 4
DEFAULT_TARGET_ACCEPT: float = 0.9
#: Adaptive sampling (``adapt=True``, the default): at most this many rounds of fresh
#: chains, each with twice the warm-up and draws of the one before, until the
#: diagnostics pass (see :mod:`fd_bayes.inference.adaptive`).
ADAPT_MAX_ROUNDS: int = 3
#: The normal-normal meta-analysis (``meta.bayes``) samples a few parameters cheaply:
#: smaller steps cost little there and keep hard cases (eight schools) divergence-free.
META_TARGET_ACCEPT: float = 0.95

#: Prior sensitivity flags an estimate when its P(reduction) reaches one of these under
#: some priors and not under others (reaching means P >= threshold; the bands of the
#: verbal probability scale: "very likely" from 0.90, "extremely likely" from 0.95).
SENSITIVITY_THRESHOLDS: tuple[float, ...] = (0.90, 0.95)
