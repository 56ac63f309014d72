"""Predictive checks, pointwise log-likelihood and PSIS-LOO on hand-made draws (no MCMC)."""

from __future__ import annotations

import matplotlib.figure
import numpy as np
import pandas as pd
import pytest
from scipy import stats

import fd_bayes as fdb
from fd_bayes.errors import FdBayesError, LooWarning, SettingsError
from fd_bayes.inference import idata as infd
from fd_bayes.inference import posterior_predictive
from fd_bayes.modelling import Design, expected_counts, load_spec, pointwise_loglik
from fd_bayes.results import Fit, checking
from tests.helpers import small_counts

N_CHAIN, N_DRAW = 2, 250


def _posterior(design: Design, seed: int = 0, spread: float = 1.0) -> dict:
    """Tight draws around fixed values (a well-identified posterior)."""
    rng = np.random.default_rng(seed)
    n_cell, n_co = len(design.cells), len(design.crime_outcomes)
    size = (N_CHAIN, N_DRAW)
    return {
        "intercept": rng.normal(-0.2, 0.03 * spread, (*size, n_cell)),
        "baseline_slope": rng.normal(0.3, 0.02 * spread, (*size, n_co)),
        "theta": rng.normal(-0.4, 0.03 * spread, (*size, n_cell)),
        "dispersion": np.exp(rng.normal(np.log(0.8), 0.05 * spread, (*size, n_co))),
    }


def _fit(design: Design, post: dict, family: str = "negbin", y_obs=None, seed: int = 1) -> Fit:
    dims = {
        "intercept": ["cell"],
        "theta": ["cell"],
        "baseline_slope": ["crime_outcome"],
        "dispersion": ["crime_outcome"],
    }
    idata = infd.from_dict(
        posterior=post,
        sample_stats={"diverging": np.zeros((N_CHAIN, N_DRAW), bool)},
        dims=dims,
        coords=design.coords,
    )
    y_obs = design.post_count if y_obs is None else y_obs
    pp = posterior_predictive(idata.posterior, design, family, seed)
    observed = pp[["y"]].isel(chain=0, draw=0, drop=True).copy(data={"y": y_obs})
    infd.add_groups(
        idata,
        {
            "posterior_predictive": pp,
            "prior_predictive": pp,
            "observed_data": observed,
            "constant_data": design.to_dataset(),
        },
    )
    spec = load_spec("negbin_hier" if family == "negbin" else "poisson_hier")
    return Fit(idata, spec, design)


@pytest.fixture
def nb_case():
    """A trial whose follow-up counts are one NB replicate of a hand-made posterior."""
    counts = small_counts(n_per_arm=30, seed=4)
    design = Design.from_trial(fdb.Trial.from_counts(counts))
    post = _posterior(design)
    idata = infd.from_dict(
        posterior=post,
        dims={
            "intercept": ["cell"],
            "theta": ["cell"],
            "baseline_slope": ["crime_outcome"],
            "dispersion": ["crime_outcome"],
        },
        coords=design.coords,
    )
    y = posterior_predictive(idata.posterior, design, "negbin", 99)["y"].values[0, 0]
    counts["post_count"] = y
    design = Design.from_trial(fdb.Trial.from_counts(counts))
    return design, post


# --- pointwise log-likelihood ------------------------------------------------------------


def test_pointwise_loglik_equals_scipy_negbin_and_poisson(nb_case):
    design, post = nb_case
    fit = _fit(design, post)
    ll = pointwise_loglik(fit.idata.posterior, design, "negbin")
    assert ll.shape == (N_CHAIN, N_DRAW, len(design.cell_idx))
    rows = np.arange(len(design.cell_idx))
    mu1, mu0 = expected_counts(fit.idata.posterior, design, rows)
    mu = np.where(design.treated == 1, mu1, mu0) * np.exp(design.log_exposure)
    phi = post["dispersion"].reshape(-1, len(design.crime_outcomes))[:, design.co_idx]
    y = design.post_count
    ref = stats.nbinom.logpmf(y, phi, phi / (phi + mu))
    assert y.max() >= 3  # the log1p sum over events is exercised
    np.testing.assert_allclose(ll.reshape(-1, len(y)), ref, rtol=1e-10)
    ll_pois = pointwise_loglik(fit.idata.posterior, design, "poisson")
    np.testing.assert_allclose(ll_pois.reshape(-1, len(y)), stats.poisson.logpmf(y, mu), rtol=1e-10)


