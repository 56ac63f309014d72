"""The per-cell data of :func:`fd_bayes.frequentist.compare` and its count regressions.

A :class:`Cell` holds the arrays of one outcome x crime type (x age band) subset, one
entry per row/person; :func:`trial_cells` cuts a trial into them, :func:`pool_cells`
stacks the crime types of one outcome (the ``overall`` rows), :func:`glm_design` builds
the regression design and :func:`glm_estimate` fits it (NB2 or Poisson) and returns the
rate ratio's :class:`~fd_bayes.frequentist.statistics.Estimate`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from fd_bayes.constants import DAYS_PER_YEAR
from fd_bayes.data import Trial
from fd_bayes.frequentist.statistics import (
    ALPHA_BOUNDARY,
    Estimate,
    fit_negbin,
    fit_poisson,
    join_notes,
    wald_ratio,
)


@dataclass
class Cell:
    """Arrays for one outcome x crime type (x age band) subset, one entry per row/person."""

    y: np.ndarray
    pre: np.ndarray
    exposure_years: np.ndarray
    treated: np.ndarray
    strata: np.ndarray  # trial x age-band code
    person: np.ndarray  # integer person index
    crime: np.ndarray | None = None  # crime-type code (overall rows only)

    @property
    def n_treatment(self) -> int:
        return int(np.unique(self.person[self.treated]).size)

    @property
    def n_control(self) -> int:
        return int(np.unique(self.person[~self.treated]).size)

    def subset(self, mask: np.ndarray) -> Cell:
        """The rows where ``mask`` is True."""
        crime = None if self.crime is None else self.crime[mask]
        return Cell(
            self.y[mask],
            self.pre[mask],
            self.exposure_years[mask],
            self.treated[mask],
            self.strata[mask],
            self.person[mask],
            crime,
        )


def _dummies(codes: np.ndarray) -> np.ndarray:
    levels = np.unique(codes)
    return (codes[:, None] == levels[None, 1:]).astype(float)


def glm_design(cell: Cell) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str], np.ndarray]:
    """Design for the count regressions, with uninformative parts dropped.

    Columns: intercept, treatment, ``log1p(pre)`` (one common slope), then crime-type
    (overall rows) and trial x age-band dummies. Levels with no events carry no
    information on the treatment effect once they have their own intercept (whose MLE
    is -inf): their rows are dropped. Likewise, when nobody with a baseline count has a
    follow-up event, the baseline slope's MLE is -inf and the limiting fit uses only the
    people with ``pre = 0`` (without the slope). Each of these is said in the notes.
    Constant covariate columns are dropped.
    """
    notes: list[str] = []
    keep = np.ones(cell.y.size, dtype=bool)
    for codes, what in ((cell.strata, "age band"), (cell.crime, "crime type")):
        if codes is None:
            continue
        totals = pd.Series(cell.y).groupby(codes).sum()
        empty = totals.index[totals.to_numpy() == 0]
        if len(empty) and len(empty) < len(totals):
            keep &= ~np.isin(codes, empty)
            notes.append(f"{len(empty)} {what} level(s) with no events left out of the GLM")
    with_pre = keep & (cell.pre > 0)
    if with_pre.any() and cell.y[with_pre].sum() == 0 and cell.y[keep].sum() > 0:
        keep &= cell.pre == 0
        notes.append(
            "no follow-up events among people with baseline counts (baseline slope MLE is "
            "-inf): fitted on people with pre_count = 0"
        )
    c = cell.subset(keep)
    columns = [np.ones(c.y.size), c.treated.astype(float), np.log1p(c.pre.astype(float))]
    if c.crime is not None:
        columns.extend(_dummies(c.crime).T)
    columns.extend(_dummies(c.strata).T)
    X = np.column_stack(columns)
    informative = np.r_[True, True, np.ptp(X[:, 2:], axis=0) > 0]
    X = X[:, informative]
    return c.y.astype(float), X, np.log(c.exposure_years), notes, c.person


def _check_design(y: np.ndarray, X: np.ndarray, col: int = 1) -> str:
    """Why the treatment coefficient (column ``col``) has no finite MLE, or ''."""
    if y.sum() == 0:
        return "no events in either arm: rate ratio undefined"
    treated = X[:, col] == 1
    if y[treated].sum() == 0:
        return "no treatment-arm events: rate ratio MLE is 0 (log scale -inf); see rate_test"
    if y[~treated].sum() == 0:
        return "no control-arm events: rate ratio MLE is infinite; see rate_test"
    if np.linalg.matrix_rank(X) < X.shape[1]:
        return "design matrix is rank deficient"
    return ""


def glm_estimate(cell: Cell, method: str, level: float, overall: bool) -> Estimate:
    """Rate ratio (treatment / control) of ``cell`` by a count regression, as in the table.

    ``method`` is ``"negbin_glm"`` (NB2; the Poisson fit's model-based SE where the
    dispersion MLE is at the Poisson limit) or ``"poisson_glm"`` (sandwich SE).
    ``overall`` (a pooled cell from :func:`pool_cells`) clusters the SEs by person.
    Undefined cases give NaN with the reason.
    """
    y, X, offset, notes, person = glm_design(cell)
    problem = _check_design(y, X)
    if problem:
        return Estimate(reason=join_notes(problem, notes))
    groups = person if overall else None
    if method == "poisson_glm":
        fit = fit_poisson(y, X, offset, groups=groups)
    else:
        fit = fit_negbin(y, X, offset, groups=groups)
        if fit.converged and fit.alpha < ALPHA_BOUNDARY:
            # the NB2 likelihood is maximised at the Poisson limit; its Hessian is
            # singular in alpha there, so use the Poisson fit's (identical) estimate
            fit = fit_poisson(y, X, offset, groups=groups, robust=False)
            fit.notes.insert(
                0, "dispersion MLE at 0 (Poisson limit): Poisson model-based SE reported"
            )
    fit.notes = [*notes, *fit.notes]
    return wald_ratio(fit, level)


def trial_cells(trial: Trial) -> dict[tuple[str, str], Cell]:
    """The trial cut into one :class:`Cell` per (outcome, crime type), with trial x
    age-band strata and the trial's integer person index."""
    d = trial.data
    person = trial.person_index()
    strata_labels = d["trial"].astype(str) + "\x1f" + d["age_band"].astype(str)
    strata, _ = pd.factorize(strata_labels)
    out = {}
    for (outcome, crime), idx in d.groupby(
        ["outcome", "crime_type"], observed=True
    ).indices.items():
        rows = d.iloc[idx]
        out[(str(outcome), str(crime))] = Cell(
            y=rows["post_count"].to_numpy(dtype=float),
            pre=rows["pre_count"].to_numpy(dtype=float),
            exposure_years=rows["exposure_days"].to_numpy(dtype=float) / DAYS_PER_YEAR,
            treated=(rows["arm"] == "treatment").to_numpy(),
            strata=strata[idx],
            person=person[idx],
        )
    return out


def pool_cells(cells: list[Cell]) -> Cell:
    """Stack crime types of one outcome, with a crime-type code (for the overall rows)."""
    return Cell(
        np.concatenate([c.y for c in cells]),
        np.concatenate([c.pre for c in cells]),
        np.concatenate([c.exposure_years for c in cells]),
        np.concatenate([c.treated for c in cells]),
        np.concatenate([c.strata for c in cells]),
        np.concatenate([c.person for c in cells]),
        np.concatenate([np.full(c.y.size, i) for i, c in enumerate(cells)]),
    )
