"""Published trials in a pooled model (one-stage IPD + aggregate data, issue 7): the data
class, the model's extra likelihood term checked against numpy, the design's round trip,
and the effects rows (no MCMC here)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import fd_bayes as fdb
from fd_bayes.errors import DataError, SettingsError
from fd_bayes.modelling import (
    INDIVIDUAL_DATA,
    Design,
    build_model,
    model_data,
    resolve_structure,
)
from fd_bayes.modelling.spec import load_spec
from fd_bayes.report.exports import disclosed
from fd_bayes.results.effects import EFFECT_COLUMNS, insert_published, published_rows
from tests.helpers import small_counts

PUB = fdb.Published(["P1", "P2", "P3"], [-0.5, -0.3, -0.7], [0.2, 0.25, 0.3])


def _trial():
    return fdb.Trial.from_counts(small_counts(5, crime_types=("knife", "violence", "robbery")))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"labels": ["A", "A"], "yi": [0, 0], "sei": [1, 1]}, "distinct"),
        ({"labels": ["A"], "yi": [0, 1], "sei": [1, 1]}, "one of each"),
        ({"labels": ["A"], "yi": [np.nan], "sei": [1]}, "finite"),
        ({"labels": ["A"], "yi": [0.1], "sei": [0.0]}, "> 0"),
        ({"labels": [], "yi": [], "sei": []}, "no published"),
    ],
)
def test_published_validates_its_input(kwargs, message):
    with pytest.raises(DataError, match=message):
        fdb.Published(**kwargs)


def test_published_from_a_trials_table(tmp_path):
    path = tmp_path / "trials.csv"
    pd.DataFrame({"trial": ["A", "B"], "yi": [-0.2, 0.1], "vi": [0.04, 0.09]}).to_csv(path)
    pub = fdb.Published.from_table(path, crime_type="knife")
    assert pub.labels == ("A", "B") and np.allclose(pub.sei, [0.2, 0.3])
    assert pub.estimand == "knife offending"


def test_published_estimand_and_labels_are_checked_against_the_data():
    trial = _trial()
    with pytest.raises(DataError, match="crime type 'drugs'"):
        Design.from_trial(trial, fdb.Published(["A"], [0.0], [1.0], crime_type="drugs"))
    with pytest.raises(DataError, match="outcome 'victimisation'"):
        Design.from_trial(trial, fdb.Published(["A"], [0.0], [1.0], outcome="victimisation"))
    two = fdb.Trial.concat([_trial(), _trial()], names=["A", "B"])
    with pytest.raises(DataError, match="also trials with individual data"):
        Design.from_trial(two, fdb.Published(["B"], [0.0], [1.0]))


def test_a_model_without_a_trial_term_refuses_published_trials():
    design = Design.from_trial(_trial(), PUB)
    with pytest.raises(SettingsError, match="pooled trial term"):
        resolve_structure(load_spec("negbin_hier"), design)


@pytest.mark.parametrize("crime_type", ["all", "violence"])
def test_published_likelihood_is_the_normal_density_of_the_linked_effect(crime_type):
    """The model's published_loglik at a random point equals sum_j log N(y_j | link +
    trial_sd z_j, s_j) computed here, with link = effect_overall (+ the crime term)."""
    pub = fdb.Published(PUB.labels, PUB.yi, PUB.sei, crime_type=crime_type)
    design = Design.from_trial(_trial(), pub)
    assert design.trials == [INDIVIDUAL_DATA] and design.n_trials == 4
    spec = load_spec("negbin_pooled")
    structure = resolve_structure(spec, design)
    assert structure.treatment["trial"] == "pooled"  # 1 + 3 trials
    model, _ = build_model(spec, design, structure)
    rng = np.random.default_rng(0)
    point = {k: rng.normal(0, 0.5, np.shape(v)) for k, v in model.initial_point().items()}
    names = ["published_loglik", "published_log_rr", "effect_overall", "trial_sd", "z_published"]
    names += ["crime_sd", "z_crime"]
    fn = model.compile_fn(
        [model[n] for n in names], inputs=model.value_vars, on_unused_input="ignore"
    )
    out = dict(zip(names, fn(point), strict=True))
    link = out["effect_overall"]
    if crime_type != "all":
        co = list(design.crime_outcomes["crime_type"]).index(crime_type)
        link = link + out["crime_sd"] * out["z_crime"][co]
    log_rr = link + out["trial_sd"] * out["z_published"]
    assert np.allclose(out["published_log_rr"], log_rr)
    want = stats.norm.logpdf(pub.yi, log_rr, pub.sei).sum()
    assert out["published_loglik"] == pytest.approx(want, rel=1e-12)
    assert set(model_data(design)) >= {"published_yi", "published_sei"}


def test_design_round_trip_keeps_published_trials():
    design = Design.from_trial(_trial(), PUB)
    back = Design.from_dataset(design.to_dataset())
    pub = back.published
    assert pub.labels == PUB.labels and pub.estimand == PUB.estimand
    assert np.array_equal(pub.yi, PUB.yi) and np.array_equal(pub.sei, PUB.sei)
    assert back.trials == [INDIVIDUAL_DATA]
    assert back.coords["published"] == ["P1", "P2", "P3"]


def test_published_rows_sit_before_the_new_trial_rows_and_pass_disclosure():
    base = {c: 0.5 for c in EFFECT_COLUMNS}
    rows = []
    for level, trial in [("overall", "all"), ("trial", "A"), ("new_trial", "all")]:
        rows.append(
            {
                **base,
                "level": level,
                "outcome": "offending",
                "crime_type": "all",
                "age_band": "all",
                "trial": trial,
                "note": "",
                "n_treatment": 20,
                "n_control": 60,
                "events_treatment": 9,
                "events_control": 50,
            }
        )
    table = pd.DataFrame(rows)[EFFECT_COLUMNS]
    log_rr = np.random.default_rng(1).normal([-0.5, 0.2], 0.1, (4000, 2))
    extra = published_rows(["P1", "P2"], log_rr, "offending", "all", note="published")
    out = insert_published(table, extra)
    assert list(out["trial"]) == ["all", "A", "P1", "P2", "all"]
    assert list(out["level"]) == ["overall", "trial", "trial", "trial", "new_trial"]
    p1 = out.iloc[2]
    assert p1["rr_median"] == pytest.approx(np.median(np.exp(log_rr[:, 0])), rel=1e-12)
    assert p1["p_reduction"] == pytest.approx((log_rr[:, 0] < 0).mean())
    assert pd.isna(p1["n_treatment"]) and np.isnan(p1["offences_prevented_per_100"])
    # rows without counts are not "suppressed" and do not blank the other trials' counts
    shown = disclosed(out)
    assert shown.loc[1, "n_treatment"] == 20
    assert "suppressed" not in " ".join(shown["note"].astype(str))


def test_fit_checks_published_and_mass_matrix_before_any_work():
    trial = _trial()
    with pytest.raises(SettingsError, match=r"fd_bayes\.Published"):
        fdb.fit(trial, "negbin_pooled", published={"yi": [0.1]})
    with pytest.raises(SettingsError, match="mass_matrix"):
        fdb.fit(trial, "negbin_pooled", mass_matrix="dense")
    with pytest.raises(SettingsError, match="catalogue models"):
        fdb.fit(trial, formula="post_count ~ arm", published=PUB)
