"""Shared fixtures. Real fits are expensive (a nutpie compile is ~20 s), so each fitted
model is built once per session and reused."""

from __future__ import annotations

import pandas as pd
import pytest

import fd_bayes as fdb
from tests.helpers import small_counts


@pytest.fixture
def counts() -> pd.DataFrame:
    return small_counts()


@pytest.fixture(scope="session")
def example_fit():
    """The example trial fitted with the default model and sampler (slow tests only)."""
    return fdb.fit(fdb.example_trial(), draws=1000, tune=1000, chains=4, seed=11, progress=False)
