"""Input checks shared by the meta-analysis models: study estimates with their variances or
standard errors, and study labels."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from fd_bayes.data.aggregate import as_vector
from fd_bayes.errors import DataError


def check_effects(yi: Any, vi: Any, vname: str = "vi") -> tuple[np.ndarray, np.ndarray]:
    """Study estimates and their sampling variances (``vname="vi"``) or standard errors
    (``"sei"``) as float arrays: finite, of equal length, at least one, ``vname`` > 0."""
    y = as_vector(yi, "yi")
    v = as_vector(vi, vname)
    if y.size != v.size:
        raise DataError(
            f"yi has {y.size} values but {vname} has {v.size}.\nFix: give one {vname} per yi.",
            column=vname,
        )
    if y.size == 0:
        raise DataError("no studies given.\nFix: pass at least one estimate.", column="yi")
    bad = np.flatnonzero(v <= 0)
    if bad.size:
        raise DataError(
            f"{vname} must be positive; study {bad[0]} has {vname} = {v[bad[0]]:g}.\n"
            f"Fix: check the sampling {'variances' if vname == 'vi' else 'standard errors'} "
            "(a zero usually means a zero cell: see log_rate_ratio's zero handling).",
            column=vname,
            rows=bad[:5].tolist(),
        )
    return y, v


def study_labels(labels: Sequence[str] | None, k: int) -> list[str]:
    """``k`` distinct study labels (default ``study 1``, ...); ``mu``, ``tau`` and
    ``new_study`` are reserved for the rows of
    :meth:`fd_bayes.meta.BayesMetaResult.summary`."""
    if labels is None:
        return [f"study {i + 1}" for i in range(k)]
    out = [str(x) for x in labels]
    if len(out) != k:
        raise DataError(
            f"{len(out)} labels for {k} studies.\nFix: give one label per study.",
            column="labels",
        )
    if len(set(out)) != k:
        raise DataError("study labels must be unique.\nFix: rename the duplicates.")
    if {"mu", "tau", "new_study"} & set(out):
        raise DataError(
            "study labels 'mu', 'tau' and 'new_study' are reserved.\nFix: rename those studies."
        )
    return out


__all__ = ["check_effects", "study_labels"]
