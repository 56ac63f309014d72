"""Published (aggregate) trial results as effect sizes: the data-level helpers of pooling.

:func:`read_aggregate` reads a table of published trial results (``trial`` + ``yi``/``vi``,
``yi``/``sei``, or arm-level counts and exposure); :func:`log_rate_ratio` (arm-level counts
and exposure) and :func:`hedges_g` (means and SDs) turn summary data into effect sizes and
their sampling variances, as metafor's ``escalc``. :class:`fd_bayes.data.Published`
(one-stage pooling) and :mod:`fd_bayes.meta` (two-stage) both read them. Also available
as ``fd_bayes.meta.log_rate_ratio`` and ``fd_bayes.meta.hedges_g``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import special

from fd_bayes.data.trial import read_table
from fd_bayes.errors import DataError, SettingsError

#: Arm-level count columns accepted instead of ``yi``/``vi``.
COUNT_COLUMNS = ("events_t", "exposure_t", "events_c", "exposure_c")


def as_vector(x: Any, name: str) -> np.ndarray:
    """``x`` as a one-dimensional float array of finite numbers, one per study; a
    :class:`~fd_bayes.errors.DataError` naming ``name`` otherwise."""
    try:
        arr = np.asarray(x, dtype=float)
    except (TypeError, ValueError) as err:
        raise DataError(
            f"{name} must be numbers.\nFix: pass a list or array of numbers for {name}.",
            column=name,
        ) from err
    arr = np.atleast_1d(arr)
    if arr.ndim != 1:
        raise DataError(f"{name} must be one-dimensional.\nFix: pass one value per study.")
    bad = np.flatnonzero(~np.isfinite(arr))
    if bad.size:
        raise DataError(
            f"{name} has missing or infinite values.\nFix: drop those studies or supply "
            f"their {name}.",
            column=name,
            rows=bad[:5].tolist(),
        )
    return arr


# -- effect sizes ---------------------------------------------------------------------------
ZERO_RULES = ("add_half", "add_half_all", "error")


def log_rate_ratio(
    events_t: Any,
    exposure_t: Any,
    events_c: Any,
    exposure_c: Any,
    zero: str = "add_half",
) -> tuple[np.ndarray, np.ndarray]:
    """Log rate ratio (treatment / control) and its variance from arm-level counts.

    ``yi = log(x_t / T_t) - log(x_c / T_c)``, ``vi = 1 / x_t + 1 / x_c`` (Poisson counts;
    metafor's ``escalc(measure="IRR")``).

    Parameters
    ----------
    events_t, events_c : array-like
        Event counts (>= 0) in the treatment and control arms of each study.
    exposure_t, exposure_c : array-like
        Person-time at risk (> 0), in any unit common to both arms of a study.
    zero : {"add_half", "add_half_all", "error"}
        Zero-cell handling. ``"add_half"`` (default, as metafor's ``add=1/2,
        to="only0"``): in a study with a zero count in either arm, 0.5 is added to both
        arms' counts (exposure unchanged); other studies are untouched. A study with no
        events in either arm then has ``yi = log(T_c / T_t)`` and ``vi = 4``: it carries
        almost no weight, and is kept rather than silently dropped. ``"add_half_all"``:
        if any study has a zero, 0.5 is added to every study (metafor's ``to="if0all"``).
        ``"error"``: a zero count raises DataError.

    Returns
    -------
    (yi, vi) : arrays

    Examples
    --------
    >>> yi, vi = log_rate_ratio([10], [100.0], [20], [100.0])
    >>> round(float(yi[0]), 4), round(float(vi[0]), 4)
    (-0.6931, 0.15)
    """
    if zero not in ZERO_RULES:
        raise SettingsError(f"unknown zero rule '{zero}'; choose one of {', '.join(ZERO_RULES)}")
    xt, tt = as_vector(events_t, "events_t"), as_vector(exposure_t, "exposure_t")
    xc, tc = as_vector(events_c, "events_c"), as_vector(exposure_c, "exposure_c")
    k = xt.size
    for name, arr in (("exposure_t", tt), ("events_c", xc), ("exposure_c", tc)):
        if arr.size != k:
            raise DataError(
                f"events_t has {k} values but {name} has {arr.size}.\nFix: give one value "
                "per study for every argument.",
                column=name,
            )
    for name, arr in (("events_t", xt), ("events_c", xc)):
        bad = np.flatnonzero(arr < 0)
        if bad.size:
            raise DataError(
                f"{name} must be counts >= 0.\nFix: check the event counts.",
                column=name,
                rows=bad[:5].tolist(),
            )
    for name, arr in (("exposure_t", tt), ("exposure_c", tc)):
        bad = np.flatnonzero(arr <= 0)
        if bad.size:
            raise DataError(
                f"{name} must be positive.\nFix: check the person-time at risk.",
                column=name,
                rows=bad[:5].tolist(),
            )
    has_zero = (xt == 0) | (xc == 0)
    if zero == "error" and has_zero.any():
        raise DataError(
            "a study has a zero event count, so its log rate ratio is infinite.\nFix: use "
            "zero='add_half' (continuity correction) or a Bayesian model of the counts.",
            column="events_t" if (xt == 0).any() else "events_c",
            rows=np.flatnonzero(has_zero)[:5].tolist(),
        )
    add = np.where(has_zero, 0.5, 0.0) if zero == "add_half" else np.full(k, 0.0)
    if zero == "add_half_all" and has_zero.any():
        add = np.full(k, 0.5)
    xt, xc = xt + add, xc + add
    return np.log(xt / tt) - np.log(xc / tc), 1.0 / xt + 1.0 / xc


def hedges_g(
    m1: Any, sd1: Any, n1: Any, m2: Any, sd2: Any, n2: Any
) -> tuple[np.ndarray, np.ndarray]:
    """Hedges' g (group 1 - group 2) and its sampling variance, as metafor's ``escalc("SMD")``.

    ``d = (m1 - m2) / s_pooled``, ``g = J(m) d`` with the exact correction
    ``J(m) = Gamma(m / 2) / (sqrt(m / 2) Gamma((m - 1) / 2))``, ``m = n1 + n2 - 2``, and
    ``vg = 1 / n1 + 1 / n2 + g^2 / (2 (n1 + n2))`` (Hedges 1981; metafor's default
    large-sample variance). :func:`fd_bayes.frequentist.hedges_g` on individual data uses
    the usual approximation ``J ~ 1 - 3 / (4 (n1 + n2) - 9)``; the two agree to about 1e-3
    for n1 + n2 > 20.

    Examples
    --------
    >>> g, vg = hedges_g([1.0], [2.0], [20], [0.0], [2.0], [20])
    >>> round(float(g[0]), 4), round(float(vg[0]), 4)
    (0.4901, 0.103)
    """
    a = {
        k: as_vector(x, k)
        for k, x in (("m1", m1), ("sd1", sd1), ("n1", n1), ("m2", m2), ("sd2", sd2), ("n2", n2))
    }
    size = a["m1"].size
    for name, arr in a.items():
        if arr.size != size:
            raise DataError(
                f"m1 has {size} values but {name} has {arr.size}.\nFix: give one value per "
                "study for every argument.",
                column=name,
            )
    for name in ("sd1", "sd2"):
        bad = np.flatnonzero(a[name] <= 0)
        if bad.size:
            raise DataError(
                f"{name} must be positive.\nFix: check the standard deviations.",
                column=name,
                rows=bad[:5].tolist(),
            )
    for name in ("n1", "n2"):
        bad = np.flatnonzero(a[name] < 2)
        if bad.size:
            raise DataError(
                f"{name} must be at least 2.\nFix: check the group sizes.",
                column=name,
                rows=bad[:5].tolist(),
            )
    n1_, n2_ = a["n1"], a["n2"]
    m = n1_ + n2_ - 2
    sp = np.sqrt(((n1_ - 1) * a["sd1"] ** 2 + (n2_ - 1) * a["sd2"] ** 2) / m)
    d = (a["m1"] - a["m2"]) / sp
    j = np.exp(special.gammaln(m / 2) - 0.5 * np.log(m / 2) - special.gammaln((m - 1) / 2))
    g = j * d
    return g, 1.0 / n1_ + 1.0 / n2_ + g**2 / (2.0 * (n1_ + n2_))


def read_aggregate(table: pd.DataFrame | str | Path) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Labels, log rate ratios and variances from a table of published trial results.

    The table has a ``trial`` column and either ``yi`` with ``vi`` (or ``sei``), or
    arm-level counts ``events_t``, ``exposure_t``, ``events_c``, ``exposure_c``
    (converted by :func:`log_rate_ratio`, zero cells with its default rule, 0.5 added to
    both arms).
    """
    if not isinstance(table, pd.DataFrame):
        table = read_table(table, "trials")
    if "trial" not in table.columns:
        raise DataError(
            f"column 'trial': missing; columns present: {', '.join(map(str, table.columns))}"
            "\nFix: add a column 'trial' with one label per published trial",
            column="trial",
        )
    labels = table["trial"].astype(str).str.strip().tolist()
    if len(set(labels)) != len(labels):
        raise DataError("column 'trial': duplicate labels\nFix: one row per trial", column="trial")
    if "yi" in table.columns and ("vi" in table.columns or "sei" in table.columns):
        yi = pd.to_numeric(table["yi"], errors="coerce").to_numpy(float)
        if "vi" in table.columns:
            vi = pd.to_numeric(table["vi"], errors="coerce").to_numpy(float)
        else:
            vi = pd.to_numeric(table["sei"], errors="coerce").to_numpy(float) ** 2
        return labels, yi, vi
    if all(c in table.columns for c in COUNT_COLUMNS):
        args = [pd.to_numeric(table[c], errors="coerce").to_numpy(float) for c in COUNT_COLUMNS]
        for name, arr in zip(COUNT_COLUMNS, args, strict=True):
            if np.isnan(arr).any():
                raise DataError(
                    f"column '{name}': missing or non-numeric values\nFix: fill them in",
                    column=name,
                )
        yi, vi = log_rate_ratio(*args)
        return labels, yi, vi
    raise DataError(
        "the trials table needs columns yi and vi (or sei), or arm-level counts "
        f"{', '.join(COUNT_COLUMNS)}; columns present: {', '.join(map(str, table.columns))}"
        "\nFix: add the log rate ratios and their variances, or the counts and exposure",
        column="yi",
    )


__all__ = [
    "COUNT_COLUMNS",
    "ZERO_RULES",
    "as_vector",
    "hedges_g",
    "log_rate_ratio",
    "read_aggregate",
]
