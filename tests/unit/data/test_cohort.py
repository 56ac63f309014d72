"""Cohort eligibility: every boundary of the seed's rule, the flow and each bad record."""

from __future__ import annotations

import pandas as pd
import pytest

from fd_bayes.data.cohort import KNIFE_RULE, CohortResult, Rule, age_at, eligible, flow
from fd_bayes.data.records import simulate_records
from fd_bayes.errors import DataError, SettingsError

INDEX = "2024-03-15"  # mid-month, so calendar-month arithmetic is visible


def events_of(*rows) -> pd.DataFrame:
    """rows: (person_id, date, crime_type[, role])."""
    out = [
        {
            "person_id": r[0],
            "date": r[1],
            "crime_type": r[2],
            "role": r[3] if len(r) > 3 else "suspect",
        }
        for r in rows
    ]
    return pd.DataFrame(out, columns=["person_id", "date", "crime_type", "role"])


def persons_of(events: pd.DataFrame, dob: str = "2005-06-01", **other) -> pd.DataFrame:
    ids = sorted(set(events["person_id"]) | set(other))
    return pd.DataFrame({"person_id": ids, "date_of_birth": [other.get(i, dob) for i in ids]})


def ids(events, persons=None, **kw) -> list[str]:
    persons = persons_of(events) if persons is None else persons
    return eligible(events, persons, INDEX, **kw)["person_id"].tolist()


def test_the_default_rule_is_the_seeds():
    r = KNIFE_RULE
    assert (r.anchor_months, r.history_months) == (12, 24)
    assert r.anchor_crime_types == {"knife"}
    assert r.history_crime_types == {"knife", "violence", "sexual"}
    assert (r.anchor_min, r.history_min) == (1, 2)
    assert r.role == "suspect"
    assert (r.min_age, r.max_age) == (11, 25)
    assert r.age_bands == (("11-17", 11, 17), ("18-25", 18, 25))
    assert "aged 11-25" in r.describe()


def test_returns_a_dataframe_by_default_with_the_documented_columns():
    ev = events_of(("b", "2023-06-01", "knife"), ("b", "2023-07-01", "violence"))
    out = eligible(ev, persons_of(ev), INDEX)
    assert isinstance(out, pd.DataFrame)
    assert list(out.columns) == [
        "person_id",
        "age_at_index",
        "age_band",
        "anchor_count",
        "history_count",
    ]
    assert out.iloc[0].to_dict() == {
        "person_id": "b",
        "age_at_index": 18,
        "age_band": "18-25",
        "anchor_count": 1,
        "history_count": 2,
    }


@pytest.mark.parametrize(
    ("knife_date", "expected"),
    [
        ("2023-03-15", ["a"]),  # 12-month window start: inclusive
        ("2023-03-14", []),  # one day earlier: outside
        ("2024-03-14", ["a"]),  # the day before the index date
        ("2024-03-15", []),  # the index date itself: excluded
        ("2024-06-01", []),  # after the index date
    ],
)
def test_anchor_window_boundaries(knife_date, expected):
    ev = events_of(("a", knife_date, "knife"), ("a", "2022-09-01", "violence"))
    assert ids(ev) == expected


@pytest.mark.parametrize(
    ("violence_date", "expected"),
    [("2022-03-15", ["a"]), ("2022-03-14", []), ("2024-03-15", [])],
)
def test_history_window_boundaries(violence_date, expected):
    ev = events_of(("a", "2023-06-01", "knife"), ("a", violence_date, "violence"))
    assert ids(ev) == expected


def test_leap_day_index_date_uses_calendar_months():
    # 2024-02-29 minus 12 calendar months is 2023-02-28 (the window's first day)
    ev = events_of(("a", "2023-02-28", "knife"), ("a", "2023-02-27", "knife"))
    out = eligible(ev, persons_of(ev), "2024-02-29")
    assert out[["anchor_count", "history_count"]].values.tolist() == [[1, 2]]


def test_two_knife_events_qualify_one_does_not():
    two = events_of(("a", "2023-05-01", "knife"), ("a", "2023-11-01", "knife"))
    one = events_of(("a", "2023-05-01", "knife"))
    same_day = events_of(("a", "2023-05-01", "knife"), ("a", "2023-05-01", "knife"))
    same_day["event_id"] = ["e1", "e2"]  # two distinct events on one day
    assert ids(two) == ["a"]
    assert ids(one) == []
    assert ids(same_day) == ["a"]


def test_knife_plus_older_violence_needs_the_knife_within_12_months():
    recent_knife = events_of(("a", "2023-09-01", "knife"), ("a", "2022-09-15", "violence"))
    old_knife = events_of(("a", "2022-09-15", "knife"), ("a", "2023-09-01", "violence"))
    assert ids(recent_knife) == ["a"]
    assert ids(old_knife) == []


