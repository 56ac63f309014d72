"""The model degrades gracefully on thin data, and a seed makes a fit repeatable."""

from __future__ import annotations

import numpy as np
import pytest

import fd_bayes as fdb

QUICK = {"draws": 1000, "tune": 1000, "chains": 4, "progress": False}


@pytest.fixture(scope="module")
def thin_trial():
    """One outcome, one age band, and a crime type with no follow-up events at all."""
    trial, _ = fdb.simulate_trial(
        25, 60, crime_types={"knife": 0.9, "arson": 0.0001}, rate_ratios={"knife": 0.6}, seed=3
    )
    df = trial.data.copy()
    df.loc[df["crime_type"] == "arson", "post_count"] = 0
    return fdb.Trial.from_counts(df.astype({"crime_type": str, "arm": str}))


def test_zero_event_crime_type_and_single_levels(thin_trial):
    # events in one crime type only: the person effect is not identified, and is left out
    with pytest.warns(fdb.ModelNote, match="events occur in only one"):
        fit = fdb.fit(thin_trial, seed=5, **QUICK)
    e = fit.effects()
    arson = e[(e["level"] == "crime_type") & (e["crime_type"] == "arson")].iloc[0]
    assert "reflects the prior" in arson["note"]
    assert np.isfinite(arson[["rr_median", "rr_lower", "rr_upper"]].astype(float)).all()
    # with one age band and one outcome those terms are left out, and the fit says so
    assert any("age-band term left out" in n for n in fit.notes)
    assert any("outcome term left out" in n for n in fit.notes)
    assert "age_effect" not in fit.idata.posterior
    # two crime types are too few levels for a variance: a regularised fixed term instead
    assert any("regularised fixed term" in n for n in fit.notes)
    assert "crime_effect" in fit.idata.posterior and "crime_sd" not in fit.idata.posterior
    assert fit.diagnostics()["divergences"] == 0
    # same seed, same table
    with pytest.warns(fdb.ModelNote):
        again = fdb.fit(thin_trial, seed=5, **QUICK)
    assert again.effects().equals(e)


def test_single_row_per_person_drops_the_person_effect():
    trial, _ = fdb.simulate_trial(30, 60, crime_types={"knife": 1.0}, rate_ratios=0.6, seed=8)
    with pytest.warns(fdb.ModelNote, match="Person effect left out"):
        fit = fdb.fit(trial, seed=2, **QUICK)
    assert "z_person" not in fit.idata.posterior
    e = fit.effects()
    assert set(e["level"]) == {"cell", "crime_type", "overall"}
    assert fit.diagnostics()["divergences"] == 0


def test_poisson_model_fits(thin_trial):
    with pytest.warns(fdb.ModelNote):
        fit = fdb.fit(thin_trial, model="poisson_hier", seed=1, **QUICK)
    assert "dispersion" not in fit.idata.posterior
    assert fit.info["model"] == "poisson_hier"
