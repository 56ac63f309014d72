"""fd_bayes: Bayesian causal analysis of small randomised trials in policing and youth violence.

>>> import fd_bayes as fdb
>>> trial = fdb.example_trial()
>>> fit = fdb.fit(trial, seed=1)          # doctest: +SKIP
>>> fit.effects()                          # doctest: +SKIP
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("fd_bayes")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0+unknown"

from fd_bayes import checking, cohort, frequentist, meta, plan, records, simstudy
from fd_bayes.calibrate import calibrate
from fd_bayes.checking import compare, loo, prior_check
from fd_bayes.constants import HDI_PROB, REDUCTION_THRESHOLDS
from fd_bayes.errors import (
    DataError,
    DiagnosticsWarning,
    FdBayesError,
    LooWarning,
    ModelNote,
    SpecError,
)
from fd_bayes.fit import Fit, fit, load
from fd_bayes.formula import FormulaFit
from fd_bayes.priors import priors
from fd_bayes.published import Published
from fd_bayes.randomise import Allocation, balance, randomise
from fd_bayes.report.full import report
from fd_bayes.report.side_by_side import side_by_side
from fd_bayes.sensitivity import Sensitivity, sensitivity
from fd_bayes.simulate import (
    ILLUSTRATIVE_HARM_WEIGHTS,
    SimulationTruth,
    example_trial,
    simulate_trial,
)
from fd_bayes.simulate_sites import SitesTruth, simulate_sites
from fd_bayes.spec import ModelSpec, available_models, load_spec
from fd_bayes.trial import Trial

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
    "Sensitivity",
    "SimulationTruth",
    "SitesTruth",
    "SpecError",
    "Trial",
    "__version__",
    "available_models",
    "balance",
    "calibrate",
    "checking",
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
