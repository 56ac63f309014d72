"""Cohort eligibility from police records: who could be randomised on the index date.

Inputs (see ``docs/cohort.md``):

- ``events``: one row per person per recorded event, columns ``person_id``, ``date``,
  ``crime_type`` and ``role`` (``suspect`` or ``victim``); an optional ``event_id``
  column identifies events (two rows with the same ``event_id`` are one event);
- ``persons``: ``person_id`` and ``date_of_birth``.

An eligibility :class:`Rule` states the windows (in calendar months before the index
date), the qualifying crime types, the minimum counts, the role that counts, the age
range and the age bands. :data:`KNIFE_RULE` is the seed trial's rule: aged 11-25 at the
index date, at least one knife offence as a suspect in the past 12 months and at least
two knife, violence or sexual offences as a suspect (the knife one included) in the past
24 months.

Windows are half-open: ``[index_date - m calendar months, index_date)``; the start day
counts, the index date does not. Calendar months are ``pandas.DateOffset(months=m)``
(29 February minus 12 months is 28 February). Age is in completed years at the index
date (a birthday on the index date counts; someone born on 29 February turns a year
older on 1 March in other years).

Bad records raise :class:`~fd_bayes.DataError` naming the column, up to five offending
rows and the fix. The only records left out without an error are the documented ones,
and :func:`flow` reports each of them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from fd_bayes.data.events import as_date, parse_dates, require_columns, text_column
from fd_bayes.errors import SettingsError, column_error

#: The roles a record may have.
ROLES: tuple[str, str] = ("suspect", "victim")
EVENT_COLUMNS = ("person_id", "date", "crime_type", "role")
PERSON_COLUMNS = ("person_id", "date_of_birth")
#: Events dated more than this many years after the index date are taken to be typos.
MAX_YEARS_AFTER_INDEX = 2


@dataclass(frozen=True)
class Rule:
    """An eligibility rule, stated as data so a force can state its own without code.

    A person is eligible when, at the index date,

    - their age in completed years is in ``[min_age, max_age]``;
    - at least ``anchor_min`` events with role ``role`` and crime type in
      ``anchor_crime_types`` fall in ``[index - anchor_months, index)``; and
    - at least ``history_min`` events with role ``role`` and crime type in
      ``history_crime_types`` fall in ``[index - history_months, index)``.

    The anchor events count towards the history when their crime type is in both sets
    (as in the seed's rule: the knife offence plus *another* qualifying offence).

    Parameters
    ----------
    anchor_months, history_months : int
        Window lengths in calendar months before the index date.
    anchor_crime_types, history_crime_types : iterable of str
        Qualifying crime types (compared in lower case).
    anchor_min, history_min : int
        Minimum numbers of distinct qualifying events in each window.
    role : str
        The role that counts (``suspect`` or ``victim``).
    min_age, max_age : int
        Age range at the index date, in completed years, both inclusive.
    age_bands : tuple of (label, lo, hi)
        Age bands (inclusive bounds) that tile ``[min_age, max_age]`` exactly.
    name : str
        A label for reports.

    Examples
    --------
    >>> from fd_bayes.data.cohort import Rule
    >>> rule = Rule(anchor_crime_types={"knife", "firearm"}, min_age=14,
    ...             age_bands=(("14-17", 14, 17), ("18-25", 18, 25)), name="weapons")
    >>> rule.band_labels
    ('14-17', '18-25')
    """

    anchor_months: int = 12
    anchor_crime_types: frozenset[str] = frozenset({"knife"})
    anchor_min: int = 1
    history_months: int = 24
    history_crime_types: frozenset[str] = frozenset({"knife", "violence", "sexual"})
    history_min: int = 2
    role: str = "suspect"
    min_age: int = 11
    max_age: int = 25
    age_bands: tuple[tuple[str, int, int], ...] = (("11-17", 11, 17), ("18-25", 18, 25))
    name: str = "knife"

    def __post_init__(self) -> None:
        for attr in ("anchor_crime_types", "history_crime_types"):
            value = getattr(self, attr)
            if isinstance(value, str):
                value = [value]
            types = frozenset(str(v).strip().lower() for v in value)
            if not types:
                raise SettingsError(f"Rule.{attr} is empty; name at least one crime type")
            object.__setattr__(self, attr, types)
        object.__setattr__(self, "role", str(self.role).strip().lower())
        if self.role not in ROLES:
            raise SettingsError(f"Rule.role must be one of {ROLES}, got {self.role!r}")
        for attr in ("anchor_months", "history_months"):
            if int(getattr(self, attr)) < 1:
                raise SettingsError(f"Rule.{attr} must be a whole number of months >= 1")
        for attr in ("anchor_min", "history_min"):
            if int(getattr(self, attr)) < 0:
                raise SettingsError(f"Rule.{attr} must be >= 0")
        if self.min_age > self.max_age:
            raise SettingsError("Rule.min_age must not exceed Rule.max_age")
        bands = tuple((str(label), int(lo), int(hi)) for label, lo, hi in self.age_bands)
        object.__setattr__(self, "age_bands", bands)
        expected = self.min_age
        for label, lo, hi in sorted(bands, key=lambda b: b[1]):
            if lo != expected or hi < lo:
                raise SettingsError(
                    f"Rule.age_bands must tile ages {self.min_age}-{self.max_age} without gaps "
                    f"or overlaps; band {label!r} ({lo}-{hi}) does not follow age {expected - 1}"
                )
            expected = hi + 1
        if expected != self.max_age + 1:
            raise SettingsError(
                f"Rule.age_bands end at {expected - 1}, not at max_age {self.max_age}"
            )
        if len({b[0] for b in bands}) != len(bands):
            raise SettingsError("Rule.age_bands labels must be distinct")

    @property
    def band_labels(self) -> tuple[str, ...]:
        """Age band labels in the order given."""
        return tuple(label for label, _, _ in self.age_bands)

    def describe(self) -> str:
        """The rule in one plain-English sentence."""

        def types(s: frozenset[str]) -> str:
            return " or ".join(sorted(s))

        return (
            f"aged {self.min_age}-{self.max_age} at the index date, with at least "
            f"{self.anchor_min} {types(self.anchor_crime_types)} event(s) as a {self.role} in "
            f"the {self.anchor_months} months before it and at least {self.history_min} "
            f"{types(self.history_crime_types)} event(s) as a {self.role} in the "
            f"{self.history_months} months before it"
        )


#: The seed trial's rule (Milton Keynes focused deterrence).
KNIFE_RULE = Rule()


@dataclass(frozen=True)
class CohortResult:
    """The eligible cohort and the CONSORT-style flow that produced it."""

    cohort: pd.DataFrame
    flow: pd.DataFrame


# -- record validation -------------------------------------------------------------------
def validate_events(
    events: pd.DataFrame, duplicates: Literal["error", "drop"] = "error"
) -> tuple[pd.DataFrame, int]:
    """Check and normalise an events table.

    Returns the clean events (``person_id``, ``date``, ``crime_type``, ``role``, and
    ``event_id`` when given; crime types and roles stripped and lower-cased; dates as
    days) and the number of duplicate events dropped (0 unless ``duplicates="drop"``).

    A duplicate event is a row equal to another on ``person_id``, ``date``,
    ``crime_type``, ``role`` (and ``event_id`` when the column exists). Without an
    ``event_id`` two genuine offences of the same type on the same day cannot be told
    from a double entry, so they are an error by default: add an ``event_id`` column,
    or pass ``duplicates="drop"`` to keep one of each (reported in the flow).
    """
    require_columns(
        events,
        EVENT_COLUMNS,
        "events",
        "events need one row per person per recorded event with columns person_id, date, "
        "crime_type and role",
    )
    if duplicates not in ("error", "drop"):
        raise SettingsError(f"duplicates must be 'error' or 'drop', got {duplicates!r}")
    events = events.reset_index(drop=True)
    clean = pd.DataFrame(
        {
            "person_id": text_column(events, "person_id", "events"),
            "date": parse_dates(events, "date", "events"),
            "crime_type": text_column(events, "crime_type", "events", lower=True),
            "role": text_column(events, "role", "events", lower=True),
        }
    )
    bad_role = ~clean["role"].isin(ROLES)
    if bad_role.any():
        values = sorted(clean.loc[bad_role, "role"].unique())[:5]
        raise column_error(
            "role",
            f"values other than 'suspect'/'victim': {values}",
            events[bad_role],
            "recode role to 'suspect' or 'victim' (drop witness/other records before calling)",
        )
    key = list(EVENT_COLUMNS)
    if "event_id" in events.columns:
        clean["event_id"] = text_column(events, "event_id", "events")
        clash = clean.duplicated("event_id", keep=False) & ~clean.duplicated(
            [*key, "event_id"], keep=False
        )
        if clash.any():
            raise column_error(
                "event_id",
                "the same event_id on rows that differ in person, date, crime type or role",
                events[clash],
                "an event_id identifies one person's record of one event; correct the rows",
            )
        key = [*key, "event_id"]
    dup = clean.duplicated(key, keep="first")
    n_dup = int(dup.sum())
    if n_dup and duplicates == "error":
        raise column_error(
            "date",
            f"{n_dup} duplicate event(s): the same person, date, crime type and role"
            + (" and event_id" if "event_id" in clean.columns else ""),
            events[clean.duplicated(key, keep=False)],
            "add an event_id column if these are distinct events, or pass "
            "duplicates='drop' to keep one of each (the flow reports how many were dropped)",
        )
    return clean[~dup].reset_index(drop=True), n_dup


def validate_persons(persons: pd.DataFrame) -> pd.DataFrame:
    """Check and normalise a persons table (one row per person; identical repeats merged)."""
    require_columns(
        persons,
        PERSON_COLUMNS,
        "persons",
        "persons needs one row per person with columns person_id and date_of_birth",
    )
    persons = persons.reset_index(drop=True)
    clean = pd.DataFrame(
        {
            "person_id": text_column(persons, "person_id", "persons"),
            "date_of_birth": parse_dates(persons, "date_of_birth", "persons"),
        }
    )
    clash = clean.duplicated("person_id", keep=False) & ~clean.duplicated(keep=False)
    if clash.any():
        ids = set(clean.loc[clash, "person_id"])
        raise column_error(
            "date_of_birth",
            f"{len(ids)} person(s) with more than one date of birth",
            persons[clean["person_id"].isin(ids)],
            "keep one date of birth per person (correct the record)",
        )
    return clean.drop_duplicates().reset_index(drop=True)


def age_at(dates_of_birth: pd.Series, on: pd.Timestamp | pd.Series) -> pd.Series:
    """Age in completed years on a date (vectorised; a birthday on the date counts).

    Examples
    --------
    >>> import pandas as pd
    >>> dob = pd.Series(pd.to_datetime(["2008-03-01", "2008-03-02"]))
    >>> age_at(dob, pd.Timestamp("2019-03-01")).tolist()
    [11, 10]
    """
    dob = pd.to_datetime(dates_of_birth)
    if isinstance(on, pd.Series):
        year, month, day = on.dt.year, on.dt.month, on.dt.day
    else:
        year, month, day = on.year, on.month, on.day
    before_birthday = (dob.dt.month > month) | ((dob.dt.month == month) & (dob.dt.day > day))
    return (year - dob.dt.year - before_birthday.astype("int64")).astype("int64")


def _assess(
    events: pd.DataFrame,
    persons: pd.DataFrame,
    index_date,
    rule: Rule,
    duplicates: Literal["error", "drop"],
    max_years_after: int | None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The eligible cohort and the flow table (see :func:`eligible` and :func:`flow`)."""
    if not isinstance(rule, Rule):
        raise SettingsError(f"rule must be a fd_bayes.data.cohort.Rule, got {type(rule).__name__}")
    index = as_date(index_date, "index_date")
    ev, n_dup = validate_events(events, duplicates)
    people = validate_persons(persons)
    pidx = _person_codes(ev, people)
    _check_dates(ev, people, pidx, index, max_years_after)

    # -- offence criteria: one boolean mask per window, one groupby ----------------------
    counted = ev["role"] == rule.role
    before = ev["date"] < index
    table = _window_counts(ev, people, pidx, index, rule, counted & before)
    in_age = table["age_at_index"].between(rule.min_age, rule.max_age)
    offences = (table["anchor_count"] >= rule.anchor_min) & (
        table["history_count"] >= rule.history_min
    )
    ok = in_age & offences
    cohort = _with_age_bands(table.loc[ok, ["age_at_index", "anchor_count", "history_count"]], rule)

    has_events = np.bincount(pidx, minlength=len(people)) > 0
    flow_table = _flow_table(
        rule,
        index,
        cohort,
        received=len(ev) + n_dup,
        dropped=n_dup,
        after_index=int((~before).sum()),
        other_role=int((~counted).sum()),
        people=len(table),
        without_events=int((~has_events).sum()),
        in_age=int(in_age.sum()),
        below=int((table["age_at_index"] < rule.min_age).sum()),
        above=int((table["age_at_index"] > rule.max_age).sum()),
        offences=int(offences.sum()),
        eligible=int(ok.sum()),
    )
    return cohort, flow_table


def _person_codes(ev: pd.DataFrame, people: pd.DataFrame) -> np.ndarray:
    """Each event's row in ``people``; an event of a person not in it is an error."""
    # integer person codes (hash join): fast and exact on pandas' string dtype
    pidx = pd.Index(people["person_id"]).get_indexer(ev["person_id"])
    unknown = pidx < 0
    if unknown.any():
        ids = ev.loc[unknown, "person_id"].unique()
        raise column_error(
            "person_id",
            f"{len(ids)} person(s) in events but not in persons (no date of birth)",
            ev[unknown],
            "add them to persons with their date of birth, or remove their events before "
            "calling (and report how many)",
        )
    return pidx


def _check_dates(
    ev: pd.DataFrame,
    people: pd.DataFrame,
    pidx: np.ndarray,
    index: pd.Timestamp,
    max_years_after: int | None,
) -> None:
    """Events implausibly far after the index date, births after it, events before birth."""
    if max_years_after is not None:
        limit = index + pd.DateOffset(years=int(max_years_after))
        future = ev["date"] > limit
        if future.any():
            raise column_error(
                "date",
                f"events dated more than {max_years_after} years after the index date "
                f"{index.date()} (likely typing errors)",
                ev[future],
                "correct the dates, or pass max_years_after=None if the extract really runs "
                "that far",
            )
    unborn = people["date_of_birth"] > index
    if unborn.any():
        raise column_error(
            "date_of_birth",
            f"dates of birth after the index date {index.date()}",
            people[unborn],
            "correct the dates of birth",
        )
    dob = pd.Series(people["date_of_birth"].to_numpy()[pidx], index=ev.index)
    early = ev["date"] < dob
    if early.any():
        raise column_error(
            "date",
            "events dated before the person's date of birth",
            ev[early].assign(date_of_birth=dob[early]),
            "correct the event dates or the date of birth",
        )


def _window_counts(
    ev: pd.DataFrame,
    people: pd.DataFrame,
    pidx: np.ndarray,
    index: pd.Timestamp,
    rule: Rule,
    counts: pd.Series,
) -> pd.DataFrame:
    """Per person (indexed by ``person_id``): date of birth, anchor and history counts of
    the events that ``counts`` (right role, before the index date), and age at index."""
    anchor = (
        counts
        & (ev["date"] >= index - pd.DateOffset(months=rule.anchor_months))
        & ev["crime_type"].isin(rule.anchor_crime_types)
    )
    history = (
        counts
        & (ev["date"] >= index - pd.DateOffset(months=rule.history_months))
        & ev["crime_type"].isin(rule.history_crime_types)
    )
    n_people = len(people)
    table = people.set_index("person_id")
    table["anchor_count"] = np.bincount(pidx[anchor.to_numpy()], minlength=n_people)
    table["history_count"] = np.bincount(pidx[history.to_numpy()], minlength=n_people)
    table["age_at_index"] = age_at(table["date_of_birth"], index)
    return table


def _with_age_bands(eligible_people: pd.DataFrame, rule: Rule) -> pd.DataFrame:
    """The cohort frame: ``person_id``, age, its band under ``rule``, counts; by person."""
    lo = np.array([b[1] for b in rule.age_bands])
    hi = np.array([b[2] for b in rule.age_bands])
    labels = np.array(rule.band_labels, dtype=object)
    cohort = eligible_people.reset_index()
    ages = cohort["age_at_index"].to_numpy()
    which = ((ages[:, None] >= lo) & (ages[:, None] <= hi)).argmax(axis=1)
    cohort.insert(2, "age_band", pd.Series(labels[which], dtype=str) if len(cohort) else "")
    cohort["age_band"] = cohort["age_band"].astype(str)
    return cohort.sort_values("person_id", kind="stable").reset_index(drop=True)


def _flow_table(
    rule: Rule,
    index: pd.Timestamp,
    cohort: pd.DataFrame,
    *,
    received: int,
    dropped: int,
    after_index: int,
    other_role: int,
    people: int,
    without_events: int,
    in_age: int,
    below: int,
    above: int,
    offences: int,
    eligible: int,
) -> pd.DataFrame:
    """The CONSORT-style flow (see :func:`flow`) from the counts of each step."""
    rows = [
        ("events_in_records", "events", received, "event rows received"),
        ("duplicate_events_dropped", "events", dropped, "exact duplicates (duplicates='drop')"),
        (
            "events_on_or_after_index",
            "events",
            after_index,
            "dated on or after the index date: never count towards eligibility",
        ),
        (
            f"events_as_{next(r for r in ROLES if r != rule.role)}",
            "events",
            other_role,
            f"role other than '{rule.role}': never count towards eligibility",
        ),
        ("people_in_records", "people", people, "persons table (everyone with events is in it)"),
        (
            "people_without_events",
            "people",
            without_events,
            "in persons but with no events: assessed, cannot meet the offence criteria",
        ),
        (
            "aged_in_range",
            "people",
            in_age,
            f"aged {rule.min_age}-{rule.max_age} in completed years at the index date",
        ),
        ("aged_below_range", "people", below, f"younger than {rule.min_age} at the index date"),
        ("aged_above_range", "people", above, f"older than {rule.max_age} at the index date"),
        (
            "meeting_offence_criteria",
            "people",
            offences,
            "meeting the offence criteria, whatever their age",
        ),
        ("eligible", "people", eligible, "aged in range and meeting the offence criteria"),
    ]
    for label in rule.band_labels:
        rows.append(
            (
                f"eligible_{label}",
                "people",
                int((cohort["age_band"] == label).sum()),
                f"eligible, age band {label}",
            )
        )
    flow_table = pd.DataFrame(rows, columns=["step", "unit", "count", "note"])
    flow_table.attrs.update(index_date=str(index.date()), rule=rule.describe())
    return flow_table


def eligible(
    events: pd.DataFrame,
    persons: pd.DataFrame,
    index_date,
    rule: Rule = KNIFE_RULE,
    *,
    return_flow: bool = False,
    duplicates: Literal["error", "drop"] = "error",
    max_years_after: int | None = MAX_YEARS_AFTER_INDEX,
) -> pd.DataFrame | CohortResult:
    """The people eligible under ``rule`` at ``index_date``.

    Parameters
    ----------
    events : pandas.DataFrame
        ``person_id``, ``date``, ``crime_type``, ``role`` (optional ``event_id``).
    persons : pandas.DataFrame
        ``person_id``, ``date_of_birth``; every person in ``events`` must be in it.
    index_date : date-like
        The index (randomisation) date. Events on it do not count.
    rule : Rule
        The eligibility rule; default :data:`KNIFE_RULE`, the seed trial's.
    return_flow : bool
        Return a :class:`CohortResult` (``.cohort`` and ``.flow``) instead of the frame.
    duplicates : {"error", "drop"}
        What to do with duplicate event rows (see :func:`validate_events`).
    max_years_after : int or None
        Events dated more than this many years after the index date are an error
        (a typing error such as 2042 for 2024); ``None`` turns the check off.

    Returns
    -------
    pandas.DataFrame or CohortResult
        One row per eligible person, sorted by ``person_id``: ``person_id``,
        ``age_at_index``, ``age_band``, ``anchor_count`` (qualifying events in the
        anchor window, e.g. knife offences in 12 months) and ``history_count``
        (qualifying events in the history window, e.g. knife/violence/sexual offences in
        24 months).

    Raises
    ------
    DataError
        Missing columns, missing or unreadable dates, unknown roles, people in events
        but not in persons, conflicting dates of birth, duplicate events (by default),
        events before birth or implausibly far after the index date.

    Examples
    --------
    >>> import fd_bayes as fdb
    >>> from fd_bayes.data.cohort import eligible
    >>> from fd_bayes.data.records import simulate_records
    >>> events, persons, custody = simulate_records(n_people=500, seed=1)
    >>> result = eligible(events, persons, "2024-01-01", return_flow=True)
    >>> list(result.cohort.columns)
    ['person_id', 'age_at_index', 'age_band', 'anchor_count', 'history_count']
    """
    cohort, flow_table = _assess(events, persons, index_date, rule, duplicates, max_years_after)
    return CohortResult(cohort, flow_table) if return_flow else cohort


def flow(
    events: pd.DataFrame,
    persons: pd.DataFrame,
    index_date,
    rule: Rule = KNIFE_RULE,
    *,
    duplicates: Literal["error", "drop"] = "error",
    max_years_after: int | None = MAX_YEARS_AFTER_INDEX,
) -> pd.DataFrame:
    """CONSORT-style counts of the eligibility assessment.

    Columns ``step``, ``unit`` (``events`` or ``people``), ``count`` and ``note``. Steps:
    events received, duplicates dropped, events on/after the index date and events in
    the other role (neither counts), people in records, people without events, aged in
    range (and below/above it), meeting the offence criteria (any age), eligible, and
    eligible per age band. ``flow.attrs`` holds the index date and the rule in words.
    Person-level counts only, so the table can be published (check the disclosure
    threshold for small numbers).
    """
    return _assess(events, persons, index_date, rule, duplicates, max_years_after)[1]


def cohort_hash(cohort: pd.DataFrame, columns: Iterable[str] = ("person_id",)) -> str:
    """SHA-256 of the cohort's ``columns``, independent of row order."""
    cols = list(columns)
    canon = cohort[cols].astype(str).sort_values(cols, kind="stable").reset_index(drop=True)
    return hashlib.sha256(canon.to_csv(index=False).encode()).hexdigest()
