"""Shared fixtures. Real fits are expensive (a nutpie compile is ~20 s), so each fitted
model is built once per session and reused."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pandas as pd
import pytest

import fd_bayes as fdb
from tests.helpers import small_counts

#: Every test under these folders runs real MCMC: marked ``slow`` here, by path, not by hand
#: in each file (``-m "not slow"`` deselects them).
SLOW_FOLDERS = ("integration",)
TESTS = Path(__file__).resolve().parent


def pytest_configure(config):
    # The tests compile into a compile cache of their own (shared by the processes they
    # start), never the user's; FD_BAYES_CACHE_DIR set by hand is kept.
    os.environ.setdefault("FD_BAYES_CACHE_DIR", tempfile.mkdtemp(prefix="fd_bayes_cache_"))


def pytest_collection_modifyitems(config, items):
    for item in items:
        path = Path(str(item.path)).resolve()
        if TESTS in path.parents and path.relative_to(TESTS).parts[0] in SLOW_FOLDERS:
            item.add_marker(pytest.mark.slow)


@pytest.fixture
def counts() -> pd.DataFrame:
    return small_counts()


@pytest.fixture(scope="session")
def example_fit():
    """The example trial fitted with the default model and sampler (slow tests only)."""
    return fdb.fit(fdb.example_trial(), draws=1000, tune=1000, chains=4, seed=11, progress=False)
