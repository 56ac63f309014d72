"""Running NUTS on a PyMC model with one of the available samplers.

``sampler="auto"`` picks nutpie when it is installed (it is a core dependency: the
benchmark in ``benchmarks/bench_samplers.py`` measured it faster than PyMC's own NUTS
on the example trial), else PyMC's NUTS. ``"pymc"``, ``"nutpie"`` and ``"numpyro"``
force one; asking for one that is not installed is an error, never a silent switch.
"""

from __future__ import annotations

import importlib.util
import time
import warnings
from dataclasses import dataclass

import pymc as pm

from fd_bayes.errors import SettingsError
from fd_bayes.inference_data import InferenceData

SAMPLERS = ("auto", "nutpie", "pymc", "numpyro")


@dataclass(frozen=True)
class SamplingResult:
    idata: InferenceData
    sampler: str
    compile_seconds: float
    sampling_seconds: float


def available_samplers() -> list[str]:
    """The samplers importable here, fastest first."""
    out = []
    if importlib.util.find_spec("nutpie") is not None:
        out.append("nutpie")
    out.append("pymc")
    if importlib.util.find_spec("numpyro") is not None:
        out.append("numpyro")
    return out


def resolve_sampler(sampler: str) -> str:
    if sampler not in SAMPLERS:
        raise SettingsError(f"unknown sampler '{sampler}'; choose one of {', '.join(SAMPLERS)}")
    if sampler == "auto":
        return available_samplers()[0]
    if sampler not in available_samplers():
        extra = {"numpyro": "fd_bayes[jax]", "nutpie": "nutpie"}[sampler]
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
) -> SamplingResult:
    """Sample the posterior of ``model``; returns posterior + sample_stats and timings."""
    name = resolve_sampler(sampler)
    if name == "nutpie":
        import nutpie

        t0 = time.perf_counter()
        compiled = nutpie.compile_pymc_model(model)
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
        )
        t2 = time.perf_counter()
        return SamplingResult(idata, name, t1 - t0, t2 - t1)
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
