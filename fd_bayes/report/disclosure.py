"""Disclosure control for exported tables.

Exported tables must not let a reader single out a young person: counts from cells
with fewer people than :data:`~fd_bayes.constants.DISCLOSURE_THRESHOLD` are suppressed
and the table says so. Person identifiers never appear in any export.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from fd_bayes.constants import DISCLOSURE_THRESHOLD

COUNT_COLUMNS = ("n_treatment", "n_control", "events_treatment", "events_control")
SUPPRESSED_NOTE = "counts suppressed: fewer than {k} people in an arm"


def suppress_small_cells(
    table: pd.DataFrame, threshold: int = DISCLOSURE_THRESHOLD
) -> pd.DataFrame:
    """A copy of ``table`` with counts blanked where an arm has fewer than ``threshold`` people.

    Estimates (rate ratios, probabilities) are kept: they are model-based summaries,
    not counts. The ``note`` column says where counts were suppressed.
    """
    out = table.copy()
    if "person_id" in out.columns:
        raise ValueError("refusing to export a table with person identifiers")
    present = [c for c in COUNT_COLUMNS if c in out.columns]
    if not {"n_treatment", "n_control"} <= set(present):
        return out
    # rows without counts (published trials of a one-stage pooled fit) are not small
    small = ((out["n_treatment"] < threshold) | (out["n_control"] < threshold)).fillna(False)
    small = small.astype(bool)
    if small.any():
        out[present] = out[present].astype("Float64")
        out.loc[small, present] = pd.NA
        note = SUPPRESSED_NOTE.format(k=threshold)
        if "note" not in out.columns:
            out["note"] = ""
        old = out.loc[small, "note"].fillna("").astype(str)
        out.loc[small, "note"] = np.where(old == "", note, old + "; " + note)
    return out
