"""fd_bayes.meta without MCMC: metafor reference numbers, effect-size helpers, bad input.

Reference numbers were produced with R 4.2.2 and metafor 3.8.1 (Debian r-cran-metafor)::

    library(metafor)
    dat <- escalc(measure="RR", ai=tpos, bi=tneg, ci=cpos, di=cneg, data=dat.bcg)
    for (m in c("REML", "DL", "PM", "FE")) for (t in c("z", "knha")) {
      r <- rma(yi, vi, data=dat, method=m, test=t); p <- predict(r)
      # r$b, r$se, r$ci.lb, r$ci.ub, r$pval, r$tau2, r$I2, r$H2, r$QE, r$QEp, p$pi.lb, p$pi.ub
    }
    weights(rma(yi, vi, data=dat, method="REML"))   # and method="FE"
    r <- rma(yi, vi, mods=~ablat, data=dat, method="REML", test="z")   # and test="knha"
    # r$b, r$se, r$ci.lb, r$ci.ub, r$pval, r$tau2, r$I2, r$H2, r$QE, r$QM, r$QMp
    rma(yi, vi, mods=~ablat, data=dat, method="DL")   # and "PM": r$b, r$tau2, r$QM
    escalc(measure="IRR", x1i=c(10,0,0,7), t1i=c(100,50,40,80),
           x2i=c(20,5,0,9), t2i=c(100,60,40,70))
    escalc(measure="SMD", m1i=c(1.2,5), sd1i=c(2,3.5), n1i=c(20,8),
           m2i=c(0.4,6), sd2i=c(2.5,3), n2i=c(25,9))

metafor stops REML's Fisher scoring at a change below 1e-5 and PM's ``uniroot`` at
tol = 1.2e-4, so its tau2 differs from the exact root by up to ~3e-5 (PM) and ~1e-5
(REML); the tolerances below (1e-4 on estimates and tau2) cover that.
"""

from __future__ import annotations

import matplotlib
import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.meta_analysis import combine_effects

from fd_bayes import meta
from fd_bayes.errors import DataError, SettingsError
from fd_bayes.results import PotentialOutcomes

# dat.bcg log risk ratios (escalc(measure="RR")), printed with sprintf("%.12f").
YI = np.array(
    [-0.889311333920, -1.585388657201, -1.348073148300, -1.441551190021, -0.217547322211,
     -0.786115585819, -1.620898223598, 0.011952333524, -0.469417648738, -1.371344803473,
     -0.339358828338, 0.445913400571, -0.017313948217]
)  # fmt: skip
VI = np.array(
    [0.325584765004, 0.194581121398, 0.415367965368, 0.020010031902, 0.051210172170,
     0.006905618456, 0.223017247572, 0.003961579298, 0.056434210463, 0.073024793613,
     0.012412213972, 0.532505845200, 0.071404659684]
)  # fmt: skip
ABLAT = [44, 55, 42, 52, 13, 44, 19, 13, 27, 42, 18, 33, 33]
Q_BCG = 152.2330080824

