"""Compile once, refit many: a second fit of the same design reuses the compiled model.

Planning (issue 8) and calibration refit one design hundreds of times; a recompile per
fit would cost more than the sampling. The reuse must not change any number: a cached
fit equals a fit compiled afresh with the same seed.
"""

from __future__ import annotations

import ctypes
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import fd_bayes as fdb
from fd_bayes.inference import compile_cache, sampling
from fd_bayes.inference.catalogue import prepare_catalogue

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


# -- across processes: the compile cache on disk (issue 15) ------------------------------

#: One fit of a small trial in a new process; prints where its compiled model came from
#: and its rate ratios.
CHILD = """
import json, sys, warnings
warnings.simplefilter("ignore")
import fd_bayes as fdb
trial, _ = fdb.simulate_trial(
    30, 30, crime_types={"knife": 0.5, "violence": 0.8, "robbery": 0.3}, seed=1
)
fit = fdb.fit(trial, model=sys.argv[1], draws=200, tune=200, chains=2, seed=3,
              progress=False, predictive=False, adapt=False)
print(json.dumps({"cache": fit.info["compile_cache"],
                  "rr": fit.effects()["rr_median"].tolist()}))
"""


def _children(cache: Path, *models: str) -> list[dict]:
    """Fit ``models`` in new processes, all at once, sharing the cache folder ``cache``."""
    env = {**os.environ, compile_cache.CACHE_DIR_ENV: str(cache)}
    env.pop(compile_cache.CACHE_SWITCH_ENV, None)
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD, m], env=env, stdout=subprocess.PIPE, text=True
        )
        for m in models
    ]
    out = []
    for p in procs:
        stdout, _ = p.communicate(timeout=600)
        assert p.returncode == 0
        out.append(json.loads(stdout.strip().splitlines()[-1]))
    return out


def test_a_second_process_loads_the_model_an_earlier_one_compiled(tmp_path):
    # two processes compile one model at once: both succeed, neither damages the entry
    first = _children(tmp_path, "poisson_hier", "poisson_hier")
    assert {r["cache"] for r in first} <= {"miss", "hit"}
    (second,) = _children(tmp_path, "poisson_hier")
    assert second["cache"] == "hit"
    # the cached model samples exactly what a freshly compiled one samples
    assert second["rr"] == first[0]["rr"]

    # what `fd-bayes cache info|clear` says about that folder
    env = {**os.environ, compile_cache.CACHE_DIR_ENV: str(tmp_path)}
    cli = [sys.executable, "-m", "fd_bayes.cli", "cache"]
    shown = subprocess.run([*cli, "info"], env=env, capture_output=True, text=True, check=True)
    assert "1 compiled model(s)" in shown.stdout
    assert "poisson_hier: simulated" in shown.stdout
    cleared = subprocess.run([*cli, "clear"], env=env, capture_output=True, text=True, check=True)
    assert "removed 1 compiled model(s)" in cleared.stdout
    assert not list(tmp_path.rglob("*.nbc"))


def _small_model(priors=None):
    trial, _ = _trials()
    return prepare_catalogue(trial, "poisson_hier", priors=priors).pm_model


def test_a_changed_model_or_library_version_compiles_its_own(tmp_path, monkeypatch):
    monkeypatch.setenv(compile_cache.CACHE_DIR_ENV, str(tmp_path))
    monkeypatch.delenv(compile_cache.CACHE_SWITCH_ENV, raising=False)
    assert compile_cache.compile_model(_small_model()).cache == "miss"
    again = compile_cache.compile_model(_small_model())
    assert again.cache == "hit"

    other = {"effect_overall": {"dist": "Normal", "mu": 0.0, "sigma": 0.3}}
    changed = compile_cache.compile_model(_small_model(other))
    assert changed.cache == "miss" and changed.key != again.key

    versions = compile_cache._versions()
    monkeypatch.setattr(compile_cache, "_versions", lambda: {**versions, "numba": "9.9.9"})
    upgraded = compile_cache.compile_model(_small_model())
    assert upgraded.cache == "miss" and upgraded.key not in (again.key, changed.key)
    assert len(compile_cache.info().entries) == 3

    monkeypatch.setenv(compile_cache.CACHE_SWITCH_ENV, "off")
    assert compile_cache.compile_model(_small_model()).cache == "off"


def test_the_cached_callbacks_compute_what_pytensor_computes(tmp_path, monkeypatch):
    """The C callbacks (from the cache) give PyTensor's log density and gradient, and
    see data swapped in by nutpie's ``with_data``."""
    monkeypatch.setenv(compile_cache.CACHE_DIR_ENV, str(tmp_path))
    compile_cache.compile_model(_small_model())
    hit = compile_cache.compile_model(_small_model())
    assert hit.cache == "hit"
    model = hit.model
    n = model.n_dim
    rng = np.random.default_rng(0)

    def c_logp(m, x):
        out, logp = np.zeros(n), np.zeros(())
        ptr = ctypes.POINTER(ctypes.c_double)
        code = m.compiled_logp_func.ctypes(
            n,
            x.ctypes.data_as(ptr),
            out.ctypes.data_as(ptr),
            logp.ctypes.data_as(ptr),
            ctypes.c_void_p(m.user_data.ctypes.data),
        )
        return code, float(logp), out

    for _ in range(3):
        x = rng.normal(scale=0.3, size=n)
        code, logp, grad = c_logp(model, x)
        want_logp, want_grad = model.logp_func(x)
        assert code == 0
        np.testing.assert_allclose(logp, want_logp, rtol=1e-12)
        np.testing.assert_allclose(grad, want_grad, rtol=1e-10, atol=1e-12)

    # new follow-up counts through nutpie's with_data: the callback sees them
    counts = np.asarray(model.shared_data["post_count"])
    swapped = model.with_data(post_count=counts + 1)
    x = rng.normal(scale=0.3, size=n)
    assert c_logp(swapped, x)[1] != c_logp(model, x)[1]
