"""Back from posterior draws to the likelihood's parameters and expected counts (numpy).

:func:`expected_counts` recomputes per-person expected yearly counts under treatment
and under control from posterior draws, which is all the effects layer needs;
:func:`pointwise_loglik` is the input of PSIS-LOO; :func:`frailty_draws` draws a
``negmult`` model's frailties. Draws are flattened chain-major by
:func:`fd_bayes.modelling.draws.flat_draws`.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from fd_bayes.modelling import families
from fd_bayes.modelling.design import Design, row_trials
from fd_bayes.modelling.draws import by_chain, flat_draws, n_chain_draw
from fd_bayes.modelling.likelihood import person_totals


def baseline_log_rate(posterior: xr.Dataset, design: Design, rows: np.ndarray) -> np.ndarray:
    """Log expected yearly count under control for the given rows, per draw.

    Returns an array (draws, len(rows)): alpha + beta * x + u, without the treatment
    term and without the exposure offset (rates are per person-year).
    """

    def draws(name: str) -> np.ndarray:
        return flat_draws(posterior[name])

    eta = draws("intercept")[:, design.cell_idx[rows]]
    if "baseline_slope" in posterior:
        eta = eta + draws("baseline_slope")[:, design.co_idx[rows]] * design.x_pre[rows]
    if "person_corr" in posterior:  # u = z @ (diag(sd) L)^T, L L^T = person_corr
        chol = np.linalg.cholesky(draws("person_corr")) * draws("person_sd")[:, :, None]
        u = np.einsum("spk,sok->spo", draws("z_person"), chol)
        outcome = design.cells["outcome_idx"].to_numpy()[design.cell_idx[rows]]
        eta = eta + u[:, design.person_idx[rows], outcome]
    elif "z_person" in posterior:
        u = draws("person_sd")[:, None] * draws("z_person")
        eta = eta + u[:, design.person_idx[rows]]
    elif "log_frailty" in posterior:  # negmult: frailties drawn by frailty_draws
        eta = eta + draws("log_frailty")[:, design.person_idx[rows]]
    return eta


def _log_gamma(rng: np.random.Generator, shape: np.ndarray, rate: np.ndarray) -> np.ndarray:
    """log of Gamma(shape, rate) draws, without underflow for small shapes.

    For shape < 1: ``G(a) = G(a + 1) U^(1/a)`` (Marsaglia and Tsang 2000), taken in logs.
    """
    small = shape < 1.0
    g = rng.gamma(np.where(small, shape + 1.0, shape))
    u = rng.random(shape.shape)
    with np.errstate(divide="ignore"):
        boost = np.where(small, np.log(u) / shape, 0.0)
    return np.log(g) + boost - np.log(rate)


def frailty_draws(
    posterior: xr.Dataset, design: Design, seed, conditional: bool = True, chunk: int = 200
) -> xr.DataArray:
    """Per draw, the log frailty of every person of a ``negmult`` model.

    ``conditional=True`` (posterior draws): from each person's exact conditional
    posterior given the draw's parameters, ``g | y ~ Gamma(k + S, k + M)`` (``S`` the
    person's total count, ``M`` the sum of their rows' means without the frailty, each
    under its own arm and exposure; ``k = 1 / person_cv^2``). The pairs (parameters,
    frailties) are then draws from the joint posterior, which is what g-computation and
    predictive checks need. ``conditional=False`` (prior draws): ``g ~ Gamma(k, k)``.
    Computed ``chunk`` draws at a time (the rows' means of all draws at once can be
    gigabytes for large pooled trials). Returns a DataArray (chain, draw, person).
    """
    rng = np.random.default_rng(seed)
    n_chain, n_draw = n_chain_draw(posterior)
    n = design.n_people
    k = 1.0 / posterior["person_cv"].values ** 2  # (chain, draw)
    out = np.empty((n_chain, n_draw, n))
    if not conditional:
        kk = np.broadcast_to(k[:, :, None], out.shape)
        out[:] = _log_gamma(rng, kk, kk)
    else:
        total = person_totals(design)
        posterior = posterior.drop_vars([v for v in ("log_frailty",) if v in posterior])
        for c in range(n_chain):
            for start in range(0, n_draw, chunk):
                part = posterior.isel(chain=[c], draw=slice(start, start + chunk))
                mu = observed_parameters(part, design).mu  # (draws, rows)
                summed = np.stack(
                    [np.bincount(design.person_idx, weights=m, minlength=n) for m in mu]
                )
                kk = k[c, start : start + chunk, None]
                out[c, start : start + chunk] = _log_gamma(rng, kk + total, kk + summed)
    return xr.DataArray(
        out,
        dims=("chain", "draw", "person"),
        coords={
            "chain": posterior["chain"].values,
            "draw": posterior["draw"].values,
            "person": np.arange(n),
        },
        name="log_frailty",
    )


def row_parameters(
    posterior: xr.Dataset,
    design: Design,
    rows: np.ndarray,
    treated: np.ndarray | int,
    log_exposure: np.ndarray | float = 0.0,
) -> families.RowParams:
    """Per draw, the likelihood's parameters of ``rows`` in the given arm(s).

    ``treated`` (1 or 0, per row or for all) selects the arm; ``log_exposure`` is added
    to the log count-part mean (0: per person-year). Returns the count-part mean ``mu``,
    the NB shape of each row's crime type x outcome and the zero part's linear
    predictor (:class:`fd_bayes.modelling.families.RowParams`), arrays (draws, len(rows)).
    """

    def draws(name: str) -> np.ndarray:
        return flat_draws(posterior[name])

    eta = baseline_log_rate(posterior, design, rows) + log_exposure
    eta = eta + draws("theta")[:, design.cell_idx[rows]] * treated
    co = design.co_idx[rows]
    phi = draws("dispersion")[:, co] if "dispersion" in posterior else None
    zero = None
    family = families.get(families.of_posterior(posterior))
    if family.zero is not None:
        name_c, name_t = family.zero_priors
        zero = draws(name_c)[:, co] + draws(name_t)[:, None] * treated
    return families.RowParams(np.exp(eta), phi, zero)


def observed_parameters(posterior: xr.Dataset, design: Design) -> families.RowParams:
    """:func:`row_parameters` of every observed row in its own arm, with its exposure."""
    rows = np.arange(len(design.cell_idx))
    return row_parameters(posterior, design, rows, design.treated, design.log_exposure)


def expected_counts(
    posterior: xr.Dataset, design: Design, rows: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Expected yearly counts of ``rows`` under treatment and under control, per draw.

    Returns ``(mu_treat, mu_control)``, each an array (draws, len(rows)). These are the
    potential outcomes that g-computation sums: the family's mean ``E[y]``
    (:func:`fd_bayes.modelling.families.mean`: ``mu`` for the NB and Poisson, ``(1 - pi) mu`` for
    the zero-inflated NB, ``(1 - p0) mu / (1 - NB0)`` for the hurdle), each arm with its
    own zero part, so rate ratios mean the same for every family.
    """
    family = families.of_posterior(posterior)
    mu1 = families.mean(family, row_parameters(posterior, design, rows, 1))
    mu0 = families.mean(family, row_parameters(posterior, design, rows, 0))
    return mu1, mu0


