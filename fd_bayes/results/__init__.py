"""The results layer: :class:`Fit` (effects, diagnostics, potential outcomes), the
effects table, model checking and prior sensitivity; :func:`fit` (the dispatcher of
catalogue and formula fits) and :func:`load`.

Other layers import these names from here (``from fd_bayes.results import Fit``); modules
inside the package import their siblings directly.
"""

from __future__ import annotations

from fd_bayes.results.api import check_trial, fit, fit_formula, load
from fd_bayes.results.checking import (
    PPC_COLUMNS,
    STATISTICS,
    compare,
    loo,
    plot_ppc,
    ppc,
    ppc_table,
    prior_check,
)
from fd_bayes.results.effects import (
    EFFECT_COLUMNS,
    effects_table,
    estimate_groups,
    g_computation,
    hdi,
    insert_published,
    published_rows,
    summarise_ratios,
)
from fd_bayes.results.fit import NEW_TRIAL_SEED_OFFSET, Fit
from fd_bayes.results.formula import FormulaFit
from fd_bayes.results.potential import PotentialOutcomes
from fd_bayes.results.sensitivity import (
    Sensitivity,
    crossing_flags,
    estimate_label,
    p_text,
    sensitivity,
    sensitivity_table,
    summary_lines,
    wide_table,
)
from fd_bayes.results.wording import SUBJECTS, estimate_words

__all__ = [
    "EFFECT_COLUMNS",
    "NEW_TRIAL_SEED_OFFSET",
    "PPC_COLUMNS",
    "STATISTICS",
    "SUBJECTS",
    "Fit",
    "FormulaFit",
    "PotentialOutcomes",
    "Sensitivity",
    "check_trial",
    "compare",
    "crossing_flags",
    "effects_table",
    "estimate_groups",
    "estimate_label",
    "estimate_words",
    "fit",
    "fit_formula",
    "g_computation",
    "hdi",
    "insert_published",
    "load",
    "loo",
    "p_text",
    "plot_ppc",
    "ppc",
    "ppc_table",
    "prior_check",
    "published_rows",
    "sensitivity",
    "sensitivity_table",
    "summarise_ratios",
    "summary_lines",
    "wide_table",
]
