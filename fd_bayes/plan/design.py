"""The trial design a planning study simulates: arms per age band, cells, rates,
dispersion and baselines (:class:`PlanDesign`), and the helpers that read sizes and
per-cell values.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from fd_bayes.constants import DAYS_PER_YEAR
from fd_bayes.errors import SettingsError


@dataclass
class PlanDesign:
    """A trial design to simulate: arms, cells, rates, dispersion and baselines.

    The generative model is the one ``negbin_hier`` assumes. For person *i* in age band
    *a*, crime type *c* and outcome *o* (cell *k* = (o, c, a), crime type x outcome *g*)::

        log mu = log rate[k] + slope[g] * (log1p(pre) - centre[g]) + u[i] + log RR[k] * treated
        y ~ NegBinomial(mean = mu * exposure / 365, shape = dispersion[g]),  u ~ N(0, person_sd)

    Attributes
    ----------
    treated, control : dict age band -> int
        People per arm and age band.
    cells : DataFrame
        One row per outcome x crime type x age band: ``outcome``, ``crime_type``,
        ``age_band``, ``rate`` (control follow-up count per person-year of a person with a
        typical baseline and an average person effect) and ``pre_rate`` (mean baseline
        count, used when there are no ``baseline_profiles``).
    dispersion, baseline_slope : dict (outcome, crime type) -> float
    person_sd : float
    follow_up_days : float
    custody_share : float
        Share of people whose exposure is reduced by 30-250 days (used when there are no
        empirical ``exposure_days``).
    baseline_profiles : DataFrame, optional
        Baseline counts of real people (column ``age_band`` and one column per
        ``"outcome / crime type"``), resampled with replacement within age band. Kept in
        memory only: no planning output writes them.
    baseline_centre : dict (outcome, crime type) -> float, optional
        The centre of ``log1p(pre)`` the rates refer to (the source trial's mean); the
        simulated sample's mean when absent.
    exposure_days : array, optional
        Empirical follow-up exposures to resample (the source trial's control arm).
    source : str
        Where the values came from (said in reports).
    """

    treated: dict[str, int]
    control: dict[str, int]
    cells: pd.DataFrame
    dispersion: dict[tuple[str, str], float]
    baseline_slope: dict[tuple[str, str], float]
    person_sd: float
    follow_up_days: float = DAYS_PER_YEAR
    custody_share: float = 0.0
    baseline_profiles: pd.DataFrame | None = field(default=None, repr=False)
    baseline_centre: dict[tuple[str, str], float] | None = None
    exposure_days: np.ndarray | None = field(default=None, repr=False)
    source: str = "stated"

    def __post_init__(self):
        self.treated = {str(k): int(v) for k, v in self.treated.items()}
        self.control = {str(k): int(v) for k, v in self.control.items()}
        if set(self.treated) != set(self.control):
            raise SettingsError("treated and control must name the same age bands")
        for arm, sizes in (("treated", self.treated), ("control", self.control)):
            if any(v < 1 for v in sizes.values()):
                raise SettingsError(f"every age band needs at least one {arm} person: {sizes}")
        need = {"outcome", "crime_type", "age_band", "rate"}
        if not need <= set(self.cells.columns):
            raise SettingsError(f"cells needs columns {sorted(need)}")
        if "pre_rate" not in self.cells:
            self.cells = self.cells.assign(pre_rate=self.cells["rate"])
        missing = set(self.treated) - set(self.cells["age_band"])
        if missing:
            raise SettingsError(f"no rates for age band(s) {sorted(missing)}")
        if (self.cells["rate"] <= 0).any() or self.cells["rate"].isna().any():
            raise SettingsError("every cell rate must be > 0")
        if self.person_sd < 0:
            raise SettingsError("person_sd must be >= 0")
        for g in self.crime_outcomes:
            if g not in self.dispersion or self.dispersion[g] <= 0:
                raise SettingsError(f"dispersion for {g} must be given and > 0")
            self.baseline_slope.setdefault(g, 0.0)

    # -- constructors ---------------------------------------------------------------------
    @classmethod
    def stated(
        cls,
        treated: Mapping[str, int],
        control: Mapping[str, int],
        rates: Mapping,
        *,
        outcomes: Sequence[str] = ("offending",),
        dispersion: float | Mapping = 1.5,
        person_sd: float = 0.7,
        baseline_slope: float | Mapping = 0.35,
        pre_rates: Mapping | None = None,
        age_rate_multiplier: Mapping[str, float] | None = None,
        follow_up_days: float = DAYS_PER_YEAR,
        custody_share: float = 0.15,
    ) -> PlanDesign:
        """A design stated directly.

        ``rates`` maps crime type, or (outcome, crime type), or (outcome, crime type, age
        band) to the control rate per person-year (most specific key wins);
        ``age_rate_multiplier`` scales rates per age band. ``pre_rates`` (same keys) are
        the baseline counts' means (default: the rates). ``dispersion`` and
        ``baseline_slope`` are one number or per crime type / (outcome, crime type).
        """
        bands = [str(b) for b in treated]
        crimes = list(
            dict.fromkeys(k if isinstance(k, str) else k[1] for k in rates)  # keep order
        )
        outcomes = [str(o) for o in outcomes]
        mult = dict(age_rate_multiplier or {})
        rows = []
        for o in outcomes:
            for c in crimes:
                for a in bands:
                    rate = lookup_value(rates, o, c, a)
                    pre = lookup_value(pre_rates, o, c, a) if pre_rates else rate
                    if rate is None:
                        raise SettingsError(f"no rate given for {o} / {c}")
                    m = mult.get(a, 1.0)
                    rows.append((o, c, a, rate * m, (pre if pre is not None else rate) * m))
        cells = pd.DataFrame(
            rows, columns=["outcome", "crime_type", "age_band", "rate", "pre_rate"]
        )
        groups = [(o, c) for o in outcomes for c in crimes]
        return cls(
            treated=dict(treated),
            control=dict(control),
            cells=cells,
            dispersion={g: _per_group(dispersion, g) for g in groups},
            baseline_slope={g: _per_group(baseline_slope, g) for g in groups},
            person_sd=float(person_sd),
            follow_up_days=float(follow_up_days),
            custody_share=float(custody_share),
        )

    # -- views ----------------------------------------------------------------------------
    @property
    def age_bands(self) -> list[str]:
        return list(self.treated)

    @property
    def outcomes(self) -> list[str]:
        return list(pd.unique(self.cells["outcome"]))

    @property
    def crime_types(self) -> list[str]:
        return list(pd.unique(self.cells["crime_type"]))

    @property
    def crime_outcomes(self) -> list[tuple[str, str]]:
        pairs = self.cells[["outcome", "crime_type"]].drop_duplicates()
        return [(str(o), str(c)) for o, c in pairs.itertuples(index=False)]

    @property
    def n_treated(self) -> int:
        return sum(self.treated.values())

    @property
    def n_control(self) -> int:
        return sum(self.control.values())

    def with_sizes(
        self, treated: Mapping[str, int] | int | None = None, control=None
    ) -> PlanDesign:
        """The same design with other arm sizes.

        An int ``treated`` is a total split over age bands in this design's proportions
        (largest remainders). ``control`` defaults to this design's control sizes.
        """
        t = self.treated if treated is None else _split(treated, self.treated)
        c = self.control if control is None else _split(control, self.control)
        return replace(self, treated=t, control=c)

    def size_label(self) -> str:
        return ", ".join(f"{b}: {self.treated[b]}/{self.control[b]}" for b in self.age_bands)

    def summary(self) -> pd.DataFrame:
        """One row per cell: sizes, control rate, dispersion and slope (no person data)."""
        out = self.cells[["outcome", "crime_type", "age_band", "rate"]].copy()
        out["n_treated"] = out["age_band"].map(self.treated)
        out["n_control"] = out["age_band"].map(self.control)
        key = list(zip(out["outcome"], out["crime_type"], strict=True))
        out["dispersion"] = [self.dispersion[k] for k in key]
        out["baseline_slope"] = [self.baseline_slope[k] for k in key]
        out["person_sd"] = self.person_sd
        return out

    def to_dict(self) -> dict:
        """A JSON-able description (no baseline profiles or exposures)."""
        return {
            "treated": self.treated,
            "control": self.control,
            "crime_types": self.crime_types,
            "outcomes": self.outcomes,
            "follow_up_days": self.follow_up_days,
            "person_sd": self.person_sd,
            "source": self.source,
            "cells": self.summary().to_dict(orient="records"),
        }


def lookup_value(values: Mapping | None, outcome: str, crime: str, age: str):
    """The value of a cell in a mapping keyed by (outcome, crime type, age band), (outcome,
    crime type) or crime type, the most specific key first; ``None`` when none is given."""
    if values is None:
        return None
    for key in ((outcome, crime, age), (outcome, crime), crime):
        if key in values:
            return float(values[key])
    return None


def _per_group(value, group: tuple[str, str]) -> float:
    if isinstance(value, Mapping):
        for key in (group, group[1]):
            if key in value:
                return float(value[key])
        raise SettingsError(f"no value given for {group[0]} / {group[1]}")
    return float(value)


def _split(total: Mapping[str, int] | int, like: Mapping[str, int]) -> dict[str, int]:
    if isinstance(total, Mapping):
        return {str(k): int(v) for k, v in total.items()}
    total = int(total)
    weights = np.array(list(like.values()), dtype=float)
    exact = total * weights / weights.sum()
    base = np.floor(exact).astype(int)
    order = np.argsort(-(exact - base), kind="stable")
    base[order[: total - base.sum()]] += 1
    return dict(zip(like, (int(b) for b in base), strict=True))


def parse_sizes(values: Sequence[str]) -> dict[str, int]:
    """``["11-17=40", "18-25=50"]`` -> ``{"11-17": 40, "18-25": 50}`` (the CLI's form)."""
    out = {}
    for v in values:
        m = re.fullmatch(r"\s*([^=]+?)\s*=\s*(\d+)\s*", v)
        if not m:
            raise SettingsError(f"expected BAND=NUMBER, got '{v}'")
        out[m.group(1)] = int(m.group(2))
    return out


__all__ = ["PlanDesign", "lookup_value", "parse_sizes"]
