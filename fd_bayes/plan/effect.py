"""The true effect of a planning study: one rate ratio, a mapping of them per cell, or a
distribution (:class:`EffectDistribution`, from a fit's posterior by :func:`effect_from`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from fd_bayes.errors import SettingsError
from fd_bayes.modelling import flat_draws
from fd_bayes.plan.design import PlanDesign, lookup_value
from fd_bayes.results import Fit


@dataclass
class EffectDistribution:
    """Draws of the true rate ratio per cell (outcome x crime type x age band).

    Made by :func:`effect_from` from a fit's posterior draws of the cell effects
    ``theta``; each simulation takes one joint draw (so correlations between cells are
    kept). ``discount`` >= 1 multiplies the variance of every log rate ratio around its
    posterior mean (keeping the mean): 2 halves the information the earlier trial
    carries, like a power prior with weight 1/2 under a normal approximation.
    """

    cells: pd.DataFrame  # outcome, crime_type, age_band
    log_rr: np.ndarray  # (draws, cells)
    discount: float = 1.0
    label: str = "a fitted posterior"

    def draw(self, rng: np.random.Generator) -> dict[tuple[str, str, str], float]:
        i = int(rng.integers(self.log_rr.shape[0]))
        mean = self.log_rr.mean(axis=0)
        value = mean + math.sqrt(self.discount) * (self.log_rr[i] - mean)
        keys = self.cells[["outcome", "crime_type", "age_band"]].itertuples(index=False)
        return {tuple(map(str, k)): float(np.exp(v)) for k, v in zip(keys, value, strict=True)}

    def describe(self) -> str:
        extra = f", variance inflated x{self.discount:g}" if self.discount != 1 else ""
        return f"drawn from {self.label}{extra}"


def effect_from(fit: Fit, discount: float = 1.0) -> EffectDistribution:
    """The true effect as a distribution: ``fit``'s posterior draws of the cell effects.

    ``discount`` (>= 1) inflates the variance of each log rate ratio (see
    :class:`EffectDistribution`).
    """
    if discount < 1:
        raise SettingsError(f"discount must be >= 1 (a variance inflation), got {discount}")
    theta = flat_draws(fit.idata.posterior["theta"])
    cells = fit.design.cells[["outcome", "crime_type", "age_band"]].astype(str)
    name = fit.info.get("trial_name", "") or "a fit"
    return EffectDistribution(
        cells.reset_index(drop=True), theta, float(discount), f"the posterior of '{name}'"
    )


def effect_label(effect) -> str:
    """How a study's results describe the true effect (``"fixed: RR 0.6 in every cell"``)."""
    if isinstance(effect, EffectDistribution):
        return effect.describe()
    if isinstance(effect, Mapping):
        return "fixed: " + ", ".join(f"{_key_label(k)} RR {v:g}" for k, v in effect.items())
    return f"fixed: RR {float(effect):g} in every cell"


def _key_label(key) -> str:
    return key if isinstance(key, str) else " / ".join(map(str, key))


def cell_rr(effect, cells: pd.DataFrame, rng: np.random.Generator) -> np.ndarray:
    """The true rate ratio of each design cell under ``effect`` (1 where not named)."""
    keys = [tuple(map(str, k)) for k in cells[["outcome", "crime_type", "age_band"]].to_numpy()]
    if isinstance(effect, EffectDistribution):
        drawn = effect.draw(rng)
        missing = [k for k in keys if k not in drawn]
        if missing:
            raise SettingsError(f"the effect distribution has no draws for cells {missing[:3]}")
        return np.array([drawn[k] for k in keys])
    if isinstance(effect, Mapping):
        out = []
        for o, c, a in keys:
            v = lookup_value(effect, o, c, a)
            out.append(1.0 if v is None else v)
        return np.array(out)
    value = float(effect)
    if not value > 0:
        raise SettingsError(f"a rate ratio must be > 0, got {effect!r}")
    return np.full(len(keys), value)


def check_effect(effect, design: PlanDesign) -> None:
    """Raise a :class:`~fd_bayes.errors.SettingsError` unless ``effect`` fits ``design``."""
    if isinstance(effect, EffectDistribution):
        have = set(map(tuple, effect.cells.astype(str).to_numpy()))
        want = set(map(tuple, design.cells[["outcome", "crime_type", "age_band"]].to_numpy()))
        if not want <= have:
            raise SettingsError(
                f"the effect distribution lacks cells {sorted(want - have)[:3]} of the design"
            )
        return
    if isinstance(effect, Mapping):
        names = set(design.crime_types)
        for k, v in effect.items():
            crime = k if isinstance(k, str) else k[1]
            if crime not in names:
                raise SettingsError(f"effect names crime type '{crime}', not in the design")
            if not float(v) > 0:
                raise SettingsError(f"a rate ratio must be > 0, got {v!r} for {k!r}")
        return
    try:
        value = float(effect)
    except (TypeError, ValueError):
        raise SettingsError(
            "effect must be a rate ratio, a mapping of rate ratios, an "
            f"EffectDistribution or a Fit; got {type(effect).__name__}"
        ) from None
    if not value > 0:
        raise SettingsError(f"a rate ratio must be > 0, got {effect!r}")


__all__ = ["EffectDistribution", "cell_rr", "check_effect", "effect_from", "effect_label"]
