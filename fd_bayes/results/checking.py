"""Model checking: prior and posterior predictive checks, and comparison by PSIS-LOO.

A predictive check compares a statistic of the observed follow-up counts (share of
zeros, mean, variance, variance/mean, maximum) with the same statistic of data sets
replicated from the model, per arm x outcome x crime type (and over all crime types).
The posterior predictive p-value ``ppp = P(T_rep >= T_obs)`` (ties counted half) near 0
or 1 says the model cannot reproduce that feature of the data.

PSIS-LOO (via :mod:`fd_bayes.inference.idata`, which holds every ArviZ call) estimates
each model's expected log predictive density for a new person-row; :func:`compare`
ranks fits of the same data by it.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from fd_bayes.constants import DEFAULT_MODEL, HDI_PROB
from fd_bayes.data import Trial
from fd_bayes.errors import FdBayesError, LooWarning, SettingsError
from fd_bayes.inference import (
    SEED_LIMIT,
    posterior_predictive,
    resolve_seed,
    sample_prior,
    split_seed,
)
from fd_bayes.inference import idata as infd
from fd_bayes.modelling import Design, ModelSpec, build_model, flat_draws, load_spec
from fd_bayes.plots import subplots

if TYPE_CHECKING:
    from fd_bayes.results.fit import Fit

#: Statistics of a group of rows, in table order.
STATISTICS = ("share_zeros", "mean", "variance", "dispersion", "max")
#: Columns of the predictive-check table.
PPC_COLUMNS = [
    "arm",
    "outcome",
    "crime_type",
    "stat",
    "n_rows",
    "observed",
    "replicated_median",
    "replicated_lower",
    "replicated_upper",
    "ppp",
]
#: The statistics :func:`plot_ppc` draws.
HEADLINE = ("share_zeros", "mean", "dispersion", "max")
_LABELS = {
    "share_zeros": "share of zeros",
    "mean": "mean",
    "variance": "variance",
    "dispersion": "variance / mean",
    "max": "maximum",
}


# -- statistics ----------------------------------------------------------------------------
def _groups(design: Design) -> tuple[pd.DataFrame, np.ndarray]:
    """Group labels and a boolean membership matrix (obs, groups)."""
    cells = design.cells.iloc[design.cell_idx]
    arm = np.where(design.treated == 1, "treatment", "control")
    outcome = cells["outcome"].to_numpy().astype(str)
    crime = cells["crime_type"].to_numpy().astype(str)
    keys, masks = [], []
    for a in ("treatment", "control"):
        for o in design.outcomes:
            base = (arm == a) & (outcome == o)
            if not base.any():
                continue
            keys.append((a, o, "all"))
            masks.append(base)
            for c in pd.unique(crime[base]):
                keys.append((a, o, str(c)))
                masks.append(base & (crime == c))
    labels = pd.DataFrame(keys, columns=["arm", "outcome", "crime_type"])
    return labels, np.column_stack(masks)


def _stats(y: np.ndarray, member: np.ndarray) -> np.ndarray:
    """Statistics of every group for every replicate: y (S, obs) -> (S, groups, stats)."""
    y = y.astype(float)
    m = member.astype(float)
    n = m.sum(axis=0)
    total = y @ m
    mean = total / n
    sq = (y**2) @ m
    ddof = np.where(n > 1, n - 1, 1.0)
    var = np.maximum(sq - n * mean**2, 0.0) / ddof
    zeros = (y == 0).astype(float) @ m / n
    disp = np.divide(var, mean, out=np.full_like(var, np.nan), where=mean > 0)
    mx = np.column_stack([y[:, member[:, g]].max(axis=1) for g in range(member.shape[1])])
    return np.stack([zeros, mean, var, disp, mx], axis=-1)


def _summarise(observed: np.ndarray, replicated: np.ndarray, prob: float) -> dict:
    """Median, central interval and ppp per group and statistic, ignoring undefined draws.

    observed (groups, stats); replicated (S, groups, stats). A statistic undefined in a
    replicate (variance/mean of an all-zero group) is left out of that replicate's vote.
    """
    finite = np.isfinite(replicated)
    n_ok = finite.sum(axis=0)
    above = ((replicated > observed) & finite).sum(axis=0)
    ties = ((replicated == observed) & finite).sum(axis=0)
    ok = (n_ok > 0) & np.isfinite(observed)
    ppp = np.divide(above + 0.5 * ties, n_ok, out=np.full(observed.shape, np.nan), where=ok)
    q = np.full((3, *observed.shape), np.nan)
    tail = (1.0 - prob) / 2.0
    for g, s in zip(*np.nonzero(n_ok > 0), strict=True):
        q[:, g, s] = np.quantile(replicated[finite[:, g, s], g, s], [0.5, tail, 1.0 - tail])
    return {
        "replicated_median": q[0],
        "replicated_lower": q[1],
        "replicated_upper": q[2],
        "ppp": ppp,
    }


def ppc_table(
    y_obs: np.ndarray, y_rep: np.ndarray, design: Design, prob: float = HDI_PROB
) -> pd.DataFrame:
    """The predictive-check table from observed counts (obs) and replicates (..., obs)."""
    table, _, _ = _ppc_arrays(y_obs, y_rep, design, prob)
    return table


def _ppc_arrays(y_obs, y_rep, design: Design, prob: float):
    if not 0 < prob < 1:
        raise SettingsError(f"prob must be between 0 and 1, got {prob!r}")
    y_obs = np.asarray(y_obs)
    y_rep = np.asarray(y_rep).reshape(-1, y_obs.shape[-1])
    labels, member = _groups(design)
    observed = _stats(y_obs[None, :], member)[0]
    replicated = _stats(y_rep, member)
    summary = _summarise(observed, replicated, prob)
    n_groups, n_stats = observed.shape
    table = labels.loc[labels.index.repeat(n_stats)].reset_index(drop=True)
    table["stat"] = np.tile(STATISTICS, n_groups)
    table["n_rows"] = np.repeat(member.sum(axis=0), n_stats).astype("int64")
    table["observed"] = observed.ravel()
    for name, values in summary.items():
        table[name] = values.ravel()
    return table[PPC_COLUMNS], labels, replicated


def _fit_arrays(fit: Fit, group: str):
    if group not in ("posterior", "prior"):
        raise SettingsError(f'group must be "posterior" or "prior", got {group!r}')
    name = f"{group}_predictive"
    if name not in fit.idata.groups():
        raise FdBayesError(f"this fit has no {name} group to check")
    y_rep = flat_draws(fit.idata[name]["y"])  # (sample, obs)
    if "observed_data" in fit.idata.groups():
        y_obs = fit.idata.observed_data["y"].values
    else:
        y_obs = fit.design.post_count
    return y_obs, y_rep


def ppc(fit: Fit, group: str = "posterior", prob: float = HDI_PROB) -> pd.DataFrame:
    """Observed vs replicated statistics with predictive p-values.

    Parameters
    ----------
    fit : Fit
    group : {"posterior", "prior"}
        Replicate from the posterior predictive (the default) or the prior predictive.
    prob : float
        Probability of the central interval of the replicated statistic (default 0.95).

    Returns
    -------
    pandas.DataFrame
        One row per arm x outcome x crime type ("all" for every crime type together) x
        statistic: ``arm``, ``outcome``, ``crime_type``, ``stat`` (share_zeros, mean,
        variance, dispersion = variance/mean, max), ``n_rows``, ``observed``,
        ``replicated_median``, ``replicated_lower``, ``replicated_upper`` and ``ppp`` =
        P(T_rep > T_obs) + P(T_rep = T_obs) / 2. A ppp below 0.01 or above 0.99 means
        the model does not reproduce that feature of the data. NaN where a statistic is
        undefined (variance/mean of an all-zero group).
    """
    y_obs, y_rep = _fit_arrays(fit, group)
    return ppc_table(y_obs, y_rep, fit.design, prob)


def plot_ppc(
    fit: Fit,
    path: str | Path | None = None,
    group: str = "posterior",
    stats: tuple[str, ...] = HEADLINE,
):
    """Histograms of replicated statistics (all crime types pooled) with observed values.

    One row of panels per outcome, one column per statistic; treatment and control are
    drawn in two colours, each observed value as a vertical line of its colour (the
    most extreme 0.5% of replicates on either side are piled at the edges). Returns
    the matplotlib Figure; writes it to ``path`` when given.
    """
    unknown = sorted(set(stats) - set(STATISTICS))
    if unknown:
        raise SettingsError(f"unknown statistic(s) {unknown}; choose from {list(STATISTICS)}")
    y_obs, y_rep = _fit_arrays(fit, group)
    # the figure pools the crime types: only the arm x outcome groups are computed
    labels, member = _groups(fit.design)
    pooled = (labels["crime_type"] == "all").to_numpy()
    labels, member = labels[pooled].reset_index(drop=True), member[:, pooled]
    replicated = _stats(np.asarray(y_rep), member)
    observed = _stats(np.asarray(y_obs)[None, :], member)[0]
    outcomes = list(pd.unique(labels["outcome"]))
    fig, axes = subplots(
        len(outcomes),
        len(stats),
        figsize=(3.0 * len(stats), 2.4 * len(outcomes) + 0.6),
        squeeze=False,
    )
    colours = {"treatment": "tab:orange", "control": "tab:blue"}
    for r, outcome in enumerate(outcomes):
        for c, stat in enumerate(stats):
            ax = axes[r, c]
            s = STATISTICS.index(stat)
            drawn = {}
            for arm in colours:
                hit = np.flatnonzero(
                    (labels["arm"] == arm)
                    & (labels["outcome"] == outcome)
                    & (labels["crime_type"] == "all")
                )
                if len(hit):
                    values = replicated[:, hit[0], s]
                    drawn[arm] = (values[np.isfinite(values)], observed[hit[0], s])
            # a common range that shows the bulk of every replicate and every observed value
            pool = np.concatenate([v for v, _ in drawn.values()] + [[np.nan]])
            obs = [o for _, o in drawn.values() if np.isfinite(o)]
            if np.isfinite(pool).any():
                lo, hi = np.nanquantile(pool, [0.005, 0.995])
                lo, hi = min([lo, *obs]), max([hi, *obs])
                hi = hi if hi > lo else lo + 1.0
                for arm, (values, _) in drawn.items():
                    ax.hist(
                        np.clip(values, lo, hi),
                        bins=30,
                        range=(lo, hi),
                        histtype="stepfilled",  # one shape, not 30 bars: quicker to draw
                        color=colours[arm],
                        alpha=0.45,
                        label=arm,
                    )
            for arm, (_, value) in drawn.items():
                if np.isfinite(value):
                    ax.axvline(value, color=colours[arm], linewidth=2)
            ax.set_title(f"{outcome}: {_LABELS[stat]}", fontsize=9)
            ax.set_yticks([])
            if r == 0 and c == 0:
                ax.legend(fontsize=8, frameon=False)
    what = "Posterior" if group == "posterior" else "Prior"
    fig.suptitle(
        f"{what} predictive check: replicated (histograms) vs observed (lines)", fontsize=10
    )
    fig.tight_layout()
    if path is not None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=150)
    return fig


def prior_check(
    trial: Trial,
    model: str | Path | ModelSpec = DEFAULT_MODEL,
    draws: int = 500,
    seed: int | None = None,
    priors: dict | None = None,
    prob: float = HDI_PROB,
    return_draws: bool = False,
):
    """Prior predictive check before fitting (no MCMC).

    Draws parameters from the spec's priors, replicates the follow-up counts of every
    row, and compares them with the observed counts as :func:`ppc` does. Use it to see
    whether the priors allow data like these (ppp far from 0 and 1, observed values
    inside the intervals) without allowing absurd data (replicated maxima of thousands).

    Returns the table; with ``return_draws=True`` also the replicated counts, an array
    (draws, obs).
    """
    if not isinstance(trial, Trial):
        raise SettingsError(f"prior_check() needs a Trial, got {type(trial).__name__}")
    if not isinstance(draws, int | np.integer) or draws < 1:
        raise SettingsError(f"draws must be an integer >= 1, got {draws!r}")
    spec = load_spec(model).with_priors(priors)
    design = Design.from_trial(trial)
    pm_model, _ = build_model(spec, design)
    prior_seed, pred_seed = split_seed(resolve_seed(seed), 2)
    prior = sample_prior(pm_model, int(draws), prior_seed % SEED_LIMIT)
    y_rep = flat_draws(posterior_predictive(prior, design, spec.family, pred_seed)["y"])
    table = ppc_table(design.post_count, y_rep, design, prob)
    return (table, y_rep) if return_draws else table


# -- PSIS-LOO --------------------------------------------------------------------------------
def _loo(fit: Fit, name: str | None = None) -> dict:
    res = infd.loo(fit.idata.posterior, fit.log_likelihood())
    if res["n_high_k"]:
        who = f"model {name!r}: " if name else ""
        warnings.warn(
            f"{who}PSIS-LOO is unreliable for {res['n_high_k']} of {res['n_obs']} "
            f"observations (Pareto k > {infd.PARETO_K_MAX}): these rows are so influential "
            "that leaving one out changes the posterior a lot, so elpd and its standard "
            "error may be off. Treat the comparison as rough, or refit leaving those rows "
            "out (exact leave-one-out) before relying on it.",
            LooWarning,
            stacklevel=3,
        )
    return res


def loo(fit: Fit) -> pd.Series:
    """PSIS-LOO of one fit: ``elpd_loo``, ``se``, ``p_loo``, ``n_obs``, ``n_pareto_k_high``.

    Warns (:class:`~fd_bayes.errors.LooWarning`) when any Pareto k exceeds 0.7.
    """
    res = _loo(fit)
    return pd.Series(
        {
            "elpd_loo": res["elpd"],
            "se": res["se"],
            "p_loo": res["p_loo"],
            "n_obs": res["n_obs"],
            "n_pareto_k_high": res["n_high_k"],
        }
    )


def compare(fits: dict[str, Fit]) -> pd.DataFrame:
    """Compare fits of the same data by PSIS-LOO expected log predictive density.

    Parameters
    ----------
    fits : dict
        Model name -> Fit, at least two, all fitted to the same trial.

    Returns
    -------
    pandas.DataFrame
        One row per model, best first: ``model``, ``rank``, ``elpd_loo`` (higher is
        better), ``se``, ``elpd_diff`` (difference to the best, <= 0), ``dse`` (standard
        error of the difference, from pointwise differences), ``p_loo`` (effective
        number of parameters), ``weight`` (stacking weight), ``n_pareto_k_high``
        (observations with Pareto k > 0.7) and ``loo_reliable``. A difference smaller
        than about 2 ``dse`` does not separate the models.

    Warns
    -----
    LooWarning
        For each model with Pareto k > 0.7 for any observation.
    """
    if not isinstance(fits, dict) or len(fits) < 2:
        raise SettingsError("compare() needs a dict of at least two fits, name -> Fit")
    sizes = {name: len(f.design.cell_idx) for name, f in fits.items()}
    hashes = {f.info.get("data_hash") for f in fits.values()} - {None}
    if len(set(sizes.values())) > 1 or len(hashes) > 1:
        raise FdBayesError(
            "compare() needs fits of the same data: the fits have different data "
            f"(rows per fit: {sizes}). Fit every model to the same trial."
        )
    results = {name: _loo(f, name) for name, f in fits.items()}
    table = infd.compare(results)
    table["n_pareto_k_high"] = [results[m]["n_high_k"] for m in table["model"]]
    table["loo_reliable"] = table["n_pareto_k_high"] == 0
    return table.reset_index(drop=True)


__all__ = [
    "HEADLINE",
    "PPC_COLUMNS",
    "STATISTICS",
    "compare",
    "loo",
    "plot_ppc",
    "ppc",
    "ppc_table",
    "prior_check",
]
