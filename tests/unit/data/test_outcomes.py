"""Outcome counting from events: windows, zero-filling, custody, and the whole pipeline."""

from __future__ import annotations

import pandas as pd
import pytest

import fd_bayes as fdb
from fd_bayes.data.cohort import eligible
from fd_bayes.data.outcomes import counts_from_events
from fd_bayes.data.randomise import balance, randomise
from fd_bayes.data.records import simulate_records
from fd_bayes.errors import DataError, SettingsError

INDEX = "2024-03-15"  # follow-up [2024-03-15, 2025-03-15): 365 days
ALLOC = pd.DataFrame(
    {"person_id": ["a", "b"], "arm": ["treatment", "control"], "age_band": ["11-17", "18-25"]}
)


def events_of(*rows) -> pd.DataFrame:
    """rows: (person_id, date, crime_type, role)."""
    return pd.DataFrame(rows, columns=["person_id", "date", "crime_type", "role"])


def cell(counts: pd.DataFrame, person: str, crime: str, outcome: str = "offending") -> pd.Series:
    sel = (
        (counts["person_id"] == person)
        & (counts["crime_type"] == crime)
        & (counts["outcome"] == outcome)
    )
    assert sel.sum() == 1
    return counts[sel].iloc[0]


@pytest.mark.parametrize(
    ("date", "pre", "post"),
    [
        ("2023-03-14", 0, 0),  # before the pre window
        ("2023-03-15", 1, 0),  # pre window start: inclusive
        ("2024-03-14", 1, 0),  # the day before the index date
        ("2024-03-15", 0, 1),  # the index date starts the follow-up
        ("2025-03-14", 0, 1),  # last follow-up day
        ("2025-03-15", 0, 0),  # index + 365 days: outside
    ],
)
def test_window_boundaries(date, pre, post):
    ev = events_of(("a", date, "knife", "suspect"))
    out = counts_from_events(ev, ALLOC, INDEX)
    row = cell(out, "a", "knife")
    assert (row["pre_count"], row["post_count"]) == (pre, post)


def test_follow_up_length_is_a_parameter():
    ev = events_of(("a", "2024-04-14", "knife", "suspect"))  # day 30 of follow-up
    assert (
        cell(counts_from_events(ev, ALLOC, INDEX, follow_up_days=30), "a", "knife")["post_count"]
        == 0
    )
    out = counts_from_events(ev, ALLOC, INDEX, follow_up_days=31)
    assert cell(out, "a", "knife")["post_count"] == 1
    assert (out["exposure_days"] == 31.0).all()


def test_roles_map_to_outcomes_and_every_cell_is_zero_filled():
    ev = events_of(
        ("a", "2024-05-01", "knife", "suspect"),
        ("a", "2024-06-01", "knife", "suspect"),
        ("a", "2024-05-01", "violence", "victim"),
        ("zz", "2024-05-01", "robbery", "suspect"),  # not randomised: not counted
    )
    out = counts_from_events(ev, ALLOC, INDEX)
    assert list(out.columns) == [
        "person_id",
        "arm",
        "age_band",
        "crime_type",
        "outcome",
        "pre_count",
        "post_count",
        "exposure_days",
    ]
    # every person x crime type (all types in events) x outcome, b has no events at all
    assert len(out) == 2 * 3 * 2
    assert set(out["person_id"]) == {"a", "b"}
    assert cell(out, "a", "knife")["post_count"] == 2
    assert cell(out, "a", "knife", "victimisation")["post_count"] == 0
    assert cell(out, "a", "violence", "victimisation")["post_count"] == 1
    assert cell(out, "a", "violence")["post_count"] == 0
    b = out[out["person_id"] == "b"]
    assert (b[["pre_count", "post_count"]] == 0).all().all() and len(b) == 6
    assert b["arm"].unique().tolist() == ["control"] and b["age_band"].iloc[0] == "18-25"
    assert out["pre_count"].dtype == "int64" and out["exposure_days"].dtype == float


