"""Stratified randomisation with an audit record, and a baseline balance table.

:func:`randomise` assigns exactly ``n_treat[stratum]`` people of each stratum to
``treatment`` and the rest to ``control``. The draw depends only on the set of people
(the cohort is sorted by ``person_id`` first), their strata and the seed: the same
cohort in any row order with the same seed gives the same allocation.

The audit record (:attr:`Allocation.audit`) holds the seed, a SHA-256 hash of the
cohort (person ids and strata, order-independent), the package and numpy versions,
the UTC time and the counts per stratum. It contains no person id and can be written
to JSON with :meth:`Allocation.write_audit`.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from fd_bayes._version import __version__
from fd_bayes.constants import ARMS
from fd_bayes.data.cohort import cohort_hash
from fd_bayes.errors import DataError, SettingsError, column_error

TREATMENT, CONTROL = ARMS
#: How a drawn stratum is done (recorded in the audit record).
METHOD = (
    "sort by person_id; for each stratum in sorted order, draw n_treat people without "
    "replacement with numpy.random.default_rng(seed).choice on the sorted rows"
)


@dataclass(frozen=True)
class Allocation:
    """The result of :func:`randomise`.

    Attributes
    ----------
    table : pandas.DataFrame
        ``person_id``, the strata column(s) and ``arm``, sorted by ``person_id``.
        Identifiable: keep it with the trial's working files, never publish it.
    audit : dict
        The audit record (no person ids): JSON-serialisable.
    """

    table: pd.DataFrame
    audit: dict = field(repr=False)

    def counts(self) -> pd.DataFrame:
        """People per stratum and arm."""
        strata = self.audit["strata"] or []
        keys = [*strata, "arm"]
        return self.table.groupby(keys, sort=True).size().rename("people").reset_index()

    def audit_json(self) -> str:
        """The audit record as indented JSON."""
        return json.dumps(self.audit, indent=2, sort_keys=False)

    def write_audit(self, path: str | Path) -> Path:
        """Write the audit record as JSON and return the path."""
        path = Path(path)
        path.write_text(self.audit_json() + "\n", encoding="utf-8")
        return path

    def __repr__(self) -> str:
        c = self.audit["counts"]
        parts = ", ".join(f"{k}: {v[TREATMENT]}/{v['total']} treated" for k, v in c.items())
        return f"Allocation(seed={self.audit['seed']}, {parts})"


def _stratum_labels(df: pd.DataFrame, strata: list[str]) -> pd.Series:
    if not strata:
        return pd.Series("all", index=df.index, dtype=str)
    if len(strata) == 1:
        return df[strata[0]].astype(str)
    return df[strata].astype(str).agg(" / ".join, axis=1)


def _n_for(spec, size: int, label: str) -> int:
    if isinstance(spec, bool) or not isinstance(spec, int | float | np.integer | np.floating):
        raise SettingsError(
            f"n_treat for stratum {label!r} must be a count (int) or a proportion (float "
            f"between 0 and 1), got {spec!r}"
        )
    if isinstance(spec, float | np.floating):
        if not 0 < spec < 1:
            raise SettingsError(
                f"n_treat for stratum {label!r}: a proportion must be strictly between 0 and "
                f"1, got {spec}; give a count as an int"
            )
        return int(np.floor(spec * size + 0.5))
    return int(spec)


def randomise(
    cohort: pd.DataFrame,
    n_treat: int | float | Mapping[str, int | float],
    strata: str | Sequence[str] | None = "age_band",
    seed: int | None = None,
) -> Allocation:
    """Stratified randomisation: exactly ``n_treat`` treated people per stratum.

    Parameters
    ----------
    cohort : pandas.DataFrame
        One row per person with ``person_id`` and the strata column(s), e.g. the
        result of :func:`fd_bayes.data.cohort.eligible`.
    n_treat : int, float or mapping stratum -> int or float
        Treated people per stratum: an int is a count, a float in (0, 1) a proportion of
        the stratum (rounded to the nearest whole person, halves up). One value applies
        to every stratum; a mapping must name every stratum (labels as strings; with
        several strata columns, labels are the values joined by ``" / "``).
    strata : str, sequence of str or None
        Column(s) defining the strata; ``None`` randomises the cohort as one stratum.
    seed : int, optional
        Random seed. ``None`` draws one from the operating system; either way the seed
        used is in the audit record, so the allocation can be reproduced.

    Returns
    -------
    Allocation
        ``.table`` (``person_id``, strata, ``arm``) and ``.audit``.

    Raises
    ------
    DataError
        Missing columns, missing or duplicate person ids, missing strata values, a
        stratum smaller than (or equal to) its ``n_treat``.
    SettingsError
        A malformed ``n_treat``.

    Examples
    --------
    >>> import pandas as pd
    >>> from fd_bayes.data.randomise import randomise
    >>> cohort = pd.DataFrame({"person_id": [f"p{i}" for i in range(10)],
    ...                        "age_band": ["11-17"] * 4 + ["18-25"] * 6})
    >>> alloc = randomise(cohort, n_treat={"11-17": 2, "18-25": 0.5}, seed=7)
    >>> alloc.counts()["people"].tolist()
    [2, 2, 3, 3]
    """
    strata_cols = [] if strata is None else [strata] if isinstance(strata, str) else list(strata)
    df = _checked_cohort(cohort, strata_cols)
    labels = _stratum_labels(df, strata_cols)
    sizes = labels.value_counts().sort_index()
    given = _n_treat_per_stratum(n_treat, sizes)
    wanted = {label: _n_for(given[label], int(sizes[label]), label) for label in sizes.index}
    _check_wanted(wanted, sizes, strata_cols)
    seed = _checked_seed(seed)
    arm = _draw(labels, sizes, wanted, seed)
    df["arm"] = pd.Series(arm, dtype=str)
    audit = {
        "seed": seed,
        "cohort_hash": cohort_hash(df, ["person_id", *strata_cols]),
        "n_people": len(df),
        "strata": strata_cols,
        "n_treat": {
            str(k): int(v) if isinstance(v, int | np.integer) else float(v)
            for k, v in given.items()
        },
        "counts": _counts_per_stratum(labels, sizes, arm),
        "method": METHOD,
        "fd_bayes_version": __version__,
        "numpy_version": np.__version__,
        "created_utc": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    return Allocation(table=df, audit=audit)


def _checked_cohort(cohort: pd.DataFrame, strata_cols: list[str]) -> pd.DataFrame:
    """``person_id`` and the strata columns as stripped strings, sorted by ``person_id``."""
    if not isinstance(cohort, pd.DataFrame):
        raise DataError(f"cohort: expected a pandas DataFrame, got {type(cohort).__name__}")
    needed = ["person_id", *strata_cols]
    missing = [c for c in needed if c not in cohort.columns]
    if missing:
        raise column_error(
            missing[0],
            f"missing from the cohort (columns present: {', '.join(map(str, cohort.columns))})",
            None,
            "pass the cohort from fd_bayes.data.cohort.eligible, or name the strata column(s) "
            "with strata=",
        )
    if cohort.empty:
        raise DataError("the cohort is empty\nFix: check the eligibility rule and the index date")
    raw = cohort.reset_index(drop=True)
    for col in needed:
        blank = raw[col].isna() | (raw[col].astype(str).str.strip() == "")
        if blank.any():
            raise column_error(col, "missing values in the cohort", raw[blank], f"fill in '{col}'")
    ids = raw["person_id"].astype(str).str.strip()
    dup = ids.duplicated(keep=False)
    if dup.any():
        raise column_error(
            "person_id",
            "people listed more than once in the cohort",
            raw[dup],
            "randomise one row per person (drop the repeats)",
        )
    df = pd.DataFrame({"person_id": ids})
    for col in strata_cols:
        df[col] = raw[col].astype(str).str.strip()
    return df.sort_values("person_id", kind="stable").reset_index(drop=True)


def _n_treat_per_stratum(n_treat, sizes: pd.Series) -> dict:
    """``n_treat`` as given, per stratum label (a mapping must name every stratum)."""
    if not isinstance(n_treat, Mapping):
        return dict.fromkeys(sizes.index, n_treat)
    given = {str(k).strip(): v for k, v in n_treat.items()}
    unknown = sorted(set(given) - set(sizes.index))
    absent = sorted(set(sizes.index) - set(given))
    if unknown or absent:
        raise DataError(
            f"n_treat names strata {sorted(given)} but the cohort has strata "
            f"{list(sizes.index)}"
            + (f" (not in the cohort: {unknown})" if unknown else "")
            + (f" (no n_treat given: {absent})" if absent else "")
            + "\nFix: give n_treat for every stratum of the cohort and no other"
        )
    return given


def _check_wanted(wanted: dict[str, int], sizes: pd.Series, strata_cols: list[str]) -> None:
    """Every stratum keeps at least one treated and one control person."""
    for label, n in wanted.items():
        size = int(sizes[label])
        if n < 1 or n >= size:
            problem = (
                f"stratum {label!r} has {size} people, fewer than n_treat = {n}"
                if n > size
                else f"stratum {label!r}: n_treat = {n} of {size} people leaves "
                + ("no treated people" if n < 1 else "no control people")
            )
            raise DataError(
                f"{problem}\nFix: lower n_treat for this stratum (it needs at least one treated "
                "and one control person), merge strata or widen the cohort",
                column=strata_cols[0] if strata_cols else None,
                problem=problem,
            )


def _checked_seed(seed) -> int:
    """The seed given, or one drawn from the operating system when ``None``."""
    if seed is None:
        seed = secrets.randbits(32)
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise SettingsError(f"seed must be a non-negative int, got {seed!r}")
    return int(seed)


def _draw(labels: pd.Series, sizes: pd.Series, wanted: dict[str, int], seed: int) -> np.ndarray:
    """The arm of each (sorted) row: ``wanted[label]`` treated per stratum, in label order."""
    rng = np.random.default_rng(seed)
    arm = np.full(len(labels), CONTROL, dtype=object)
    positions = np.arange(len(labels))
    label_values = labels.to_numpy()
    for label in sizes.index:  # a loop over strata (a handful), not over people
        rows = positions[label_values == label]
        chosen = rng.choice(rows, size=wanted[label], replace=False)
        arm[chosen] = TREATMENT
    return arm


def _counts_per_stratum(labels: pd.Series, sizes: pd.Series, arm: np.ndarray) -> dict:
    """Treated, control and total people per stratum (for the audit record)."""
    counts = {}
    label_values = labels.to_numpy()
    for label in sizes.index:
        in_stratum = label_values == label
        n_t = int((arm[in_stratum] == TREATMENT).sum())
        counts[str(label)] = {
            TREATMENT: n_t,
            CONTROL: int(in_stratum.sum()) - n_t,
            "total": int(in_stratum.sum()),
        }
    return counts


def _baseline_from_trial(trial) -> pd.DataFrame:
    d = trial.data
    wide = d.pivot_table(
        index=["trial", "person_id", "arm"],
        columns=["outcome", "crime_type"],
        values="pre_count",
        aggfunc="sum",
        observed=True,
    )
    wide.columns = [f"pre {o} {c}" for o, c in wide.columns]
    return wide.reset_index().astype({"arm": str})


def balance(
    data,
    columns: Sequence[str] | None = None,
    *,
    arm: str = "arm",
    by: str | None = None,
) -> pd.DataFrame:
    """Baseline means by arm with standardised mean differences (SMD).

    Parameters
    ----------
    data : Trial or pandas.DataFrame
        A :class:`~fd_bayes.Trial` (its ``pre_count`` per outcome x crime type, one
        variable each), or one row per person with an ``arm`` column and numeric
        baseline columns (e.g. an allocation table merged with the cohort).
    columns : sequence of str, optional
        Baseline columns; default every numeric column.
    arm : str
        The arm column.
    by : str, optional
        Also report within each value of this column (e.g. ``"age_band"``).

    Returns
    -------
    pandas.DataFrame
        ``variable``, (``by``), ``n_treatment``, ``n_control``, ``mean_treatment``,
        ``mean_control``, ``sd_treatment``, ``sd_control`` and ``smd`` =
        (mean_t - mean_c) / sqrt((sd_t^2 + sd_c^2) / 2); 0 when both arms are
        constant and equal, NaN when constant and different. |SMD| > 0.1 is the usual
        flag for imbalance worth reporting.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"arm": ["treatment", "control"] * 3, "x": [1, 2, 3, 2, 2, 2]})
    >>> float(balance(df)["smd"].iloc[0])
    0.0
    """
    if hasattr(data, "data") and hasattr(data, "crime_types"):
        df = _baseline_from_trial(data)
    elif isinstance(data, pd.DataFrame):
        df = data
    else:
        raise DataError(f"balance: expected a Trial or a DataFrame, got {type(data).__name__}")
    if arm not in df.columns:
        raise column_error(arm, "missing", None, "pass a table with the arm of every person")
    arms = df[arm].astype(str)
    if columns is None:
        columns = [
            c
            for c in df.columns
            if c not in (arm, by)
            and pd.api.types.is_numeric_dtype(df[c])
            and not pd.api.types.is_bool_dtype(df[c])
        ]
    else:
        columns = list(columns)
        missing = [c for c in columns if c not in df.columns]
        if missing:
            raise column_error(missing[0], "missing", None, "name columns that exist")
    if not columns:
        raise DataError("balance: no numeric baseline columns\nFix: name them with columns=")
    groups = [("all", df.index)] if by is None else list(df.groupby(by, sort=True).groups.items())
    rows = []
    for level, idx in groups:
        for col in columns:
            values = pd.to_numeric(df.loc[idx, col], errors="coerce").astype(float)
            a = arms.loc[idx]
            t, c = values[a == TREATMENT], values[a == CONTROL]
            mt, mc = t.mean(), c.mean()
            st, sc = t.std(ddof=1), c.std(ddof=1)
            pooled = np.sqrt((st**2 + sc**2) / 2)
            if pooled > 0:
                smd = (mt - mc) / pooled
            else:
                smd = 0.0 if mt == mc else np.nan
            row = {"variable": col}
            if by is not None:
                row[by] = level
            row.update(
                n_treatment=int(t.notna().sum()),
                n_control=int(c.notna().sum()),
                mean_treatment=mt,
                mean_control=mc,
                sd_treatment=st,
                sd_control=sc,
                smd=float(smd),
            )
            rows.append(row)
    return pd.DataFrame(rows)
