"""Test helpers shared by several test modules: data builders and hand-made fits.

Importable as ``tests.helpers`` (``pythonpath = ["."]`` in pyproject's pytest config).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

import fd_bayes as fdb
from fd_bayes.inference import idata as infd
from fd_bayes.modelling import Design, flat_draws, load_spec
from fd_bayes.results import Fit

HARM = {"knife": 3.0, "violence": 1.0}

#: Six sites whose log rate-ratio shifts have SD 0.3 exactly (the tau of the simulation),
#: and the mean rate ratios per crime type: the truth of the pooled recovery tests.
SITE_EFFECTS = [-0.4, -0.25, -0.05, 0.05, 0.25, 0.4]
MEAN_RR = {"knife": 0.6, "violence": 0.8}


def covered(draws, value, prob: float = 0.95) -> bool:
    """Whether ``value`` lies inside the central ``prob`` interval of ``draws``."""
    lo, hi = np.quantile(np.asarray(draws).ravel(), [(1 - prob) / 2, (1 + prob) / 2])
    return bool(lo < value < hi)


def mean_log_rr_draws(fit: Fit, crime_type: str) -> np.ndarray:
    """Draws of a pooled fit's mean log rate ratio of one crime type: its cell's theta
    without the trial deviation eta[t] (what ``SitesTruth.mean_rr`` is the truth of)."""
    post = fit.idata.posterior
    design = fit.design
    theta = flat_draws(post["theta"])
    eta = flat_draws(post["trial_effect"])
    cell = int(np.flatnonzero(design.cells["crime_type"].to_numpy() == crime_type)[0])
    return theta[:, cell] - eta[:, design.cell_trial_idx[cell]]


def small_counts(n_per_arm: int = 6, crime_types=("knife", "violence"), seed: int = 0):
    """A small valid long table: two age bands, given crime types, one outcome."""
    rng = np.random.default_rng(seed)
    rows = []
    i = 0
    for band in ("11-17", "18-25"):
        for arm in ("treatment", "control"):
            for _ in range(n_per_arm):
                for crime in crime_types:
                    rows.append(
                        {
                            "person_id": f"id{i}",
                            "arm": arm,
                            "age_band": band,
                            "crime_type": crime,
                            "pre_count": int(rng.poisson(1.0)),
                            "post_count": int(rng.poisson(0.8)),
                            "exposure_days": float(rng.integers(200, 366)),
                        }
                    )
                i += 1
    return pd.DataFrame(rows)


def handmade_fit(
    counts: pd.DataFrame,
    *,
    intercept,
    theta,
    theta_sd: float = 0.2,
    n_draw: int = 400,
    seed: int = 42,
    attrs: dict | None = None,
) -> tuple[Fit, dict, fdb.Trial]:
    """A negbin_hier Fit whose posterior draws are made by hand (no MCMC).

    ``intercept`` and ``theta`` are the per-cell means of the draws (broadcast over
    cells); two chains of ``n_draw`` independent draws each. Returns the fit, the draws
    and the trial.
    """
    trial = fdb.Trial.from_counts(counts, harm_weights=HARM)
    design = Design.from_trial(trial)
    rng = np.random.default_rng(seed)
    n_chain, n_cell, n_co = 2, len(design.cells), len(design.crime_outcomes)
    post = {
        "intercept": rng.normal(intercept, 0.1, (n_chain, n_draw, n_cell)),
        "baseline_slope": rng.normal(0.4, 0.05, (n_chain, n_draw, n_co)),
        "person_sd": np.abs(rng.normal(0.5, 0.05, (n_chain, n_draw))),
        "z_person": rng.normal(0, 1, (n_chain, n_draw, design.n_people)),
        "theta": rng.normal(theta, theta_sd, (n_chain, n_draw, n_cell)),
    }
    dims = {
        "intercept": ["cell"],
        "theta": ["cell"],
        "baseline_slope": ["crime_outcome"],
        "z_person": ["person"],
    }
    idata = infd.from_dict(
        posterior=post,
        sample_stats={"diverging": np.zeros((n_chain, n_draw), bool)},
        dims=dims,
        coords=design.coords,
    )
    infd.add_groups(idata, {"constant_data": design.to_dataset()})
    idata.posterior.attrs.update(
        {"harm_weights": '{"knife": 3.0, "violence": 1.0}', **(attrs or {})}
    )
    return Fit(idata, load_spec("negbin_hier"), design), post, trial


def report_fit(n_per_arm: int = 6, seed: int = 0) -> tuple[Fit, fdb.Trial]:
    """A hand-made fit for report tests; person ids look like the example's (P000...)."""
    counts = small_counts(n_per_arm=n_per_arm, seed=seed)
    counts = counts.drop(columns="exposure_days")
    ids = {old: f"P{i:03d}" for i, old in enumerate(pd.unique(counts["person_id"]))}
    counts["person_id"] = counts["person_id"].map(ids)
    fit, _, trial = handmade_fit(
        counts,
        intercept=-0.5,
        theta=np.array([-0.9, -0.1, -0.4, 0.3]),
        theta_sd=0.3,
        n_draw=200,
        seed=seed,
        attrs={
            "trial_name": "hand-made test trial",
            "model": "negbin_hier",
            "spec_hash": "abc123",
            "data_hash": "def456",
            "seed": 7,
            "sampler": "none (hand-made draws)",
        },
    )
    return fit, trial
