"""The trial data layer: the canonical long format, validated.

One row per person x crime type x outcome (see ``docs/data.md``):

============== =====================================================================
column         meaning
============== =====================================================================
person_id      string; never exported (fits keep an integer index only)
arm            ``treatment`` or ``control``
age_band       string, e.g. ``11-17``; optional, default ``all``
crime_type     string, e.g. ``knife``
outcome        string; optional, default ``offending`` (also ``victimisation``)
pre_count      int >= 0, count in the 12 months before randomisation
post_count     int >= 0, count in the follow-up
exposure_days  float > 0, days at risk in follow-up; optional, default 365
trial          optional trial/site id when pooling trials
============== =====================================================================

Everything that can be wrong with such a table raises :class:`~fd_bayes.DataError`
naming the column, showing up to five offending rows and saying how to fix it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from fd_bayes.constants import ARMS, DAYS_PER_YEAR, DEFAULT_EXPOSURE_DAYS
from fd_bayes.data.outcomes import counts_from_events
from fd_bayes.data.schema import (
    ALIASES,
    CANONICAL,
    CELL,
    DEFAULT_NAME,
    KEY,
    OPTIONAL_DEFAULTS,
    REQUIRED,
)
from fd_bayes.errors import DataError, column_error


def _count_column(df: pd.DataFrame, column: str) -> pd.Series:
    raw = df[column]
    values = pd.to_numeric(raw, errors="coerce")
    bad_text = values.isna() & raw.notna()
    if bad_text.any():
        raise column_error(
            column, "values that are not numbers", df[bad_text], "counts must be integers >= 0"
        )
    if values.isna().any():
        raise column_error(
            column,
            "missing values",
            df[values.isna()],
            "a person with no recorded events has count 0, not a blank; fill the blanks",
        )
    values = values.astype(float)
    if (values < 0).any():
        raise column_error(
            column, "negative counts", df[values < 0], "counts must be integers >= 0"
        )
    non_int = values != np.round(values)
    if non_int.any():
        raise column_error(
            column,
            "non-integer counts",
            df[non_int],
            "counts are numbers of events; round or correct them (harm-weighted scores are "
            "derived by the model from counts and harm weights, not given as counts)",
        )
    return values.astype("int64")


def _validate(df: pd.DataFrame) -> pd.DataFrame:
    if df.shape[0] == 0:
        raise DataError(
            "the data are empty (no rows)\nFix: pass a table with one row per person x crime "
            "type x outcome (see docs/data.md)"
        )
    missing = [c for c in REQUIRED if c not in df.columns]
    if missing:
        raise DataError(
            f"column '{missing[0]}': missing (required columns missing: {', '.join(missing)}; "
            f"columns present: {', '.join(map(str, df.columns))})\nFix: rename your columns or "
            f"map them, e.g. Trial.from_counts(df, person_id='id', post_count='n_after')"
        )
    out = pd.DataFrame(index=df.index)
    for col in ("person_id", "arm", "crime_type", "age_band", "outcome", "trial"):
        if col not in df.columns or (col == "trial" and df[col].isna().all()):
            default = OPTIONAL_DEFAULTS[col]
            out[col] = "" if default is None else str(default)
            continue
        if df[col].isna().any():
            raise column_error(
                col, "missing values", df[df[col].isna()], f"fill in '{col}' for every row"
            )
        out[col] = df[col].astype(str).str.strip()
        empty = out[col] == ""
        if empty.any() and not (col == "trial" and empty.all()):
            raise column_error(col, "empty strings", df[empty], f"fill in '{col}' for every row")
    out["arm"] = out["arm"].str.lower()
    bad_arm = ~out["arm"].isin(ARMS)
    if bad_arm.any():
        values = sorted(out.loc[bad_arm, "arm"].unique())[:5]
        raise column_error(
            "arm",
            f"values other than 'treatment'/'control': {values}",
            df[bad_arm],
            "recode the arm column to 'treatment' and 'control'",
        )
    out["pre_count"] = _count_column(df, "pre_count")
    out["post_count"] = _count_column(df, "post_count")
    if "exposure_days" in df.columns:
        exp = pd.to_numeric(df["exposure_days"], errors="coerce").astype(float)
        bad = exp.isna() | ~np.isfinite(exp) | (exp <= 0)
        if bad.any():
            raise column_error(
                "exposure_days",
                "missing, non-numeric or non-positive exposure",
                df[bad],
                "exposure_days is the number of days at risk in follow-up and must be > 0; "
                "drop people with no time at risk (e.g. in custody all year) and say so",
            )
        out["exposure_days"] = exp
    else:
        out["exposure_days"] = float(DEFAULT_EXPOSURE_DAYS)

    for attr, what in (("arm", "arms"), ("age_band", "age bands")):
        per_person = out.groupby(["trial", "person_id"])[attr].nunique()
        clash = per_person[per_person > 1]
        if len(clash):
            ids = set(clash.index.get_level_values("person_id"))
            rows = df[out["person_id"].isin(ids)]
            raise column_error(
                attr,
                f"{len(clash)} person(s) appear in more than one of the {what}",
                rows,
                f"each person belongs to exactly one of the {what}; correct the records",
            )
    dup = out.duplicated(list(KEY), keep=False)
    if dup.any():
        raise column_error(
            "person_id",
            "duplicate person x crime type x outcome rows",
            df[dup],
            "aggregate to one row per person, crime type and outcome (sum the counts)",
        )
    _check_grid(out, df)
    _check_strata(out)
    return out


def _check_grid(out: pd.DataFrame, df: pd.DataFrame) -> None:
    """Every person has a row for every crime type x outcome of their trial."""
    for _, part in out.groupby("trial", sort=False):
        n_types = part.groupby(["crime_type", "outcome"]).ngroups
        per_person = part.groupby("person_id").size()
        short = per_person[per_person < n_types]
        if len(short):
            rows = df.loc[part.index[part["person_id"].isin(short.index)]]
            raise column_error(
                "crime_type",
                f"{len(short)} person(s) lack rows for some crime type x outcome "
                f"combinations ({n_types} expected per person)",
                rows,
                "add the missing rows with pre_count = post_count = 0 (a missing row is not "
                "assumed to be zero), or call Trial.from_counts(..., fill_missing=True)",
            )


def _check_strata(out: pd.DataFrame) -> None:
    arms = out.groupby(["trial", *CELL])["arm"].agg(lambda s: frozenset(s))
    lacking = arms[arms.map(len) < 2]
    if len(lacking):
        shown = lacking.map(lambda s: f"only {next(iter(s))}").rename("arms").reset_index()
        shown = shown.drop(columns="trial") if (shown["trial"] == "").all() else shown
        raise column_error(
            "arm",
            "a stratum (outcome x crime type x age band) with no treated or no control people",
            shown,
            "every stratum needs people in both arms; merge sparse age bands or check the arm "
            "coding",
            numbered=False,
        )


def _fill_missing(df: pd.DataFrame) -> pd.DataFrame:
    """Add zero-count rows for person x crime type x outcome combinations absent from df.

    Added rows take the person's arm, age band and (largest) exposure; rows that were
    present are kept exactly as given and validated as usual afterwards.
    """
    people = df.groupby(["trial", "person_id"], sort=False).agg(
        arm=("arm", "first"),
        age_band=("age_band", "first"),
        person_exposure=("exposure_days", "max"),
    )
    combos = df[["trial", "crime_type", "outcome"]].drop_duplicates()
    grid = people.reset_index().merge(combos, on="trial")
    present = df[[*KEY, "pre_count", "post_count", "exposure_days"]]
    merged = grid.merge(present, on=list(KEY), how="left", indicator=True)
    added = merged.pop("_merge") == "left_only"
    merged.loc[added, ["pre_count", "post_count"]] = 0
    merged.loc[added, "exposure_days"] = merged.loc[added, "person_exposure"]
    return merged.drop(columns="person_exposure")


def _as_category(values: pd.Series) -> pd.Categorical:
    """Categories in order of first appearance (keeps the user's ordering)."""
    return pd.Categorical(values, categories=list(pd.unique(values)))


class Trial:
    """A validated trial in the canonical long format.

    Construct with :meth:`from_counts`, :meth:`read_csv` or
    :func:`fd_bayes.example_trial`; the constructor itself only stores an
    already-validated frame. Nothing here fits or samples.

    Attributes
    ----------
    data : pandas.DataFrame
        The validated canonical frame (categorical string columns, int counts).
    name : str
        A label used in reports.
    harm_weights : dict or None
        Optional crime-type harm weights carried along for reports.
    """

    def __init__(self, data: pd.DataFrame, name: str = DEFAULT_NAME, harm_weights=None):
        self.data = data
        self.name = name
        self.harm_weights = dict(harm_weights) if harm_weights else None

    # -- construction -------------------------------------------------------------------
    @classmethod
    def from_counts(
        cls,
        df: pd.DataFrame,
        *,
        name: str = DEFAULT_NAME,
        fill_missing: bool = False,
        harm_weights: Mapping[str, float] | None = None,
        **column_map: str,
    ) -> Trial:
        """Validate a long table of counts and return a Trial.

        Parameters
        ----------
        df : pandas.DataFrame
            One row per person x crime type x outcome.
        name : str
            A label for reports.
        fill_missing : bool
            Add zero-count rows for person x crime type x outcome combinations that
            are absent. Off by default: a missing row is an error, not silently zero.
        harm_weights : mapping, optional
            Crime type -> harm weight, kept for the harm estimand.
        **column_map : str
            Canonical name (or short alias: ``person``, ``crime``, ``pre``, ``post``,
            ``exposure``, ``age``, ``site``) = the column's name in ``df``.

        Examples
        --------
        >>> import pandas as pd, fd_bayes as fdb
        >>> df = pd.DataFrame({"id": ["a", "b"], "arm": ["treatment", "control"],
        ...     "crime_type": "knife", "pre_count": [2, 1], "post_count": [0, 1]})
        >>> fdb.Trial.from_counts(df, person="id").n_people
        2
        """
        if not isinstance(df, pd.DataFrame):
            raise DataError(f"expected a pandas DataFrame, got {type(df).__name__}")
        rename: dict[str, str] = {}
        for canonical, theirs in column_map.items():
            target = ALIASES.get(canonical, canonical)
            if target not in CANONICAL:
                raise DataError(
                    f"unknown column mapping '{canonical}={theirs}'\nFix: map one of "
                    f"{', '.join(CANONICAL)} (or aliases {', '.join(ALIASES)})"
                )
            if theirs not in df.columns:
                raise DataError(
                    f"column '{theirs}': not in the data (mapped to '{target}'); columns "
                    f"present: {', '.join(map(str, df.columns))}\nFix: correct the mapping"
                )
            rename[theirs] = target
        raw = df.rename(columns=rename).reset_index(drop=True)
        if fill_missing and raw.shape[0]:
            partial = _validate_partial(raw)
            raw = _fill_missing(partial)
        out = _validate(raw)
        for col in ("trial", "outcome", "crime_type", "age_band", "arm"):
            out[col] = _as_category(out[col])
        out["arm"] = out["arm"].cat.set_categories(list(ARMS))
        out = out[list(CANONICAL)].reset_index(drop=True)
        if harm_weights is not None:
            _check_harm_weights(harm_weights, out)
        return cls(out, name=name, harm_weights=harm_weights)

    @classmethod
    def read_csv(cls, path: str | Path, **kwargs) -> Trial:
        """Read a CSV in the canonical format (keyword arguments as in :meth:`from_counts`)."""
        path = Path(path)
        df = read_table(path, dtype={"person_id": str, "trial": str})
        kwargs.setdefault("name", path.stem)
        return cls.from_counts(df, **kwargs)

    @classmethod
    def from_events(
        cls,
        events: pd.DataFrame,
        allocation,
        index_date=None,
        follow_up_days: int = 365,
        custody: pd.DataFrame | None = None,
        crime_types=None,
        *,
        name: str = DEFAULT_NAME,
        harm_weights: Mapping[str, float] | None = None,
        **kwargs,
    ) -> Trial:
        """Count outcomes from police records (see
        :func:`fd_bayes.data.outcomes.counts_from_events`).

        ``offending`` counts suspect events and ``victimisation`` victim events in the
        12 months before and the ``follow_up_days`` from the index date; every person x
        crime type x outcome is present (zero-filled); exposure excludes custody days.
        """
        counts = counts_from_events(
            events, allocation, index_date, follow_up_days, custody, crime_types, **kwargs
        )
        return cls.from_counts(counts, name=name, harm_weights=harm_weights)

    @classmethod
    def concat(
        cls,
        trials: list[Trial],
        names: list[str] | None = None,
        *,
        name: str = "pooled trials",
    ) -> Trial:
        """Stack several trials into one multi-trial Trial (for pooled models).

        Parameters
        ----------
        trials : list of Trial
            Single-trial Trials (a Trial that already holds several trials is an error:
            concatenate the originals).
        names : list of str, optional
            One label per trial, stored in the ``trial`` column. Defaults to each
            Trial's ``name``; labels must be distinct.
        name : str
            A label for reports.

        Notes
        -----
        Person ids may repeat across trials (a person is keyed by trial and id). Trials
        may differ in crime types, outcomes and age bands: cells a trial does not have
        are absent, never filled with zeros. Harm weights are merged when they agree on
        every shared crime type; a conflict is a :class:`~fd_bayes.DataError`. If only
        some trials carry harm weights, the merged weights must still cover every crime
        type, otherwise they are dropped (harm then needs ``harm_weights=`` at report
        time).

        Examples
        --------
        >>> import fd_bayes as fdb
        >>> a, b = fdb.example_trial(), fdb.example_trial()
        >>> fdb.Trial.concat([a, b], names=["site A", "site B"]).trials
        ['site A', 'site B']
        """
        trials = list(trials)
        if len(trials) < 1 or not all(isinstance(t, Trial) for t in trials):
            raise DataError("Trial.concat needs a list of Trial objects")
        if names is None:
            names = [t.name for t in trials]
        names = [str(n).strip() for n in names]
        if len(names) != len(trials):
            raise DataError(
                f"Trial.concat: {len(trials)} trials but {len(names)} names\nFix: give one "
                "name per trial"
            )
        if len(set(names)) != len(names) or any(n == "" for n in names):
            raise DataError(
                f"Trial.concat: trial names must be distinct and non-empty, got {names}\nFix: "
                "pass names=[...] with one distinct label per trial"
            )
        frames = []
        for label, t in zip(names, trials, strict=True):
            if len(t.trials) > 1:
                raise DataError(
                    f"Trial.concat: '{label}' already holds {len(t.trials)} trials "
                    f"({t.trials})\nFix: concatenate the single trials"
                )
            d = t.data.astype({c: str for c in ("trial", "arm", "age_band", "crime_type")})
            d = d.astype({"outcome": str})
            frames.append(d.assign(trial=label))
        weights: dict[str, float] = {}
        carried = [t.harm_weights for t in trials if t.harm_weights]
        for w in carried:
            for crime, value in w.items():
                if crime in weights and not np.isclose(weights[crime], float(value)):
                    raise DataError(
                        f"Trial.concat: the trials' harm weights conflict for crime type "
                        f"'{crime}' ({weights[crime]:g} vs {float(value):g})\nFix: use one harm "
                        "index for all trials (set trial.harm_weights before concatenating)"
                    )
                weights[crime] = float(value)
        df = pd.concat(frames, ignore_index=True)
        types = set(df["crime_type"])
        merged = weights if carried and types <= set(weights) else None
        return cls.from_counts(df, name=name, harm_weights=merged)

    # -- views --------------------------------------------------------------------------
    @property
    def crime_types(self) -> list[str]:
        return list(self.data["crime_type"].cat.categories)

    @property
    def outcomes(self) -> list[str]:
        return list(self.data["outcome"].cat.categories)

    @property
    def age_bands(self) -> list[str]:
        return list(self.data["age_band"].cat.categories)

    @property
    def trials(self) -> list[str]:
        return list(self.data["trial"].cat.categories)

    @property
    def people(self) -> pd.DataFrame:
        """One row per person: trial, person_id, arm, age_band (still identifiable)."""
        return (
            self.data.drop_duplicates(["trial", "person_id"])[
                ["trial", "person_id", "arm", "age_band"]
            ]
            .reset_index(drop=True)
            .astype({"arm": str, "age_band": str, "trial": str})
        )

    @property
    def n_people(self) -> int:
        return int(self.data.groupby(["trial", "person_id"], observed=True).ngroups)

    @property
    def n_treated(self) -> int:
        return int((self.people["arm"] == "treatment").sum())

    def person_index(self) -> np.ndarray:
        """Integer person index per row (0..n_people-1), the only person key fits keep."""
        keys = self.data["trial"].astype(str) + "\x1f" + self.data["person_id"].astype(str)
        codes, _ = pd.factorize(keys)
        return codes.astype("int64")

    def data_hash(self) -> str:
        """SHA-256 of the canonical data (order-independent), recorded in every fit."""
        canon = self.data.astype(
            {c: str for c in ("trial", "arm", "age_band", "crime_type", "outcome")}
        )
        canon = canon.sort_values(list(KEY)).reset_index(drop=True)
        return hashlib.sha256(canon.to_csv(index=False).encode()).hexdigest()

    def summary(self) -> pd.DataFrame:
        """Descriptive counts per arm x outcome x crime type x age band.

        Columns: ``people``, ``pre_total``, ``post_total``, ``person_years``,
        ``rate_per_person_year`` (post total / person-years at risk) and ``share_any``
        (share of people with at least one follow-up count).
        """
        d = self.data.assign(
            person_years=self.data["exposure_days"] / DAYS_PER_YEAR,
            any_post=(self.data["post_count"] > 0).astype(float),
        )
        keys = ["arm", "outcome", "crime_type", "age_band"]
        if len(self.trials) > 1:
            keys = ["trial", *keys]
        out = (
            d.groupby(keys, observed=True)
            .agg(
                people=("person_id", "nunique"),
                pre_total=("pre_count", "sum"),
                post_total=("post_count", "sum"),
                person_years=("person_years", "sum"),
                share_any=("any_post", "mean"),
            )
            .reset_index()
        )
        out["rate_per_person_year"] = out["post_total"] / out["person_years"]
        cols = [*keys, "people", "pre_total", "post_total", "person_years"]
        return out[[*cols, "rate_per_person_year", "share_any"]]

    def __repr__(self) -> str:
        t = self.people
        return (
            f"Trial({self.name!r}: {len(t)} people ({self.n_treated} treated), "
            f"crime types {self.crime_types}, outcomes {self.outcomes}, "
            f"age bands {self.age_bands})"
        )


def read_table(path: str | Path, what: str = "", dtype=None) -> pd.DataFrame:
    """Read a CSV, turning a missing, empty or unreadable file into a :class:`DataError`.

    ``what`` names the table in the message (e.g. ``"events"``).
    """
    path = Path(path)
    prefix = f"{what}: " if what else ""
    if not path.exists():
        raise DataError(f"{prefix}file not found: {path}\nFix: check the path")
    try:
        return pd.read_csv(path, dtype=dtype)
    except pd.errors.EmptyDataError:
        raise DataError(
            f"{prefix}the file {path} is empty\nFix: export it with a header row"
        ) from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise DataError(
            f"{prefix}could not read {path} as CSV: {exc}\nFix: save as UTF-8 CSV"
        ) from None


def _validate_partial(raw: pd.DataFrame) -> pd.DataFrame:
    """Validation that must pass before filling missing rows (no grid/stratum checks)."""
    missing = [c for c in REQUIRED if c not in raw.columns]
    if missing:
        _validate(raw)  # raises the standard missing-column error
    d = raw.copy()
    for col, default in OPTIONAL_DEFAULTS.items():
        if col not in d.columns:
            d[col] = "" if default is None else default
    for col in ("person_id", "arm", "crime_type", "age_band", "outcome", "trial"):
        d[col] = d[col].astype(str).str.strip()
    return d


def _check_harm_weights(weights: Mapping[str, float], data: pd.DataFrame) -> None:
    types = set(data["crime_type"].astype(str))
    missing = sorted(types - set(weights))
    if missing:
        raise DataError(
            f"harm weights: no weight for crime type(s) {missing}\nFix: give a weight for "
            "every crime type in the trial"
        )
    bad = {k: v for k, v in weights.items() if not np.isfinite(v) or v < 0}
    if bad:
        raise DataError(f"harm weights: weights must be finite and >= 0, got {bad}")
