"""Shared fixtures. Real fits are expensive (a nutpie compile is ~20 s), so each fitted
model is built once per session and reused."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import fd_bayes as fdb


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


@pytest.fixture
def counts() -> pd.DataFrame:
    return small_counts()


@pytest.fixture(scope="session")
def example_fit():
    """The example trial fitted with the default model and sampler (slow tests only)."""
    return fdb.fit(fdb.example_trial(), draws=1000, tune=1000, chains=4, seed=11, progress=False)
