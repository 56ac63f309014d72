"""The modelling layer: model specs, the design, the model's structure, likelihood
families, the PyMC graph and the posterior algebra in numpy. It builds graphs; it never
samples.

Other layers import these names from here (``from fd_bayes.modelling import Design``);
modules inside the package import their siblings directly.
"""

from __future__ import annotations

from fd_bayes.modelling import families
from fd_bayes.modelling.build import (
    Design,
    Structure,
    build_model,
    expected_counts,
    frailty_draws,
    model_data,
    model_key,
    new_trial_counts,
    observed_means,
    observed_parameters,
    pointwise_loglik,
    resolve_structure,
    row_parameters,
    row_trials,
)
from fd_bayes.modelling.priors import priors
from fd_bayes.modelling.spec import (
    ModelSpec,
    Prior,
    available_models,
    catalogue_dir,
    load_spec,
    spec_from_dict,
)

__all__ = [
    "Design",
    "ModelSpec",
    "Prior",
    "Structure",
    "available_models",
    "build_model",
    "catalogue_dir",
    "expected_counts",
    "families",
    "frailty_draws",
    "load_spec",
    "model_data",
    "model_key",
    "new_trial_counts",
    "observed_means",
    "observed_parameters",
    "pointwise_loglik",
    "priors",
    "resolve_structure",
    "row_parameters",
    "row_trials",
    "spec_from_dict",
]