# method, test: estimate, se, ci_lower, ci_upper, p_value, tau2, i2, h2, pi_lower, pi_upper
# (FE: metafor's predict() gives no prediction interval; ours equals the CI.)
METAFOR = {
    ("REML", "z"): (-0.7145323484, 0.1797815318, -1.0668976757, -0.3621670210, 7.054267349e-05,
                    0.3132433260, 92.2213860750, 12.8557608031, -1.8666923466, 0.4376276499),
    ("REML", "knha"): (-0.7145323484, 0.1807917455, -1.1084437230, -0.3206209737,
                       0.001920015085, 0.3132433260, 92.2213860750, 12.8557608031,
                       -1.9960169670, 0.5669522703),
    ("DL", "z"): (-0.7141172221, 0.1787420895, -1.0644452801, -0.3637891641, 6.462924305e-05,
                  0.3087602629, 92.1173468546, 12.6860840069, -1.8581537527, 0.4299193086),
    ("DL", "knha"): (-0.7141172221, 0.1806966283, -1.1078213542, -0.3204130900, 0.001920766767,
                     0.3087602629, 92.1173468546, 12.6860840069, -1.9872069634, 0.5589725193),
    ("PM", "z"): (-0.7149704056, 0.1808979841, -1.0695239394, -0.3604168719, 7.739055414e-05,
                  0.3180937119, 92.3309002899, 13.0393401807, -1.8758545960, 0.4459137848),
    ("PM", "knha"): (-0.7149704056, 0.1808927122, -1.1091017678, -0.3208390434, 0.001919268115,
                     0.3180937119, 92.3309002899, 13.0393401807, -2.0054749822, 0.5755341710),
    ("FE", "z"): (-0.4302851637, 0.0404987517, -0.5096612584, -0.3509090689, 2.288629307e-26,
                  0.0, 92.1173468546, 12.6860840069, -0.5096612584, -0.3509090689),
    ("FE", "knha"): (-0.4302851637, 0.1442465480, -0.7445713930, -0.1159989343, 0.01142223504,
                     0.0, 92.1173468546, 12.6860840069, -0.7445713930, -0.1159989343),
}  # fmt: skip
FIELDS = ("estimate", "se", "ci_lower", "ci_upper", "p_value", "tau2", "i2", "h2")
# Tolerance per field (absolute; relative for p-values): PM's tau2 in metafor is only
# solved to ~1e-4 (see the module docstring), which moves se and the limits by ~1e-5.
ATOL = {"estimate": 1e-4, "se": 1e-4, "ci_lower": 1e-4, "ci_upper": 1e-4, "tau2": 1e-4,
        "i2": 1e-2, "h2": 1e-2, "pi_lower": 1e-4, "pi_upper": 1e-4}  # fmt: skip


@pytest.mark.parametrize(("method", "test"), list(METAFOR))
def test_matches_metafor_on_bcg(method, test):
    res = meta.frequentist(YI, VI, method=method, test=test)
    ref = dict(zip((*FIELDS, "pi_lower", "pi_upper"), METAFOR[method, test], strict=True))
    for name, want in ref.items():
        got = getattr(res, name)
        if name == "p_value":
            assert got == pytest.approx(want, rel=1e-3), name
        else:
            assert got == pytest.approx(want, abs=ATOL[name]), name
    assert res.q == pytest.approx(Q_BCG, abs=1e-6)
    assert res.q_pvalue == pytest.approx(1.996764591e-26, rel=1e-6)
    assert res.k == 13 and res.method == method and res.test == test


def test_reml_and_dl_tau2_to_1e6():
    # DL is closed-form; REML converges tighter than metafor's 1e-5 stopping rule.
    assert meta.frequentist(YI, VI, method="DL").tau2 == pytest.approx(0.3087602629, abs=1e-9)
    assert meta.frequentist(YI, VI, method="REML").tau2 == pytest.approx(0.3132433260, abs=1e-6)


def test_pm_solves_its_estimating_equation():
    res = meta.frequentist(YI, VI, method="PM")
    w = 1.0 / (VI + res.tau2)
    mu = np.sum(w * YI) / w.sum()
    assert np.sum(w * (YI - mu) ** 2) == pytest.approx(len(YI) - 1, abs=1e-8)


@pytest.mark.parametrize(("method", "sm_method"), [("DL", "dl"), ("PM", "iterated")])
def test_agrees_with_statsmodels(method, sm_method):
    sm = combine_effects(YI, VI, method_re=sm_method)
    res = meta.frequentist(YI, VI, method=method)
    assert res.tau2 == pytest.approx(sm.tau2, abs=1e-6)
    assert res.estimate == pytest.approx(sm.mean_effect_re, abs=1e-6)


