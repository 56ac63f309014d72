"""fd_bayes.frequentist: classical comparisons, checked against statsmodels and by hand."""

from __future__ import annotations

import time
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import fd_bayes as fdb
from fd_bayes import frequentist as fq
from fd_bayes.errors import SettingsError


@pytest.fixture(scope="module")
def sim_trial():
    trial, _ = fdb.simulate_trial(
        {"11-17": 20, "18-25": 25},
        {"11-17": 40, "18-25": 50},
        crime_types={"knife": 1.5, "violence": 2.0},
        rate_ratios=0.6,
        dispersion=2.0,
        seed=3,
    )
    return trial


def small_counts(n_per_arm: int = 6, seed: int = 0) -> pd.DataFrame:
    """Two age bands x two arms x ``n_per_arm`` people, crime types knife and violence."""
    rng = np.random.default_rng(seed)
    rows = []
    for band in ("11-17", "18-25"):
        for arm in ("treatment", "control"):
            for _ in range(n_per_arm):
                days = float(rng.integers(200, 366))
                for crime in ("knife", "violence"):
                    pre, post = int(rng.poisson(1.0)), int(rng.poisson(0.8))
                    rows.append((f"id{len(rows) // 2}", arm, band, crime, pre, post, days))
    columns = ["person_id", "arm", "age_band", "crime_type", "pre_count", "post_count"]
    return pd.DataFrame(rows, columns=[*columns, "exposure_days"])


