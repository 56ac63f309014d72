"""Potential outcomes of the treated cohort, and the g-computed ratio draws of one
estimand: the public contract that the effects table, the report's density figure and
per-quantity diagnostics, two-stage meta-analysis and planning all read."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
import xarray as xr

from fd_bayes.constants import ALL
from fd_bayes.errors import DataError
from fd_bayes.modelling.draws import by_chain
from fd_bayes.results.effects import estimate_groups, g_computation

LEVELS = ("overall", "crime_type", "age_band", "cell", "harm", "trial")


@dataclass(frozen=True)
class PotentialOutcomes:
    """Expected yearly counts of each treated person-row under each arm, per draw.

    Attributes
    ----------
    treatment, control : ndarray (sample, row)
        Expected counts under treatment and under control (one year at risk); the
        sample axis is chain-major (``chains`` x ``draws``).
    rows : DataFrame
        One row of labels per column: ``person`` (integer index), ``arm``, ``outcome``,
        ``crime_type``, ``age_band``, ``post_count``, ``trial`` ("" for one trial).
    chains, draws : int
    """

    treatment: np.ndarray
    control: np.ndarray
    rows: pd.DataFrame
    chains: int
    draws: int

    def __iter__(self):
        # (treatment, control, rows): the tuple the private attribute used to be
        return iter((self.treatment, self.control, self.rows))

    def to_dataset(self) -> xr.Dataset:
        """``mu_treatment`` and ``mu_control`` with dims (chain, draw, row) and the row
        labels as coordinates of ``row``."""
        coords = {f"row_{k}": ("row", self.rows[k].to_numpy()) for k in self.rows.columns}
        return xr.Dataset(
            {
                "mu_treatment": (
                    ("chain", "draw", "row"),
                    by_chain(self.treatment, self.chains, self.draws),
                ),
                "mu_control": (
                    ("chain", "draw", "row"),
                    by_chain(self.control, self.chains, self.draws),
                ),
            },
            coords={
                "chain": np.arange(self.chains),
                "draw": np.arange(self.draws),
                "row": np.arange(len(self.rows)),
                **coords,
            },
        )

    def ratio_draws(
        self,
        outcome: str,
        level: str = "overall",
        crime_type: str = ALL,
        age_band: str = ALL,
        trial: str = ALL,
        harm_weights: Mapping[str, float] | None = None,
    ) -> np.ndarray:
        """Draws (chain, draw) of the g-computed rate ratio of one estimand (the ratio
        of sums over its rows; harm-weighted for ``level="harm"``)."""
        if level not in LEVELS:
            raise DataError(
                f"level must be one of {', '.join(LEVELS)}, got '{level}'", column="level"
            )
        if level == "harm" and not harm_weights:
            raise DataError(
                "level='harm' needs harm weights; the fit's trial carried none",
                column="level",
            )
        groups = estimate_groups(self.rows, harm_weights if level == "harm" else None)
        want = (level, str(outcome), str(crime_type), str(age_band), str(trial))
        for g in groups:
            have = (g["level"], str(g["outcome"]), str(g["crime_type"]), str(g["age_band"]))
            if (*have, str(g["trial"])) == want:
                rr, _ = g_computation(self.treatment, self.control, g["weights"][:, None])
                return by_chain(rr[:, 0], self.chains, self.draws)
        choices = "; ".join(
            sorted(
                {
                    f"{g['level']} {g['outcome']}/{g['crime_type']}/{g['age_band']}"
                    + (f" trial {g['trial']}" if g["trial"] != ALL else "")
                    for g in groups
                }
            )
        )
        raise DataError(
            f"the fit has no {level} estimate for outcome '{outcome}', crime type "
            f"'{crime_type}', age band '{age_band}'"
            + (f", trial '{trial}'" if trial != ALL else "")
            + f".\nFix: choose one of (level outcome/crime type/age band): {choices}.",
            column="crime_type" if level == "crime_type" else "outcome",
        )


__all__ = ["LEVELS", "PotentialOutcomes"]