def test_pointwise_negbin_tends_to_poisson(nb_case):
    design, post = nb_case
    post = {**post, "dispersion": np.full_like(post["dispersion"], 1e12)}
    fit = _fit(design, post)
    nb = pointwise_loglik(fit.idata.posterior, design, "negbin")
    pois = pointwise_loglik(fit.idata.posterior, design, "poisson")
    np.testing.assert_allclose(nb, pois, rtol=1e-8, atol=1e-8)


def test_fit_log_likelihood_is_computed_when_not_stored(nb_case):
    design, post = nb_case
    fit = _fit(design, post)
    assert "log_likelihood" not in fit.idata.groups()
    ll = fit.log_likelihood()
    assert ll["y"].dims == ("chain", "draw", "obs")
    np.testing.assert_allclose(
        ll["y"].values, pointwise_loglik(fit.idata.posterior, design, "negbin"), rtol=1e-6
    )


# --- predictive-check table --------------------------------------------------------------


def test_ppc_table_layout_and_observed_statistics(nb_case):
    design, post = nb_case
    fit = _fit(design, post)
    table = fit.ppc()
    assert list(table.columns) == checking.PPC_COLUMNS
    # 2 arms x 1 outcome x (2 crime types + all) x 5 statistics
    assert len(table) == 2 * 3 * 5
    assert set(table["crime_type"]) == {"knife", "violence", "all"}
    labels = design.cells.iloc[design.cell_idx]
    df = pd.DataFrame(
        {
            "arm": np.where(design.treated == 1, "treatment", "control"),
            "crime_type": labels["crime_type"].to_numpy(),
            "y": design.post_count,
        }
    )
    knife_t = df[(df.arm == "treatment") & (df.crime_type == "knife")]["y"]
    got = table[(table.arm == "treatment") & (table.crime_type == "knife")].set_index("stat")
    assert got.loc["mean", "observed"] == pytest.approx(knife_t.mean())
    assert got.loc["variance", "observed"] == pytest.approx(knife_t.var(ddof=1))
    assert got.loc["dispersion", "observed"] == pytest.approx(knife_t.var() / knife_t.mean())
    assert got.loc["share_zeros", "observed"] == pytest.approx((knife_t == 0).mean())
    assert got.loc["max", "observed"] == knife_t.max()
    assert got.loc["mean", "n_rows"] == len(knife_t)
    assert (table["replicated_lower"] <= table["replicated_median"]).all()
    assert (table["replicated_median"] <= table["replicated_upper"]).all()
    assert table["ppp"].between(0, 1).all()


def test_ppp_is_calibrated_when_replicates_share_the_observed_distribution(nb_case):
    design, post = nb_case
    fit = _fit(design, post)
    y_rep = fit.idata.posterior_predictive["y"].values.reshape(-1, len(design.cell_idx))
    # observed data sets drawn from the same distribution as the replicates
    other = posterior_predictive(fit.idata.posterior, design, "negbin", 7)["y"].values
    other = other.reshape(-1, len(design.cell_idx))[:80]
    ppps = np.array(
        [
            checking.ppc_table(y, y_rep, design).query("stat == 'mean'")["ppp"].to_numpy()
            for y in other
        ]
    )
    assert ppps.mean() == pytest.approx(0.5, abs=0.06)
    assert np.mean((ppps < 0.025) | (ppps > 0.975)) < 0.12


def test_ppp_near_zero_or_one_when_replicates_are_shifted(counts):
    design = Design.from_trial(fdb.Trial.from_counts(counts))
    rng = np.random.default_rng(1)
    n = len(design.cell_idx)
    y_obs = rng.poisson(0.3, n)
    y_rep = rng.poisson(4.0, (400, n))
    t = checking.ppc_table(y_obs, y_rep, design).set_index(["arm", "crime_type", "stat"])
    for arm in ("treatment", "control"):
        for crime in ("knife", "violence", "all"):
            assert t.loc[(arm, crime, "mean"), "ppp"] > 0.99
            assert t.loc[(arm, crime, "max"), "ppp"] > 0.99
            assert t.loc[(arm, crime, "share_zeros"), "ppp"] < 0.01


