"""What a planning study decides on: the headline estimand (:class:`Estimand`, a
g-computed rate ratio of the effects table) and the decision rule (:class:`Decision`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from fd_bayes.constants import ALL
from fd_bayes.errors import SettingsError
from fd_bayes.plan.design import PlanDesign

#: Significance level of the frequentist comparison rule (NB GLM, two-sided p).
ALPHA = 0.05


@dataclass(frozen=True)
class Estimand:
    """A g-computed rate ratio of the effects table: its level and labels.

    ``level`` is ``overall`` (all crime types and age bands of ``outcome``),
    ``crime_type``, ``age_band`` or ``cell``; collapsed dimensions are ``"all"``.
    """

    level: str = "overall"
    outcome: str = "offending"
    crime_type: str = ALL
    age_band: str = ALL

    @classmethod
    def parse(cls, value, design: PlanDesign | None = None) -> Estimand:
        """From an Estimand, a mapping or text.

        Text: ``"overall"``, a crime type (``"knife"``), an age band (``"11-17"``), or a
        cell ``"knife/11-17"``; prefix ``"victimisation:"`` for another outcome. The
        default outcome is ``offending`` when the design has it, else its first outcome.
        """
        if isinstance(value, Estimand):
            return value
        if isinstance(value, Mapping):
            return cls(**value)
        outcomes = design.outcomes if design is not None else ["offending"]
        outcome = "offending" if "offending" in outcomes else outcomes[0]
        text = str(value).strip()
        if ":" in text:
            outcome, text = (s.strip() for s in text.split(":", 1))
        crimes = design.crime_types if design is not None else []
        bands = design.age_bands if design is not None else []
        if text in ("overall", "", ALL):
            return cls("overall", outcome)
        if "/" in text:
            crime, band = (s.strip() for s in text.split("/", 1))
            return cls("cell", outcome, crime, band)
        if text in bands and text not in crimes:
            return cls("age_band", outcome, ALL, text)
        return cls("crime_type", outcome, text, ALL)

    def check(self, design: PlanDesign) -> None:
        if self.outcome not in design.outcomes:
            raise SettingsError(f"outcome '{self.outcome}' is not in the design")
        if self.crime_type != ALL and self.crime_type not in design.crime_types:
            raise SettingsError(f"crime type '{self.crime_type}' is not in the design")
        if self.age_band != ALL and self.age_band not in design.age_bands:
            raise SettingsError(f"age band '{self.age_band}' is not in the design")

    def mask(self, cells: pd.DataFrame) -> np.ndarray:
        """Which rows of a table with outcome/crime_type/age_band belong to it."""
        m = cells["outcome"].astype(str).to_numpy() == self.outcome
        if self.crime_type != ALL:
            m &= cells["crime_type"].astype(str).to_numpy() == self.crime_type
        if self.age_band != ALL:
            m &= cells["age_band"].astype(str).to_numpy() == self.age_band
        return m

    def describe(self) -> str:
        what = {"offending": "offending", "victimisation": "victimisation"}.get(
            self.outcome, self.outcome
        )
        if self.level == "overall":
            return f"overall {what}"
        if self.level == "crime_type":
            return f"{self.crime_type} {what}"
        if self.level == "age_band":
            return f"{what} aged {self.age_band}"
        return f"{self.crime_type} {what} aged {self.age_band}"


@dataclass(frozen=True)
class Decision:
    """Success when P(RR < 1 - ``reduction``) > ``prob`` for the ``estimand``.

    Default: P(reduction) > 0.95 for overall offending (all crime types and age bands,
    g-computed over the treated cohort, as in the effects table's ``overall`` row).
    """

    estimand: Estimand | str = "overall"
    prob: float = 0.95
    reduction: float = 0.0

    @classmethod
    def parse(cls, value, design: PlanDesign) -> Decision:
        if value is None:
            value = cls()
        elif isinstance(value, str | Estimand):
            value = cls(estimand=value)
        elif isinstance(value, Mapping):
            value = cls(**value)
        if not 0 < value.prob < 1 or not 0 <= value.reduction < 1:
            raise SettingsError("decision prob must be in (0, 1) and reduction in [0, 1)")
        est = Estimand.parse(value.estimand, design)
        est.check(design)
        return replace(value, estimand=est)

    def describe(self) -> str:
        what = (
            "a reduction"
            if self.reduction == 0
            else f"a reduction of at least {self.reduction:.0%}"
        )
        return f"{what} in {self.estimand.describe()} with probability above {self.prob:.0%}"


__all__ = ["ALL", "ALPHA", "Decision", "Estimand"]