@pytest.mark.parametrize(
    ("other", "expected"),
    [("violence", ["a"]), ("sexual", ["a"]), ("robbery", []), ("drugs", []), ("theft", [])],
)
def test_only_knife_violence_sexual_count_as_the_second_offence(other, expected):
    ev = events_of(("a", "2023-09-01", "knife"), ("a", "2023-01-01", other))
    assert ids(ev) == expected


def test_victim_events_do_not_count():
    ev = events_of(("a", "2023-09-01", "knife"), ("a", "2023-10-01", "knife", "victim"))
    assert ids(ev) == []
    ev = events_of(("a", "2023-09-01", "knife", "victim"), ("a", "2023-10-01", "violence"))
    assert ids(ev) == []


def test_crime_types_and_roles_are_compared_case_insensitively():
    ev = events_of(("a", "2023-09-01", " Knife", "SUSPECT"), ("a", "2023-10-01", "VIOLENCE"))
    assert ids(ev) == ["a"]


@pytest.mark.parametrize(
    ("dob", "age", "band"),
    [
        ("2013-03-16", 10, None),  # turns 11 the day after the index date
        ("2013-03-15", 11, "11-17"),  # 11th birthday on the index date
        ("2006-03-16", 17, "11-17"),
        ("2006-03-15", 18, "18-25"),  # 18th birthday on the index date
        ("1998-03-16", 25, "18-25"),
        ("1998-03-15", 26, None),  # 26th birthday on the index date
    ],
)
def test_ages_at_the_index_date(dob, age, band):
    ev = events_of(("a", "2023-09-01", "knife"), ("a", "2023-10-01", "knife"))
    persons = pd.DataFrame({"person_id": ["a"], "date_of_birth": [dob]})
    out = eligible(ev, persons, INDEX)
    assert age_at(pd.Series(pd.to_datetime([dob])), pd.Timestamp(INDEX)).tolist() == [age]
    if band is None:
        assert out.empty
    else:
        assert out[["age_at_index", "age_band"]].values.tolist() == [[age, band]]


def test_leap_day_birthday_counts_from_1_march():
    dob = pd.Series(pd.to_datetime(["2008-02-29"]))
    assert age_at(dob, pd.Timestamp("2019-02-28")).tolist() == [10]
    assert age_at(dob, pd.Timestamp("2019-03-01")).tolist() == [11]


def test_flow_reports_each_step():
    ev = events_of(
        ("in", "2023-09-01", "knife"),
        ("in", "2023-10-01", "violence"),
        ("young", "2023-09-01", "knife"),
        ("young", "2023-10-01", "knife"),
        ("nocrit", "2023-09-01", "drugs"),
        ("nocrit", "2024-04-01", "knife"),  # after the index date
        ("nocrit", "2023-04-01", "knife", "victim"),
    )
    persons = persons_of(ev, young="2015-01-01", quiet="2005-01-01")
    result = eligible(ev, persons, INDEX, return_flow=True)
    assert isinstance(result, CohortResult)
    f = result.flow.set_index("step")["count"]
    assert f["events_in_records"] == 7
    assert f["events_on_or_after_index"] == 1
    assert f["events_as_victim"] == 1
    assert f["people_in_records"] == 4
    assert f["people_without_events"] == 1
    assert f["aged_in_range"] == 3
    assert f["aged_below_range"] == 1
    assert f["meeting_offence_criteria"] == 2
    assert f["eligible"] == 1
    assert f["eligible_18-25"] == 1 and f["eligible_11-17"] == 0
    pd.testing.assert_frame_equal(flow(ev, persons, INDEX), result.flow)
    assert result.flow.attrs["index_date"] == INDEX


def test_row_order_does_not_matter():
    events, persons, _ = simulate_records(n_people=400, index_date=INDEX, seed=2)
    a = eligible(events, persons, INDEX)
    b = eligible(events.sample(frac=1, random_state=1), persons.iloc[::-1], INDEX)
    pd.testing.assert_frame_equal(a, b)
    assert len(a) > 0


def test_a_custom_rule_needs_no_code_change():
    rule = Rule(
        anchor_crime_types={"knife", "firearm"},
        history_crime_types={"knife", "firearm", "robbery"},
        history_months=36,
        min_age=14,
        max_age=30,
        age_bands=(("14-17", 14, 17), ("18-30", 18, 30)),
        name="weapons",
    )
    ev = events_of(("a", "2023-09-01", "firearm"), ("a", "2021-06-01", "robbery"))
    persons = persons_of(ev, a="1995-01-01")
    out = eligible(ev, persons, INDEX, rule=rule)
    assert out[["person_id", "age_at_index", "age_band"]].values.tolist() == [["a", 29, "18-30"]]
    assert eligible(ev, persons, INDEX).empty


