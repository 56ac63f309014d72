"""Synthetic police records (events, persons, custody) for examples, docs and benchmarks.

The records are SYNTHETIC. They have the shape of a force's extract: people of all
ages around the trial's age range (some younger than 11 and older than 25), suspect
and victim records of several crime types spread over the 24 months before and the 12
months after the index date, and custody spells (some overlapping). A minority of
people have a high, knife-heavy offending rate, so a realistic share of them meet the
seed trial's eligibility rule.

No intervention effect is simulated unless ``treated`` and ``rate_ratio`` are given:
then each suspect event of a treated person on or after the index date is kept with
probability ``rate_ratio`` (drawn from a separate random stream, so every record
before the index date, hence the cohort and its randomisation, is unchanged).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

from fd_bayes.data.events import as_date

#: Share of each crime type among events of ordinary and of knife-involved people.
CRIME_MIX: dict[str, tuple[float, float]] = {
    "knife": (0.05, 0.30),
    "violence": (0.30, 0.30),
    "sexual": (0.03, 0.03),
    "robbery": (0.10, 0.12),
    "drugs": (0.25, 0.15),
    "theft": (0.20, 0.08),
    "criminal_damage": (0.07, 0.02),
}


def simulate_records(
    n_people: int = 3000,
    index_date="2024-01-01",
    seed: int | None = None,
    *,
    knife_share: float = 0.12,
    events_per_year: float = 1.2,
    knife_events_per_year: float = 3.0,
    victim_share: float = 0.3,
    custody_share: float = 0.15,
    treated: Iterable[str] | None = None,
    rate_ratio: float | Mapping[str, float] = 1.0,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Simulate a police-records extract around an index date.

    Parameters
    ----------
    n_people : int
        People in the extract.
    index_date : date-like
        The index (randomisation) date; events cover the 24 months before it and the
        12 months after it.
    seed : int, optional
        Random seed; the same seed gives the same records.
    knife_share : float
        Share of people with a high, knife-heavy offending rate.
    events_per_year, knife_events_per_year : float
        Mean events per year for ordinary and for knife-involved people (each person's
        rate is gamma-distributed around it).
    victim_share : float
        Share of events where the person is recorded as the victim.
    custody_share : float
        Share of people with one or two custody spells (7-180 days; may overlap).
    treated : iterable of str, optional
        person_ids whose follow-up suspect events are thinned by ``rate_ratio``.
    rate_ratio : float or mapping crime type -> float
        The simulated intervention effect on suspect events after the index date.

    Returns
    -------
    (events, persons, custody) : tuple of pandas.DataFrame
        ``events``: ``event_id``, ``person_id``, ``date``, ``crime_type``, ``role``;
        ``persons``: ``person_id``, ``date_of_birth``; ``custody``: ``person_id``,
        ``start``, ``end`` (release day, not in custody). Dates are ``datetime64``.

    Examples
    --------
    >>> events, persons, custody = simulate_records(n_people=200, seed=3)
    >>> sorted(events["role"].unique())
    ['suspect', 'victim']
    """
    if n_people < 1:
        raise ValueError("n_people must be >= 1")
    index = as_date(index_date, "index_date")
    rng = np.random.default_rng(seed)
    width = len(str(n_people))
    ids = np.array([f"P{i:0{width}d}" for i in range(1, n_people + 1)], dtype=object)

    # ages at the index date: mostly 11-25, some younger and older
    age_years = np.clip(np.round(rng.normal(18.0, 4.5, n_people)), 8, 35).astype("int64")
    days_past = rng.integers(0, 365, n_people)
    dob = _birth_dates(index, age_years, days_past)
    persons = pd.DataFrame({"person_id": ids, "date_of_birth": dob})

    knife = rng.random(n_people) < knife_share
    mean_rate = np.where(knife, knife_events_per_year, events_per_year)
    rate = rng.gamma(shape=1.5, scale=mean_rate / 1.5)
    start = index - pd.DateOffset(months=24)
    end = index + pd.DateOffset(months=12)
    span_days = int((end - start).days)
    n_events = rng.poisson(rate * span_days / 365.0)
    person_idx = np.repeat(np.arange(n_people), n_events)
    total = int(n_events.sum())
    day = rng.integers(0, span_days, total)
    dates = pd.to_datetime(start) + pd.to_timedelta(day, unit="D")
    crimes = list(CRIME_MIX)
    mixes = np.array([[CRIME_MIX[c][k] for c in crimes] for k in (0, 1)])
    mixes = mixes / mixes.sum(axis=1, keepdims=True)
    u = rng.random(total)
    cum = np.cumsum(mixes, axis=1)[knife[person_idx].astype(int)]
    crime = np.array(crimes, dtype=object)[(u[:, None] > cum).sum(axis=1).clip(0, len(crimes) - 1)]
    role = np.where(rng.random(total) < victim_share, "victim", "suspect").astype(object)
    events = pd.DataFrame(
        {
            "event_id": [f"E{i:08d}" for i in range(1, total + 1)],
            "person_id": ids[person_idx],
            "date": dates,
            "crime_type": crime,
            "role": role,
        }
    )
    # nobody offends before birth: move such events to the first day after the birthday
    born = persons["date_of_birth"].to_numpy()[person_idx]
    early = events["date"].to_numpy() < born
    if early.any():
        events.loc[early, "date"] = born[early]

    if treated is not None:
        events = _thin(events, set(map(str, treated)), index, rate_ratio, seed)
    events = events.sort_values(["date", "event_id"], kind="stable").reset_index(drop=True)

    in_custody = np.flatnonzero(rng.random(n_people) < custody_share)
    n_spells = rng.integers(1, 3, len(in_custody))
    who = np.repeat(in_custody, n_spells)
    spell_start = pd.to_datetime(start) + pd.to_timedelta(
        rng.integers(0, span_days, len(who)), unit="D"
    )
    length = pd.to_timedelta(rng.integers(7, 181, len(who)), unit="D")
    custody = pd.DataFrame(
        {"person_id": ids[who], "start": spell_start, "end": spell_start + length}
    )
    return events, persons, custody.reset_index(drop=True)


