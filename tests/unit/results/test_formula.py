"""The Bambi formula path without MCMC: formula checks, the frame handed to Bambi
(privacy), the counterfactual frames and the expected count of each family."""

from __future__ import annotations

import sys
import warnings

import numpy as np
import pandas as pd
import pytest

import fd_bayes as fdb
from fd_bayes.errors import FdBayesError, ModelNote, SettingsError
from fd_bayes.inference import (
    FAMILIES,
    OFFSET_COLUMN,
    bambi_frame,
    check_formula,
    counterfactual_frame,
    family_loglik,
    family_mean,
)
from fd_bayes.results import FormulaFit, fit_formula
from tests.helpers import small_counts


@pytest.fixture
def trial() -> fdb.Trial:
    return fdb.Trial.from_counts(small_counts())


class _Stop(Exception):
    """Raised instead of sampling by the spy below."""


@pytest.fixture
def bambi_spy(monkeypatch):
    """Record the data every bambi.Model receives and stop before any sampling."""
    bmb = pytest.importorskip("bambi")
    seen: dict = {}
    original = bmb.Model.__init__

    def init(self, formula, data, *args, **kwargs):
        seen["data"] = data.copy()
        seen["kwargs"] = kwargs
        original(self, formula, data, *args, **kwargs)
        seen["model"] = self

    def fit(self, *args, **kwargs):
        seen["fit_kwargs"] = kwargs
        raise _Stop

    monkeypatch.setattr(bmb.Model, "__init__", init)
    monkeypatch.setattr(bmb.Model, "fit", fit)
    return seen


# -- the frame handed to Bambi ----------------------------------------------------------
def test_bambi_frame_has_no_person_identifiers(trial):
    frame = bambi_frame(trial)
    ids = set(trial.data["person_id"].astype(str))
    assert isinstance(frame["person_id"].dtype, pd.CategoricalDtype)
    np.testing.assert_array_equal(frame["person_id"].to_numpy(int), trial.person_index())
    for column in frame.columns:
        values = set(frame[column].astype(str))
        assert not values & ids, f"person identifiers in column {column}"


def test_bambi_frame_columns_and_coding(trial):
    frame = bambi_frame(trial)
    assert list(frame.columns) == [
        "person_id",
        "arm",
        "age_band",
        "crime_type",
        "outcome",
        "pre_count",
        "post_count",
        "exposure_days",
        OFFSET_COLUMN,
    ]
    # control first, so Bambi's coefficient arm[treatment] is treatment vs control
    assert list(frame["arm"].cat.categories) == ["control", "treatment"]
    np.testing.assert_allclose(
        frame[OFFSET_COLUMN], np.log(trial.data["exposure_days"].to_numpy() / 365.0)
    )
    np.testing.assert_array_equal(frame["post_count"], trial.data["post_count"])


def test_bambi_frame_keeps_trial_only_when_pooled():
    a = small_counts(seed=1).assign(trial="site A")
    b = small_counts(seed=2).assign(trial="site B")
    pooled = fdb.Trial.from_counts(pd.concat([a, b], ignore_index=True))
    assert "trial" in bambi_frame(pooled).columns
    assert "trial" not in bambi_frame(fdb.Trial.from_counts(a)).columns


def test_counterfactual_frame(trial):
    frame = bambi_frame(trial)
    rows = np.flatnonzero(frame["arm"] == "treatment")
    for arm in ("treatment", "control"):
        cf = counterfactual_frame(frame, rows, arm)
        assert len(cf) == len(rows)
        assert (cf["arm"] == arm).all()
        assert list(cf["arm"].cat.categories) == ["control", "treatment"]
        assert (cf["exposure_days"] == 365.0).all()
        assert (cf[OFFSET_COLUMN] == 0.0).all()
        kept = ["person_id", "age_band", "crime_type", "outcome", "pre_count", "post_count"]
        pd.testing.assert_frame_equal(
            cf[kept], frame.iloc[rows][kept].reset_index(drop=True), check_categorical=True
        )
        assert list(cf["person_id"].cat.categories) == list(frame["person_id"].cat.categories)
    # the input is left alone
    assert (frame.loc[rows, "arm"] == "treatment").all()
    with pytest.raises(SettingsError, match="arm must be"):
        counterfactual_frame(frame, rows, "placebo")


