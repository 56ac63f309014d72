"""The inference layer: sampler settings and seeds, running NUTS, every ArviZ call, the
predictive draws, and the two paths of a fit (a catalogue model, a Bambi formula model)
from a trial to an ``InferenceData`` with its provenance. :class:`fd_bayes.Fit` (the
results layer) wraps it; :func:`fd_bayes.fit` (also there) dispatches to the paths.

Other layers import these names from here (``from fd_bayes.inference import
SamplerSettings``); modules inside the package import their siblings directly.
"""

from __future__ import annotations

from fd_bayes.inference import idata
from fd_bayes.inference.adaptive import (
    Round,
    history_from_attrs,
    round_settings,
    rounds_sentence,
    sample_adaptively,
)
from fd_bayes.inference.catalogue import (
    WARNED_NOTES,
    CatalogueModel,
    drop_internal,
    observed_groups,
    predictive_groups,
    prepare_catalogue,
    sample_catalogue,
    uses_low_rank,
)
from fd_bayes.inference.formula import (
    DEFAULT_FAMILY,
    FAMILIES,
    NAMESPACE,
    NO_OFFSET_NOTE,
    OFFSET_COLUMN,
    RESPONSE,
    FormulaModel,
    bambi_frame,
    check_formula,
    counterfactual_frame,
    family_loglik,
    family_mean,
    family_message,
    formula_loglik_dataset,
    formula_variables,
    load_bambi,
    prepare_formula,
    quiet,
    response_params,
    sample_formula,
)
from fd_bayes.inference.predictive import (
    PRIOR_PREDICTIVE_DRAWS,
    draws_dataset,
    log_likelihood_dataset,
    posterior_predictive,
    sample_prior,
)
from fd_bayes.inference.provenance import (
    DIAGNOSTICS_FAILED,
    warn_diagnostics,
    warn_notes,
    write_provenance,
)
from fd_bayes.inference.sampling import (
    SamplingResult,
    available_samplers,
    clear_cache,
    compile_count,
    resolve_sampler,
    run_nuts,
    sample_nuts,
)
from fd_bayes.inference.settings import (
    MASS_MATRICES,
    SAMPLERS,
    SEED_LIMIT,
    SamplerSettings,
    child_seed,
    resolve_seed,
    resolve_settings,
    split_seed,
)

__all__ = [
    "DEFAULT_FAMILY",
    "DIAGNOSTICS_FAILED",
    "FAMILIES",
    "MASS_MATRICES",
    "NAMESPACE",
    "NO_OFFSET_NOTE",
    "OFFSET_COLUMN",
    "PRIOR_PREDICTIVE_DRAWS",
    "RESPONSE",
    "SAMPLERS",
    "SEED_LIMIT",
    "WARNED_NOTES",
    "CatalogueModel",
    "FormulaModel",
    "Round",
    "SamplerSettings",
    "SamplingResult",
    "available_samplers",
    "bambi_frame",
    "check_formula",
    "child_seed",
    "clear_cache",
    "compile_count",
    "counterfactual_frame",
    "draws_dataset",
    "drop_internal",
    "family_loglik",
    "family_mean",
    "family_message",
    "formula_loglik_dataset",
    "formula_variables",
    "history_from_attrs",
    "idata",
    "load_bambi",
    "log_likelihood_dataset",
    "observed_groups",
    "posterior_predictive",
    "predictive_groups",
    "prepare_catalogue",
    "prepare_formula",
    "quiet",
    "resolve_sampler",
    "resolve_seed",
    "resolve_settings",
    "response_params",
    "round_settings",
    "rounds_sentence",
    "run_nuts",
    "sample_adaptively",
    "sample_catalogue",
    "sample_formula",
    "sample_nuts",
    "sample_prior",
    "split_seed",
    "uses_low_rank",
    "warn_diagnostics",
    "warn_notes",
    "write_provenance",
]