def _birth_dates(index: pd.Timestamp, age_years: np.ndarray, days_past: np.ndarray) -> pd.Series:
    """Dates of birth giving exactly ``age_years`` completed years at ``index``."""
    # the last birthday is days_past days before the index date (or on it)
    last_birthday = pd.Series(index - pd.to_timedelta(days_past, unit="D"))
    year = last_birthday.dt.year - age_years
    month = last_birthday.dt.month
    day = last_birthday.dt.day
    # 29 February in a non-leap birth year: born 1 March (the birthday falls on 1 March)
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    feb29 = (month == 2) & (day == 29) & ~leap
    month = month.where(~feb29, 3)
    day = day.where(~feb29, 1)
    return pd.to_datetime(pd.DataFrame({"year": year, "month": month, "day": day}))


def _thin(
    events: pd.DataFrame,
    treated: set[str],
    index: pd.Timestamp,
    rate_ratio: float | Mapping[str, float],
    seed: int | None,
) -> pd.DataFrame:
    if isinstance(rate_ratio, Mapping):
        keep_p = events["crime_type"].map(lambda c: float(rate_ratio.get(c, 1.0)))
    else:
        keep_p = pd.Series(float(rate_ratio), index=events.index)
    if ((keep_p < 0) | (keep_p > 1)).any():
        raise ValueError("rate_ratio must be between 0 and 1 (events are thinned)")
    rng = np.random.default_rng([0 if seed is None else int(seed), 1])
    u = rng.random(len(events))
    target = (
        events["person_id"].isin(treated)
        & (events["role"] == "suspect")
        & (events["date"] >= index)
    )
    return events[~target | (u < keep_p.to_numpy())]
