"""Stratified randomisation: exact counts, reproducibility, audit record, balance table."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import fd_bayes as fdb
from fd_bayes.data.randomise import Allocation, balance, randomise
from fd_bayes.errors import DataError, SettingsError

N_TREAT = {"11-17": 20, "18-25": 25}


@pytest.fixture
def cohort() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n_young, n_old = 70, 90
    return pd.DataFrame(
        {
            "person_id": [f"p{i:03d}" for i in range(n_young + n_old)],
            "age_at_index": np.r_[rng.integers(11, 18, n_young), rng.integers(18, 26, n_old)],
            "age_band": ["11-17"] * n_young + ["18-25"] * n_old,
            "anchor_count": rng.integers(1, 4, n_young + n_old),
            "history_count": rng.integers(2, 8, n_young + n_old),
        }
    )


def _treated(alloc: Allocation) -> set[str]:
    t = alloc.table
    return set(t.loc[t["arm"] == "treatment", "person_id"])


def test_exact_counts_per_stratum(cohort):
    alloc = randomise(cohort, n_treat=N_TREAT, seed=1)
    t = alloc.table
    assert list(t.columns) == ["person_id", "age_band", "arm"]
    assert len(t) == len(cohort)
    got = t[t["arm"] == "treatment"].groupby("age_band").size().to_dict()
    assert got == N_TREAT
    assert set(t["arm"]) == {"treatment", "control"}
    assert t["person_id"].is_monotonic_increasing
    counts = alloc.counts()
    assert counts["people"].sum() == len(cohort)


def test_same_cohort_in_any_row_order_gives_the_same_allocation(cohort):
    a = randomise(cohort, n_treat=N_TREAT, seed=42)
    shuffled = cohort.sample(frac=1, random_state=3)[cohort.columns[::-1]]
    b = randomise(shuffled, n_treat=N_TREAT, seed=42)
    pd.testing.assert_frame_equal(a.table, b.table)
    assert a.audit["cohort_hash"] == b.audit["cohort_hash"]


def test_another_seed_gives_another_allocation(cohort):
    a = randomise(cohort, n_treat=N_TREAT, seed=1)
    b = randomise(cohort, n_treat=N_TREAT, seed=2)
    assert _treated(a) != _treated(b)
    assert _treated(a) == _treated(randomise(cohort, n_treat=N_TREAT, seed=1))


def test_proportions_and_a_single_count(cohort):
    alloc = randomise(cohort, n_treat=0.25, seed=1)
    got = alloc.table[alloc.table["arm"] == "treatment"].groupby("age_band").size().to_dict()
    assert got == {"11-17": 18, "18-25": 23}  # 17.5 and 22.5: halves round up
    mixed = randomise(cohort, n_treat={"11-17": 0.5, "18-25": 10}, seed=1)
    assert mixed.audit["counts"]["11-17"]["treatment"] == 35
    assert mixed.audit["counts"]["18-25"]["treatment"] == 10
    assert randomise(cohort, n_treat=5, seed=1).audit["counts"]["18-25"]["treatment"] == 5


def test_unstratified_and_several_strata(cohort):
    one = randomise(cohort, n_treat=45, strata=None, seed=1)
    assert list(one.table.columns) == ["person_id", "arm"]
    assert (one.table["arm"] == "treatment").sum() == 45
    two = cohort.assign(area=np.where(np.arange(len(cohort)) % 2, "north", "south"))
    alloc = randomise(two, n_treat=5, strata=["age_band", "area"], seed=1)
    assert set(alloc.audit["counts"]) == {
        "11-17 / north",
        "11-17 / south",
        "18-25 / north",
        "18-25 / south",
    }
    assert all(v["treatment"] == 5 for v in alloc.audit["counts"].values())


def test_a_stratum_smaller_than_n_treat_is_an_error(cohort):
    with pytest.raises(DataError, match=r"stratum '11-17' has 70 people, fewer than n_treat = 80"):
        randomise(cohort, n_treat={"11-17": 80, "18-25": 25}, seed=1)
    with pytest.raises(DataError, match="no control people"):
        randomise(cohort, n_treat={"11-17": 70, "18-25": 25}, seed=1)
    with pytest.raises(DataError, match="no treated people"):
        randomise(cohort, n_treat={"11-17": 0, "18-25": 25}, seed=1)


def test_n_treat_must_name_every_stratum_and_no_other(cohort):
    with pytest.raises(DataError, match=r"no n_treat given: \['18-25'\]"):
        randomise(cohort, n_treat={"11-17": 20}, seed=1)
    with pytest.raises(DataError, match=r"not in the cohort: \['26-30'\]"):
        randomise(cohort, n_treat={**N_TREAT, "26-30": 3}, seed=1)


@pytest.mark.parametrize("bad", [1.0, 0.0, -3.0, True, "20"])
def test_malformed_n_treat(cohort, bad):
    with pytest.raises(SettingsError):
        randomise(cohort, n_treat=bad, seed=1)


def test_bad_cohorts(cohort):
    with pytest.raises(DataError, match="age_band"):
        randomise(cohort.drop(columns="age_band"), n_treat=N_TREAT, seed=1)
    dup = pd.concat([cohort, cohort.iloc[[3]]], ignore_index=True)
    with pytest.raises(DataError, match="more than once") as info:
        randomise(dup, n_treat=N_TREAT, seed=1)
    assert info.value.rows == [3, 160]
    blank = cohort.copy()
    blank.loc[5, "age_band"] = None
    with pytest.raises(DataError, match="missing values"):
        randomise(blank, n_treat=N_TREAT, seed=1)
    with pytest.raises(DataError, match="empty"):
        randomise(cohort.iloc[:0], n_treat=N_TREAT, seed=1)
    with pytest.raises(SettingsError, match="seed"):
        randomise(cohort, n_treat=N_TREAT, seed=-1)


def test_audit_record(cohort, tmp_path):
    alloc = randomise(cohort, n_treat=N_TREAT, seed=123)
    audit = alloc.audit
    assert audit["seed"] == 123
    assert audit["fd_bayes_version"] == fdb.__version__
    assert len(audit["cohort_hash"]) == 64
    assert audit["n_people"] == 160
    assert audit["strata"] == ["age_band"]
    assert audit["n_treat"] == N_TREAT
    assert audit["counts"] == {
        "11-17": {"treatment": 20, "control": 50, "total": 70},
        "18-25": {"treatment": 25, "control": 65, "total": 90},
    }
    created = pd.Timestamp(audit["created_utc"])
    assert created.tzinfo is not None and created.utcoffset().total_seconds() == 0
    path = alloc.write_audit(tmp_path / "audit.json")
    again = json.loads(path.read_text())
    assert again == audit
    text = path.read_text()
    assert not any(pid in text for pid in cohort["person_id"])  # no person ids on disk
    # a different cohort has a different hash
    other = randomise(cohort.iloc[1:], n_treat=N_TREAT, seed=123)
    assert other.audit["cohort_hash"] != audit["cohort_hash"]


def test_seed_none_draws_and_records_a_seed(cohort):
    alloc = randomise(cohort, n_treat=N_TREAT)
    again = randomise(cohort, n_treat=N_TREAT, seed=alloc.audit["seed"])
    pd.testing.assert_frame_equal(alloc.table, again.table)


def test_balance_on_a_cohort(cohort):
    alloc = randomise(cohort, n_treat=N_TREAT, seed=1)
    merged = alloc.table.merge(cohort, on=["person_id", "age_band"])
    table = balance(merged)
    assert list(table["variable"]) == ["age_at_index", "anchor_count", "history_count"]
    row = table.iloc[1]
    t = merged.loc[merged["arm"] == "treatment", "anchor_count"]
    c = merged.loc[merged["arm"] == "control", "anchor_count"]
    expected = (t.mean() - c.mean()) / np.sqrt((t.var() + c.var()) / 2)
    assert row["smd"] == pytest.approx(expected)
    assert (row["n_treatment"], row["n_control"]) == (45, 115)
    by_band = balance(merged, ["anchor_count"], by="age_band")
    assert list(by_band["age_band"]) == ["11-17", "18-25"]
    assert list(by_band["n_treatment"]) == [20, 25]


def test_balance_constant_columns():
    df = pd.DataFrame({"arm": ["treatment", "control"] * 2, "x": [0, 0, 0, 0], "y": [1, 0, 1, 0]})
    out = balance(df).set_index("variable")["smd"]
    assert out["x"] == 0.0
    assert np.isnan(out["y"])


def test_balance_on_a_trial(counts):
    trial = fdb.Trial.from_counts(counts)
    table = balance(trial)
    assert list(table["variable"]) == ["pre offending knife", "pre offending violence"]
    assert (table["n_treatment"] == 12).all()
