"""Outcome counts from police records: events + allocation -> the canonical long table.

For every randomised person, every crime type and every outcome (``offending`` counts
records with role ``suspect``, ``victimisation`` records with role ``victim``):

- ``pre_count``: events in ``[index_date - 12 calendar months, index_date)``;
- ``post_count``: events in ``[index_date, index_date + follow_up_days days)``;
- ``exposure_days``: ``follow_up_days`` minus the days in custody inside the follow-up.

Every person x crime type x outcome combination is present: people with no events
have zero counts, not missing rows. Custody spells ``[start, end)`` (``end`` is the day
of release, at risk again) are clipped to the follow-up window and merged where they
overlap, so no custody day is subtracted twice.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from fd_bayes.constants import ARMS, DEFAULT_EXPOSURE_DAYS
from fd_bayes.data.cohort import validate_events
from fd_bayes.data.events import as_date, parse_dates, require_columns, text_column
from fd_bayes.data.schema import CANONICAL
from fd_bayes.errors import DataError, SettingsError, column_error

#: Outcome name -> the event role it counts.
OUTCOME_ROLES: dict[str, str] = {"offending": "suspect", "victimisation": "victim"}
#: Months before the index date counted in ``pre_count``.
PRE_MONTHS = 12
#: The canonical columns, without ``trial`` (counts come from one trial's records).
COLUMNS = tuple(c for c in CANONICAL if c != "trial")


def _allocation_frame(allocation, index_date) -> pd.DataFrame:
    table = getattr(allocation, "table", allocation)
    require_columns(
        table,
        ("person_id", "arm"),
        "the allocation",
        "pass the result of fd_bayes.randomise (or a table with person_id, arm and age_band)",
    )
    table = table.reset_index(drop=True)
    out = pd.DataFrame(
        {
            "person_id": text_column(table, "person_id", "the allocation"),
            "arm": text_column(table, "arm", "the allocation", lower=True),
        }
    )
    out["age_band"] = (
        text_column(table, "age_band", "the allocation") if "age_band" in table.columns else "all"
    )
    bad = ~out["arm"].isin(ARMS)
    if bad.any():
        raise column_error(
            "arm",
            f"values other than 'treatment'/'control': {sorted(out.loc[bad, 'arm'].unique())[:5]}",
            table[bad],
            "recode the arm column to 'treatment' and 'control'",
        )
    dup = out["person_id"].duplicated(keep=False)
    if dup.any():
        raise column_error(
            "person_id",
            "people listed more than once in the allocation",
            table[dup],
            "one row per randomised person",
        )
    if "index_date" in table.columns:
        given = table["index_date"]
        if index_date is not None:
            given = given.where(given.notna(), str(as_date(index_date, "index_date").date()))
        out["index_date"] = parse_dates(table.assign(index_date=given), "index_date", "allocation")
    elif index_date is None:
        raise DataError(
            "index_date: not given and the allocation has no index_date column\nFix: pass "
            "index_date= (--index-date on the command line), or give each person's index "
            "date in an index_date column of the allocation"
        )
    else:
        out["index_date"] = as_date(index_date, "index_date")
    return out


def _custody_days(
    custody: pd.DataFrame, people: pd.DataFrame, post_start: pd.Series, post_end: pd.Series
) -> np.ndarray:
    """Custody days inside each person's follow-up (spells clipped, overlaps merged)."""
    require_columns(
        custody,
        ("person_id", "start", "end"),
        "custody",
        "custody needs one row per spell with person_id, start and end (the release date)",
    )
    raw = custody.reset_index(drop=True)
    spells = pd.DataFrame(
        {
            "person_id": text_column(raw, "person_id", "custody"),
            "start": parse_dates(raw, "start", "custody"),
            "end": parse_dates(raw, "end", "custody"),
        }
    )
    backwards = spells["end"] < spells["start"]
    if backwards.any():
        raise column_error(
            "end",
            "custody spells that end before they start",
            raw[backwards],
            "correct the dates (end is the day of release)",
        )
    n = len(people)
    pidx = pd.Index(people["person_id"]).get_indexer(spells["person_id"])
    known = pidx >= 0
    pidx = pidx[known]
    lo = np.maximum(spells["start"].to_numpy()[known], post_start.to_numpy()[pidx])
    hi = np.minimum(spells["end"].to_numpy()[known], post_end.to_numpy()[pidx])
    inside = hi > lo
    if not inside.any():
        return np.zeros(n)
    s = pd.DataFrame({"p": pidx[inside], "lo": lo[inside], "hi": hi[inside]})
    s = s.sort_values(["p", "lo", "hi"], kind="stable").reset_index(drop=True)
    # union of intervals per person: a new block starts where a spell begins after every
    # earlier spell of that person has ended
    reach = s.groupby("p")["hi"].cummax()
    prev_reach = reach.groupby(s["p"]).shift(1)
    new_block = prev_reach.isna() | (s["lo"] > prev_reach)
    block = new_block.cumsum()
    merged = s.groupby(block).agg(p=("p", "first"), lo=("lo", "min"), hi=("hi", "max"))
    days = (merged["hi"] - merged["lo"]).dt.days.to_numpy()
    return np.bincount(merged["p"].to_numpy(), weights=days, minlength=n)


