"""The inference layer: sampler settings and seeds, running NUTS, every ArviZ call and the
predictive draws. It turns a model into an ``InferenceData``; :class:`fd_bayes.Fit` (the
results layer) wraps it.

Other layers import these names from here (``from fd_bayes.inference import
SamplerSettings``); modules inside the package import their siblings directly.
"""

from __future__ import annotations

from fd_bayes.inference import idata
from fd_bayes.inference.sampling import (
    SamplingResult,
    available_samplers,
    clear_cache,
    compile_count,
    resolve_sampler,
    run_nuts,
)
from fd_bayes.inference.settings import (
    MASS_MATRICES,
    SAMPLERS,
    SEED_LIMIT,
    SamplerSettings,
    child_seed,
    resolve_seed,
    split_seed,
)

__all__ = [
    "MASS_MATRICES",
    "SAMPLERS",
    "SEED_LIMIT",
    "SamplerSettings",
    "SamplingResult",
    "available_samplers",
    "child_seed",
    "clear_cache",
    "compile_count",
    "idata",
    "resolve_sampler",
    "resolve_seed",
    "run_nuts",
    "split_seed",
]