def _quiet_compare(trial, **kw) -> pd.DataFrame:
    """compare() with every warning an error: nothing may leak."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return fq.compare(trial, **kw)


def _row(table, method, crime, band="all", measure=None, outcome="offending"):
    sel = (
        (table["method"] == method)
        & (table["crime_type"] == crime)
        & (table["age_band"] == band)
        & (table["outcome"] == outcome)
    )
    if measure is not None:
        sel &= table["measure"] == measure
    rows = table[sel]
    assert len(rows) == 1, rows
    return rows.iloc[0]


def test_table_columns_and_rows(sim_trial):
    table = _quiet_compare(sim_trial, n_permutations=200, seed=1)
    assert list(table.columns) == list(fq.COLUMNS)
    assert set(table["method"]) == set(fq.METHODS)
    assert set(table["age_band"]) == {"all", "11-17", "18-25"}
    assert set(table["measure"]) == {
        "rate_ratio",
        "risk_ratio",
        "difference",
        "hedges_g",
        "rank_biserial",
    }
    overall = table[table["crime_type"] == "all"]
    assert set(overall["method"]) == {"negbin_glm", "poisson_glm"}
    row = _row(table, "rate_test", "knife")
    assert (row["n_treatment"], row["n_control"]) == (45, 90)
    assert _row(table, "rate_test", "knife", band="11-17")["n_treatment"] == 20
    finite = table["estimate"].notna() & table["p_value"].notna()
    assert finite.sum() > 0.8 * len(table)


def test_negbin_estimate_is_statsmodels_nb2_mle(sim_trial):
    from statsmodels.discrete.discrete_model import NegativeBinomial

    table = _quiet_compare(sim_trial, methods=["negbin_glm"])
    d = sim_trial.data[sim_trial.data["crime_type"] == "knife"]
    X = np.column_stack(
        [
            np.ones(len(d)),
            (d["arm"] == "treatment").to_numpy(float),
            np.log1p(d["pre_count"].to_numpy(float)),
            (d["age_band"] == "18-25").to_numpy(float),
        ]
    )
    offset = np.log(d["exposure_days"].to_numpy() / 365.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = NegativeBinomial(d["post_count"].to_numpy(float), X, offset=offset).fit(
            method="newton", maxiter=200, disp=False
        )
    assert ref.mle_retvals["converged"]
    row = _row(table, "negbin_glm", "knife")
    assert row["estimate"] == pytest.approx(np.exp(ref.params[1]), rel=1e-5)
    z = stats.norm.ppf(0.975)
    assert row["lower"] == pytest.approx(np.exp(ref.params[1] - z * ref.bse[1]), rel=1e-4)
    assert row["p_value"] == pytest.approx(ref.pvalues[1], rel=1e-3)
    assert row["reason"] == ""


def test_overall_row_uses_cluster_robust_se(sim_trial):
    table = _quiet_compare(sim_trial, methods=["negbin_glm"])
    row = _row(table, "negbin_glm", "all")
    assert np.isfinite([row["estimate"], row["lower"], row["upper"], row["p_value"]]).all()
    assert row["lower"] < row["estimate"] < row["upper"]
    assert np.isnan(row["mc_se"])


def test_negbin_cluster_se_is_statsmodels_cluster_at_the_mle(sim_trial):
    from statsmodels.discrete.discrete_model import NegativeBinomial

    d = sim_trial.data
    person = sim_trial.person_index()
    X = np.column_stack(
        [
            np.ones(len(d)),
            (d["arm"] == "treatment").to_numpy(float),
            np.log1p(d["pre_count"].to_numpy(float)),
            (d["crime_type"] == "violence").to_numpy(float),
        ]
    )
    y, offset = d["post_count"].to_numpy(float), np.log(d["exposure_days"].to_numpy() / 365)
    plain = fq.fit_negbin(y, X, offset)
    clustered = fq.fit_negbin(y, X, offset, groups=person)
    np.testing.assert_allclose(clustered.params, plain.params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = NegativeBinomial(y, X, offset=offset).fit(
            start_params=np.r_[plain.params, plain.alpha],
            method="newton",
            disp=False,
            cov_type="cluster",
            cov_kwds={"groups": person},
        )
    np.testing.assert_allclose(clustered.bse, ref.bse[:-1], rtol=1e-6)


def test_holm_hand_example():
    p = [0.01, 0.04, 0.03, 0.005]
    # sorted: 0.005*4 = 0.02, 0.01*3 = 0.03, 0.03*2 = 0.06, max(0.04*1, 0.06) = 0.06
    np.testing.assert_allclose(fq.holm(p), [0.03, 0.06, 0.06, 0.02])
    from statsmodels.stats.multitest import multipletests

    np.testing.assert_allclose(fq.holm(p), multipletests(p, method="holm")[1])
    out = fq.holm([0.2, np.nan, 0.01])  # NaN is not part of the family
    np.testing.assert_allclose(out, [0.2, np.nan, 0.02])
    assert np.isnan(fq.holm([np.nan])).all()
    assert fq.holm([0.6, 0.7]).max() == 1.0  # capped at 1


def test_holm_column_within_method_and_outcome(sim_trial):
    table = _quiet_compare(sim_trial, methods=["rate_test"])
    part = table[table["age_band"] == "all"]
    np.testing.assert_allclose(part["p_holm"], fq.holm(part["p_value"]))


def test_rank_biserial_hand_example():
    t, c = np.array([0, 0, 1]), np.array([1, 2, 0, 0])
    # pairs: t=0 loses to 1, 2 and ties 0, 0 (twice); t=1 beats 0, 0, ties 1, loses to 2
    assert fq.rank_biserial(t, c) == pytest.approx((2 - 5) / 12)
    u = stats.mannwhitneyu(t, c).statistic
    assert fq.rank_biserial(t, c) == pytest.approx(2 * u / 12 - 1)
    assert fq.rank_biserial(np.zeros(3), np.zeros(4)) == 0.0


def test_hedges_g_hand_example():
    t, c = np.array([1.0, 2.0, 3.0]), np.array([2.0, 3.0, 4.0, 5.0])
    # pooled var = (2 * 1 + 3 * 5/3) / 5 = 1.4; d = -1.5 / sqrt(1.4); J = 1 - 3/19
    d = -1.5 / np.sqrt(1.4)
    j = 1 - 3 / 19
    se = j * np.sqrt(7 / 12 + d**2 / 14)
    g, lo, hi, why = fq.hedges_g(t, c)
    assert g == pytest.approx(j * d) == pytest.approx(-1.067563, abs=1e-6)
    assert lo == pytest.approx(j * d - stats.norm.ppf(0.975) * se)
    assert hi == pytest.approx(j * d + stats.norm.ppf(0.975) * se)
    assert why == ""
    g, lo, hi, why = fq.hedges_g(np.zeros(3), np.zeros(4))
    assert np.isnan([g, lo, hi]).all() and "pooled SD is 0" in why


def _zero_trial(post_t: int, post_c: int) -> fdb.Trial:
    """Two crime types; knife has post_t / post_c follow-up events per person in each arm."""
    df = small_counts(n_per_arm=8)
    knife = df["crime_type"] == "knife"
    df.loc[knife & (df["arm"] == "treatment"), "post_count"] = post_t
    df.loc[knife & (df["arm"] == "control"), "post_count"] = post_c
    return fdb.Trial.from_counts(df)


def test_all_zero_crime_type_gives_nan_with_reason():
    table = _quiet_compare(_zero_trial(0, 0), n_permutations=200, seed=0)
    knife = table[table["crime_type"] == "knife"]
    assert len(knife) > 0
    undefined = knife[knife["method"].isin(["negbin_glm", "poisson_glm", "rate_test"])]
    assert undefined["estimate"].isna().all()
    assert undefined["reason"].str.contains("no events in either arm").all()
    fisher = knife[knife["method"] == "fisher_any"]
    assert fisher["estimate"].isna().all() and fisher["reason"].str.contains("either arm").all()
    rand = knife[knife["method"] == "randomisation"]
    assert rand["p_value"].isna().all() and (rand["reason"] != "").all()
    welch = knife[knife["method"] == "welch_t"]
    assert (welch["estimate"] == 0).all() and welch["p_value"].isna().all()
    # every NaN estimate or p-value is explained
    nan = knife["estimate"].isna() | knife["p_value"].isna()
    assert (knife.loc[nan, "reason"] != "").all()
    # the other crime type is unaffected
    violence = table[(table["crime_type"] == "violence") & (table["method"] == "rate_test")]
    assert violence["estimate"].notna().all()


def test_one_arm_all_zero():
    table = _quiet_compare(_zero_trial(0, 1), n_permutations=500, seed=0)
    nb = _row(table, "negbin_glm", "knife")
    assert np.isnan(nb["estimate"]) and "no treatment-arm events" in nb["reason"]
    rate = _row(table, "rate_test", "knife")
    assert rate["estimate"] == 0.0 and rate["lower"] == 0.0
    assert 0 < rate["upper"] < 1 and rate["p_value"] < 0.05
    fisher = _row(table, "fisher_any", "knife")
    assert fisher["estimate"] == 0.0 and fisher["p_value"] < 0.05
    rand = _row(table, "randomisation", "knife", measure="rate_ratio")
    assert rand["estimate"] == 0.0 and rand["p_value"] < 0.05
    # the other direction: no control events -> an infinite ratio is not printed
    table = _quiet_compare(_zero_trial(1, 0), methods=["rate_test", "fisher_any"])
    for method in ("rate_test", "fisher_any"):
        row = _row(table, method, "knife")
        assert np.isnan(row["estimate"]) and "infinite" in row["reason"]
        assert row["p_value"] < 0.05


def test_single_age_band():
    df = small_counts(n_per_arm=8)
    df["age_band"] = "11-17"
    df["person_id"] = df["person_id"] + df["arm"]  # keep people distinct
    table = _quiet_compare(fdb.Trial.from_counts(df), n_permutations=100, seed=0)
    assert set(table["age_band"]) == {"11-17"}
    assert set(table["method"]) == set(fq.METHODS)


def test_unequal_exposure_is_used():
    rng = np.random.default_rng(5)
    rows = []
    for i in range(200):
        arm = "treatment" if i < 100 else "control"
        days = 120.0 if arm == "treatment" else 360.0  # a third of the time at risk
        rows.append((f"p{i}", arm, "knife", 1, int(rng.poisson(3 * days / 365)), days))
    df = pd.DataFrame(
        rows, columns=["person_id", "arm", "crime_type", "pre_count", "post_count", "exposure_days"]
    )
    table = _quiet_compare(
        fdb.Trial.from_counts(df), methods=["rate_test", "poisson_glm"], n_permutations=10
    )
    for method in ("rate_test", "poisson_glm"):
        row = _row(table, method, "knife")
        assert row["lower"] < 1 < row["upper"], method  # same rate per day at risk
        assert 0.75 < row["estimate"] < 1.3


def test_stratified_allocations_keep_stratum_counts():
    strata = np.repeat([0, 1], 10)
    treated = np.zeros(20, dtype=bool)
    treated[[0, 1]] = True  # 2 of 10 treated in stratum 0
    treated[10:18] = True  # 8 of 10 in stratum 1
    alloc = fq.stratified_allocations(strata, treated, 5000, np.random.default_rng(0))
    assert alloc.shape == (5000, 20)
    # an unstratified shuffle would put 10 treated in stratum 0 about half the time
    assert (alloc[:, :10].sum(axis=1) == 2).all()
    assert (alloc[:, 10:].sum(axis=1) == 8).all()
    # uniform within strata: each member of stratum 0 treated with probability 0.2
    np.testing.assert_allclose(alloc[:, :10].mean(axis=0), 0.2, atol=0.03)
    np.testing.assert_allclose(alloc[:, 10:].mean(axis=0), 0.8, atol=0.03)


def test_randomisation_null_not_small_and_effect_small():
    null, _ = fdb.simulate_trial(40, 60, rate_ratios=1.0, dispersion=3.0, seed=11)
    table = _quiet_compare(null, methods=["randomisation"], n_permutations=2000, seed=1)
    assert (table["p_value"] > 0.05).all(), table
    strong, _ = fdb.simulate_trial(40, 60, rate_ratios=0.2, dispersion=3.0, seed=11)
    table = _quiet_compare(strong, methods=["randomisation"], n_permutations=2000, seed=1)
    assert (table["p_value"] < 0.01).all(), table
    row = table.iloc[0]
    p, n = row["p_value"], 2000
    assert row["mc_se"] == pytest.approx(np.sqrt(p * (1 - p) / n))


def test_randomisation_p_uniform_under_null():
    """Stratified re-randomisation p-values are uniform when there is no effect."""
    rng = np.random.default_rng(2)
    strata = np.repeat([0, 1], [35, 45])
    treated = np.zeros(80, dtype=bool)
    treated[:10] = True
    treated[35:50] = True
    exposure = np.where(rng.random(80) < 0.2, 0.5, 1.0)
    ps = []
    for _ in range(300):
        y = rng.negative_binomial(1.5, 1.5 / (1.5 + 1.2 * exposure * (1 + strata))).astype(float)
        actual = fq.stratified_allocations(strata, treated, 1, rng)[0]  # the trial's draw
        alloc = fq.stratified_allocations(strata, actual, 199, rng)
        obs = fq.mh_log_rate_ratio(actual[None, :], y, exposure, strata)[0]
        ps.append(fq.permutation_p(obs, fq.mh_log_rate_ratio(alloc, y, exposure, strata))[0])
    ps = np.array(ps)
    assert stats.kstest(ps, "uniform").pvalue > 0.001
    assert 0.02 < np.mean(ps <= 0.05) < 0.09


def test_randomisation_is_seeded(sim_trial):
    a = fq.compare(sim_trial, methods="randomisation", n_permutations=300, seed=4)
    b = fq.compare(sim_trial, methods="randomisation", n_permutations=300, seed=4)
    pd.testing.assert_frame_equal(a, b)


def test_ten_thousand_permutations_of_200_people_run():
    trial, _ = fdb.simulate_trial(50, 150, seed=8)
    start = time.perf_counter()
    table = _quiet_compare(trial, methods="randomisation", n_permutations=10_000, seed=1)
    elapsed = time.perf_counter() - start
    print(f"\nrandomisation: 10,000 permutations x 200 people x 2 crime types: {elapsed:.2f} s")
    assert table["p_value"].notna().all()


def test_level_changes_interval_width(sim_trial):
    wide = _row(fq.compare(sim_trial, methods="rate_test"), "rate_test", "knife")
    narrow = _row(fq.compare(sim_trial, methods="rate_test", level=0.8), "rate_test", "knife")
    assert wide["lower"] < narrow["lower"] < narrow["upper"] < wide["upper"]


def test_bad_arguments(sim_trial):
    with pytest.raises(SettingsError, match="unknown method"):
        fq.compare(sim_trial, methods=["t_test"])
    with pytest.raises(SettingsError, match="n_permutations"):
        fq.compare(sim_trial, methods="randomisation", n_permutations=0)
    with pytest.raises(SettingsError, match="level"):
        fq.compare(sim_trial, level=1.5)


def test_module_exports_compare():
    assert "compare" in fq.__all__
    assert fq.compare.__kwdefaults__["level"] == fdb.HDI_PROB
