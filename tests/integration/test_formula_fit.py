"""A real Bambi formula fit of the example trial (one fit, reused; one refit for the seed).

The formula has no arm interaction, so every treated row's ratio of expected counts is
exp(arm coefficient) and the g-computed rate ratios must equal exp(arm) draw by draw,
whatever the person effects and offsets: an exact check of the counterfactual
prediction and of the g-computation, not a tolerance on sampling noise.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import fd_bayes as fdb
from fd_bayes.results import EFFECT_COLUMNS

pytest.importorskip("bambi")


FORMULA = "post_count ~ arm + crime_type + outcome + (1|person_id) + offset(log_exposure_years)"
# 4 x 500 gave R-hat 1.013 on one of the 195 person effects; 4 x 1000 passes (1.005).
SETTINGS = {"draws": 1000, "tune": 1000, "chains": 4, "seed": 5, "progress": False}


@pytest.fixture(scope="module")
def trial() -> fdb.Trial:
    return fdb.example_trial()


@pytest.fixture(scope="module")
def formula_fit(trial):
    return fdb.fit(trial, formula=FORMULA, family="negativebinomial", **SETTINGS)


def _draws(posterior, name: str) -> np.ndarray:
    """(chain * draw, ...) chain-major, as the fit's expected counts."""
    da = posterior[name].transpose("chain", "draw", ...)
    return da.values.reshape(da.sizes["chain"] * da.sizes["draw"], -1)


def rows_outcome(po) -> str:
    return str(po.rows["outcome"].iloc[0])


def test_effects_table_has_the_contract_columns(formula_fit):
    table = formula_fit.effects()
    assert list(table.columns) == EFFECT_COLUMNS
    assert set(table["level"]) >= {"cell", "crime_type", "age_band", "overall", "harm"}
    assert table[["rr_median", "rr_lower", "rr_upper"]].notna().all().all()


def test_rate_ratios_are_exp_arm_draw_by_draw(formula_fit):
    rr_arm = np.exp(_draws(formula_fit.idata.posterior, "arm")[:, 0])
    mu1, mu0, rows = formula_fit.potential_outcomes()
    for outcome in rows["outcome"].unique():
        keep = (rows["outcome"] == outcome).to_numpy()
        overall = mu1[:, keep].sum(axis=1) / mu0[:, keep].sum(axis=1)
        np.testing.assert_allclose(overall, rr_arm, rtol=1e-6)
    table = formula_fit.effects()
    overall = table[table["level"] == "overall"]
    np.testing.assert_allclose(overall["rr_median"], np.median(rr_arm), rtol=1e-6)
    np.testing.assert_allclose(overall["rr_mean"], rr_arm.mean(), rtol=1e-6)
    np.testing.assert_allclose(overall["p_reduction"], (rr_arm < 1).mean())


def test_potential_outcomes_are_yearly_rates(formula_fit):
    """The counterfactual mean is exp(linear predictor) with no exposure term: per year."""
    po = formula_fit.potential_outcomes()
    mu1, mu0 = po.treatment, po.control
    rr_arm = np.exp(_draws(formula_fit.idata.posterior, "arm")[:, 0])
    np.testing.assert_allclose(mu1 / mu0, np.broadcast_to(rr_arm[:, None], mu1.shape), rtol=1e-9)
    assert po.to_dataset()["mu_treatment"].dims == ("chain", "draw", "row")
    # the same public contract as a catalogue fit: effect_draws is the overall ratio
    draws = formula_fit.effect_draws(rows_outcome(po))
    assert draws.shape == (po.chains, po.draws)
    np.testing.assert_allclose(draws.ravel(), rr_arm, rtol=1e-6)


def test_predicted_mean_is_exp_linear_predictor(formula_fit):
    """Bambi's predicted mean for the observed rows, against the posterior by hand."""
    post = formula_fit.idata.posterior
    frame = formula_fit.frame
    eta = _draws(post, "Intercept")
    eta = eta + _draws(post, "arm")[:, [0]] * (frame["arm"] == "treatment").to_numpy()
    for term in ("crime_type", "outcome"):
        levels = list(post[f"{term}_dim"].values)  # the non-reference levels
        coef = _draws(post, term)
        index = np.array([levels.index(v) if v in levels else -1 for v in frame[term]])
        eta = eta + np.where(index >= 0, coef[:, np.maximum(index, 0)], 0.0)
    person = _draws(post, "1|person_id")
    persons = [int(p) for p in post["person_id__factor_dim"].values]
    eta = eta + person[:, [persons.index(p) for p in frame["person_id"].astype(int)]]
    eta = eta + frame["log_exposure_years"].to_numpy()
    np.testing.assert_allclose(formula_fit.expected_counts(frame), np.exp(eta), rtol=1e-9)


def test_diagnostics_info_and_notes(formula_fit):
    assert formula_fit.diagnostic_problems() == []
    diag = formula_fit.diagnostics()
    assert {"max_rhat", "min_ess_bulk", "min_ess_tail", "divergences"} <= set(diag)
    info = formula_fit.info
    assert info["model"] == FORMULA
    assert info["family"] == "negativebinomial"
    assert info["seed"] == 5
    assert info["draws"] == 1000
    assert info["chains"] == 4
    assert info["sampler"] in ("nutpie", "pymc")
    assert formula_fit.notes == []
    assert "FormulaFit(" in repr(formula_fit)


def test_checking_works_on_formula_fits(formula_fit):
    table = formula_fit.ppc()
    assert table["ppp"].dropna().between(0, 1).all()
    assert formula_fit.log_likelihood()["y"].sizes["obs"] == len(formula_fit.frame)


def test_no_person_identifiers_anywhere(formula_fit, trial):
    ids = set(trial.data["person_id"].astype(str))
    for group in formula_fit.idata.groups():
        ds = formula_fit.idata[group]
        for coord in ds.coords:
            assert not set(np.asarray(ds[coord].values).astype(str).ravel()) & ids, coord
        assert not any(i in str(ds.attrs) for i in ids)
    for data in (formula_fit.frame, formula_fit.model.data):
        for column in data.columns:
            assert not set(data[column].astype(str)) & ids, column


def test_same_seed_same_table(formula_fit, trial):
    # predictive=False skips the replicated counts and log-likelihood, not the effects
    again = fdb.fit(trial, formula=FORMULA, family="negativebinomial", predictive=False, **SETTINGS)
    assert "posterior_predictive" not in again.idata.groups()
    pd.testing.assert_frame_equal(again.effects(), formula_fit.effects())


def test_log_likelihood_matches_bambis(formula_fit):
    """Our numpy log-likelihood equals Bambi's own (on a few draws: Bambi's compiles)."""
    from fd_bayes.inference import formula_loglik_dataset
    from fd_bayes.inference import idata as infd

    few = formula_fit.idata.posterior.isel(chain=[0, 1], draw=slice(0, 10))
    bambis = formula_fit.model.compute_log_likelihood(
        infd.InferenceData(posterior=few), inplace=False
    ).log_likelihood["post_count"]
    ours = formula_loglik_dataset(formula_fit.model, few, "negativebinomial")["y"]
    np.testing.assert_allclose(ours.values, bambis.values, rtol=1e-5)
