"""The catalogue path of a fit: a spec and a trial in, an ``InferenceData`` out.

Two steps, so that the caller can warn about the model before any sampling:
:func:`prepare_catalogue` loads the spec, builds the design, resolves the structure and
builds the PyMC model (:class:`CatalogueModel`); :func:`sample_catalogue` runs NUTS with
one :class:`~fd_bayes.inference.settings.SamplerSettings`, drops the sampler's internal
variables, draws the frailties of a ``negmult`` model, adds the predictive groups and
writes the provenance. :func:`fd_bayes.fit` wraps the result in a
:class:`~fd_bayes.Fit`.

Seeds: one seed is split (:func:`~fd_bayes.inference.settings.split_seed`) into four
streams, in this order: the sampler, the prior draws (the prior predictive draws use
that word plus one), the posterior predictive draws and the frailty draws. The same
seed gives the same draws.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pymc as pm
import xarray as xr

from fd_bayes.data import Published, Trial
from fd_bayes.errors import SettingsError
from fd_bayes.inference import idata as infd
from fd_bayes.inference.adaptive import round_settings, rounds_attrs, sample_adaptively
from fd_bayes.inference.predictive import (
    PRIOR_PREDICTIVE_DRAWS,
    log_likelihood_dataset,
    posterior_predictive,
    sample_prior,
)
from fd_bayes.inference.provenance import write_provenance
from fd_bayes.inference.sampling import SamplingResult, sample_nuts
from fd_bayes.inference.settings import SEED_LIMIT, SamplerSettings, split_seed
from fd_bayes.modelling import (
    Design,
    ModelSpec,
    Structure,
    build_model,
    families,
    frailty_draws,
    load_spec,
    model_data,
    model_key,
    observed_parameters,
    resolve_structure,
)

#: Notes of the structure that are also issued as a ModelNote (the others are recorded).
WARNED_NOTES = ("Person effect left out",)


@dataclass(frozen=True)
class CatalogueModel:
    """A catalogue model ready to sample: spec (priors overridden), design, resolved
    structure and the PyMC model."""

    spec: ModelSpec
    design: Design
    structure: Structure
    pm_model: pm.Model

    @property
    def warnings(self) -> list[str]:
        """The notes of the structure that a fit issues as a ModelNote."""
        return [n for n in self.structure.notes if n.startswith(WARNED_NOTES)]


def prepare_catalogue(
    trial: Trial,
    model: str | Path | ModelSpec,
    priors: dict | None = None,
    published: Published | None = None,
) -> CatalogueModel:
    """Load the spec (with ``priors`` overriding its own), build the design of ``trial``
    (and ``published``), resolve the structure and build the PyMC model."""
    spec = load_spec(model).with_priors(priors)
    if published is not None and not isinstance(published, Published):
        raise SettingsError(
            f"published= takes a fd_bayes.Published, got {type(published).__name__}; build "
            "one with Published(labels, yi, sei) or Published.from_table(path)"
        )
    design = Design.from_trial(trial, published)
    structure = resolve_structure(spec, design)
    pm_model, _ = build_model(spec, design, structure)
    return CatalogueModel(spec, design, structure, pm_model)


def uses_low_rank(spec: ModelSpec, mass_matrix: str) -> bool:
    """Whether nutpie adapts a low-rank mass matrix: ``"low_rank"``, or ``"auto"`` for a
    family with the person effect integrated out (``negmult``)."""
    return mass_matrix == "low_rank" or (
        mass_matrix == "auto" and families.get(spec.family).frailty
    )


def sample_catalogue(
    prepared: CatalogueModel,
    trial: Trial,
    settings: SamplerSettings,
    seed: int,
    predictive: bool = True,
) -> infd.InferenceData:
    """Sample the posterior of a prepared model; returns the fit's ``InferenceData``.

    Groups ``posterior`` (with ``log_frailty`` for a ``negmult`` model),
    ``sample_stats``, ``observed_data``, ``constant_data`` (the design) and, with
    ``predictive``, ``prior``, ``prior_predictive``, ``posterior_predictive`` and
    ``log_likelihood``; the provenance in ``posterior.attrs``. Sampling is adaptive
    (:func:`~fd_bayes.inference.adaptive.sample_adaptively`) unless ``settings.adapt``
    is false; the provenance records the rounds and the settings of the last.
    """
    spec, design, structure = prepared.spec, prepared.design, prepared.structure
    low_rank = uses_low_rank(spec, settings.mass_matrix)
    sampler_seed, prior_seed, ppc_seed, frailty_seed = split_seed(seed, 4)
    key, data = model_key(spec, design, structure), model_data(design, spec.family)
    compile_seconds, caches = [], []

    def run(round_settings: SamplerSettings, round_seed: int):
        result = sample_nuts(
            prepared.pm_model,
            round_settings,
            seed=round_seed,
            cache_key=key,
            data=data,
            low_rank=low_rank,
            label=f"{spec.name}: {trial.name}",
        )
        drop_internal(result.idata)
        compile_seconds.append(result.compile_seconds)
        caches.append(result.compile_cache)
        return result, result.sampling_seconds

    result, history = sample_adaptively(run, settings, sampler_seed % SEED_LIMIT)
    idata = result.idata
    if families.get(spec.family).frailty:
        # the frailties were integrated out; draw them from their exact conditional
        # posterior so that effects and checks see (parameters, frailties) jointly
        attrs = idata.posterior.attrs
        idata.posterior["log_frailty"] = frailty_draws(idata.posterior, design, frailty_seed)
        idata.posterior.attrs = attrs
    groups = observed_groups(design)
    if predictive:
        groups.update(predictive_groups(prepared, idata.posterior, prior_seed, ppc_seed))
    infd.add_groups(idata, groups)
    write_provenance(
        idata,
        trial=trial,
        settings=round_settings(settings, len(history)),
        seed=seed,
        sampler=result.sampler,
        model={
            "model": spec.name,
            "spec_hash": spec.content_hash,
            "spec_json": json.dumps(spec.to_dict()),
            "spec_source": spec.source,
        },
        run={
            **_run_attrs(result, low_rank),
            # the whole time: every round's compile (a cache hit after the first) and run
            "compile_seconds": float(sum(compile_seconds)),
            # where the first round's compiled model came from (later rounds: "memory")
            "compile_cache": caches[0],
            "sampling_seconds": float(sum(r.seconds for r in history)),
            **rounds_attrs(history, settings.adapt),
        },
        notes=structure.notes,
    )
    return idata


def _run_attrs(result: SamplingResult, low_rank: bool) -> dict:
    return {
        "mass_matrix": "low_rank" if low_rank and result.sampler.startswith("nutpie") else "diag",
        "compile_seconds": float(result.compile_seconds),
        "sampling_seconds": float(result.sampling_seconds),
    }


def drop_internal(idata: infd.InferenceData) -> None:
    """Drop the sampler's internal variables (``*__``) from the posterior, in place.

    nutpie also returns the unconstrained copies (``*_log__``); PyMC does not. Dropping
    them gives every sampler the same posterior group.
    """
    internal = [v for v in idata.posterior.data_vars if str(v).endswith("__")]
    if internal:
        idata.posterior = idata.posterior.drop_vars(internal)


def observed_groups(design: Design) -> dict[str, xr.Dataset]:
    """``observed_data`` (the follow-up counts ``y`` over ``obs``) and ``constant_data``
    (the design: integer person index only)."""
    observed = xr.Dataset(
        {"y": ("obs", design.post_count)}, coords={"obs": np.arange(len(design.post_count))}
    )
    return {"observed_data": observed, "constant_data": design.to_dataset()}


def predictive_groups(
    prepared: CatalogueModel, posterior: xr.Dataset, prior_seed: int, ppc_seed: int
) -> dict[str, xr.Dataset]:
    """``prior``, ``prior_predictive``, ``posterior_predictive`` and ``log_likelihood``.

    The posterior predictive draws (numpy's generators, which release the GIL) are made
    in a second thread while this one draws from the prior and computes the
    log-likelihood: on two cores the groups take the time of the longer half. Each
    group has its own seed, so the numbers are those of the one-thread order.
    """
    design, family = prepared.design, prepared.spec.family
    params = observed_parameters(posterior, design)  # every row's parameters, per draw
    with ThreadPoolExecutor(max_workers=1) as pool:
        replicated = pool.submit(posterior_predictive, posterior, design, family, ppc_seed, params)
        prior = sample_prior(prepared.pm_model, PRIOR_PREDICTIVE_DRAWS, prior_seed % SEED_LIMIT)
        groups = {
            "prior": prior,
            "prior_predictive": posterior_predictive(prior, design, family, prior_seed + 1),
            "log_likelihood": log_likelihood_dataset(posterior, design, family, params),
        }
        groups["posterior_predictive"] = replicated.result()
    return {k: groups[k] for k in GROUP_ORDER}


#: The order of the predictive groups in a fit's InferenceData.
GROUP_ORDER = ("prior", "prior_predictive", "posterior_predictive", "log_likelihood")


__all__ = [
    "WARNED_NOTES",
    "CatalogueModel",
    "drop_internal",
    "observed_groups",
    "predictive_groups",
    "prepare_catalogue",
    "sample_catalogue",
    "uses_low_rank",
]