# -- checking the formula ---------------------------------------------------------------
COLUMNS = list(bambi_frame(fdb.Trial.from_counts(small_counts())).columns)


def test_formula_without_arm_is_refused():
    with pytest.raises(SettingsError, match="does not use 'arm'"):
        check_formula("post_count ~ crime_type + (1|person_id)", COLUMNS)


def test_unknown_columns_are_named_with_the_available_ones():
    with pytest.raises(SettingsError) as err:
        check_formula("post_count ~ arm + crime + log1p(pre)", COLUMNS)
    message = str(err.value)
    assert "['crime', 'pre']" in message
    for column in COLUMNS:
        assert column in message


def test_formula_must_model_post_count():
    with pytest.raises(SettingsError, match="must model 'post_count'"):
        check_formula("pre_count ~ arm", COLUMNS)
    with pytest.raises(SettingsError, match="formula must be a string"):
        check_formula(None, COLUMNS)
    with pytest.raises(SettingsError, match="could not read the formula"):
        check_formula("post_count ~ arm +", COLUMNS)


def test_valid_formulas_pass():
    check_formula(
        "post_count ~ arm * crime_type + log1p(pre_count) + (1|person_id)"
        " + offset(log_exposure_years)",
        COLUMNS,
    )
    check_formula("post_count ~ 0 + arm:crime_type + (0 + arm | age_band)", COLUMNS)
    check_formula("post_count ~ arm + np.log(exposure_days) + scale(pre_count)", COLUMNS)


def test_fit_checks_before_sampling(trial):
    with pytest.raises(SettingsError, match="does not use 'arm'"):
        fdb.fit(trial, formula="post_count ~ crime_type")
    with pytest.raises(SettingsError, match="unknown family"):
        fdb.fit(trial, formula="post_count ~ arm", family="gaussian")
    with pytest.raises(SettingsError, match="not both"):
        fdb.fit(trial, "poisson_hier", formula="post_count ~ arm")
    with pytest.raises(SettingsError, match="family= is for formula"):
        fdb.fit(trial, family="poisson")
    with pytest.raises(SettingsError, match="draws"):
        fdb.fit(trial, formula="post_count ~ arm", draws=0)


def test_missing_bambi_says_how_to_install(trial, monkeypatch):
    monkeypatch.setitem(sys.modules, "bambi", None)
    with pytest.raises(SettingsError, match=r"pip install 'fd_bayes\[bambi\]'"):
        fit_formula(trial, "post_count ~ arm + offset(log_exposure_years)")


# -- what Bambi receives ----------------------------------------------------------------
def test_bambi_receives_codes_not_identifiers(trial, bambi_spy):
    with pytest.raises(_Stop):
        fdb.fit(
            trial,
            formula="post_count ~ arm + (1|person_id) + offset(log_exposure_years)",
            family="poisson",
            seed=3,
            sampler="pymc",
            chains=2,
            progress=False,
        )
    data = bambi_spy["data"]
    ids = set(trial.data["person_id"].astype(str))
    assert not set(data["person_id"].astype(str)) & ids
    assert not set(bambi_spy["model"].data["person_id"].astype(str)) & ids
    kwargs = bambi_spy["fit_kwargs"]
    assert kwargs["inference_method"] == "pymc"
    assert kwargs["chains"] == 2
    # the sampler's seed is derived from the fit's seed, so it repeats
    with pytest.raises(_Stop):
        fit_formula(
            trial,
            "post_count ~ arm + (1|person_id) + offset(log_exposure_years)",
            family="poisson",
            seed=3,
            sampler="pymc",
            chains=2,
            progress=False,
        )
    assert bambi_spy["fit_kwargs"]["random_seed"] == kwargs["random_seed"]


def test_no_offset_is_a_model_note(trial, bambi_spy):
    with pytest.warns(ModelNote, match="per follow-up period, not per year"):
        with pytest.raises(_Stop):
            fit_formula(trial, "post_count ~ arm + crime_type", progress=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ModelNote)
        with pytest.raises(_Stop):
            fit_formula(trial, "post_count ~ arm + offset(log_exposure_years)", progress=False)


