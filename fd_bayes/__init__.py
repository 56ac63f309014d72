"""fd_bayes: Bayesian causal analysis of small randomised trials in policing and youth violence.

>>> import fd_bayes as fdb
>>> trial = fdb.example_trial()
>>> fit = fdb.fit(trial, seed=1)          # doctest: +SKIP
>>> fit.effects()                          # doctest: +SKIP

The package is layered (ARCHITECTURE.md): ``data`` < ``modelling`` < ``inference`` <
``results`` < ``frequentist`` < ``meta`` < ``plan`` < ``report`` < ``cli``. This module
only re-exports the public API.
"""

from fd_bayes import _compat, frequentist, meta, plan
from fd_bayes._version import __version__
from fd_bayes.constants import HDI_PROB, REDUCTION_THRESHOLDS
from fd_bayes.data import (
    ILLUSTRATIVE_HARM_WEIGHTS,
    Allocation,
    Published,
    SimulationTruth,
    SitesTruth,
    Trial,
    balance,
    cohort,
    example_trial,
    randomise,
    records,
    simulate_sites,
    simulate_trial,
)
from fd_bayes.errors import (
    DataError,
    DiagnosticsWarning,
    FdBayesError,
    LooWarning,
    ModelNote,
    SettingsError,
    SpecError,
)
from fd_bayes.inference import SamplerSettings
from fd_bayes.modelling import ModelSpec, available_models, load_spec, priors
from fd_bayes.plan import simstudy
from fd_bayes.plan.calibrate import calibrate
from fd_bayes.plan.claims import claims
from fd_bayes.report import report, side_by_side
from fd_bayes.results import (
    Fit,
    FormulaFit,
    Sensitivity,
    checking,
    compare,
    fit,
    load,
    loo,
    prior_check,
    sensitivity,
)

_compat.install()


def __getattr__(name: str):
    # the flat modules of 0.1 as attributes (``fdb.build``): see fd_bayes/_compat.py
    return _compat.old_module(name)


__all__ = [
    "HDI_PROB",
    "ILLUSTRATIVE_HARM_WEIGHTS",
    "REDUCTION_THRESHOLDS",
    "Allocation",
    "DataError",
    "DiagnosticsWarning",
    "FdBayesError",
    "Fit",
    "FormulaFit",
    "LooWarning",
    "ModelNote",
    "ModelSpec",
    "Published",
    "SamplerSettings",
    "Sensitivity",
    "SettingsError",
    "SimulationTruth",
    "SitesTruth",
    "SpecError",
    "Trial",
    "__version__",
    "available_models",
    "balance",
    "calibrate",
    "checking",
    "claims",
    "cohort",
    "compare",
    "example_trial",
    "fit",
    "frequentist",
    "load",
    "load_spec",
    "loo",
    "meta",
    "plan",
    "prior_check",
    "priors",
    "randomise",
    "records",
    "report",
    "sensitivity",
    "side_by_side",
    "simstudy",
    "simulate_sites",
    "simulate_trial",
]
