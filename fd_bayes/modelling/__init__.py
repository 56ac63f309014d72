"""The modelling layer: model specs, the design, the model's structure, likelihood
families, the PyMC graph and the posterior algebra in numpy. It builds graphs; it never
samples.

Other layers import these names from here (``from fd_bayes.modelling import Design``);
modules inside the package import their siblings directly.
"""

from __future__ import annotations

from fd_bayes.modelling import families
from fd_bayes.modelling.design import INDIVIDUAL_DATA, SEP, Design, row_trials
from fd_bayes.modelling.draws import SAMPLE, by_chain, flat_draws, n_chain_draw
from fd_bayes.modelling.families import RowParams
from fd_bayes.modelling.likelihood import (
    excess_counts,
    negbin_loglik,
    negmult_loglik,
    person_totals,
    poisson_loglik,
    zero_part_loglik,
)
from fd_bayes.modelling.posterior import (
    baseline_log_rate,
    expected_counts,
    frailty_draws,
    new_trial_counts,
    observed_means,
    observed_parameters,
    pointwise_loglik,
    row_parameters,
)
from fd_bayes.modelling.priors import PRIOR_COLUMNS, priors
from fd_bayes.modelling.pymc_model import (
    CORR_DIM,
    FOLDED_SUFFIX,
    build_model,
    model_data,
    model_key,
)
from fd_bayes.modelling.spec import (
    NB_FAMILIES,
    ModelSpec,
    Prior,
    available_models,
    catalogue_dir,
    load_spec,
    spec_from_dict,
)
from fd_bayes.modelling.structure import MIN_LEVELS_FOR_VARIANCE, Structure, resolve_structure

__all__ = [
    "CORR_DIM",
    "FOLDED_SUFFIX",
    "INDIVIDUAL_DATA",
    "MIN_LEVELS_FOR_VARIANCE",
    "NB_FAMILIES",
    "PRIOR_COLUMNS",
    "SAMPLE",
    "SEP",
    "Design",
    "ModelSpec",
    "Prior",
    "RowParams",
    "Structure",
    "available_models",
    "baseline_log_rate",
    "build_model",
    "by_chain",
    "catalogue_dir",
    "excess_counts",
    "expected_counts",
    "families",
    "flat_draws",
    "frailty_draws",
    "load_spec",
    "model_data",
    "model_key",
    "n_chain_draw",
    "negbin_loglik",
    "negmult_loglik",
    "new_trial_counts",
    "observed_means",
    "observed_parameters",
    "person_totals",
    "pointwise_loglik",
    "poisson_loglik",
    "priors",
    "resolve_structure",
    "row_parameters",
    "row_trials",
    "spec_from_dict",
    "zero_part_loglik",
]
