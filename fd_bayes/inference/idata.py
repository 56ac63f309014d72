"""Every ArviZ call of fd_bayes lives here.

R-hat and ESS are ArviZ's estimators computed for all quantities at once
(:mod:`fd_bayes.inference.convergence`, pinned to ArviZ's numbers in its tests).

ArviZ 1.x (Python >= 3.12) renames arguments and changes defaults (``hdi_prob`` became
``prob``); keeping the calls in one module makes that move one file. Nothing outside
this module imports arviz.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import arviz as az
import numpy as np
import pandas as pd
import xarray as xr

from fd_bayes.constants import DIVERGENCES_MAX, ESS_MIN, RHAT_MAX
from fd_bayes.errors import FdBayesError
from fd_bayes.inference import convergence

InferenceData = az.InferenceData


def diagnostics(idata: az.InferenceData, variables: bool = False) -> dict:
    """R-hat, bulk/tail ESS over all posterior variables, and divergences.

    With ``variables``, also ``failing``: the names of the variables with an element
    whose R-hat or ESS fails its threshold (sorted; empty when none does).

    Deterministic variables that are constant across draws (e.g. a fixed zero) are
    skipped, as their R-hat is undefined; so are sampler-internal unconstrained copies
    (``*__``) and the sign-symmetric ``*_signed`` variables of folded parameters, whose
    absolute values are the parameters and are diagnosed. Constant elements of a
    varying variable (the unit diagonal of ``person_corr``) give NaN, which is ignored.
    """
    post = idata.posterior
    keep = [
        v
        for v in post.data_vars
        if float(post[v].std()) > 0 and not str(v).endswith(("_signed", "__"))
    ]
    # every quantity of every variable at once (the estimators are ArviZ's, vectorised)
    blocks = [post[v].transpose("chain", "draw", ...).values for v in keep]
    sizes = [int(np.prod(b.shape[2:], dtype=int)) for b in blocks]
    chains, draws = int(post.sizes["chain"]), int(post.sizes["draw"])
    x = (
        np.concatenate([b.reshape(chains, draws, -1) for b in blocks], axis=2)
        if blocks
        else np.zeros((chains, draws, 0))
    )
    rhat, ess_bulk, ess_tail = (np.atleast_1d(v) for v in convergence.summary(x))
    stats = idata.sample_stats if "sample_stats" in idata.groups() else {}
    if "diverging" not in stats:
        # a sampler that names it otherwise must not read as "0 divergences"
        raise FdBayesError(
            "the sampler's output records no divergent transitions (no "
            "sample_stats['diverging']), so this fit's diagnostics cannot be checked"
        )
    div = stats["diverging"]
    out = {
        "max_rhat": _extreme(rhat, np.nanmax),
        "min_ess_bulk": _extreme(ess_bulk, np.nanmin),
        "min_ess_tail": _extreme(ess_tail, np.nanmin),
        "divergences": int(div.sum()),
        "chains": chains,
        "draws": draws,
    }
    if variables:
        bounds = np.cumsum([0, *sizes])
        out["failing"] = sorted(
            str(v)
            for v, lo, hi in zip(keep, bounds[:-1], bounds[1:], strict=True)
            if np.nanmax(rhat[lo:hi], initial=-np.inf) > RHAT_MAX
            or np.nanmin(ess_bulk[lo:hi], initial=np.inf) < ESS_MIN
            or np.nanmin(ess_tail[lo:hi], initial=np.inf) < ESS_MIN
        )
    return out


def _extreme(values: np.ndarray, fn) -> float:
    if not values.size or np.isnan(values).all():
        return float("nan")
    return float(fn(values))


def diagnostic_problems(diag: dict) -> list[str]:
    """Plain-language statements of every failed diagnostic, with what to do."""
    problems = []
    if diag["divergences"] > DIVERGENCES_MAX:
        problems.append(
            f"{diag['divergences']} divergent transition(s): the sampler met geometry it "
            "could not explore, so the posterior may be biased. Refit with a higher "
            "target_accept (e.g. 0.95 or 0.99); if divergences persist, the model or its "
            "priors do not suit these data."
        )
    if diag["max_rhat"] > RHAT_MAX:
        problems.append(
            f"R-hat is {diag['max_rhat']:.3f} (> {RHAT_MAX}): the chains disagree, so they "
            "have not converged. Refit with more tuning and draws (e.g. tune=2000, "
            "draws=2000)."
        )
    low = min(diag["min_ess_bulk"], diag["min_ess_tail"])
    if low < ESS_MIN:
        problems.append(
            f"the smallest effective sample size is {low:.0f} (< {ESS_MIN:.0f}): intervals "
            "and probabilities are too noisy to report. Refit with more draws or chains."
        )
    return problems


def from_dict(**groups) -> az.InferenceData:
    """Build InferenceData from dicts of arrays (used for hand-made posteriors in tests)."""
    return az.from_dict(**groups)


def add_groups(idata: az.InferenceData, groups: dict[str, xr.Dataset]) -> None:
    """Add or replace whole groups (constant data, predictive draws) in place."""
    for name in groups:
        if name in idata.groups():
            del idata[name]
    idata.add_groups(groups)


def to_netcdf(idata: az.InferenceData, path: str | Path, exclude: tuple[str, ...] = ()) -> None:
    """Write ``idata`` to netCDF, leaving out the groups named in ``exclude``."""
    if exclude:
        idata = az.InferenceData(**{g: idata[g] for g in idata.groups() if g not in exclude})
    idata.to_netcdf(str(path))


def from_netcdf(path: str | Path) -> az.InferenceData:
    idata = az.from_netcdf(str(path))
    return idata.load() if hasattr(idata, "load") else idata


#: Pareto k above which PSIS-LOO is unreliable for an observation (Vehtari et al. 2017).
PARETO_K_MAX = 0.7


def loo(posterior: xr.Dataset, log_likelihood: xr.Dataset) -> dict:
    """PSIS-LOO from a posterior group and a pointwise log-likelihood group (``y``).

    Returns ``elpd``, ``se``, ``p_loo``, ``n_obs``, ``pareto_k`` (array per observation),
    ``n_high_k`` (count of k > 0.7) and ``elpd_data`` (ArviZ's object, for
    :func:`compare`). ArviZ's own warnings are silenced: callers say it in plain words.
    """
    idata = az.InferenceData(posterior=posterior, log_likelihood=log_likelihood)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = az.loo(idata, pointwise=True, var_name="y")
    k = np.asarray(res["pareto_k"].values, dtype=float)
    return {
        "elpd": float(res["elpd_loo"]),
        "se": float(res["se"]),
        "p_loo": float(res["p_loo"]),
        "n_obs": int(res["n_data_points"]),
        "pareto_k": k,
        "n_high_k": int((k > PARETO_K_MAX).sum()),
        "elpd_data": res,
    }


def compare(loos: dict[str, dict]) -> pd.DataFrame:
    """Rank models by PSIS-LOO elpd (results of :func:`loo`, keyed by model name).

    Returns one row per model, best first: ``model``, ``rank``, ``elpd_loo``, ``se``,
    ``elpd_diff`` (this model's elpd minus the best one's, <= 0), ``dse`` (its standard
    error, from the pointwise differences), ``p_loo`` and ``weight`` (stacking weight).
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table = az.compare({name: r["elpd_data"] for name, r in loos.items()}, ic="loo")
    table = table.reset_index(names="model")
    # ArviZ 0.x reports best minus this model (>= 0); state it as this model minus the
    # best (<= 0), the convention of R's loo package, so a negative number reads as worse.
    table["elpd_diff"] = 0.0 - table["elpd_diff"].astype(float)
    cols = ["model", "rank", "elpd_loo", "se", "elpd_diff", "dse", "p_loo", "weight"]
    return table[cols].astype({"rank": "int64"})


def array_diagnostics(x: np.ndarray) -> tuple[float, float, float]:
    """R-hat, bulk ESS and tail ESS of one quantity from its draws, shape (chain, draw).

    Used for derived quantities (the g-computed rate ratios) that are not posterior
    variables.
    """
    x = np.asarray(x, dtype=float)
    if x.ndim != 2:
        raise ValueError(f"expected draws of shape (chain, draw), got {x.shape}")
    return convergence.summary(x)