def test_crime_types_argument_fixes_the_grid():
    ev = events_of(("a", "2024-05-01", "knife", "suspect"), ("a", "2024-05-01", "drugs", "suspect"))
    out = counts_from_events(ev, ALLOC, INDEX, crime_types=["knife", "sexual"])
    assert sorted(out["crime_type"].unique()) == ["knife", "sexual"]  # drugs not counted
    assert cell(out, "a", "sexual")["post_count"] == 0
    with pytest.raises(DataError, match="no crime types"):
        counts_from_events(ev.iloc[:0], ALLOC, INDEX)
    assert len(counts_from_events(ev.iloc[:0], ALLOC, INDEX, crime_types=["knife"])) == 4


@pytest.mark.parametrize(
    ("spells", "days"),
    [
        ([("2024-05-01", "2024-05-11")], 10),  # inside
        ([("2024-03-10", "2024-03-20")], 5),  # straddles the follow-up start
        ([("2025-03-10", "2025-03-20")], 5),  # straddles the follow-up end
        ([("2024-01-01", "2024-03-15")], 0),  # released on the index date
        ([("2025-03-15", "2025-06-01")], 0),  # starts when the follow-up ends
        ([("2024-05-01", "2024-05-11"), ("2024-05-06", "2024-05-16")], 15),  # overlap
        ([("2024-05-01", "2024-06-01"), ("2024-05-10", "2024-05-20")], 31),  # nested
        ([("2024-05-01", "2024-05-11"), ("2024-05-11", "2024-05-21")], 20),  # back to back
        ([("2024-03-01", "2024-03-20"), ("2024-03-10", "2024-04-01")], 17),  # overlap at edge
        ([("2025-03-01", "2025-03-20"), ("2025-03-10", "2025-04-01")], 14),  # overlap at end
    ],
)
def test_custody_days_are_clipped_and_merged(spells, days):
    custody = pd.DataFrame(
        [("a", s, e) for s, e in spells] + [("nobody", "2024-05-01", "2024-09-01")],
        columns=["person_id", "start", "end"],
    )
    ev = events_of(("a", "2024-05-01", "knife", "suspect"))
    out = counts_from_events(ev, ALLOC, INDEX, custody=custody)
    assert cell(out, "a", "knife")["exposure_days"] == 365 - days
    assert cell(out, "b", "knife")["exposure_days"] == 365


def test_custody_errors():
    ev = events_of(("a", "2024-05-01", "knife", "suspect"))
    backwards = pd.DataFrame({"person_id": ["a"], "start": ["2024-06-01"], "end": ["2024-05-01"]})
    with pytest.raises(DataError, match="end before they start"):
        counts_from_events(ev, ALLOC, INDEX, custody=backwards)
    open_spell = pd.DataFrame({"person_id": ["a"], "start": ["2024-06-01"], "end": [None]})
    with pytest.raises(DataError) as info:
        counts_from_events(ev, ALLOC, INDEX, custody=open_spell)
    assert info.value.column == "end"
    all_year = pd.DataFrame({"person_id": ["b"], "start": ["2024-01-01"], "end": ["2025-06-01"]})
    with pytest.raises(DataError, match="whole follow-up") as info:
        counts_from_events(ev, ALLOC, INDEX, custody=all_year)
    assert info.value.column == "exposure_days"
    with pytest.raises(DataError, match="start"):
        counts_from_events(ev, ALLOC, INDEX, custody=backwards.drop(columns="start"))


def test_per_person_index_dates():
    ev = events_of(("a", "2024-05-01", "knife", "suspect"), ("b", "2024-05-01", "knife", "suspect"))
    alloc = ALLOC.assign(index_date=["2024-03-15", "2024-06-01"])
    out = counts_from_events(ev, alloc)
    assert (cell(out, "a", "knife")["pre_count"], cell(out, "a", "knife")["post_count"]) == (0, 1)
    assert (cell(out, "b", "knife")["pre_count"], cell(out, "b", "knife")["post_count"]) == (1, 0)
    # blanks in the column take the index_date argument
    filled = counts_from_events(ev, ALLOC.assign(index_date=[None, "2024-06-01"]), INDEX)
    pd.testing.assert_frame_equal(filled, out)


