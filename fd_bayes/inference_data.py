"""Every ArviZ call of fd_bayes lives here.

ArviZ 1.x (Python >= 3.12) renames arguments and changes defaults (``hdi_prob`` became
``prob``); keeping the calls in one module makes that move one file. Nothing outside
this module imports arviz.
"""

from __future__ import annotations

from pathlib import Path

import arviz as az
import numpy as np
import xarray as xr

from fd_bayes.constants import DIVERGENCES_MAX, ESS_MIN, RHAT_MAX

InferenceData = az.InferenceData


def diagnostics(idata: az.InferenceData) -> dict[str, float | int]:
    """R-hat, bulk/tail ESS over all posterior variables, and divergences.

    Deterministic variables that are constant across draws (e.g. a fixed zero) are
    skipped, as their R-hat is undefined; so are sampler-internal unconstrained copies
    (``*__``) and the sign-symmetric ``*_signed`` variables of folded parameters, whose
    absolute values are the parameters and are diagnosed.
    """
    post = idata.posterior
    keep = [
        v
        for v in post.data_vars
        if float(post[v].std()) > 0 and not str(v).endswith(("_signed", "__"))
    ]
    post = post[keep]
    rhat = az.rhat(post)
    ess_bulk = az.ess(post, method="bulk")
    ess_tail = az.ess(post, method="tail")
    div = idata.sample_stats["diverging"] if "diverging" in idata.sample_stats else None
    return {
        "max_rhat": _extreme(rhat, np.nanmax),
        "min_ess_bulk": _extreme(ess_bulk, np.nanmin),
        "min_ess_tail": _extreme(ess_tail, np.nanmin),
        "divergences": int(div.sum()) if div is not None else 0,
        "chains": int(post.sizes["chain"]),
        "draws": int(post.sizes["draw"]),
    }


def _extreme(ds: xr.Dataset, fn) -> float:
    values = np.concatenate([np.ravel(ds[v].values) for v in ds.data_vars])
    return float(fn(values)) if values.size else float("nan")


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


def to_netcdf(idata: az.InferenceData, path: str | Path) -> None:
    idata.to_netcdf(str(path))


def from_netcdf(path: str | Path) -> az.InferenceData:
    idata = az.from_netcdf(str(path))
    return idata.load() if hasattr(idata, "load") else idata