@pytest.mark.parametrize(
    "kwargs",
    [
        {"age_bands": (("11-16", 11, 16), ("18-25", 18, 25))},  # gap at 17
        {"age_bands": (("11-18", 11, 18), ("18-25", 18, 25))},  # overlap
        {"age_bands": (("11-20", 11, 20),)},  # stops short of 25
        {"role": "witness"},
        {"anchor_crime_types": []},
        {"anchor_months": 0},
        {"min_age": 30},
    ],
)
def test_bad_rules_are_refused(kwargs):
    with pytest.raises(SettingsError):
        Rule(**kwargs)


# -- bad records -----------------------------------------------------------------------------
GOOD = events_of(("a", "2023-09-01", "knife"), ("a", "2023-10-01", "knife"))


def _error(events, persons=None, **kw) -> DataError:
    persons = persons_of(GOOD) if persons is None else persons
    with pytest.raises(DataError) as info:
        eligible(events, persons, INDEX, **kw)
    return info.value


def test_missing_column():
    err = _error(GOOD.drop(columns="role"))
    assert err.column == "role" and "missing" in str(err) and err.fix


def test_unknown_role():
    err = _error(events_of(("a", "2023-09-01", "knife", "witness")))
    assert err.column == "role" and "witness" in str(err) and err.rows == [0]


@pytest.mark.parametrize("bad", [None, "not a date", "15/09/2023"])
def test_missing_or_unreadable_event_date(bad):
    ev = GOOD.copy()
    ev.loc[1, "date"] = bad
    err = _error(ev)
    assert err.column == "date" and err.rows == [1] and "YYYY-MM-DD" in err.fix


def test_missing_date_of_birth():
    persons = pd.DataFrame({"person_id": ["a"], "date_of_birth": [None]})
    err = _error(GOOD, persons)
    assert err.column == "date_of_birth"


def test_person_in_events_but_not_in_persons():
    ev = pd.concat([GOOD, events_of(("ghost", "2023-09-01", "knife"))], ignore_index=True)
    err = _error(ev)
    assert err.column == "person_id" and "not in persons" in str(err) and "ghost" in str(err)


def test_dates_years_after_the_index_date():
    ev = pd.concat([GOOD, events_of(("a", "2042-09-01", "knife"))], ignore_index=True)
    err = _error(ev)
    assert err.column == "date" and "after the index date" in str(err) and err.rows == [2]
    assert ids(ev, max_years_after=None) == ["a"]  # the check can be turned off
    near = pd.concat([GOOD, events_of(("a", "2025-09-01", "knife"))], ignore_index=True)
    assert ids(near) == ["a"]  # follow-up events are normal


def test_duplicate_events_error_or_are_dropped_and_reported():
    dup = pd.concat([GOOD, GOOD.iloc[[0]]], ignore_index=True)
    err = _error(dup)
    assert "duplicate" in str(err) and "event_id" in err.fix
    result = eligible(dup, persons_of(GOOD), INDEX, duplicates="drop", return_flow=True)
    f = result.flow.set_index("step")["count"]
    assert f["duplicate_events_dropped"] == 1 and f["events_in_records"] == 3
    # the dropped duplicate does not make a single knife event count twice
    single = pd.concat([GOOD.iloc[[0]]] * 2, ignore_index=True)
    assert eligible(single, persons_of(GOOD), INDEX, duplicates="drop").empty


def test_event_id_conflict():
    ev = GOOD.assign(event_id=["e1", "e1"])
    err = _error(ev)
    assert err.column == "event_id"


def test_conflicting_dates_of_birth():
    persons = pd.DataFrame({"person_id": ["a", "a"], "date_of_birth": ["2005-01-01", "2006-01-01"]})
    assert _error(GOOD, persons).column == "date_of_birth"
    same = pd.DataFrame({"person_id": ["a", "a"], "date_of_birth": ["2005-01-01"] * 2})
    assert ids(GOOD, same) == ["a"]  # identical repeats are harmless


def test_event_before_birth_and_birth_after_index():
    born_late = pd.DataFrame({"person_id": ["a"], "date_of_birth": ["2023-09-15"]})
    assert _error(GOOD, born_late).column == "date"
    unborn = pd.DataFrame({"person_id": ["a"], "date_of_birth": ["2025-01-01"]})
    assert _error(GOOD.iloc[:0], unborn).column == "date_of_birth"


def test_bad_index_date():
    with pytest.raises(DataError, match="index_date"):
        eligible(GOOD, persons_of(GOOD), "soon")


def test_datetime_columns_with_times_are_days():
    ev = GOOD.assign(date=pd.to_datetime(["2023-09-01 23:59", "2024-03-15 00:01"]))
    assert ids(ev) == []  # the second event is on the index date
    ev = GOOD.assign(date=pd.to_datetime(["2023-09-01 23:59", "2024-03-14 23:59"]))
    assert ids(ev) == ["a"]
