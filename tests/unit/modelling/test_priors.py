"""The priors view (fd_bayes.priors) and the sceptical spec: no MCMC."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

import fd_bayes as fdb
from fd_bayes.errors import SettingsError
from fd_bayes.modelling.priors import PRIOR_COLUMNS, implied, priors, scipy_dist
from fd_bayes.modelling.spec import Prior, load_spec
from fd_bayes.results.fit import Fit
from tests.helpers import handmade_fit, small_counts

TREATMENT_PRIORS = {"effect_overall", "crime_sd", "outcome_effect", "age_effect", "cell_sd"}


def _row(table, name):
    rows = table[table["prior"] == name]
    assert len(rows) == 1, name
    return rows.iloc[0]


def test_one_row_per_prior_in_spec_order():
    spec = load_spec("negbin_hier")
    table = priors("negbin_hier")
    assert list(table.columns) == PRIOR_COLUMNS
    assert list(table["prior"]) == list(spec.priors)
    assert (table["parameter"].str.len() > 10).all()
    assert (table["implied"].str.len() > 10).all()  # every prior of the default implies something
    assert (table["note"] == "").all()
    row = _row(table, "effect_overall")
    assert (row["dist"], row["params"]) == ("Normal", "mu=0, sigma=0.5")
    assert row["parameter"].startswith("log rate ratio common to all cells")


def test_effect_prior_implies_rate_ratios():
    assert implied("effect_overall", Prior("Normal", {"mu": 0.0, "sigma": 0.5})) == (
        "95% prior mass on rate ratios 0.38 to 2.66; prior P(RR < 1) = 0.50"
    )
    # computed from the distribution, not hard-coded: an off-centre override
    table = priors("negbin_hier", {"effect_overall": {"dist": "Normal", "mu": -0.2, "sigma": 0.3}})
    z = stats.norm.ppf(0.975)
    lo, hi = math.exp(-0.2 - z * 0.3), math.exp(-0.2 + z * 0.3)
    p = stats.norm.cdf(0.2 / 0.3)
    assert _row(table, "effect_overall")["implied"] == (
        f"95% prior mass on rate ratios {lo:.2f} to {hi:.2f}; prior P(RR < 1) = {p:.2f}"
    )
    assert _row(table, "effect_overall")["params"] == "mu=-0.2, sigma=0.3"


def test_sd_priors_give_the_median():
    table = priors("negbin_hier")
    crime = _row(table, "crime_sd")["implied"]
    median = stats.halfnorm(scale=0.4).median()
    assert crime.startswith(f"median SD {median:.2f}: at that SD, 95% of crime-type")
    assert f"×/÷ {math.exp(1.96 * median):.2f}" in crime
    disp = _row(table, "inv_sqrt_dispersion")["implied"]
    half = stats.halfnorm(scale=0.7).median()  # the spec's HalfNormal(0.7)
    assert disp.startswith(f"median {half:.2f}, i.e. NB shape phi = {1 / half**2:.2f}")
    assert disp.startswith("median 0.47, i.e. NB shape phi = 4.49")
    assert "control rate per person-year: median 0.37" in _row(table, "intercept")["implied"]


@pytest.mark.parametrize(
    ("prior", "reference"),
    [
        (Prior("HalfStudentT", {"nu": 3.0, "sigma": 0.5}), None),
        (Prior("Exponential", {"lam": 2.0}), stats.expon(scale=0.5)),
        (Prior("Gamma", {"alpha": 2.0, "beta": 4.0}), stats.gamma(a=2.0, scale=0.25)),
    ],
)
def test_other_positive_distributions(prior, reference):
    dist = scipy_dist(prior)
    if reference is None:  # half-t: check against draws of |t|
        draws = np.abs(stats.t(df=3, scale=0.5).rvs(200_000, random_state=1))
        assert dist.median() == pytest.approx(np.median(draws), rel=0.02)
        assert dist.cdf(dist.ppf(0.8)) == pytest.approx(0.8)
    else:
        assert dist.median() == pytest.approx(reference.median())
    text = implied("person_sd", prior)
    assert text.startswith(f"median SD {dist.median():.2f}")


def test_zero_sum_prior_depends_on_the_number_of_levels():
    prior = Prior("ZeroSumNormal", {"sigma": 0.4})
    # PyMC's ZeroSumNormal: each of n elements has SD sigma * sqrt(1 - 1/n)
    assert scipy_dist(prior, 2).std() == pytest.approx(0.4 / math.sqrt(2))
    assert scipy_dist(prior).std() == pytest.approx(0.4)
    two, many = math.exp(1.96 * 0.4 / math.sqrt(2)), math.exp(1.96 * 0.4)
    text = implied("age_effect", prior)
    assert f"×/÷ {two:.2f} with two levels, ×/÷ {many:.2f} with many" in text
    assert f"×/÷ {two:.2f} (95% prior mass, 2 levels)" in implied("age_effect", prior, 2)


def test_zero_part_and_correlation_priors():
    share = implied("zi_intercept", Prior("Normal", {"mu": -2.0, "sigma": 1.0}))
    lo, hi = 1 / (1 + np.exp(2 + 1.96)), 1 / (1 + np.exp(2 - 1.96))
    assert share == f"share: median 0.12, 95% prior mass on {lo:.2g} to {hi:.2f}"
    odds = implied("hurdle_treated", Prior("Normal", {"mu": 0.0, "sigma": 0.5}))
    assert odds == "95% prior mass on odds ratios 0.38 to 2.66"
    # LKJ(2) with two outcomes: rho = 2 B - 1, B ~ Beta(2, 2); check against draws
    draws = 2 * stats.beta(2, 2).rvs(400_000, random_state=2) - 1
    q = np.quantile(draws, 0.975)
    corr = implied("person_corr", Prior("LKJCorr", {"eta": 2.0}))
    assert corr == f"95% prior mass on correlations {-q:.2f} to {q:.2f} (2 outcomes)"
    assert "(3 outcomes)" in implied("person_corr", Prior("LKJCorr", {"eta": 2.0}), 3)


def test_a_fit_shows_the_priors_it_was_fitted_with():
    # two crime types, one outcome, two age bands, four cells
    fit, _, _ = handmade_fit(small_counts(), intercept=-0.5, theta=-0.3)
    override = {"effect_overall": {"dist": "Normal", "mu": 0.0, "sigma": 0.3}}
    fitted = Fit(fit.idata, fit.spec.with_priors(override), fit.design)
    table = priors(fitted)
    assert _row(table, "effect_overall")["params"] == "mu=0, sigma=0.3"
    assert _row(table, "outcome_effect")["note"].startswith("not used in this fit")
    assert "too few" in _row(table, "crime_sd")["note"]
    derived = _row(table, "crime_effect")
    assert derived["dist"] == "ZeroSumNormal" and derived["params"] == "sigma=0.4"
    assert derived["note"] == "derived in this fit from crime_sd's scale"
    assert "2 levels" in derived["implied"]
    assert "2 levels" in _row(table, "age_effect")["implied"]
    assert _row(table, "cell_sd")["note"] == ""  # four cells: a variance component
    with pytest.raises(SettingsError, match="overrides apply to a spec"):
        priors(fitted, override)


def test_bad_input():
    with pytest.raises(SettingsError, match="catalogue name"):
        priors(3)
    with pytest.raises(fdb.SpecError, match="unknown model"):
        priors("nb_hier")


# -- the sceptical spec ---------------------------------------------------------------------
def test_sceptical_spec_is_in_the_catalogue():
    assert "negbin_sceptical" in fdb.available_models()
    scep, hier = load_spec("negbin_sceptical"), load_spec("negbin_hier")
    assert (scep.family, scep.terms, scep.treatment) == (hier.family, hier.terms, hier.treatment)
    differ = {k for k in hier.priors if scep.priors[k] != hier.priors[k]}
    assert differ == TREATMENT_PRIORS  # nuisance priors are the default's
    assert set(scep.priors) == set(hier.priors)


def test_sceptical_spec_says_what_its_comment_claims():
    prior = load_spec("negbin_sceptical").priors["effect_overall"]
    assert prior.params["mu"] == 0.0
    dist = scipy_dist(prior)
    lo, hi = np.exp(dist.ppf([0.025, 0.975]))
    assert (round(lo, 2), round(hi, 2)) == (0.68, 1.48)
    assert dist.cdf(math.log(0.72)) == pytest.approx(0.05, abs=0.001)  # 5% beyond 28%
    assert dist.cdf(math.log(0.46)) < 1 / 19_000
    assert "rate ratios 0.68 to 1.48" in implied("effect_overall", prior)
    for name in ("crime_sd", "cell_sd", "outcome_effect", "age_effect"):
        hier = load_spec("negbin_hier").priors[name].params["sigma"]
        assert load_spec("negbin_sceptical").priors[name].params["sigma"] == hier / 2