def counts_from_events(
    events: pd.DataFrame,
    allocation,
    index_date=None,
    follow_up_days: int = int(DEFAULT_EXPOSURE_DAYS),
    custody: pd.DataFrame | None = None,
    crime_types: Sequence[str] | None = None,
    *,
    outcomes: Mapping[str, str] = OUTCOME_ROLES,
    duplicates: str = "error",
) -> pd.DataFrame:
    """The canonical long table of counts for the randomised people.

    Parameters
    ----------
    events : pandas.DataFrame
        ``person_id``, ``date``, ``crime_type``, ``role`` (optional ``event_id``), as for
        :func:`fd_bayes.data.cohort.eligible`. Events of people not in the allocation, and
        events outside a person's windows, are not counted.
    allocation : Allocation or pandas.DataFrame
        The randomisation: ``person_id``, ``arm``, ``age_band`` (optional, default
        ``all``) and optionally ``index_date`` per person (rolling recruitment).
    index_date : date-like, optional
        The index date; required unless the allocation has an ``index_date`` column
        (where that column is blank this date is used).
    follow_up_days : int
        Length of the follow-up window in days.
    custody : pandas.DataFrame, optional
        Custody spells ``person_id``, ``start``, ``end`` (release day).
    crime_types : sequence of str, optional
        The crime types to count (rows for each, even if no event has them); default
        every crime type in ``events``, sorted. Events of other types are not counted.
    outcomes : mapping outcome -> role
        Default ``{"offending": "suspect", "victimisation": "victim"}``.
    duplicates : {"error", "drop"}
        Duplicate event rows (see :func:`fd_bayes.data.cohort.validate_events`).

    Returns
    -------
    pandas.DataFrame
        ``person_id``, ``arm``, ``age_band``, ``crime_type``, ``outcome``,
        ``pre_count``, ``post_count``, ``exposure_days``: one row per person x crime
        type x outcome, sorted by age band, person, crime type and outcome; ready for
        :meth:`fd_bayes.Trial.from_counts`.

    Raises
    ------
    DataError
        Bad events, allocation or custody records, or a person with no day at risk
        (in custody for the whole follow-up).

    Examples
    --------
    >>> import pandas as pd
    >>> events = pd.DataFrame({"person_id": ["a", "b"], "date": ["2023-06-01", "2024-03-01"],
    ...     "crime_type": "knife", "role": "suspect"})
    >>> alloc = pd.DataFrame({"person_id": ["a", "b"], "arm": ["treatment", "control"]})
    >>> counts = counts_from_events(events, alloc, "2024-01-01")
    >>> offending = counts[counts["outcome"] == "offending"]
    >>> offending[["person_id", "pre_count", "post_count"]].values.tolist()
    [['a', 1, 0], ['b', 0, 1]]
    """
    if isinstance(follow_up_days, bool) or not isinstance(follow_up_days, int | np.integer):
        raise SettingsError(f"follow_up_days must be a whole number of days, got {follow_up_days}")
    if follow_up_days < 1:
        raise SettingsError("follow_up_days must be >= 1")
    roles = {str(k): str(v).lower() for k, v in outcomes.items()}
    if not roles or not set(roles.values()) <= {"suspect", "victim"}:
        raise SettingsError(f"outcomes must map outcome names to 'suspect'/'victim': {outcomes}")
    people = _allocation_frame(allocation, index_date)
    ev, _ = validate_events(events, duplicates)  # type: ignore[arg-type]
    if crime_types is None:
        types = sorted(ev["crime_type"].unique())
        if not types:
            raise DataError(
                "events: no events, so no crime types\nFix: pass crime_types= to count zeros"
            )
    else:
        types = list(dict.fromkeys(str(c).strip().lower() for c in crime_types))
        if not types:
            raise SettingsError("crime_types is empty")
    n, n_types, n_out = len(people), len(types), len(roles)

    idx = people["index_date"]
    pre_start = idx - pd.DateOffset(months=PRE_MONTHS)
    post_end = idx + pd.Timedelta(days=follow_up_days)

    # integer codes: person, crime type, outcome; one flat cell index per event
    pidx = pd.Index(people["person_id"]).get_indexer(ev["person_id"])
    cidx = pd.Index(types).get_indexer(ev["crime_type"])
    out_names = list(roles)
    oidx = np.full(len(ev), -1)
    role_values = ev["role"].to_numpy()
    for k, role in enumerate(roles.values()):  # one pass per outcome (two)
        oidx[role_values == role] = k
    keep = (pidx >= 0) & (cidx >= 0) & (oidx >= 0)
    pidx, cidx, oidx = pidx[keep], cidx[keep], oidx[keep]
    dates = ev["date"].to_numpy()[keep]
    pre = (dates >= pre_start.to_numpy()[pidx]) & (dates < idx.to_numpy()[pidx])
    post = (dates >= idx.to_numpy()[pidx]) & (dates < post_end.to_numpy()[pidx])
    cell = (pidx * n_types + cidx) * n_out + oidx
    size = n * n_types * n_out
    pre_count = np.bincount(cell[pre], minlength=size)
    post_count = np.bincount(cell[post], minlength=size)

    custody_days = np.zeros(n) if custody is None else _custody_days(custody, people, idx, post_end)
    exposure = follow_up_days - custody_days
    none_at_risk = exposure <= 0
    if none_at_risk.any():
        raise column_error(
            "exposure_days",
            f"{int(none_at_risk.sum())} person(s) in custody for the whole follow-up (no day "
            "at risk)",
            people[none_at_risk][["person_id", "arm", "index_date"]],
            "report them and remove them from the allocation before counting (their outcome "
            "is not observable), or check the custody dates",
        )

    person_rep = np.repeat(np.arange(n), n_types * n_out)
    frame = pd.DataFrame(
        {
            "person_id": people["person_id"].to_numpy()[person_rep],
            "arm": people["arm"].to_numpy()[person_rep],
            "age_band": people["age_band"].to_numpy()[person_rep],
            "crime_type": np.tile(np.repeat(np.array(types, dtype=object), n_out), n),
            "outcome": np.tile(np.array(out_names, dtype=object), n * n_types),
            "pre_count": pre_count.astype("int64"),
            "post_count": post_count.astype("int64"),
            "exposure_days": exposure[person_rep].astype(float),
        }
    )
    frame = frame.astype(
        {c: str for c in ("person_id", "arm", "age_band", "crime_type", "outcome")}
    )
    # age band first, so the Trial's age bands come in a sensible order ("11-17", "18-25")
    order = ["age_band", "person_id", "crime_type", "outcome"]
    return frame.sort_values(order, kind="stable").reset_index(drop=True)