def test_weights_match_metafor():
    reml = [5.0594830793, 6.3646796321, 4.4360277631, 9.6987467357, 8.8684562868,
            10.0957381653, 6.0271817029, 10.1894386346, 8.7431331317, 8.3676072473,
            9.9250266628, 3.8216294228, 8.4028515354]  # fmt: skip
    fe = [0.5037548026, 0.8429126517, 0.3948664863, 8.1966330596, 3.2027794882, 23.7509341214,
          0.7354358948, 41.4013898710, 2.9063025365, 2.2460164678, 13.2139914273,
          0.3080058003, 2.2969773925]  # fmt: skip
    frame = meta.frequentist(YI, VI).summary_frame()
    np.testing.assert_allclose(frame["weight"], reml, atol=1e-4)
    np.testing.assert_allclose(meta.frequentist(YI, VI, method="FE").summary_frame()["weight"],
                               fe, atol=1e-6)  # fmt: skip
    assert list(frame.columns) == ["yi", "vi", "sei", "ci_lower", "ci_upper", "weight"]
    assert frame["ci_lower"].iloc[0] == pytest.approx(YI[0] - 1.959963985 * np.sqrt(VI[0]))


# rma(yi, vi, mods=~ablat, method="REML", test=t): coefficients (intercept, ablat)
REG = {
    "z": {"estimate": (0.2514642944, -0.0291016609), "se": (0.2491036664, 0.0071955548),
          "ci_lower": (-0.2367699202, -0.0432046891), "ci_upper": (0.7396985089, -0.0149986328),
          "p_value": (0.3127461719, 5.245855974e-05), "qm": 16.3571255722,
          "qm_pvalue": 5.245855974e-05},
    "knha": {"estimate": (0.2514642944, -0.0291016609), "se": (0.2839300374, 0.0082015418),
             "ci_lower": (-0.3734615045, -0.0471531327),
             "ci_upper": (0.8763900932, -0.0110501891),
             "p_value": (0.3947518381, 0.004565545589), "qm": 12.5905455261,
             "qm_pvalue": 0.004565545589},
}  # fmt: skip


@pytest.mark.parametrize("test", ["z", "knha"])
def test_meta_regression_matches_metafor(test):
    res = meta.frequentist(YI, VI, mods={"ablat": ABLAT}, test=test)
    ref = REG[test]
    assert list(res.coef.index) == ["intercept", "ablat"]
    assert list(res.coef.columns) == ["estimate", "se", "ci_lower", "ci_upper", "p_value"]
    for col in ("estimate", "se", "ci_lower", "ci_upper"):
        np.testing.assert_allclose(res.coef[col], ref[col], atol=1e-4, err_msg=col)
    np.testing.assert_allclose(res.coef["p_value"], ref["p_value"], rtol=2e-3)
    assert res.tau2 == pytest.approx(0.0763546947, abs=1e-4)
    assert res.i2 == pytest.approx(68.3931305090, abs=1e-2)
    assert res.h2 == pytest.approx(3.1638691718, abs=1e-3)
    assert res.q == pytest.approx(30.7330900107, abs=1e-6)
    assert res.qm == pytest.approx(ref["qm"], rel=1e-3)
    assert res.qm_pvalue == pytest.approx(ref["qm_pvalue"], rel=2e-3)
    assert res.estimate == res.coef.loc["intercept", "estimate"]


@pytest.mark.parametrize(
    ("method", "beta", "tau2", "qm"),
    [
        ("DL", (0.2595437124, -0.0292287388), 0.0633005024, 18.8452335426),
        ("PM", (0.2219161999, -0.0285645305), 0.1421312634, 9.9179775561),
    ],
)
def test_meta_regression_dl_pm(method, beta, tau2, qm):
    mods = pd.DataFrame({"ablat": ABLAT})
    res = meta.frequentist(YI, VI, mods=mods, method=method)
    np.testing.assert_allclose(res.coef["estimate"], beta, atol=1e-4)
    assert res.tau2 == pytest.approx(tau2, abs=1e-4)
    assert res.qm == pytest.approx(qm, rel=1e-3)


