"""Planning a replication: assurance, false-positive rate and sample size by simulation.

The replication is simulated many times from a :class:`PlanDesign` and each simulated
trial is analysed with the very model that will analyse the real one
(:func:`fd_bayes.fit`, ``predictive=False``). The share of simulations in which the
decision rule declares success is the *assurance* (the Bayesian analogue of power,
averaged over uncertainty in the true effect when the effect is a distribution); run
with no effect (``effect=1``) the same share is the false-positive rate.

- :func:`design_from` takes the design (arms per age band, crime types, outcomes,
  follow-up), baseline rates, person SD, dispersion and baseline-count distribution from
  an existing :class:`~fd_bayes.Fit` (posterior means; recommended) or
  :class:`~fd_bayes.Trial` (moment estimates from the control arm);
  :meth:`PlanDesign.stated` states one directly.
- :func:`simulate` draws one trial from a design and a true effect.
- :func:`assurance` runs the study and returns an :class:`Assurance`;
  :func:`sample_size` runs it for several sizes and draws the curve.

Simulations run in local processes or on a Dask cluster (:mod:`fd_bayes.plan.simstudy`),
with seeds derived per simulation, so the results do not depend on where they ran.

Modules: :mod:`~fd_bayes.plan.design` (:class:`PlanDesign`), :mod:`~fd_bayes.plan.sources`
(:func:`design_from`), :mod:`~fd_bayes.plan.effect` (the true effect),
:mod:`~fd_bayes.plan.simulation` (:func:`simulate`), :mod:`~fd_bayes.plan.decision`
(:class:`Estimand`, :class:`Decision`), :mod:`~fd_bayes.plan.settings` (:class:`FitSettings`:
the model, priors and :class:`~fd_bayes.inference.SamplerSettings` of every simulated fit),
:mod:`~fd_bayes.plan.job` (one simulation), :mod:`~fd_bayes.plan.result` (:class:`Assurance`,
:class:`SampleSize`), :mod:`~fd_bayes.plan.study` (:func:`assurance`, :func:`sample_size`),
:mod:`~fd_bayes.plan.files` (:func:`write_plan`), :mod:`~fd_bayes.plan.simstudy` (running
simulations) and :mod:`~fd_bayes.plan.calibrate` (simulation-based calibration).
"""

from __future__ import annotations

# names this module had before the split (imported there); not part of __all__
from fd_bayes.constants import (  # noqa: F401
    DAYS_PER_YEAR,
    DEFAULT_MODEL,
    DEFAULT_TARGET_ACCEPT,
    DIVERGENCES_MAX,
    ESS_MIN,
    HDI_PROB,
    RHAT_MAX,
)
from fd_bayes.data import Trial  # noqa: F401
from fd_bayes.errors import SettingsError  # noqa: F401
from fd_bayes.inference import idata as infd  # noqa: F401
from fd_bayes.modelling import SEP, excess_counts, expected_counts  # noqa: F401
from fd_bayes.plan import calibrate, simstudy
from fd_bayes.plan.claims import ClaimsStudy, claims
from fd_bayes.plan.decision import ALL, ALPHA, Decision, Estimand
from fd_bayes.plan.design import PlanDesign, parse_sizes
from fd_bayes.plan.effect import EffectDistribution, effect_from
from fd_bayes.plan.files import write_plan
from fd_bayes.plan.job import AssuranceJob, estimand_draws, summarise_fit
from fd_bayes.plan.result import Assurance, SampleSize, diagnostic_tallies
from fd_bayes.plan.settings import PLAN_CHAINS, PLAN_DRAWS, PLAN_SAMPLING, PLAN_TUNE, FitSettings
from fd_bayes.plan.simstudy import int_seed, mc_se, run_study, study_seed  # noqa: F401
from fd_bayes.plan.simulation import SimulatedTruth, simulate
from fd_bayes.plan.sources import design_from
from fd_bayes.plan.study import assurance, sample_size
from fd_bayes.results import hdi  # noqa: F401

__all__ = [
    "ALL",
    "ALPHA",
    "PLAN_CHAINS",
    "PLAN_DRAWS",
    "PLAN_SAMPLING",
    "PLAN_TUNE",
    "Assurance",
    "AssuranceJob",
    "ClaimsStudy",
    "Decision",
    "EffectDistribution",
    "Estimand",
    "FitSettings",
    "PlanDesign",
    "SampleSize",
    "SimulatedTruth",
    "assurance",
    "calibrate",
    "claims",
    "design_from",
    "diagnostic_tallies",
    "effect_from",
    "estimand_draws",
    "parse_sizes",
    "sample_size",
    "simstudy",
    "simulate",
    "summarise_fit",
    "write_plan",
]
