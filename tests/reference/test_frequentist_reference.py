"""Reference numbers for ``fd_bayes.frequentist``, pinned with their source.

R is NOT needed to run these tests: the numbers below were computed once and frozen,
with the exact commands alongside (the convention of statsmodels' ``tests/results``).

Sources
-------
1. ``data/small_trial.csv``: a small synthetic trial written by
   ``fd_bayes.simulate_trial({"11-17": 15, "18-25": 15}, {"11-17": 20, "18-25": 20},
   crime_types={"knife": 1.5}, rate_ratios=0.6, dispersion=1.5, person_sd=0.3, seed=7)``;
   results from R 4.2.2 (Debian bookworm), MASS 7.3.58.2::

       library(MASS); options(digits = 15)
       d <- read.csv("small_trial.csv")
       d$treat <- as.integer(d$arm == "treatment"); d$years <- d$exposure_days / 365
       m <- glm.nb(post_count ~ treat + log1p(pre_count) + age_band + offset(log(years)),
                   data = d)
       coef(summary(m)); m$theta; m$SE.theta; logLik(m)
       p <- glm(post_count ~ treat + log1p(pre_count) + age_band + offset(log(years)),
                family = poisson, data = d)
       X <- model.matrix(p); r <- residuals(p, type = "response")
       B <- solve(crossprod(X, X * fitted(p))); V <- B %*% crossprod(X * r) %*% B  # HC0
       sqrt(diag(V))
       y1 <- sum(d$post_count[d$treat == 1]); y0 <- sum(d$post_count[d$treat == 0])
       T1 <- sum(d$years[d$treat == 1]); T0 <- sum(d$years[d$treat == 0])
       poisson.test(c(y1, y0), c(T1, T0))
       a <- sum(d$post_count[d$treat == 1] > 0); c0 <- sum(d$post_count[d$treat == 0] > 0)
       fisher.test(matrix(c(a, sum(d$treat) - a, c0, sum(1 - d$treat) - c0), 2,
                          byrow = TRUE))$p.value
       rt <- d$post_count / d$years
       wilcox.test(rt[d$treat == 1], rt[d$treat == 0], exact = FALSE, correct = TRUE)
       t.test(d$post_count[d$treat == 1], d$post_count[d$treat == 0])

2. HSAUR polyps trial (Giardiello et al. 1993 via Piantadosi 1997), ``data/polyps.csv``
   written from HSAUR3 1.0.13 (``write.csv(polyps, row.names = FALSE)``). The Poisson
   GLM is the published one (Everitt & Hothorn, *A Handbook of Statistical Analyses
   Using R*, GLM chapter: treatdrug -1.359083 (SE 0.117643), age -0.038830
   (SE 0.005955)); full precision and the NB2 fit from R::

       data("polyps", package = "HSAUR3")
       coef(summary(glm(number ~ treat + age, data = polyps, family = poisson())))
       pn <- glm.nb(number ~ treat + age, data = polyps); coef(summary(pn)); pn$theta

3. RAND Health Insurance Experiment (``statsmodels.datasets.randhie``): NB2 coefficients
   from R 2.15.1, MASS 7.3-22 ``glm.nb(mdvis ~ ., data = randhie)`` as frozen in
   statsmodels ``discrete/tests/results/results_discrete.py``
   (``RandHIE.negativebinomial_nb2_bfgs``; alpha = exp(lnalpha) from Stata there).

Standard errors: ``glm.nb`` reports SEs from the expected information of the mean
parameters with theta held fixed; ``fd_bayes`` (statsmodels ``NegativeBinomial``)
inverts the observed Hessian including alpha. They agree asymptotically and differ by
< 1 % here, so NB SEs are compared with ``rtol=1e-2``; estimates to ``rtol=1e-5``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import fd_bayes as fdb
from fd_bayes import frequentist as fq

DATA = Path(__file__).parent / "data"
Z95 = 1.959963984540054

# -- 1. small_trial.csv (R 4.2.2, MASS 7.3.58.2) -------------------------------------------
R_NB_COEF = [-0.186751472930685, -0.494615266399496, 0.352146077787799, 0.106519597525875]
R_NB_SE = [0.288707856854740, 0.330685723697305, 0.252840285152557, 0.343943891693780]
R_NB_THETA = 1.83450329934570
R_NB_LOGLIK = -87.74784642586991
R_POIS_COEF = [-0.1703921369778037, -0.5264985483702168, 0.3762741446543947, 0.0767917985609738]
R_POIS_HC0_SE = [0.334436450681119, 0.337497401888249, 0.261573937120640, 0.351997369280948]
R_POISSON_TEST = {  # y1 = 19, y0 = 44, T1 = 27.9945205479452, T0 = 37.8191780821918
    "estimate": 0.5833644726774498,
    "lower": 0.3216605783518581,
    "upper": 1.0201762019819247,
    "p_value": 0.0553343432626557,
}
R_FISHER_P = 0.236754219239919
R_WILCOX_P = 0.164100955875345  # W = 491.5
R_TTEST = {
    "estimate": 0.633333333333333 - 1.100000000000000,
    "lower": -1.029209406161280,
    "upper": 0.095876072827946,
    "p_value": 0.102448918460533,
}

# -- 2. polyps (HSAUR3 1.0.13) --------------------------------------------------------------
R_POLYPS_POIS_COEF = [4.5290243432376336, -1.3590833764827537, -0.0388302708395277]
R_POLYPS_POIS_SE = [0.14687198155724004, 0.11764327047096501, 0.00595527886439652]
R_POLYPS_NB_COEF = [4.526030083279784, -1.368122807377216, -0.038557799088148]
R_POLYPS_NB_THETA = 1.719490999678474

# -- 3. RAND HIE (statsmodels results_discrete.py, R 2.15.1 MASS 7.3-22 glm.nb) -------------
R_RANDHIE_NB2_COEF = [
    -0.0579469537244314,
    -0.267787718814838,
    0.0412060770911646,
    -0.0381376804392121,
    0.268915772213171,
    0.0381637446219235,
    -0.0441338846217674,
    0.0172521803400544,
    0.177960787443151,
    0.663556087183864,  # constant (last)
]
STATA_RANDHIE_LNALPHA = 0.256929012449
# Poisson on the same design, Stata 11 (statsmodels results_discrete.py, RandHIE.poisson):
# ``poisson mdvis lncoins idp lpi fmde physlm disea hlthg hlthf hlthp``; constant last.
STATA_RANDHIE_POISSON_COEF = [
    -0.052535114675,
    -0.247086797633,
    0.035290201794,
    -0.03457750643,
    0.271713973711,
    0.033941474461,
    -0.012635035534,
    0.054056326828,
    0.206115121809,
    0.700352877227,
]
STATA_RANDHIE_POISSON_SE = [
    0.00288398915279,
    0.01061725196728,
    0.00182833684966,
    0.00161284852954,
    0.01223913844387,
    0.00056476496963,
    0.00925061122826,
    0.01530987068312,
    0.02627928267502,
    0.01116266712362,
]


@pytest.fixture(scope="module")
def small():
    d = pd.read_csv(DATA / "small_trial.csv", dtype={"person_id": str})
    years = d["exposure_days"].to_numpy() / 365.0
    X = np.column_stack(
        [
            np.ones(len(d)),
            (d["arm"] == "treatment").to_numpy(float),
            np.log1p(d["pre_count"].to_numpy(float)),
            (d["age_band"] == "18-25").to_numpy(float),
        ]
    )
    return d, X, d["post_count"].to_numpy(float), np.log(years)


@pytest.fixture(scope="module")
def small_table():
    trial = fdb.Trial.read_csv(DATA / "small_trial.csv")
    table = fq.compare(trial, n_permutations=200, seed=1)
    return table[table["age_band"] == "all"].set_index("method")


def test_negbin_matches_glm_nb(small):
    _, X, y, offset = small
    fit = fq.fit_negbin(y, X, offset)
    assert fit.converged
    np.testing.assert_allclose(fit.params, R_NB_COEF, rtol=1e-5)
    np.testing.assert_allclose(1.0 / fit.alpha, R_NB_THETA, rtol=1e-4)
    # treatment SE within 1 %; the baseline-slope SE, where observed and expected
    # information differ most, within 5 %
    assert fit.bse[1] == pytest.approx(R_NB_SE[1], rel=1e-2)
    np.testing.assert_allclose(fit.bse, R_NB_SE, rtol=5e-2)


def test_compare_negbin_row_matches_glm_nb(small_table):
    row = small_table.loc["negbin_glm"]
    assert row["estimate"] == pytest.approx(np.exp(R_NB_COEF[1]), rel=1e-5)
    se = (np.log(row["upper"]) - np.log(row["lower"])) / (2 * Z95)
    assert se == pytest.approx(R_NB_SE[1], rel=1e-2)


def test_poisson_robust_matches_r_sandwich(small, small_table):
    _, X, y, offset = small
    fit = fq.fit_poisson(y, X, offset)
    np.testing.assert_allclose(fit.params, R_POIS_COEF, rtol=1e-6)
    np.testing.assert_allclose(fit.bse, R_POIS_HC0_SE, rtol=1e-6)
    row = small_table.loc["poisson_glm"]
    assert row["upper"] == pytest.approx(np.exp(R_POIS_COEF[1] + Z95 * R_POIS_HC0_SE[1]), 1e-6)


def test_rate_test_matches_poisson_test(small_table):
    row = small_table.loc["rate_test"]
    for key, value in R_POISSON_TEST.items():
        assert row[key] == pytest.approx(value, rel=1e-6), key


def test_fisher_wilcox_welch_match_r(small_table):
    assert small_table.loc["fisher_any", "p_value"] == pytest.approx(R_FISHER_P, rel=1e-6)
    assert small_table.loc["mann_whitney", "p_value"] == pytest.approx(R_WILCOX_P, rel=1e-6)
    row = small_table.loc["welch_t"]
    for key, value in R_TTEST.items():
        assert row[key] == pytest.approx(value, rel=1e-6), key


@pytest.fixture(scope="module")
def polyps():
    d = pd.read_csv(DATA / "polyps.csv")
    X = np.column_stack(
        [np.ones(len(d)), (d["treat"] == "drug").to_numpy(float), d["age"].to_numpy(float)]
    )
    return d["number"].to_numpy(float), X


def test_polyps_poisson_published(polyps):
    y, X = polyps
    fit = fq.fit_poisson(y, X, robust=False)
    # the published (rounded) values of the HSAUR GLM chapter; R's glm() reports SEs
    # from the weights of its last IRLS step (deviance tolerance 1e-8), statsmodels at
    # the converged estimate: they differ in the 5th significant digit
    assert fit.params[1] == pytest.approx(-1.359083, abs=5e-7)
    assert fit.bse[1] == pytest.approx(0.117643, abs=5e-6)
    assert fit.params[2] == pytest.approx(-0.038830, abs=5e-7)
    assert fit.bse[2] == pytest.approx(0.005955, abs=5e-7)
    np.testing.assert_allclose(fit.params, R_POLYPS_POIS_COEF, rtol=1e-6)
    np.testing.assert_allclose(fit.bse, R_POLYPS_POIS_SE, rtol=1e-4)


def test_polyps_negbin_matches_glm_nb(polyps):
    y, X = polyps
    fit = fq.fit_negbin(y, X)
    assert fit.converged
    np.testing.assert_allclose(fit.params, R_POLYPS_NB_COEF, rtol=1e-5)
    np.testing.assert_allclose(1.0 / fit.alpha, R_POLYPS_NB_THETA, rtol=1e-4)


def test_randhie_negbin_matches_glm_nb():
    from statsmodels.datasets import randhie

    data = randhie.load_pandas()
    X = np.column_stack([data.exog.to_numpy(float), np.ones(len(data.exog))])
    fit = fq.fit_negbin(data.endog.to_numpy(float), X)
    assert fit.converged
    np.testing.assert_allclose(fit.params, R_RANDHIE_NB2_COEF, rtol=1e-4, atol=1e-6)
    assert np.log(fit.alpha) == pytest.approx(STATA_RANDHIE_LNALPHA, rel=1e-4)


def test_randhie_poisson_matches_stata():
    from statsmodels.datasets import randhie

    data = randhie.load_pandas()
    X = np.column_stack([data.exog.to_numpy(float), np.ones(len(data.exog))])
    fit = fq.fit_poisson(data.endog.to_numpy(float), X, robust=False)
    np.testing.assert_allclose(fit.params, STATA_RANDHIE_POISSON_COEF, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(fit.bse, STATA_RANDHIE_POISSON_SE, rtol=1e-4)
