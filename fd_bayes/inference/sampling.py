"""Running NUTS on a PyMC model with one of the available samplers.

``sampler="auto"`` picks nutpie when it is installed (it is a core dependency: the
benchmark in ``benchmarks/bench_samplers.py`` measured it faster than PyMC's own NUTS
on the example trial), else PyMC's NUTS. ``"pymc"``, ``"nutpie"`` and ``"numpyro"``
force one; asking for one that is not installed is an error, never a silent switch.

Compile once, refit many: nutpie's compiled models are kept in a small in-process cache
keyed by :func:`fd_bayes.modelling.pymc_model.model_key` (spec, resolved structure, labels and data
shapes). A fit with a known key swaps the data arrays into the compiled model
(``with_data``) instead of compiling again; :func:`compile_count` counts the models built
in this process (the planning and calibration tests assert on it). A model not in this
process's cache comes from the compile cache on disk
(:mod:`fd_bayes.inference.compile_cache`) when an earlier process compiled it; the
result's ``compile_cache`` says which: ``"memory"``, ``"hit"``, ``"miss"`` or ``"off"``.
PyMC's and numpyro's NUTS compile inside ``pm.sample`` and are not cached here (PyTensor
caches the C code on disk).
"""

from __future__ import annotations

import importlib.util
import time
import warnings
from collections import OrderedDict
from dataclasses import dataclass

import pymc as pm

from fd_bayes.errors import SettingsError
from fd_bayes.inference import compile_cache
from fd_bayes.inference.idata import InferenceData
from fd_bayes.inference.settings import SAMPLERS, SamplerSettings

#: Compiled nutpie models kept per process (least recently used dropped first).
CACHE_SIZE = 8
_compiled: OrderedDict[str, object] = OrderedDict()
_compilations = {"count": 0}


def compile_count() -> int:
    """How many models nutpie has compiled in this process (cache misses)."""
    return _compilations["count"]


def clear_cache() -> None:
    """Forget every cached compiled model (the next fit compiles again)."""
    _compiled.clear()


def _nutpie_compiled(model: pm.Model, cache_key: str | None, data: dict | None, label: str):
    """nutpie's compiled model, and where it came from (see the module's docstring)."""
    if cache_key is not None and cache_key in _compiled:
        _compiled.move_to_end(cache_key)
        compiled = _compiled[cache_key]
        if data:
            known = set(compiled.shared_data)
            compiled = compiled.with_data(**{k: v for k, v in data.items() if k in known})
        return compiled, "memory"
    result = compile_cache.compile_model(model, label=label)
    _compilations["count"] += 1
    if cache_key is not None:
        _compiled[cache_key] = result.model
        while len(_compiled) > CACHE_SIZE:
            _compiled.popitem(last=False)
    return result.model, result.cache


@dataclass(frozen=True)
class SamplingResult:
    idata: InferenceData
    sampler: str
    compile_seconds: float
    sampling_seconds: float
    #: where nutpie's compiled model came from: "memory" (this process), "hit" (the
    #: compile cache on disk), "miss" (compiled and stored), "off" (compiled, not stored);
    #: "" for samplers that compile inside their own run
    compile_cache: str = ""


def available_samplers() -> list[str]:
    """The samplers importable here, fastest first."""
    out = []
    if importlib.util.find_spec("nutpie") is not None:
        out.append("nutpie")
    out.append("pymc")
    if importlib.util.find_spec("numpyro") is not None:
        out.append("numpyro")
    if "nutpie" in out and importlib.util.find_spec("jax") is not None:
        out.append("nutpie-jax")
    return out


def resolve_sampler(sampler: str) -> str:
    if sampler not in SAMPLERS:
        raise SettingsError(f"unknown sampler '{sampler}'; choose one of {', '.join(SAMPLERS)}")
    if sampler == "auto":
        return available_samplers()[0]
    if sampler not in available_samplers():
        extra = {"numpyro": "fd_bayes[jax]", "nutpie": "nutpie", "nutpie-jax": "fd_bayes[jax]"}[
            sampler
        ]
        raise SettingsError(f"sampler '{sampler}' is not installed; pip install '{extra}'")
    return sampler