def test_homogeneous_data_give_zero_tau2():
    yi = [0.1, 0.12, 0.09, 0.11]
    vi = [0.04, 0.05, 0.03, 0.06]
    for method in ("REML", "DL", "PM"):
        res = meta.frequentist(yi, vi, method=method)
        assert res.tau2 == 0.0
        assert res.estimate == pytest.approx(meta.frequentist(yi, vi, method="FE").estimate)
        assert res.i2 == 0.0


def test_level_changes_interval():
    narrow = meta.frequentist(YI, VI, level=0.5)
    wide = meta.frequentist(YI, VI)
    assert wide.ci_lower < narrow.ci_lower < narrow.estimate < narrow.ci_upper < wide.ci_upper


def test_forest_plot(tmp_path):
    res = meta.frequentist(YI, VI, labels=[f"trial {i}" for i in range(13)])
    fig = res.plot_forest(tmp_path / "forest.png")
    assert (tmp_path / "forest.png").stat().st_size > 1000
    assert isinstance(fig, matplotlib.figure.Figure)
    assert "REML" in repr(res)
    meta.frequentist(YI, VI, mods={"ablat": ABLAT}).plot_forest()


# -- helpers --------------------------------------------------------------------------------
def test_log_rate_ratio_matches_metafor_irr():
    # Study 2 has a zero in one arm and study 3 in both: 0.5 is added to both arms of
    # those studies only (metafor's default add=1/2, to="only0").
    yi, vi = meta.log_rate_ratio([10, 0, 0, 7], [100, 50, 40, 80], [20, 5, 0, 9], [100, 60, 40, 70])
    np.testing.assert_allclose(yi, [-0.6931471806, -2.2155737160, 0.0, -0.3848458209], atol=1e-9)
    np.testing.assert_allclose(vi, [0.15, 2.1818181818, 4.0, 0.2539682540], atol=1e-9)


def test_log_rate_ratio_zero_rules():
    yi_all, vi_all = meta.log_rate_ratio([10, 0], [1, 1], [20, 4], [1, 1], zero="add_half_all")
    assert yi_all[0] == pytest.approx(np.log(10.5 / 20.5))
    assert vi_all[1] == pytest.approx(1 / 0.5 + 1 / 4.5)
    with pytest.raises(DataError, match="zero"):
        meta.log_rate_ratio([10, 0], [1, 1], [20, 4], [1, 1], zero="error")
    with pytest.raises(SettingsError):
        meta.log_rate_ratio([1], [1], [1], [1], zero="drop")
    with pytest.raises(DataError, match="exposure_c"):
        meta.log_rate_ratio([1], [1], [1], [0])
    with pytest.raises(DataError, match="events_t"):
        meta.log_rate_ratio([-1], [1], [1], [1])
    with pytest.raises(DataError, match="events_c has 2"):
        meta.log_rate_ratio([1], [1], [1, 2], [1])


def test_hedges_g_matches_metafor_smd():
    g, vg = meta.hedges_g([1.2, 5], [2, 3.5], [20, 8], [0.4, 6], [2.5, 3], [25, 9])
    np.testing.assert_allclose(g, [0.3428274359, -0.2926379394], atol=1e-9)
    np.testing.assert_allclose(vg, [0.0913058961, 0.2386298453], atol=1e-9)


def test_hedges_g_close_to_individual_data_version():
    from fd_bayes.frequentist import hedges_g as hedges_g_ipd

    rng = np.random.default_rng(3)
    a, b = rng.normal(1.0, 2.0, 30), rng.normal(0.0, 2.0, 25)
    g_ipd = hedges_g_ipd(a, b)[0]
    g, _ = meta.hedges_g(a.mean(), a.std(ddof=1), 30, b.mean(), b.std(ddof=1), 25)
    assert g[0] == pytest.approx(g_ipd, abs=1e-3)
    with pytest.raises(DataError, match="sd2"):
        meta.hedges_g(1, 1, 10, 0, 0, 10)
    with pytest.raises(DataError, match="n1"):
        meta.hedges_g(1, 1, 1, 0, 1, 10)


