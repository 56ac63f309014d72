"""Tiny real planning and calibration studies: compile once, identical results anywhere.

The fits are deliberately tiny (2 chains x 100 draws on a 66-person design): these tests
check the machinery (compilation count, seeds, Dask), not the accuracy of the answers.
The diagnostics of such short runs fail; the studies tally that instead of raising.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from fd_bayes import plan
from fd_bayes.errors import DiagnosticsWarning
from fd_bayes.inference import SamplerSettings, sampling
from fd_bayes.plan import simstudy
from fd_bayes.plan.calibrate import calibrate

SETTINGS = dict(draws=100, tune=150, chains=2)
COMPARE = ["true_rr", "rr_median", "rr_lower", "rr_upper", "p_reduction", "success", "freq_p"]


def design() -> plan.PlanDesign:
    return plan.PlanDesign.stated(
        {"11-17": 10, "18-25": 12},
        {"11-17": 20, "18-25": 24},
        {"knife": 0.5, "violence": 0.8, "robbery": 0.4},
        person_sd=0.3,
        dispersion=5.0,
        baseline_slope=0.3,
    )


@pytest.fixture(scope="module")
def local_study():
    before = sampling.compile_count()
    res = plan.assurance(design(), 0.6, n_sims=4, seed=5, workers=1, **SETTINGS)
    return res, sampling.compile_count() - before


def test_a_study_compiles_the_model_once(local_study):
    res, compiled = local_study
    assert res.sims["error"].eq("").all(), res.sims["error"].tolist()
    assert (res.sims["excess_width"] == 8).all()  # one likelihood shape: one compile
    assert compiled == 1 and res.compilations == 1
    assert list(res.compilations_per_process.values()) == [1]
    # later fits reused the compiled model
    assert (res.sims["compile_seconds"].iloc[1:] < 1.0).all()
    # a data set with a larger count (a wider likelihood matrix) reuses the model too
    trial, _ = plan.simulate(design(), 0.6, 99)
    data = trial.data.copy()
    data.loc[0, "post_count"] = 40
    before = sampling.compile_count()
    with warnings.catch_warnings():  # a 250-iteration fit: its diagnostics fail
        warnings.simplefilter("ignore", DiagnosticsWarning)
        plan.FitSettings(**SETTINGS).fit(type(trial)(data, name="wide"), seed=1)
    assert sampling.compile_count() == before
    # short runs fail diagnostics: tallied, not raised
    tallies = res.diagnostics()
    assert tallies["fits"] == 4 and tallies["diagnostics_warnings"] == tallies["any_failure"]
    assert 0.0 <= res.probability <= 1.0 and "young people treated" in res.summary()


def test_sampler_settings_give_the_same_study_as_keywords(local_study):
    res, _ = local_study
    again = plan.assurance(
        design(),
        0.6,
        n_sims=2,
        seed=5,
        workers=1,
        settings=SamplerSettings(**SETTINGS, adapt=False),
    )
    assert again.settings.sampling == res.settings.sampling
    for col in COMPARE:  # simulation i's seed does not depend on n_sims
        np.testing.assert_array_equal(res.sims[col].to_numpy()[:2], again.sims[col].to_numpy())


def test_local_processes_give_identical_results():
    job = _draw_job
    serial = simstudy.run_study(job, 6, seed=9, workers=1)
    procs = simstudy.run_study(job, 6, seed=9, workers=2, batch_size=2)
    assert procs.where == "2 local processes"
    assert [r["x"] for r in serial.records] == [r["x"] for r in procs.records]
    assert len({r["pid"] for r in procs.records}) >= 1


def _draw_job(index, seq):
    return {"x": float(np.random.default_rng(seq).random())}


def test_dask_cluster_gives_identical_results(local_study):
    distributed = pytest.importorskip("dask.distributed")
    res, _ = local_study
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        on_cluster = plan.assurance(
            design(), 0.6, n_sims=4, seed=5, client=client, batch_size=1, **SETTINGS
        )
    assert on_cluster.where.startswith("dask cluster")
    assert on_cluster.sims["error"].eq("").all(), on_cluster.sims["error"].tolist()
    for col in COMPARE:
        np.testing.assert_array_equal(res.sims[col].to_numpy(), on_cluster.sims[col].to_numpy())
    # each worker compiled at most once, whatever number of batches it ran
    assert all(n <= 1 for n in on_cluster.compilations_per_process.values())


def test_calibration_on_a_tiny_design():
    cal = calibrate(
        "negbin_hier",
        design(),
        n_sims=3,
        seed=2,
        workers=1,
        null_sims=2,
        rank_draws=99,
        **SETTINGS,
    )
    n_fitted = len(cal.sims) - cal.rejected - int((cal.sims["error"] != "").sum())
    assert cal.sims["error"].eq("").all(), cal.sims["error"].tolist()
    table = cal.table()
    if n_fitted:
        assert "effect_overall" in set(table["parameter"])
        assert table["coverage_95"].between(0, 1).all()
        assert cal.ranks["rank"].between(0, 99).all()
    # one compile per likelihood shape (and structure) met, never one per simulation
    assert cal.compilations <= max(1, cal.sims["excess_width"].nunique() + 1)
    assert cal.null is not None and cal.null.n_sims == 2
    assert "Simulation-based calibration: 3 prior draws" in cal.summary()