def run_nuts(
    model: pm.Model,
    *,
    sampler: str = "auto",
    draws: int,
    tune: int,
    chains: int,
    seed: int,
    target_accept: float,
    progress: bool,
    cores: int | None = None,
    cache_key: str | None = None,
    data: dict | None = None,
    low_rank: bool = False,
    label: str = "",
) -> SamplingResult:
    """Sample the posterior of ``model``; returns posterior + sample_stats and timings.

    With ``cache_key`` (see :func:`fd_bayes.modelling.pymc_model.model_key`) nutpie reuses a model
    compiled earlier in this process under the same key, with ``data`` (name -> array of
    the model's ``pm.Data``) swapped in; ``compile_seconds`` is then the swap time.
    ``label`` names the model in the compile cache (``fd-bayes cache info``).
    ``low_rank``: nutpie adapts a diagonal-plus-low-rank mass matrix (its
    ``low_rank_modified_mass_matrix``) instead of a diagonal one; other samplers ignore it.
    """
    name = resolve_sampler(sampler)
    if name in ("nutpie", "nutpie-jax"):
        import nutpie

        t0 = time.perf_counter()
        cache = "off"
        if name == "nutpie":
            compiled, cache = _nutpie_compiled(model, cache_key, data, label)
        else:
            # nutpie's NUTS with a JAX-compiled log density: compiles in seconds instead
            # of numba's half minute, and XLA's fused loops halve the gradient cost on
            # large pooled data (benchmarks/bench_pooled.py). The data are frozen into
            # the graph (JAX needs static shapes), so there is no compile cache to reuse.
            from pymc.model.transform.optimization import freeze_dims_and_data

            compiled = nutpie.compile_pymc_model(
                freeze_dims_and_data(model), backend="jax", gradient_backend="jax"
            )
        t1 = time.perf_counter()
        idata = nutpie.sample(
            compiled,
            draws=draws,
            tune=tune,
            chains=chains,
            cores=cores,
            seed=seed,
            target_accept=target_accept,
            save_warmup=False,
            progress_bar=progress,
            low_rank_modified_mass_matrix=low_rank,
        )
        t2 = time.perf_counter()
        return SamplingResult(idata, name, t1 - t0, t2 - t1, cache)
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        # PyMC reports its own convergence opinions; fd_bayes reports diagnostics itself.
        warnings.filterwarnings("ignore", module="pymc")
        idata = pm.sample(
            draws=draws,
            tune=tune,
            chains=chains,
            cores=cores or min(chains, 2),
            random_seed=seed,
            target_accept=target_accept,
            progressbar=progress,
            compute_convergence_checks=False,
            nuts_sampler=name,
            model=model,
        )
    t1 = time.perf_counter()
    # pm.sample compiles inside; the split is not observable from outside.
    return SamplingResult(idata, name, float("nan"), t1 - t0)


def sample_nuts(
    model: pm.Model,
    settings: SamplerSettings,
    *,
    seed: int,
    cache_key: str | None = None,
    data: dict | None = None,
    low_rank: bool = False,
    label: str = "",
) -> SamplingResult:
    """:func:`run_nuts` with draws, warm-up, chains, target acceptance, sampler, cores
    and progress bar taken from one :class:`SamplerSettings` (its ``mass_matrix`` is
    resolved by the caller into ``low_rank``, which depends on the model)."""
    return run_nuts(
        model,
        sampler=settings.sampler,
        draws=settings.draws,
        tune=settings.tune,
        chains=settings.chains,
        seed=seed,
        target_accept=settings.target_accept,
        progress=settings.progress,
        cores=settings.cores,
        cache_key=cache_key,
        data=data,
        low_rank=low_rank,
        label=label,
    )