class _FakeFit:
    """The two things from_fit reads from a Fit: effect_draws() and effects()."""

    def __init__(self):
        rng = np.random.default_rng(0)
        n = 4000
        # Two treated people x two crime types; knife RR ~ 0.5, violence RR ~ 1.
        base = np.array([1.0, 2.0, 1.0, 2.0])
        mu0 = base * np.exp(rng.normal(0, 0.01, (n, 4)))
        rr = np.column_stack([np.exp(rng.normal(np.log(0.5), 0.1, n)), np.ones(n)])
        mu1 = mu0 * rr[:, [0, 1, 0, 1]]
        rows = pd.DataFrame(
            {
                "person": [0, 0, 1, 1],
                "outcome": "offending",
                "crime_type": ["knife", "violence"] * 2,
                "age_band": "11-17",
            }
        )
        self.potential = PotentialOutcomes(mu1, mu0, rows, chains=2, draws=n // 2)

    def effect_draws(self, outcome="offending", level="overall", crime_type="all"):
        return self.potential.ratio_draws(outcome, level, crime_type)

    def effects(self):
        return pd.DataFrame(
            {"level": ["overall", "crime_type"], "outcome": "offending",
             "crime_type": ["all", "knife"]}
        )  # fmt: skip


def test_from_fit_uses_g_computation():
    fake = _FakeFit()
    yi, sei = meta.from_fit(fake, level="crime_type", crime_type="knife")
    assert yi == pytest.approx(np.log(0.5), abs=0.01)
    assert sei == pytest.approx(0.1, abs=0.01)
    yi_all, _ = meta.from_fit(fake)
    mu1, mu0, _ = fake.potential
    want = np.log(mu1.sum(axis=1) / mu0.sum(axis=1)).mean()  # ratio of sums, per draw
    assert yi_all == pytest.approx(want, abs=1e-12)
    with pytest.raises(DataError, match="offending/knife"):
        meta.from_fit(fake, level="crime_type", crime_type="robbery")
    with pytest.raises(SettingsError):
        meta.from_fit(fake, level="crime_type")


# -- bad input ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"yi": [0.1, 0.2], "vi": [0.1]}, "yi has 2 values but vi has 1"),
        ({"yi": [0.1, 0.2], "vi": [0.1, 0.0]}, "vi must be positive"),
        ({"yi": [0.1, 0.2], "vi": [0.1, -1.0]}, "vi must be positive"),
        ({"yi": [0.1], "vi": [0.1]}, "at least 2 studies"),
        ({"yi": [0.1, np.nan], "vi": [0.1, 0.1]}, "missing"),
        ({"yi": [0.1, 0.2], "vi": [0.1, 0.2], "mods": {"x": [1]}}, "mods has 1 rows"),
        ({"yi": [0.1, 0.2], "vi": [0.1, 0.2], "mods": {"x": [1, 2]}}, "no residual"),
        ({"yi": [0.1, 0.2, 0.3], "vi": [0.1, 0.2, 0.1], "mods": {"x": [1, 1, 1]}}, "collinear"),
        ({"yi": [], "vi": []}, "no studies"),
    ],
)
def test_bad_input_raises_data_error(kwargs, match):
    with pytest.raises(DataError, match=match):
        meta.frequentist(**kwargs)


def test_bad_settings():
    with pytest.raises(SettingsError, match="method"):
        meta.frequentist(YI, VI, method="HS")
    with pytest.raises(SettingsError, match="test"):
        meta.frequentist(YI, VI, test="t")


def test_single_study_fixed_effect_is_the_study():
    res = meta.frequentist([0.3], [0.04], method="FE")
    assert res.estimate == pytest.approx(0.3) and res.se == pytest.approx(0.2)


