"""Effects arithmetic on hand-made posterior draws (no MCMC)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import fd_bayes as fdb
from fd_bayes.inference import idata as infd
from fd_bayes.results import EFFECT_COLUMNS, Fit, g_computation, hdi, summarise_ratios
from tests.helpers import handmade_fit


def test_hdi_of_uniform_grid_is_central_and_narrowest():
    x = np.linspace(0, 1, 1001)[:, None]
    lo, hi = hdi(x, 0.5)
    assert hi[0] - lo[0] == pytest.approx(0.5, abs=1e-3)
    # skewed draws: the HDI is narrower than the equal-tailed interval and hugs the mode
    rng = np.random.default_rng(0)
    skew = rng.exponential(1.0, 200_000)[:, None]
    lo, hi = hdi(skew, 0.95)
    assert lo[0] == pytest.approx(0.0, abs=1e-3)
    assert hi[0] == pytest.approx(-np.log(0.05), rel=0.02)
    eq_tail = np.quantile(skew, [0.025, 0.975])
    assert hi[0] - lo[0] < eq_tail[1] - eq_tail[0]


def test_hdi_rejects_bad_prob():
    with pytest.raises(ValueError):
        hdi(np.ones((10, 1)), 1.5)


def test_probabilities_are_shares_of_draws():
    rr = np.array([0.3, 0.45, 0.6, 0.8, 0.9, 1.1, 1.2, 0.7, 0.55, 0.4])[:, None]
    s = summarise_ratios(rr, prob=0.9).iloc[0]
    assert s["p_reduction"] == pytest.approx(0.8)  # 8 of 10 draws below 1
    assert s["p_reduction_25"] == pytest.approx(0.6)  # below 0.75
    assert s["p_reduction_50"] == pytest.approx(0.3)  # below 0.5
    assert s["rr_median"] == pytest.approx(np.median(rr))
    assert s["reduction_median"] == pytest.approx(1 - np.median(rr))
    assert s["rr_mean"] == pytest.approx(rr.mean())


def test_g_computation_is_a_ratio_of_sums_not_a_mean_of_ratios():
    # one draw, two rows in one group: a big-count row with no effect, a small row halved
    mu0 = np.array([[10.0, 1.0]])
    mu1 = np.array([[10.0, 0.5]])
    rr, diff = g_computation(mu1, mu0, np.ones((2, 1)))
    assert rr[0, 0] == pytest.approx(10.5 / 11.0)
    assert rr[0, 0] != pytest.approx(np.mean(mu1 / mu0))  # mean of ratios = 0.75
    assert diff[0, 0] == pytest.approx(0.5)


# --- a whole effects table from a hand-made posterior ------------------------------------


@pytest.fixture
def handmade(counts):
    # baseline rates differ a lot between cells so weights matter; a strong effect in
    # some cells and none in others
    fit, post, _ = handmade_fit(
        counts, intercept=np.array([-2.0, 0.5, -1.0, 1.0]), theta=np.array([-1.2, 0.0, -0.3, 0.2])
    )
    return fit, post, fit.design


def _manual_mu(post, design):
    """Potential outcomes of treated rows with explicit loops (independent of build.py)."""
    rows = np.flatnonzero(design.treated == 1)
    a = post["intercept"].reshape(-1, post["intercept"].shape[-1])
    b = post["baseline_slope"].reshape(-1, post["baseline_slope"].shape[-1])
    sd = post["person_sd"].reshape(-1)
    z = post["z_person"].reshape(-1, post["z_person"].shape[-1])
    th = post["theta"].reshape(-1, post["theta"].shape[-1])
    mu0 = np.empty((a.shape[0], len(rows)))
    mu1 = np.empty_like(mu0)
    for j, r in enumerate(rows):
        c, co, p = design.cell_idx[r], design.co_idx[r], design.person_idx[r]
        mu0[:, j] = np.exp(a[:, c] + b[:, co] * design.x_pre[r] + sd * z[:, p])
        mu1[:, j] = mu0[:, j] * np.exp(th[:, c])
    return rows, mu0, mu1


def test_effects_table_matches_manual_g_computation(handmade):
    fit, post, design = handmade
    table = fit.effects(prob=0.9)
    assert list(table.columns) == EFFECT_COLUMNS
    assert set(table["level"]) == {"cell", "crime_type", "age_band", "overall", "harm"}
    rows, mu0, mu1 = _manual_mu(post, design)
    cells = design.cells.iloc[design.cell_idx[rows]]
    crime = cells["crime_type"].to_numpy()
    ages = cells["age_band"].to_numpy()

    knife = crime == "knife"
    rr_knife = mu1[:, knife].sum(1) / mu0[:, knife].sum(1)
    got = table[(table["level"] == "crime_type") & (table["crime_type"] == "knife")].iloc[0]
    assert got["rr_median"] == pytest.approx(np.median(rr_knife))
    assert got["p_reduction"] == pytest.approx((rr_knife < 1).mean())
    assert got["age_band"] == "all"
    # a mean of the two age-band cell ratios would give a different answer here
    cell_rr = [np.exp(post["theta"][..., i]).ravel() for i in (0, 1)]
    assert abs(np.median((cell_rr[0] + cell_rr[1]) / 2) - got["rr_median"]) > 0.02

    rr_all = mu1.sum(1) / mu0.sum(1)
    overall = table[table["level"] == "overall"].iloc[0]
    assert overall["rr_median"] == pytest.approx(np.median(rr_all))
    lo, hi = hdi(rr_all[:, None], 0.9)
    assert (overall["rr_lower"], overall["rr_upper"]) == pytest.approx((lo[0], hi[0]))
    n_treated = len(np.unique(design.person_idx[rows]))
    prevented = (mu0.sum(1) - mu1.sum(1)) / n_treated * 100
    assert overall["offences_prevented_per_100"] == pytest.approx(np.median(prevented))

    young = ages == "11-17"
    rr_young = mu1[:, young].sum(1) / mu0[:, young].sum(1)
    got = table[(table["level"] == "age_band") & (table["age_band"] == "11-17")].iloc[0]
    assert got["rr_median"] == pytest.approx(np.median(rr_young))

    w = np.where(knife, 3.0, 1.0)
    rr_harm = (mu1 * w).sum(1) / (mu0 * w).sum(1)
    harm = table[(table["level"] == "harm") & (table["age_band"] == "all")].iloc[0]
    assert harm["rr_median"] == pytest.approx(np.median(rr_harm))
    assert np.isnan(harm["offences_prevented_per_100"])  # harm units are not offences

    # cell rows are exp(theta) exactly
    cell0 = table[table["level"] == "cell"].iloc[0]
    assert cell0["rr_median"] == pytest.approx(np.median(np.exp(post["theta"][..., 0])))


def test_effects_counts_and_harm_toggle(handmade, counts):
    fit, _, _ = handmade
    table = fit.effects()
    knife = table[(table["level"] == "crime_type") & (table["crime_type"] == "knife")].iloc[0]
    treated_knife = counts[(counts["arm"] == "treatment") & (counts["crime_type"] == "knife")]
    assert knife["events_treatment"] == treated_knife["post_count"].sum()
    assert knife["n_treatment"] == 12 and knife["n_control"] == 12
    assert "harm" not in set(fit.effects(harm_weights={})["level"])
    with pytest.raises(fdb.FdBayesError, match="harm weights missing"):
        fit.effects(harm_weights={"knife": 1.0})


def test_zero_event_cells_are_flagged(handmade):
    fit, _, _design = handmade
    fit.design.post_count[:] = 0
    fit.__dict__.pop("_potential_outcomes", None)
    table = fit.effects()
    assert table["note"].str.contains("reflects the prior").all()


def test_default_interval_is_the_constant():
    import inspect

    assert inspect.signature(Fit.effects).parameters["prob"].default == fdb.HDI_PROB
    assert inspect.signature(summarise_ratios).parameters["prob"].default == fdb.HDI_PROB


def test_diagnostics_from_handmade_draws(handmade):
    fit, _, _ = handmade
    d = fit.diagnostics()
    assert d["divergences"] == 0
    assert d["max_rhat"] < 1.01  # independent normal draws
    assert d["min_ess_bulk"] > 400
    assert fit.diagnostic_problems() == []


def test_failed_diagnostics_are_explained():
    problems = infd.diagnostic_problems(
        {"max_rhat": 1.05, "min_ess_bulk": 120.0, "min_ess_tail": 500.0, "divergences": 3}
    )
    text = " ".join(problems)
    assert "3 divergent" in text and "target_accept" in text
    assert "R-hat is 1.050" in text
    assert "effective sample size is 120" in text


def test_descriptive_columns_are_integers(handmade):
    fit, _, _ = handmade
    table = fit.effects()
    for col in ("n_treatment", "n_control", "events_treatment", "events_control"):
        assert pd.api.types.is_integer_dtype(table[col])


def _po_with_common_ratio(fit, log_rr_sd, seed):
    """Potential outcomes where every treated row has the same rate ratio per draw, so
    every estimand's ratio is that draw's (a ratio of sums of proportional terms)."""
    po = fit.potential_outcomes()
    rng = np.random.default_rng(seed)
    rr = np.exp(rng.normal(0.0, log_rr_sd, po.control.shape[0]))
    return po.control * rr[:, None], po.control


def _table(fit, post_sd, prior_sd, counts=None):
    from fd_bayes.results.effects import effects_table

    mu1, mu0 = _po_with_common_ratio(fit, post_sd, 1)
    prior = _po_with_common_ratio(fit, prior_sd, 2)
    labels = fit.potential_outcomes().rows
    if counts is None:
        counts = fit._row_labels(np.arange(len(fit.design.cell_idx)))
    return effects_table(mu1, mu0, labels, counts, prior=prior)


def test_sd_ratio_is_the_posterior_over_the_prior_spread(handmade):
    fit, _, _ = handmade
    table = _table(fit, post_sd=0.2, prior_sd=0.5)
    # 800 draws: the ratio of two sample SDs within a few percent of 0.4
    assert np.allclose(table["sd_ratio"], 0.4, atol=0.04)
    assert table["informed"].all()


def test_a_row_the_data_barely_moved_is_weakly_informed(handmade):
    fit, _, _ = handmade
    table = _table(fit, post_sd=0.45, prior_sd=0.5)
    assert (table["sd_ratio"] > 0.8).all()
    assert not table["informed"].any()
    assert table["note"].str.startswith("weakly informed (").all()
    assert table["note"].str.contains("the prior carries more of this estimate").all()


def test_events_in_one_arm_only_are_said(handmade):
    fit, _, _ = handmade
    counts = fit._row_labels(np.arange(len(fit.design.cell_idx)))
    counts.loc[counts["arm"] == "treatment", "post_count"] = 0
    counts.loc[counts["arm"] == "control", "post_count"] = 3
    table = _table(fit, post_sd=0.2, prior_sd=0.5, counts=counts)
    assert table["informed"].all()  # one arm's events inform the ratio
    assert table["note"].str.startswith("no events in the treated arm (").all()
    assert table["note"].str.contains("rests on the prior").all()


def test_without_prior_draws_the_ratio_is_missing_and_events_decide(handmade):
    fit, _, _ = handmade
    table = fit.effects()  # the hand-made fit has no prior group
    assert table["sd_ratio"].isna().all()
    assert table["informed"].all()


def test_a_sampler_output_without_divergences_is_not_read_as_none(handmade):
    """Catches diagnostics that report 0 divergences because the field is missing."""
    from fd_bayes.errors import FdBayesError
    from fd_bayes.inference import idata as infd

    fit, _, _ = handmade
    stats = fit.idata.sample_stats
    fit.idata.sample_stats = stats.rename({"diverging": "divergent"})
    with pytest.raises(FdBayesError, match="no divergent transitions"):
        infd.diagnostics(fit.idata)