def test_ties_count_half_and_undefined_dispersion_is_nan(counts):
    design = Design.from_trial(fdb.Trial.from_counts(counts))
    n = len(design.cell_idx)
    y_obs = np.zeros(n, int)
    y_rep = np.zeros((4, n), int)
    y_rep[2:] = 2  # two replicates all zero (ties), two all 2 (above)
    t = checking.ppc_table(y_obs, y_rep, design).set_index(["arm", "crime_type", "stat"])
    row = ("treatment", "all")
    assert t.loc[(*row, "max"), "ppp"] == pytest.approx((2 + 0.5 * 2) / 4)
    assert t.loc[(*row, "mean"), "ppp"] == pytest.approx(0.75)
    # share of zeros: two replicates tie at 1, two are below
    assert t.loc[(*row, "share_zeros"), "ppp"] == pytest.approx(0.25)
    # variance/mean of all-zero data is undefined: NaN, not an error or a warning
    assert np.isnan(t.loc[(*row, "dispersion"), "observed"])
    assert np.isnan(t.loc[(*row, "dispersion"), "ppp"])


def test_prior_group_and_bad_group(nb_case):
    design, post = nb_case
    fit = _fit(design, post)
    assert len(fit.ppc(group="prior")) == len(fit.ppc())
    with pytest.raises(SettingsError):
        fit.ppc(group="nonsense")


def test_plot_ppc_returns_figure(nb_case, tmp_path):
    design, post = nb_case
    fit = _fit(design, post)
    fig = fit.plot_ppc(path=tmp_path / "ppc.png")
    assert isinstance(fig, matplotlib.figure.Figure)
    assert (tmp_path / "ppc.png").stat().st_size > 0
    assert len(fig.axes) == len(checking.HEADLINE)
    matplotlib.pyplot.close(fig)


def test_prior_check_without_mcmc(counts):
    trial = fdb.Trial.from_counts(counts)
    table, y_rep = checking.prior_check(trial, draws=50, seed=3, return_draws=True)
    assert list(table.columns) == checking.PPC_COLUMNS
    assert y_rep.shape == (50, len(counts))
    again = checking.prior_check(trial, draws=50, seed=3)
    pd.testing.assert_frame_equal(table, again)


# --- PSIS-LOO ----------------------------------------------------------------------------


def test_loo_and_compare_prefer_the_right_family(nb_case):
    design, post = nb_case
    nb = _fit(design, post, "negbin")
    pois = _fit(design, post, "poisson")
    one = checking.loo(nb)
    assert one["n_pareto_k_high"] == 0
    assert one["elpd_loo"] == pytest.approx(
        pointwise_loglik(nb.idata.posterior, design, "negbin").mean(axis=(0, 1)).sum(), abs=2.0
    )
    table = checking.compare({"nb": nb, "poisson": pois})
    assert list(table["model"]) == ["nb", "poisson"]
    best, worst = table.iloc[0], table.iloc[1]
    assert best["elpd_diff"] == 0
    assert worst["elpd_diff"] < -2 * worst["dse"]
    assert table["loo_reliable"].all()


def test_loo_warns_in_plain_words_on_high_pareto_k(nb_case):
    design, _ = nb_case
    # very diffuse draws: single rows dominate the importance weights
    wide = _fit(design, _posterior(design, spread=60.0))
    with pytest.warns(LooWarning, match="Pareto k > 0.7"):
        res = checking.loo(wide)
    assert res["n_pareto_k_high"] > 0


def test_compare_refuses_different_data(nb_case, counts):
    design, post = nb_case
    other = Design.from_trial(fdb.Trial.from_counts(counts))
    with pytest.raises(FdBayesError, match="same data"):
        checking.compare({"a": _fit(design, post), "b": _fit(other, _posterior(other))})
    with pytest.raises(SettingsError):
        checking.compare({"a": _fit(design, post)})
