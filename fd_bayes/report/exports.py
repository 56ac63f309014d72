"""Machine-readable exports: ``results.json`` and ``findings.xlsx``.

Every table goes through disclosure control (:func:`disclosed`) before it is written:
counts from fewer people than the disclosure threshold are suppressed, and so are the
complementary counts that would let a reader recover them by subtraction. No export
contains a person identifier.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd

from fd_bayes._version import __version__
from fd_bayes.constants import DISCLOSURE_THRESHOLD, HDI_PROB
from fd_bayes.report.disclosure import COUNT_COLUMNS, suppress_small_cells

#: Version of the ``results.json`` layout; bump the major number on breaking changes.
SCHEMA_VERSION = "1.0"

COMPLEMENT_NOTE = "counts suppressed: would reveal a suppressed cell by subtraction"
#: Levels whose counts partition the people of an outcome by age band.
_BANDED = ("cell", "age_band", "harm")
#: Levels whose counts partition the people of an outcome by trial (pooled fits).
_BY_TRIAL = ("trial",)


def disclosed(table: pd.DataFrame, threshold: int = DISCLOSURE_THRESHOLD) -> pd.DataFrame:
    """``table`` with small cells suppressed, plus complementary (secondary) suppression.

    Primary suppression is :func:`fd_bayes.report.disclosure.suppress_small_cells`. In an effects
    table (and likewise in the frequentist table, whose per-band rows add up to its
    ``age_band == "all"`` rows) the counts of the age-band rows (``cell``, ``age_band``
    and banded ``harm`` rows) add up to the pooled rows of the same outcome, so when any
    banded row of an outcome is suppressed, the counts of every banded row of that
    outcome are suppressed too; the pooled totals stay, and reveal only a sum over
    several bands. The ``trial`` rows of a pooled fit partition the pooled rows by trial
    in the same way (per outcome, and per outcome and crime type): when any ``trial`` row
    of an outcome is suppressed, so are the counts of every ``trial`` row of that
    outcome. (``new_trial`` rows carry the pooled cohort's counts, like ``overall`` and
    ``crime_type`` rows.)

    Parameters
    ----------
    table : pandas.DataFrame
        An effects table (or any table with ``n_treatment``/``n_control``).
    threshold : int
        The disclosure threshold (fewest people in an arm whose counts may be shown).

    Returns
    -------
    pandas.DataFrame
        A copy; estimates are kept, counts blanked, ``note`` says why.
    """
    out = suppress_small_cells(table, threshold)
    if not {"outcome", "age_band", "n_treatment"} <= set(out.columns):
        return out
    # rows without counts to begin with (published trials of a one-stage pooled fit)
    # were not suppressed and reveal nothing
    counted = table["n_treatment"].notna().to_numpy()
    banded = out["age_band"] != "all"
    if "level" not in out.columns:  # the frequentist table has no level
        return _suppress_complements(out, banded & counted)
    out = _suppress_complements(out, banded & out["level"].isin(_BANDED) & counted)
    return _suppress_complements(out, out["level"].isin(_BY_TRIAL) & counted)


def _suppress_complements(out: pd.DataFrame, part: pd.Series) -> pd.DataFrame:
    """Suppress the counts of every row of ``part`` in an outcome where one is suppressed.

    ``part`` marks rows whose counts add up to an outcome's pooled rows (the age bands,
    or the trials); ``out`` is changed in place and returned.
    """
    present = [c for c in COUNT_COLUMNS if c in out.columns]
    hit = part & out["n_treatment"].isna()
    outcomes = set(out.loc[hit, "outcome"])
    extra = part & out["outcome"].isin(outcomes) & ~out["n_treatment"].isna()
    if extra.any():
        out[present] = out[present].astype("Float64")
        out.loc[extra, present] = pd.NA
        old = out.loc[extra, "note"].fillna("").astype(str)
        out.loc[extra, "note"] = np.where(old == "", COMPLEMENT_NOTE, old + "; " + COMPLEMENT_NOTE)
    return out


def _plain(value):
    """A JSON-safe Python value (numpy scalars unwrapped, NaN/NA -> None)."""
    if value is None or value is pd.NA:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _records(table: pd.DataFrame) -> list[dict]:
    return [
        {str(k): _plain(v) for k, v in row.items()}
        for row in table.astype(object).to_dict(orient="records")
    ]


def results_dict(
    fit,
    effects: pd.DataFrame,
    prob: float = HDI_PROB,
    threshold: int = DISCLOSURE_THRESHOLD,
) -> dict:
    """The content of ``results.json``: every estimate, with provenance and diagnostics.

    Parameters
    ----------
    fit : Fit
        The fit the estimates come from (for provenance, model and diagnostics).
    effects : pandas.DataFrame
        ``fit.effects(prob)``; disclosure control is applied here.
    prob : float
        The credible-interval probability of ``effects``.
    threshold : int
        The disclosure threshold.
    """
    table = disclosed(effects, threshold)
    return {
        "schema_version": SCHEMA_VERSION,
        "generator": f"fd_bayes {__version__}",
        "interval": {"kind": "highest-density", "probability": prob},
        "estimand": "rate ratio treatment vs control, g-computed over the treated cohort",
        "disclosure_threshold": threshold,
        "provenance": {k: _plain(v) for k, v in fit.info.items()},
        "model": {
            "name": fit.spec.name,
            "family": fit.spec.family,
            "description": fit.spec.description,
            "priors": dict(fit.spec.prior_table()),
            "notes": fit.notes,
        },
        "diagnostics": {k: _plain(v) for k, v in fit.diagnostics().items()},
        "diagnostic_problems": fit.diagnostic_problems(),
        "columns": list(table.columns),
        "estimates": _records(table),
    }


def write_results_json(
    fit,
    effects: pd.DataFrame,
    path: str | Path,
    prob: float = HDI_PROB,
    threshold: int = DISCLOSURE_THRESHOLD,
) -> Path:
    """Write :func:`results_dict` as indented JSON to ``path``."""
    path = Path(path)
    text = json.dumps(results_dict(fit, effects, prob, threshold), indent=2, allow_nan=False)
    path.write_text(text + "\n", encoding="utf-8")
    return path


def write_xlsx(
    tables: dict[str, pd.DataFrame],
    path: str | Path,
    threshold: int = DISCLOSURE_THRESHOLD,
    about: list[tuple[str, str]] | None = None,
) -> Path:
    """Write one formatted sheet per table (bold frozen header, widths, 3-decimal numbers).

    Parameters
    ----------
    tables : dict of sheet name -> DataFrame
        Each passes through :func:`disclosed` first. Sheet names are cut to 31 characters.
    path : str or Path
        The ``.xlsx`` file to write.
    threshold : int
        The disclosure threshold.
    about : list of (item, value), optional
        Rows of a first sheet ``about`` (provenance, what was suppressed).
    """
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    path = Path(path)
    wb = Workbook()
    wb.remove(wb.active)
    header_font = Font(bold=True, color="FFFFFF")
    header_fill = PatternFill("solid", fgColor="1B4F72")
    if about:
        ws = wb.create_sheet("about")
        ws.append(["item", "value"])
        for item, value in about:
            ws.append([item, str(value)])
        for cell in ws[1]:
            cell.font, cell.fill = header_font, header_fill
        ws.column_dimensions["A"].width = 28
        ws.column_dimensions["B"].width = 90
    for name, table in tables.items():
        table = disclosed(table, threshold)
        ws = wb.create_sheet(name[:31])
        ws.append([str(c) for c in table.columns])
        for row in table.astype(object).itertuples(index=False):
            ws.append([_plain(v) for v in row])
        for cell in ws[1]:
            cell.font, cell.fill = header_font, header_fill
            cell.alignment = Alignment(wrap_text=True, vertical="top")
        ws.freeze_panes = "A2"
        for j, col in enumerate(table.columns, start=1):
            letter = get_column_letter(j)
            width = max(len(str(col)), *(len(str(v)) for v in table[col].head(200)), 6)
            numeric = pd.api.types.is_float_dtype(table[col])
            ws.column_dimensions[letter].width = min(12 if numeric else width + 2, 60)
            if numeric:
                for (cell,) in ws.iter_rows(min_row=2, min_col=j, max_col=j):
                    cell.number_format = "0.000"
        ws.auto_filter.ref = ws.dimensions
    wb.save(path)
    return path


__all__ = [
    "SCHEMA_VERSION",
    "disclosed",
    "results_dict",
    "write_results_json",
    "write_xlsx",
]
