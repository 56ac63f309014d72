"""fd_bayes: Bayesian causal analysis of small randomised trials in policing and youth violence.

>>> import fd_bayes as fdb
>>> trial = fdb.example_trial()
>>> fit = fdb.fit(trial, seed=1)          # doctest: +SKIP
>>> fit.effects()                          # doctest: +SKIP
"""

from fd_bayes import frequentist, meta, plan
from fd_bayes._version import __version__
from fd_bayes.constants import HDI_PROB, REDUCTION_THRESHOLDS
from fd_bayes.data import cohort, records
from fd_bayes.data.published import Published
from fd_bayes.data.randomise import Allocation, balance, randomise
from fd_bayes.data.simulate import (
    ILLUSTRATIVE_HARM_WEIGHTS,
    SimulationTruth,
    example_trial,
    simulate_trial,
)
from fd_bayes.data.simulate_sites import SitesTruth, simulate_sites
from fd_bayes.data.trial import Trial
from fd_bayes.errors import (
    DataError,
    DiagnosticsWarning,
    FdBayesError,
    LooWarning,
    ModelNote,
    SpecError,
)
from fd_bayes.modelling.priors import priors
from fd_bayes.modelling.spec import ModelSpec, available_models, load_spec
from fd_bayes.plan import simstudy
from fd_bayes.plan.calibrate import calibrate
from fd_bayes.report.full import report
from fd_bayes.report.side_by_side import side_by_side
from fd_bayes.results import checking
from fd_bayes.results.checking import compare, loo, prior_check
from fd_bayes.results.fit import Fit, fit, load
from fd_bayes.results.formula import FormulaFit
from fd_bayes.results.sensitivity import Sensitivity, sensitivity

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