def new_trial_counts(
    posterior: xr.Dataset, design: Design, rows: np.ndarray, seed: int
) -> np.ndarray | None:
    """Expected counts of ``rows`` under treatment in a *new* trial, per draw.

    Per draw, each row's trial deviation ``eta[t]`` is replaced by one fresh
    ``eta_new ~ Normal(0, trial_sd)`` shared by all rows (a new site shifts every cell
    alike): the count part's mean under treatment becomes ``mu * exp(eta_new - eta[t])``,
    and the family's ``E[y]`` is computed from it (for the hurdle NB, ``E[y]`` is not
    proportional to ``mu``, so the shift is applied before the mean, not after). Control
    rates stay those of the observed trials (the g-computation is over the pooled
    treated cohort). ``None`` when the fit has no between-trial SD (no trial term, or a
    fixed one).
    """
    if "trial_sd" not in posterior or "trial_effect" not in posterior:
        return None
    tau = flat_draws(posterior["trial_sd"])
    eta = flat_draws(posterior["trial_effect"])
    eta_new = tau * np.random.default_rng(seed).standard_normal(tau.shape[0])
    params = row_parameters(posterior, design, rows, 1)
    shift = np.exp(eta_new[:, None] - eta[:, row_trials(design, rows)])
    params = families.RowParams(params.mu * shift, params.phi, params.zero)
    return families.mean(families.of_posterior(posterior), params)


def observed_means(posterior: xr.Dataset, design: Design) -> tuple[np.ndarray, np.ndarray]:
    """Per draw, the expected count of every observed row and its NB shape.

    Each row takes the mean E[y] of its family under its own arm and exposure; the
    shape is the ``dispersion`` of its crime type x outcome (``None`` for a Poisson
    model). Arrays are (draws, obs), draws chain-major. Predictive draws and the
    log-likelihood use the full :func:`observed_parameters`.
    """
    params = observed_parameters(posterior, design)
    return families.mean(families.of_posterior(posterior), params), params.phi


def pointwise_loglik(
    posterior: xr.Dataset,
    design: Design,
    family: str,
    params: families.RowParams | None = None,
) -> np.ndarray:
    """Log-likelihood of every observed row under every posterior draw.

    Treated rows use the expected count under treatment, the others under control, both
    times the row's exposure; the likelihood is the family's
    (:func:`fd_bayes.modelling.families.logpmf`:
    NB2 with shape ``dispersion`` per crime type x outcome, Poisson, or a zero-inflated
    or hurdle NB), as in :func:`build_model`.

    ``params``: :func:`observed_parameters` of ``posterior``, where the caller has them.

    Returns an array (chain, draw, obs), the input of PSIS-LOO.
    """
    if params is None:
        params = observed_parameters(posterior, design)
    if not families.get(family).negbin:
        params = families.RowParams(params.mu)
    ll = families.logpmf(family, design.post_count, params)
    return by_chain(ll, *n_chain_draw(posterior))


__all__ = [
    "baseline_log_rate",
    "expected_counts",
    "frailty_draws",
    "new_trial_counts",
    "observed_means",
    "observed_parameters",
    "pointwise_loglik",
    "row_parameters",
]
