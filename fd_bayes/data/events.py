"""Helpers that read the columns of police-record tables (events, persons, custody, an
allocation): dates, text columns and required columns.

Each raises :class:`~fd_bayes.DataError` naming the column, the first offending rows and
the fix (through :func:`fd_bayes.errors.column_error`). Used by
:mod:`fd_bayes.data.cohort`, :mod:`fd_bayes.data.outcomes` and
:mod:`fd_bayes.data.records`.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from fd_bayes.errors import DataError, column_error


def as_date(value, what: str) -> pd.Timestamp:
    """One date-like value as a day (``Timestamp`` at midnight, no time zone).

    ``what`` names the value in the error message (e.g. ``"index_date"``).

    Examples
    --------
    >>> as_date("2024-01-01T13:30", "index_date")
    Timestamp('2024-01-01 00:00:00')
    """
    try:
        ts = pd.Timestamp(value)
    except (TypeError, ValueError):
        ts = pd.NaT
    if ts is pd.NaT or pd.isna(ts):
        raise DataError(f"{what}: {value!r} is not a date\nFix: give a date such as 2024-01-01")
    if ts.tzinfo is not None:
        ts = ts.tz_localize(None)
    return ts.normalize()


def require_columns(df, columns: Iterable[str], table: str, fix: str) -> None:
    """Check that ``df`` is a DataFrame with every one of ``columns``.

    ``table`` names the table in the message; ``fix`` says what to do about it.
    """
    if not isinstance(df, pd.DataFrame):
        raise DataError(f"{table}: expected a pandas DataFrame, got {type(df).__name__}")
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise column_error(
            missing[0],
            f"missing from {table} (required: {', '.join(columns)}; present: "
            f"{', '.join(map(str, df.columns))})",
            None,
            fix,
        )


def parse_dates(df: pd.DataFrame, column: str, table: str) -> pd.Series:
    """A column of ISO 8601 dates as days (no time zone); blanks or typos are an error."""
    raw = df[column]
    if pd.api.types.is_datetime64_any_dtype(raw):
        values = raw
    else:
        values = pd.to_datetime(raw, errors="coerce", format="ISO8601")
    if getattr(values.dt, "tz", None) is not None:
        values = values.dt.tz_localize(None)
    bad = values.isna()
    if bad.any():
        blank = raw.isna()
        problem = "missing dates" if blank[bad].all() else "missing or unreadable dates"
        raise column_error(
            column,
            f"{problem} in {table}",
            df[bad],
            f"give every row of {table} a date written as YYYY-MM-DD (ISO 8601; day/month "
            "order is never guessed)",
        )
    return values.dt.normalize()


def text_column(df: pd.DataFrame, column: str, table: str, lower: bool = False) -> pd.Series:
    """A column of non-empty strings, stripped (and lower-cased when ``lower``)."""
    raw = df[column]
    missing = raw.isna()
    values = raw.astype("string").str.strip()
    missing = missing | (values == "")
    if missing.any():
        raise column_error(column, f"missing values in {table}", df[missing], f"fill in '{column}'")
    values = values.astype(str)
    return values.str.lower() if lower else values


__all__ = ["as_date", "parse_dates", "require_columns", "text_column"]
