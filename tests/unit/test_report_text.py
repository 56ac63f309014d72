"""Plain-language sentences and disclosure control (no MCMC)."""

from __future__ import annotations

import pandas as pd
import pytest

from fd_bayes.disclosure import suppress_small_cells
from fd_bayes.report.sentences import effect_sentence, percent


def _row(**kw):
    base = {
        "level": "crime_type",
        "outcome": "offending",
        "crime_type": "knife",
        "age_band": "all",
        "rr_median": 0.42,
        "rr_lower": 0.21,
        "rr_upper": 0.79,
        "p_reduction": 0.995,
        "p_reduction_50": 0.62,
    }
    return pd.Series({**base, **kw})


def test_reduction_sentence():
    text = effect_sentence(_row())
    assert "an estimated 58% fewer knife offences" in text
    assert "(95% credible interval: 21% to 79% fewer)" in text
    assert "reduced knife offending is more than 99%" in text
    assert "by at least half is 62%" in text


def test_interval_crossing_one_and_increase():
    text = effect_sentence(
        _row(
            rr_median=1.2,
            rr_lower=0.8,
            rr_upper=1.7,
            p_reduction=0.2,
            p_reduction_50=0.0,
            outcome="victimisation",
            age_band="11-17",
        )
    )
    assert "Young people aged 11-17" in text
    assert "were victims of an estimated 20% more knife victimisations" in text
    assert "from 20% fewer to 70% more" in text
    assert "by at least half is less than 1%" in text


def test_percent_never_claims_certainty():
    assert percent(1.0) == "more than 99%"
    assert percent(0.0) == "less than 1%"
    assert percent(0.5) == "50%"


def test_small_cells_are_suppressed():
    table = pd.DataFrame(
        {
            "level": ["cell", "cell"],
            "rr_median": [0.5, 0.7],
            "n_treatment": [3, 20],
            "n_control": [40, 60],
            "events_treatment": [1, 9],
            "events_control": [12, 30],
            "note": ["", ""],
        }
    )
    out = suppress_small_cells(table, threshold=5)
    assert out.loc[0, ["n_treatment", "n_control", "events_treatment"]].isna().all()
    assert "suppressed" in out.loc[0, "note"]
    assert out.loc[1, "events_treatment"] == 9 and out.loc[1, "note"] == ""
    assert out.loc[0, "rr_median"] == 0.5  # estimates are kept


def test_export_refuses_person_ids():
    with pytest.raises(ValueError, match="person identifiers"):
        suppress_small_cells(
            pd.DataFrame({"person_id": ["a"], "n_treatment": [9], "n_control": [9]})
        )
