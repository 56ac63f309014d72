"""Simulating one trial of a :class:`~fd_bayes.plan.design.PlanDesign` under a true
effect: :func:`simulate` returns the trial and its :class:`SimulatedTruth`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from fd_bayes.constants import DAYS_PER_YEAR
from fd_bayes.data import Trial
from fd_bayes.inference import child_seed
from fd_bayes.modelling import SEP
from fd_bayes.plan.decision import Estimand
from fd_bayes.plan.design import PlanDesign
from fd_bayes.plan.effect import cell_rr


@dataclass(frozen=True)
class SimulatedTruth:
    """Per cell: the true rate ratio and the treated cohort's expected control counts.

    ``cells`` has ``outcome``, ``crime_type``, ``age_band``, ``rr`` and ``mu0`` (sum over
    the treated people of their expected yearly count under control), which is all a
    g-computed estimand's true value needs: ``sum(mu0 * rr) / sum(mu0)`` over its cells.
    """

    cells: pd.DataFrame

    def rr(self, estimand: Estimand) -> float:
        mask = estimand.mask(self.cells)
        mu0 = self.cells.loc[mask, "mu0"].to_numpy()
        rr = self.cells.loc[mask, "rr"].to_numpy()
        return float((mu0 * rr).sum() / mu0.sum()) if mu0.sum() > 0 else float(rr.mean())


def simulate(
    design: PlanDesign, effect=1.0, seed: int | np.random.SeedSequence | None = None
) -> tuple[Trial, SimulatedTruth]:
    """Simulate one trial of ``design`` with true ``effect``; returns (Trial, truth).

    ``effect`` is a rate ratio for every cell, a mapping (crime type, (outcome, crime
    type) or (outcome, crime type, age band) -> RR; missing cells have no effect), or an
    :class:`EffectDistribution` (one joint draw per trial).
    """
    seq = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    rng = np.random.default_rng(child_seed(seq, 0))
    rr_cells = cell_rr(effect, design.cells, np.random.default_rng(child_seed(seq, 1)))

    bands = np.concatenate(
        [np.repeat([b, b], [design.treated[b], design.control[b]]) for b in design.age_bands]
    )
    treated = np.concatenate(
        [np.repeat([1, 0], [design.treated[b], design.control[b]]) for b in design.age_bands]
    )
    n = len(bands)
    groups = design.crime_outcomes
    labels = [o + SEP + c for o, c in groups]

    # baseline counts: resampled profiles of real people, or simulated
    pre = np.zeros((n, len(groups)), dtype="int64")
    profiles = design.baseline_profiles
    cell_key = {
        (o, c, a): k
        for k, (o, c, a) in enumerate(
            design.cells[["outcome", "crime_type", "age_band"]].itertuples(index=False)
        )
    }
    if profiles is not None:
        for b in design.age_bands:
            rows = np.flatnonzero(bands == b)
            pool = profiles[profiles["age_band"] == b]
            if pool.empty:
                pool = profiles
            pick = rng.integers(len(pool), size=rows.size)
            for g, label in enumerate(labels):
                if label in pool:
                    pre[rows, g] = pool[label].to_numpy()[pick]
    else:
        v = rng.normal(0.0, design.person_sd, n)
        for g, (o, c) in enumerate(groups):
            m = np.array([design.cells["pre_rate"].iloc[cell_key[(o, c, b)]] for b in bands])
            phi = design.dispersion[(o, c)]
            pre[:, g] = rng.negative_binomial(phi, phi / (phi + m * np.exp(v)))

    u = rng.normal(0.0, design.person_sd, n)
    if design.exposure_days is not None and len(design.exposure_days):
        exposure = rng.choice(np.asarray(design.exposure_days, float), size=n)
    else:
        exposure = np.full(n, float(design.follow_up_days))
        custody = rng.random(n) < design.custody_share
        exposure[custody] -= rng.integers(30, 250, custody.sum())
        exposure = np.maximum(exposure, 1.0)

    frames = []
    mu0_sum = np.zeros(len(design.cells))
    person_ids = np.array([f"S{i:05d}" for i in range(n)])
    arms = np.where(treated == 1, "treatment", "control")
    for g, (o, c) in enumerate(groups):
        k = np.array([cell_key[(o, c, b)] for b in bands])
        lp = np.log1p(pre[:, g])
        centre = (design.baseline_centre or {}).get((o, c), lp.mean())
        log_mu0 = (
            np.log(design.cells["rate"].to_numpy()[k])
            + design.baseline_slope[(o, c)] * (lp - centre)
            + u
        )
        mu0 = np.exp(log_mu0)
        np.add.at(mu0_sum, k[treated == 1], mu0[treated == 1])
        mu = mu0 * np.where(treated == 1, rr_cells[k], 1.0) * exposure / DAYS_PER_YEAR
        phi = design.dispersion[(o, c)]
        y = rng.negative_binomial(phi, phi / (phi + mu))
        frames.append(
            pd.DataFrame(
                {
                    "person_id": person_ids,
                    "arm": arms,
                    "age_band": bands,
                    "crime_type": c,
                    "outcome": o,
                    "pre_count": pre[:, g],
                    "post_count": y,
                    "exposure_days": exposure,
                }
            )
        )
    trial = Trial.from_counts(pd.concat(frames, ignore_index=True), name="simulated replication")
    truth = design.cells[["outcome", "crime_type", "age_band"]].copy()
    truth["rr"] = rr_cells
    truth["mu0"] = mu0_sum
    return trial, SimulatedTruth(truth.reset_index(drop=True))


__all__ = ["SimulatedTruth", "simulate"]