def test_bayes_model_builds_without_sampling_and_checks_input():
    model = meta.build_bayes_model(YI[:4], np.sqrt(VI[:4]), prior_tau="turner")
    assert {"mu", "tau", "z", "z_new"} <= {v.name for v in model.free_RVs}
    with pytest.raises(DataError, match="sei must be positive"):
        meta.build_bayes_model([0.1, 0.2], [0.1, 0.0])
    with pytest.raises(SettingsError, match="prior_tau"):
        meta.build_bayes_model([0.1, 0.2], [0.1, 0.1], prior_tau="uniform")
    with pytest.raises(DataError, match="labels"):
        meta.build_bayes_model([0.1, 0.2], [0.1, 0.1], labels=["a"])


# -- sampler settings, names, figures ------------------------------------------------------
def test_bayes_takes_keywords_or_one_settings_object(monkeypatch):
    from fd_bayes.inference import SamplerSettings
    from fd_bayes.meta import bayesian as bayes_module

    captured = {}

    class _Result:
        idata, sampler = None, "fake"

    def fake_run_nuts(model, **kwargs):
        captured.update(kwargs)
        return _Result()

    monkeypatch.setattr(bayes_module, "run_nuts", fake_run_nuts)
    meta.bayes(YI[:4], np.sqrt(VI[:4]), seed=1)
    assert captured == {
        "sampler": "auto",
        "draws": 2000,
        "tune": 1000,
        "chains": 4,
        "seed": 1,
        "target_accept": meta.META_TARGET_ACCEPT,
        "progress": False,
        "cores": None,
        "low_rank": False,
        "label": "meta-analysis of 4 studies",
    }
    settings = SamplerSettings(draws=50, tune=20, chains=2, target_accept=0.99)
    meta.bayes(YI[:4], np.sqrt(VI[:4]), seed=2, settings=settings)
    assert (captured["draws"], captured["tune"], captured["chains"]) == (50, 20, 2)
    assert captured["target_accept"] == 0.99 and captured["progress"] is True
    with pytest.raises(SettingsError, match="not both: draws"):
        meta.bayes(YI[:4], np.sqrt(VI[:4]), draws=10, settings=settings)
    with pytest.raises(SettingsError, match="draws"):
        meta.bayes(YI[:4], np.sqrt(VI[:4]), draws=0)
    assert meta.bayes_settings() == SamplerSettings(**meta.BAYES_DEFAULTS)


def test_public_names_of_meta_stay():
    from fd_bayes.data import aggregate
    from fd_bayes.report import pooled

    names = {
        "BayesMetaResult", "DEFAULT_OUTCOME", "DataError", "HDI_PROB", "META_TARGET_ACCEPT",
        "METHODS", "MetaResult", "SettingsError", "TAU_PRIORS", "TESTS",
        "TURNER_LOG_TAU2_MEAN", "TURNER_LOG_TAU2_SD", "ZERO_RULES", "bayes", "bayes_combined",
        "build_bayes_model", "frequentist", "from_fit", "hedges_g", "log_rate_ratio",
    }  # fmt: skip
    assert names <= set(dir(meta)) and set(meta.__all__) <= set(dir(meta))
    assert callable(meta.bayes)  # the function (its module is fd_bayes.meta.bayesian)
    # what the flat ``fd_bayes.pooling`` had: the file writers in the report layer, the
    # aggregate-data reader in the data layer
    for name in ("AGGREGATE_FILES", "aggregate_markdown", "pool_aggregate"):
        assert hasattr(pooled, name)
    assert {"read_aggregate", "COUNT_COLUMNS"} <= set(dir(aggregate))


def test_forest_plot_rows_and_pooled_diamond():
    res = meta.frequentist(YI[:5], VI[:5], labels=list("abcde"))
    ax = res.plot_forest().axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == [*"abcde", "Pooled"]
    assert ax.get_title() == "REML random-effects"
    fe = meta.frequentist(YI[:5], VI[:5], method="FE").plot_forest().axes[0]
    assert fe.get_title() == "FE fixed-effect"
