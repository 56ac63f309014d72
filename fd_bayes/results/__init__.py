"""The results layer: :class:`Fit` (effects, diagnostics, potential outcomes), the
effects table, model checking and prior sensitivity; :func:`fit` and :func:`load`.

Other layers import these names from here (``from fd_bayes.results import Fit``); modules
inside the package import their siblings directly.
"""

from __future__ import annotations

from fd_bayes.results.checking import compare, loo, plot_ppc, ppc, prior_check
from fd_bayes.results.effects import effects_table, g_computation, hdi, summarise_ratios
from fd_bayes.results.fit import Fit, fit, load
from fd_bayes.results.formula import FormulaFit
from fd_bayes.results.potential import PotentialOutcomes
from fd_bayes.results.sensitivity import Sensitivity, sensitivity

__all__ = [
    "Fit",
    "FormulaFit",
    "PotentialOutcomes",
    "Sensitivity",
    "compare",
    "effects_table",
    "fit",
    "g_computation",
    "hdi",
    "load",
    "loo",
    "plot_ppc",
    "ppc",
    "prior_check",
    "sensitivity",
    "summarise_ratios",
]
