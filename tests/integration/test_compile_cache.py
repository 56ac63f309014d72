"""Compile once, refit many: a second fit of the same design reuses the compiled model.

Planning (issue 8) and calibration refit one design hundreds of times; a recompile per
fit would cost more than the sampling. The reuse must not change any number: a cached
fit equals a fit compiled afresh with the same seed.
"""

from __future__ import annotations

import numpy as np
import pytest

import fd_bayes as fdb
from fd_bayes.inference import sampling

# These fits are short on purpose: the tests check reuse of the compiled model and that
# reuse changes no number, not convergence (the other slow tests check that).
pytestmark = [
    pytest.mark.filterwarnings("ignore::fd_bayes.errors.DiagnosticsWarning"),
]

# adapt=False: one round each, so that the compilations counted are the fits' own
SETTINGS = dict(
    draws=300, tune=300, chains=2, seed=3, progress=False, predictive=False, adapt=False
)


def _trials():
    """Two data sets of one design: the second has the follow-up counts shuffled."""
    trial, _ = fdb.simulate_trial(
        30, 30, crime_types={"knife": 0.5, "violence": 0.8, "robbery": 0.3}, seed=1
    )
    data = trial.data.copy()
    data["post_count"] = np.random.default_rng(2).permutation(data["post_count"].to_numpy())
    return trial, fdb.Trial(data, name="shuffled")


def test_second_fit_of_same_design_does_not_compile():
    trial, other = _trials()
    sampling.clear_cache()
    before = sampling.compile_count()
    fdb.fit(trial, **SETTINGS)
    assert sampling.compile_count() == before + 1
    cached = fdb.fit(other, **SETTINGS)
    assert sampling.compile_count() == before + 1  # no second compilation
    assert cached.info["compile_seconds"] < 1.0

    # a data set with a larger count (a wider NB normaliser matrix) reuses it too
    data = other.data.copy()
    data.loc[data.index[0], "post_count"] = 3 * int(data["post_count"].max()) + 20
    fdb.fit(fdb.Trial(data, name="wide"), **SETTINGS)
    assert sampling.compile_count() == before + 1

    # the reused model gives exactly what a fresh compile gives
    sampling.clear_cache()
    fresh = fdb.fit(other, **SETTINGS)
    assert sampling.compile_count() == before + 2
    a, b = cached.effects(), fresh.effects()
    np.testing.assert_array_equal(a["rr_median"].to_numpy(), b["rr_median"].to_numpy())
    np.testing.assert_array_equal(a["p_reduction"].to_numpy(), b["p_reduction"].to_numpy())


def test_other_spec_compiles_its_own_model():
    trial, _ = _trials()
    fdb.fit(trial, **SETTINGS)
    before = sampling.compile_count()
    fdb.fit(trial, model="poisson_hier", **SETTINGS)
    assert sampling.compile_count() == before + 1
    fdb.fit(
        trial, priors={"effect_overall": {"dist": "Normal", "mu": 0.0, "sigma": 0.3}}, **SETTINGS
    )
    assert sampling.compile_count() == before + 2
