"""Prior and predictive draws of a catalogue model, and the pointwise log-likelihood.

Every group here is a dataset with one variable ``y`` over ``(chain, draw, obs)`` (one
``obs`` per person-row of the design), the layout ArviZ expects of
``prior_predictive``, ``posterior_predictive`` and ``log_likelihood``; model checking
(:mod:`fd_bayes.results.checking`) and calibration (:mod:`fd_bayes.plan.calibrate`) read
them.
"""

from __future__ import annotations

import logging
import warnings

import numpy as np
import pymc as pm
import xarray as xr

from fd_bayes.modelling import (
    Design,
    families,
    frailty_draws,
    observed_parameters,
    pointwise_loglik,
)
from fd_bayes.modelling.draws import by_chain, n_chain_draw

#: Prior draws a fit stores (``prior``, ``prior_predictive``).
PRIOR_PREDICTIVE_DRAWS = 500


def sample_prior(pm_model: pm.Model, draws: int, seed: int) -> xr.Dataset:
    """Draws of every parameter from the prior (the likelihood potential is ignored)."""
    logger = logging.getLogger("pymc")
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*Potential", category=UserWarning)
            prior = pm.sample_prior_predictive(draws=draws, model=pm_model, random_seed=seed)
    finally:
        logger.setLevel(level)
    return prior.prior


def log_likelihood_dataset(
    posterior: xr.Dataset, design: Design, family: str, params: families.RowParams | None = None
) -> xr.Dataset:
    """The pointwise log-likelihood ``y`` (chain, draw, obs) as an InferenceData group
    (``params``: the posterior's :func:`observed_parameters`, where the caller has them)."""
    ll = pointwise_loglik(posterior, design, family, params)
    return draws_dataset(ll.astype("float32"), posterior)


def posterior_predictive(
    posterior: xr.Dataset,
    design: Design,
    family: str,
    seed,
    params: families.RowParams | None = None,
) -> xr.Dataset:
    """Replicated follow-up counts for every row, one set per posterior draw.

    Drawn from the family's distribution (:func:`fd_bayes.modelling.families.draw`) with each
    row's parameters under its own arm and exposure. For a ``negmult`` model, draws
    without frailties (prior draws: :func:`fd_bayes.fit` adds the conditional ones to every
    posterior) get frailties from their prior ``Gamma(k, k)``. ``params``: the posterior's
    :func:`observed_parameters`, where the caller has them (ignored for such draws).
    """
    if families.get(family).frailty and "log_frailty" not in posterior:
        rng = np.random.default_rng(seed)
        posterior = posterior.assign(
            log_frailty=frailty_draws(posterior, design, rng, conditional=False)
        )
        seed = rng
        params = None
    if params is None:
        params = observed_parameters(posterior, design)
    if not families.get(family).negbin:
        params = families.RowParams(params.mu)
    y = families.draw(family, np.random.default_rng(seed), params)
    return draws_dataset(by_chain(y, *n_chain_draw(posterior)).astype("int32"), posterior)


def draws_dataset(values: np.ndarray, posterior: xr.Dataset) -> xr.Dataset:
    """``values`` (chain, draw, obs) as a group ``y`` with the posterior's chain/draw."""
    return xr.Dataset(
        {"y": (("chain", "draw", "obs"), values)},
        coords={
            "chain": posterior["chain"].values,
            "draw": posterior["draw"].values,
            "obs": np.arange(values.shape[-1]),
        },
    )


__all__ = [
    "PRIOR_PREDICTIVE_DRAWS",
    "draws_dataset",
    "log_likelihood_dataset",
    "posterior_predictive",
    "sample_prior",
]
