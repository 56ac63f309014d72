"""The planning studies: :func:`assurance` (one design, by simulation) and
:func:`sample_size` (assurance for several sizes, and the smallest that reaches a target).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from fd_bayes.constants import DEFAULT_MODEL
from fd_bayes.data import Trial
from fd_bayes.errors import SettingsError
from fd_bayes.inference import SamplerSettings
from fd_bayes.modelling import load_spec
from fd_bayes.plan.decision import Decision
from fd_bayes.plan.design import PlanDesign
from fd_bayes.plan.effect import check_effect, effect_from, effect_label
from fd_bayes.plan.job import AssuranceJob
from fd_bayes.plan.result import Assurance, SampleSize
from fd_bayes.plan.settings import FitSettings, plan_sampler_settings
from fd_bayes.plan.simstudy import int_seed, run_study, study_seed
from fd_bayes.plan.sources import design_from
from fd_bayes.results import Fit


def assurance(
    design: PlanDesign,
    effect=1.0,
    model: str = DEFAULT_MODEL,
    decision=None,
    n_sims: int = 200,
    seed: int | None = None,
    client=None,
    *,
    draws: int | None = None,
    tune: int | None = None,
    chains: int | None = None,
    target_accept: float | None = None,
    sampler: str | None = None,
    priors: dict | None = None,
    false_positive: bool | int = False,
    frequentist: bool = True,
    workers: int | None = None,
    batch_size: int | None = None,
    settings: SamplerSettings | None = None,
) -> Assurance:
    """Probability that a replication of ``design`` succeeds, by simulation.

    Parameters
    ----------
    design : PlanDesign, Fit or Trial
        A Fit or Trial is turned into a design with :func:`design_from`.
    effect : float, mapping, EffectDistribution or Fit
        The true rate ratio: one number for every cell, a mapping (crime type, (outcome,
        crime type) or (outcome, crime type, age band) -> RR; cells not named have no
        effect), or a distribution (:func:`effect_from`; a Fit means
        ``effect_from(fit)``), over which the assurance averages. ``1`` gives the
        false-positive rate.
    model : str
        The model that will analyse the replication.
    decision : Decision, str or mapping, optional
        Default: P(reduction) > 0.95 for overall offending. A string names the headline
        estimand (``"knife"``, ``"knife/11-17"``, ``"victimisation:overall"``).
    n_sims : int
    seed : int, optional
        Study seed; simulation ``i`` uses a seed derived from (seed, i).
    client : dask.distributed.Client, optional
        Run on this cluster; default local processes (``workers``).
    draws, tune, chains, target_accept, sampler
        Sampler settings of every simulated fit (small by default: ``PLAN_DRAWS``,
        ``PLAN_TUNE``, ``PLAN_CHAINS``; see ``docs/planning.md``).
    priors : dict, optional
        Prior overrides of ``model``.
    false_positive : bool or int
        Also run the study with no effect (``n_sims`` simulations, or this many), for
        the false-positive rate (:attr:`Assurance.null`).
    frequentist : bool
        Also apply the NB GLM rule (p < 0.05 and an estimated reduction).
    workers, batch_size
        Local worker processes and simulations per task (:func:`~fd_bayes.plan.simstudy.run_study`).
    settings : SamplerSettings, optional
        The sampler settings of every simulated fit as one object (what the CLI passes),
        instead of ``draws`` ... ``sampler``; giving both is a
        :class:`~fd_bayes.errors.SettingsError`. Its ``cores`` and ``progress`` are not
        used: each simulated fit runs on one core without a progress bar.
    """
    sampling = plan_sampler_settings(
        settings,
        draws=draws,
        tune=tune,
        chains=chains,
        target_accept=target_accept,
        sampler=sampler,
    )
    if isinstance(design, Fit | Trial):
        design = design_from(design)
    if isinstance(effect, Fit):
        effect = effect_from(effect)
    check_effect(effect, design)
    decision = Decision.parse(decision, design)
    fit_settings = FitSettings(model, priors=priors, sampling=sampling)
    load_spec(model)  # a bad name fails here, not in every worker
    seed = study_seed(seed)
    job = AssuranceJob(design, effect, decision, fit_settings, frequentist)
    run = run_study(job, n_sims, seed, client=client, workers=workers, batch_size=batch_size)
    result = Assurance(
        sims=_records_frame(run.records),
        design=design,
        decision=decision,
        settings=fit_settings,
        effect_label=effect_label(effect),
        seed=seed,
        n_sims=n_sims,
        where=run.where,
        seconds=run.seconds,
        compilations=run.compilations,
        compilations_per_process=run.compilations_per_process(),
    )
    if false_positive:
        n_null = n_sims if false_positive is True else int(false_positive)
        # a different stream from the effect study (seed + 1 would collide with another
        # study's seed: derive it)
        null_seed = int_seed(np.random.SeedSequence(seed, spawn_key=(2**31,)))
        result.null = assurance(
            design,
            1.0,
            model,
            decision,
            n_null,
            null_seed,
            client,
            priors=priors,
            frequentist=frequentist,
            workers=workers,
            batch_size=batch_size,
            settings=sampling,
        )
        result.null.effect_label = "no effect (RR 1)"
    return result


def _records_frame(records: list[dict]) -> pd.DataFrame:
    df = pd.DataFrame.from_records(records)
    if "success" in df:
        df["success"] = df["success"].fillna(False).astype(bool)
    return df


def sample_size(
    design: PlanDesign,
    effect=1.0,
    target: float = 0.8,
    sizes: Sequence[int | Mapping[str, int]] | None = None,
    *,
    settings: SamplerSettings | None = None,
    **kwargs,
) -> SampleSize:
    """Assurance for several numbers treated; the smallest that reaches ``target``.

    ``sizes`` are totals treated (split over age bands in the design's proportions) or
    mappings age band -> number; the control arm keeps the design's sizes. Every size
    uses the same study seed (common random numbers), so the curve is smoother than its
    Monte Carlo errors suggest. ``kwargs`` go to :func:`assurance` (``n_sims``,
    ``seed``, ``client``, ``false_positive``, sampling settings, ...); ``settings``, a
    :class:`~fd_bayes.inference.SamplerSettings`, replaces the sampling keywords as in
    :func:`assurance`.
    """
    if isinstance(design, Fit | Trial):
        design = design_from(design)
    if not 0 < target < 1:
        raise SettingsError(f"target must be in (0, 1), got {target}")
    if sizes is None:
        n = design.n_treated
        sizes = sorted({max(len(design.age_bands), round(n * f)) for f in (0.5, 1, 1.5, 2, 3)})
    kwargs["seed"] = study_seed(kwargs.get("seed"))
    results = [assurance(design.with_sizes(s), effect, settings=settings, **kwargs) for s in sizes]
    return SampleSize(results, target)


__all__ = ["assurance", "sample_size"]
