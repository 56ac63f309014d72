"""Trial validation: every bad input gives a DataError naming the column and the fix."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import fd_bayes as fdb
from fd_bayes import DataError


def _error(df, **kw) -> DataError:
    with pytest.raises(DataError) as info:
        fdb.Trial.from_counts(df, **kw)
    return info.value


def test_valid_counts_round_trip(counts):
    trial = fdb.Trial.from_counts(counts)
    assert trial.n_people == 24
    assert trial.n_treated == 12
    assert trial.crime_types == ["knife", "violence"]
    assert trial.outcomes == ["offending"]  # documented default
    assert list(trial.data.columns)[:3] == ["person_id", "arm", "age_band"]
    assert trial.data["post_count"].dtype == np.int64


def test_defaults_for_optional_columns(counts):
    trial = fdb.Trial.from_counts(counts.drop(columns=["exposure_days", "age_band"]))
    assert (trial.data["exposure_days"] == 365.0).all()
    assert trial.age_bands == ["all"]


def test_column_mapping_with_aliases(counts):
    theirs = counts.rename(columns={"person_id": "id", "post_count": "n_after"})
    trial = fdb.Trial.from_counts(theirs, person="id", post_count="n_after")
    assert trial.n_people == 24
    with pytest.raises(DataError, match="not in the data"):
        fdb.Trial.from_counts(theirs, person="nope")
    with pytest.raises(DataError, match="unknown column mapping"):
        fdb.Trial.from_counts(theirs, shoe_size="id")


def test_missing_column(counts):
    err = _error(counts.drop(columns="post_count"))
    assert err.column is None or "post_count" in str(err)
    assert "column 'post_count': missing" in str(err)
    assert "Fix:" in str(err)


def test_empty_frame_and_empty_file(tmp_path, counts):
    assert "empty" in str(_error(counts.iloc[0:0]))
    path = tmp_path / "empty.csv"
    path.write_text("")
    with pytest.raises(DataError, match="empty"):
        fdb.Trial.read_csv(path)
    with pytest.raises(DataError, match="not found"):
        fdb.Trial.read_csv(tmp_path / "nope.csv")


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (-1, "negative counts"),
        (1.5, "non-integer counts"),
        (np.nan, "missing values"),
        ("two", "not numbers"),
    ],
)
@pytest.mark.parametrize("column", ["pre_count", "post_count"])
def test_bad_counts(counts, column, value, message):
    bad = counts.astype({column: object})
    bad.loc[3, column] = value
    err = _error(bad)
    assert f"column '{column}'" in str(err)
    assert message in str(err)
    assert err.rows == [3]
    assert err.fix


@pytest.mark.parametrize("value", [0, -3, np.nan])
def test_non_positive_exposure(counts, value):
    bad = counts.copy()
    bad.loc[[2, 7], "exposure_days"] = value
    err = _error(bad)
    assert err.column == "exposure_days"
    assert err.rows == [2, 7]


def test_bad_arm_values(counts):
    bad = counts.copy()
    bad.loc[0, "arm"] = "treated"
    err = _error(bad)
    assert "'treated'" in str(err) and err.column == "arm"
    ok = counts.copy()
    ok["arm"] = ok["arm"].str.upper()  # case and whitespace are normalised
    assert fdb.Trial.from_counts(ok).n_treated == 12


def test_person_in_both_arms(counts):
    bad = counts.copy()
    bad.loc[1, "arm"] = "control"  # id0's second row
    err = _error(bad)
    assert "more than one of the arms" in str(err)
    assert 0 in err.rows and 1 in err.rows


def test_duplicate_rows(counts):
    bad = pd.concat([counts, counts.iloc[[5]]], ignore_index=True)
    err = _error(bad)
    assert "duplicate" in str(err)
    assert err.rows == [5, 48]


def test_stratum_without_both_arms(counts):
    bad = counts[~((counts["age_band"] == "18-25") & (counts["arm"] == "treatment"))]
    err = _error(bad)
    assert "no treated or no control" in str(err)
    assert "18-25" in str(err)


def test_missing_rows_are_an_error_unless_filled(counts):
    partial = counts.drop(index=[1, 3])  # id0 and id1 lack their violence rows
    err = _error(partial)
    assert "lack rows" in str(err)
    trial = fdb.Trial.from_counts(partial, fill_missing=True)
    assert len(trial.data) == len(counts)
    filled = trial.data[
        (trial.data["person_id"] == "id0") & (trial.data["crime_type"] == "violence")
    ]
    assert filled[["pre_count", "post_count"]].to_numpy().tolist() == [[0, 0]]
    # filling never papers over a blank count in a row that exists
    blank = partial.astype({"post_count": object})
    blank.loc[0, "post_count"] = np.nan
    assert "missing values" in str(_error(blank, fill_missing=True))


def test_read_csv(tmp_path, counts):
    path = tmp_path / "counts.csv"
    counts.to_csv(path, index=False)
    trial = fdb.Trial.read_csv(path)
    assert trial.name == "counts"
    assert trial.data_hash() == fdb.Trial.from_counts(counts).data_hash()


def test_data_hash_ignores_row_order(counts):
    a = fdb.Trial.from_counts(counts).data_hash()
    b = fdb.Trial.from_counts(counts.sample(frac=1.0, random_state=1)).data_hash()
    assert a == b
    changed = counts.copy()
    changed.loc[0, "post_count"] += 1
    assert fdb.Trial.from_counts(changed).data_hash() != a


def test_summary(counts):
    trial = fdb.Trial.from_counts(counts)
    s = trial.summary()
    assert len(s) == 2 * 2 * 2  # arm x crime type x age band (one outcome)
    row = s[(s["arm"] == "treatment") & (s["crime_type"] == "knife") & (s["age_band"] == "11-17")]
    sub = counts[
        (counts["arm"] == "treatment")
        & (counts["crime_type"] == "knife")
        & (counts["age_band"] == "11-17")
    ]
    assert int(row["people"].iloc[0]) == 6
    assert int(row["post_total"].iloc[0]) == sub["post_count"].sum()
    expected_rate = sub["post_count"].sum() / (sub["exposure_days"].sum() / 365.0)
    assert float(row["rate_per_person_year"].iloc[0]) == pytest.approx(expected_rate)
    assert float(row["share_any"].iloc[0]) == pytest.approx((sub["post_count"] > 0).mean())


def test_person_index_is_integer_and_consistent(counts):
    trial = fdb.Trial.from_counts(counts)
    idx = trial.person_index()
    assert idx.dtype == np.int64 and idx.max() == 23
    # rows of one person share an index
    assert len(set(idx[trial.data["person_id"] == "id0"])) == 1


def test_harm_weights_must_cover_crime_types(counts):
    with pytest.raises(DataError, match="no weight"):
        fdb.Trial.from_counts(counts, harm_weights={"knife": 1.0})
