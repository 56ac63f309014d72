"""Published (aggregate) trials that enter a pooled model beside individual data.

A one-stage IPD + aggregate-data analysis (Riley et al. 2008, Stat Med 27:1870-1893):
trials with individual data are modelled person by person (``negbin_pooled``,
``negmult_pooled``) and each published trial contributes its log rate ratio ``y_j``
with standard error ``s_j`` through

    y_j ~ Normal(theta_link + eta_j, s_j),    eta_j ~ Normal(0, trial_sd)

where ``eta_j`` is the trial's deviation, drawn from the same between-trial distribution
as the individual-data trials' deviations, and ``theta_link`` is the model's typical log
rate ratio of the estimand the published trials report (:class:`Published`'s
``outcome`` and ``crime_type``). This module holds the data;
:mod:`fd_bayes.modelling` states the model.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from fd_bayes.constants import DEFAULT_OUTCOME
from fd_bayes.data.aggregate import read_aggregate
from fd_bayes.errors import DataError

ALL = "all"


@dataclass(frozen=True)
class Published:
    """Published trials' log rate ratios and standard errors, and what they estimate.

    Parameters
    ----------
    labels : sequence of str
        One label per published trial (distinct, and distinct from the trials with
        individual data).
    yi, sei : array-like
        Log rate ratios (treatment over control) and their standard errors (> 0).
    outcome : str
        The outcome the published estimates are about (default ``offending``).
    crime_type : str
        ``"all"`` (the default): each published estimate is an overall rate ratio of
        ``outcome``, linked to the model's typical log rate ratio of that outcome,
        ``effect_overall`` plus the outcome term (crime-type and cell deviations have
        mean zero; age-band terms are zero-sum). A crime type: a rate ratio of that
        crime type, linked to the typical log rate ratio plus that crime type's term.
    """

    labels: tuple[str, ...]
    yi: np.ndarray
    sei: np.ndarray
    outcome: str = DEFAULT_OUTCOME
    crime_type: str = ALL

    def __post_init__(self):
        labels = tuple(str(x).strip() for x in self.labels)
        yi = np.asarray(self.yi, dtype=float).reshape(-1)
        sei = np.asarray(self.sei, dtype=float).reshape(-1)
        if not labels:
            raise DataError("no published trials given\nFix: give at least one row")
        if not len(labels) == len(yi) == len(sei):
            raise DataError(
                f"{len(labels)} labels, {len(yi)} log rate ratios and {len(sei)} standard "
                "errors\nFix: one of each per published trial"
            )
        if len(set(labels)) != len(labels) or "" in labels:
            raise DataError("published trial labels must be distinct and non-empty")
        if not np.isfinite(yi).all():
            raise DataError("published log rate ratios must be finite numbers", column="yi")
        if not (np.isfinite(sei).all() and (sei > 0).all()):
            raise DataError(
                "published standard errors must be finite and > 0\nFix: a trial with an "
                "unknown standard error cannot be pooled; leave it out",
                column="sei",
            )
        object.__setattr__(self, "labels", labels)
        object.__setattr__(self, "yi", yi)
        object.__setattr__(self, "sei", sei)

    @classmethod
    def from_table(
        cls,
        table: pd.DataFrame | str | Path,
        outcome: str = DEFAULT_OUTCOME,
        crime_type: str = ALL,
    ) -> Published:
        """From a trials table (``trial`` and ``yi`` with ``vi`` or ``sei``, or arm-level
        counts; see :func:`fd_bayes.data.aggregate.read_aggregate`)."""
        labels, yi, vi = read_aggregate(table)
        return cls(tuple(labels), yi, np.sqrt(np.asarray(vi, dtype=float)), outcome, crime_type)

    @property
    def estimand(self) -> str:
        what = "overall" if self.crime_type == ALL else self.crime_type
        return f"{what} {self.outcome}"

    def check_against(self, trials: Sequence[str], crime_outcomes: pd.DataFrame) -> None:
        """Fail when labels clash with the individual-data trials, or the estimand is not
        in the individual data."""
        clash = sorted(set(self.labels) & {str(t) for t in trials})
        if clash:
            raise DataError(
                f"published trial label(s) {clash} are also trials with individual data"
                "\nFix: a trial enters once, with individual data or with its estimate"
            )
        outcomes = set(crime_outcomes["outcome"])
        if self.outcome not in outcomes:
            raise DataError(
                f"the published estimates are about outcome '{self.outcome}', which the "
                f"individual data do not have (outcomes: {sorted(outcomes)})"
            )
        crimes = set(crime_outcomes.loc[crime_outcomes["outcome"] == self.outcome, "crime_type"])
        if self.crime_type != ALL and self.crime_type not in crimes:
            raise DataError(
                f"the published estimates are about crime type '{self.crime_type}', which "
                f"the individual data do not have for {self.outcome} (crime types: "
                f"{sorted(crimes)})"
            )


__all__ = ["Published"]