# -- expected counts per family ---------------------------------------------------------
def test_family_mean_plain_families():
    mu = np.array([[0.1, 2.0], [0.5, 3.0]])
    for family in ("poisson", "negativebinomial"):
        np.testing.assert_array_equal(family_mean(family, {"mu": mu, "alpha": 2.0}), mu)
    psi = np.array([[0.3], [0.8]])
    for family in ("zero_inflated_poisson", "zero_inflated_negativebinomial"):
        np.testing.assert_allclose(family_mean(family, {"mu": mu, "psi": psi}), psi * mu)
    with pytest.raises(SettingsError, match="unknown family"):
        family_mean("gaussian", {"mu": mu})
    assert set(FAMILIES) >= {"poisson", "negativebinomial"}


def _pymc_distribution(family: str, mu: float, alpha: float, psi: float):
    import pymc as pm

    return {
        "poisson": lambda: pm.Poisson.dist(mu=mu),
        "negativebinomial": lambda: pm.NegativeBinomial.dist(mu=mu, alpha=alpha),
        "zero_inflated_poisson": lambda: pm.ZeroInflatedPoisson.dist(psi=psi, mu=mu),
        "zero_inflated_negativebinomial": lambda: pm.ZeroInflatedNegativeBinomial.dist(
            psi=psi, mu=mu, alpha=alpha
        ),
        "hurdle_poisson": lambda: pm.HurdlePoisson.dist(psi=psi, mu=mu),
        "hurdle_negativebinomial": lambda: pm.HurdleNegativeBinomial.dist(
            psi=psi, mu=mu, alpha=alpha
        ),
    }[family]()


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # PyMC's truncation (hurdles)
@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_family_mean_and_loglik_match_pymc(family):
    """Against PyMC's own distributions (the ones Bambi's likelihoods use): the
    log-pmf element by element, and the mean as sum(x * pmf(x))."""
    pm = pytest.importorskip("pymc")
    mu, alpha, psi = 1.7, 0.6, 0.35
    x = np.arange(0, 400)
    logp = pm.logp(_pymc_distribution(family, mu, alpha, psi), x).eval()
    pmf = np.exp(logp)
    assert pmf.sum() == pytest.approx(1.0, abs=1e-9)
    params = {"mu": mu, "alpha": alpha, "psi": psi}
    ours = family_loglik(family, x, params)
    # PyMC's zero-inflated Poisson works in probability space: it loses precision near
    # underflow and then gives -inf (x ~ 195 here), where ours stays finite; compare
    # where PyMC's probabilities are normal floating-point numbers
    finite = logp > -700
    assert finite[:150].all()
    assert np.isfinite(ours).all()
    np.testing.assert_allclose(ours[finite], logp[finite], rtol=1e-8)
    assert float(family_mean(family, params)) == pytest.approx(float((x * pmf).sum()), rel=1e-9)


def test_family_loglik_broadcasts_draws_against_rows():
    mu = np.array([[0.5, 1.0, 4.0], [0.7, 2.0, 3.0]])  # (draws, rows)
    alpha = np.array([[0.8], [1.5]])  # one per draw
    y = np.array([0, 2, 7])
    got = family_loglik("negativebinomial", y, {"mu": mu, "alpha": alpha})
    for d in range(2):
        for r in range(3):
            one = family_loglik("negativebinomial", y[r], {"mu": mu[d, r], "alpha": alpha[d, 0]})
            assert got[d, r] == pytest.approx(float(one))
    with pytest.raises(SettingsError, match="unknown family"):
        family_loglik("gaussian", y, {"mu": mu})


def test_formula_fits_cannot_be_saved(tmp_path):
    fit = FormulaFit.__new__(FormulaFit)  # saving is refused before anything is read
    with pytest.raises(FdBayesError, match="cannot be saved yet"):
        fit.save(tmp_path / "fit.nc")
    assert not (tmp_path / "fit.nc").exists()