def test_allocation_problems():
    ev = events_of(("a", "2024-05-01", "knife", "suspect"))
    with pytest.raises(DataError, match="index_date"):
        counts_from_events(ev, ALLOC)
    with pytest.raises(DataError) as info:
        counts_from_events(ev, ALLOC.assign(arm=["treated", "control"]), INDEX)
    assert info.value.column == "arm"
    with pytest.raises(DataError, match="more than once"):
        counts_from_events(ev, pd.concat([ALLOC, ALLOC.iloc[[0]]]), INDEX)
    with pytest.raises(DataError) as info:
        counts_from_events(ev.assign(role="witness"), ALLOC, INDEX)
    assert info.value.column == "role"
    with pytest.raises(SettingsError):
        counts_from_events(ev, ALLOC, INDEX, follow_up_days=0)
    no_band = counts_from_events(ev, ALLOC.drop(columns="age_band"), INDEX)
    assert set(no_band["age_band"]) == {"all"}


def test_records_to_trial_end_to_end():
    index = "2024-01-01"
    events, persons, custody = simulate_records(n_people=3000, index_date=index, seed=11)
    result = eligible(events, persons, index, return_flow=True)
    sizes = result.cohort["age_band"].value_counts()
    assert sizes.min() > 45  # enough people for the seed's design
    alloc = randomise(result.cohort, n_treat={"11-17": 20, "18-25": 25}, seed=7)
    counts = counts_from_events(events, alloc, index, custody=custody)
    trial = fdb.Trial.from_counts(counts)
    via_trial = fdb.Trial.from_events(events, alloc, index, custody=custody)
    assert via_trial.data_hash() == trial.data_hash()
    assert trial.n_people == len(result.cohort)
    assert trial.n_treated == 45
    assert set(trial.outcomes) == {"offending", "victimisation"}
    assert trial.age_bands == ["11-17", "18-25"]
    assert "knife" in trial.crime_types
    assert (trial.data["exposure_days"] <= 365).all() and (trial.data["exposure_days"] < 365).any()
    # eligibility needs >= 1 knife offence in the 12 months before: the pre counts agree
    knife_pre = counts[(counts["crime_type"] == "knife") & (counts["outcome"] == "offending")]
    assert (knife_pre["pre_count"] >= 1).all()
    assert len(balance(trial)) == len(trial.crime_types) * 2
    # a treatment effect simulated in the records leaves the cohort unchanged
    treated = alloc.table.loc[alloc.table["arm"] == "treatment", "person_id"]
    events2, _, _ = simulate_records(
        n_people=3000, index_date=index, seed=11, treated=treated, rate_ratio=0.5
    )
    pd.testing.assert_frame_equal(eligible(events2, persons, index), result.cohort)
    after = counts_from_events(events2, alloc, index, custody=custody)
    t = after["arm"] == "treatment"
    assert after.loc[t, "post_count"].sum() < counts.loc[t, "post_count"].sum()
    assert after.loc[~t, "post_count"].sum() == counts.loc[~t, "post_count"].sum()


def test_records_are_deterministic_and_realistic():
    a = simulate_records(n_people=300, seed=5)
    b = simulate_records(n_people=300, seed=5)
    for x, y in zip(a, b, strict=True):
        pd.testing.assert_frame_equal(x, y)
    events, persons, custody = a
    assert not events.equals(simulate_records(n_people=300, seed=6)[0])
    ages = (pd.Timestamp("2024-01-01") - persons["date_of_birth"]).dt.days / 365.25
    assert (ages < 11).any() and (ages >= 26).any()
    assert {"knife", "violence", "sexual", "robbery", "drugs"} <= set(events["crime_type"])
    assert events["date"].min() >= pd.Timestamp("2022-01-01")
    assert events["date"].max() < pd.Timestamp("2025-01-01")
    assert (custody["end"] > custody["start"]).all()
