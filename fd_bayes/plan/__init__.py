"""Planning a replication: assurance, false-positive rate and sample size by simulation.

The replication is simulated many times from a :class:`PlanDesign` and each simulated
trial is analysed with the very model that will analyse the real one
(:func:`fd_bayes.fit`, ``predictive=False``). The share of simulations in which the
decision rule declares success is the *assurance* (the Bayesian analogue of power,
averaged over uncertainty in the true effect when the effect is a distribution); run
with no effect (``effect=1``) the same share is the false-positive rate.

- :func:`design_from` takes the design (arms per age band, crime types, outcomes,
  follow-up), baseline rates, person SD, dispersion and baseline-count distribution from
  an existing :class:`~fd_bayes.Fit` (posterior means; recommended) or
  :class:`~fd_bayes.Trial` (moment estimates from the control arm);
  :meth:`PlanDesign.stated` states one directly.
- :func:`simulate` draws one trial from a design and a true effect.
- :func:`assurance` runs the study and returns an :class:`Assurance`;
  :func:`sample_size` runs it for several sizes and draws the curve.

Simulations run in local processes or on a Dask cluster (:mod:`fd_bayes.plan.simstudy`),
with seeds derived per simulation, so the results do not depend on where they ran.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from fd_bayes.constants import (
    DAYS_PER_YEAR,
    DEFAULT_MODEL,
    DEFAULT_TARGET_ACCEPT,
    DIVERGENCES_MAX,
    ESS_MIN,
    HDI_PROB,
    RHAT_MAX,
)
from fd_bayes.data.trial import Trial
from fd_bayes.errors import SettingsError
from fd_bayes.inference import idata as infd
from fd_bayes.modelling.build import SEP, excess_counts, expected_counts
from fd_bayes.plan.simstudy import int_seed, mc_se, run_study, study_seed
from fd_bayes.results.effects import hdi

#: Sampling settings of each simulated fit unless told otherwise (see ``docs/planning.md``
#: and ``benchmarks/bench_plan.py`` for why these suffice for a decision at 0.95).
PLAN_CHAINS = 2
PLAN_TUNE = 300
PLAN_DRAWS = 400

#: Significance level of the frequentist comparison rule (NB GLM, two-sided p).
ALPHA = 0.05

ALL = "all"


def _child(seq: np.random.SeedSequence, k: int) -> np.random.SeedSequence:
    """The ``k``-th independent stream of a simulation's seed sequence."""
    return np.random.SeedSequence(seq.entropy, spawn_key=(*seq.spawn_key, k))


# -- the design -----------------------------------------------------------------------------
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
                    rate = _lookup(rates, o, c, a)
                    pre = _lookup(pre_rates, o, c, a) if pre_rates else rate
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


def _lookup(values: Mapping | None, outcome: str, crime: str, age: str):
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


# -- design from a trial or a fit -------------------------------------------------------------
def design_from(
    source,
    *,
    treated: Mapping[str, int] | int | None = None,
    control: Mapping[str, int] | int | None = None,
    person_sd: float | None = None,
    baseline_slope: float | None = None,
) -> PlanDesign:
    """A :class:`PlanDesign` estimated from a :class:`~fd_bayes.Fit` or a :class:`~fd_bayes.Trial`.

    From a **Fit** (recommended): the posterior means of the control rates (intercepts),
    baseline slopes, person SD and dispersions, the baseline counts and the exposures of
    the fitted data (recovered from the fit's design; no data file needed).

    From a **Trial**: moment estimates from the control arm. The person SD comes from
    the covariance of follow-up counts across crime types (``person_sd`` overrides it),
    each dispersion from the remaining extra-Poisson variance, the baseline slope is
    ``baseline_slope`` (default 0.35: a trial alone gives no model-based estimate) and
    the rate of each cell is the control rate divided by the mean multiplier of the
    baseline and person terms. Rougher than a fit: prefer ``design_from(fit)``.

    Both keep the source's baseline-count profiles (everyone's: baselines precede
    randomisation) and control-arm exposures for resampling. ``treated``/``control``
    replace the source's arm sizes (an int is split over age bands in the source's
    proportions).
    """
    from fd_bayes.results.fit import Fit

    if isinstance(source, Fit):
        design = _design_from_fit(source)
    elif isinstance(source, Trial):
        design = _design_from_trial(source, person_sd, baseline_slope)
    else:
        raise SettingsError(f"design_from needs a Fit or a Trial, got {type(source).__name__}")
    if person_sd is not None:
        design = replace(design, person_sd=float(person_sd))
    if baseline_slope is not None and isinstance(source, Fit):
        design = replace(
            design, baseline_slope={g: float(baseline_slope) for g in design.baseline_slope}
        )
    return design.with_sizes(treated, control)


def _people_table(
    cells: pd.DataFrame, cell_idx, person_idx, pre, treated, exposure_days, n_people
) -> tuple[pd.DataFrame, dict, dict, np.ndarray]:
    """Per person: age band, arm, exposure and a baseline column per crime type x outcome."""
    labels = (cells["outcome"] + SEP + cells["crime_type"]).to_numpy()
    rows = pd.DataFrame(
        {
            "person": person_idx,
            "co": labels[cell_idx],
            "age_band": cells["age_band"].to_numpy()[cell_idx],
            "pre": pre,
            "treated": treated,
            "exposure": exposure_days,
        }
    )
    profiles = rows.pivot_table(index="person", columns="co", values="pre", aggfunc="first")
    profiles = profiles.fillna(0).astype("int64")
    first = rows.groupby("person").first()
    profiles.insert(0, "age_band", first["age_band"].to_numpy())
    arms = first["treated"].to_numpy() == 1
    bands = first["age_band"].to_numpy()
    sizes_t = {b: int(((bands == b) & arms).sum()) for b in pd.unique(cells["age_band"])}
    sizes_c = {b: int(((bands == b) & ~arms).sum()) for b in pd.unique(cells["age_band"])}
    exposure = first["exposure"].to_numpy()[~arms]
    return profiles.reset_index(drop=True), sizes_t, sizes_c, exposure


def _design_from_fit(fit) -> PlanDesign:
    d = fit.design
    post = fit.idata.posterior
    # the design keeps log1p(pre) centred within crime type x outcome; the centre is
    # minus the smallest value (a person with no baseline count), which recovers the counts
    centre = {}
    pre = np.zeros(len(d.x_pre), dtype="int64")
    for g in range(len(d.crime_outcomes)):
        rows = d.co_idx == g
        c = -float(d.x_pre[rows].min())
        raw = np.expm1(d.x_pre[rows] + c)
        if np.abs(raw - np.round(raw)).max() > 1e-6:
            raise SettingsError(
                "cannot recover the baseline counts from this fit (no person without a "
                "baseline count in a crime type); use design_from(trial) instead"
            )
        pre[rows] = np.round(raw).astype("int64")
        co = d.crime_outcomes.iloc[g]
        centre[(str(co["outcome"]), str(co["crime_type"]))] = c
    exposure = np.exp(d.log_exposure) * DAYS_PER_YEAR
    profiles, sizes_t, sizes_c, exp_control = _people_table(
        d.cells, d.cell_idx, d.person_idx, pre, d.treated, exposure, d.n_people
    )
    mean = {v: post[v].mean(("chain", "draw")).values for v in post.data_vars}
    cells = d.cells[["outcome", "crime_type", "age_band"]].astype(str).copy()
    cells["rate"] = np.exp(mean["intercept"])
    pre_by_cell = pd.Series(pre).groupby(d.cell_idx).mean()
    cells["pre_rate"] = pre_by_cell.reindex(range(len(cells))).to_numpy()
    groups = [(str(o), str(c)) for o, c in d.crime_outcomes[["outcome", "crime_type"]].to_numpy()]
    if "dispersion" in mean:
        dispersion = {g: float(v) for g, v in zip(groups, mean["dispersion"], strict=True)}
    else:  # a Poisson model: the NB limit
        dispersion = {g: 1e6 for g in groups}
    slopes = mean.get("baseline_slope", np.zeros(len(groups)))
    return PlanDesign(
        treated=sizes_t,
        control=sizes_c,
        cells=cells,
        dispersion=dispersion,
        baseline_slope={g: float(v) for g, v in zip(groups, slopes, strict=True)},
        person_sd=float(mean.get("person_sd", 0.0)),
        follow_up_days=float(exposure.max()),
        baseline_profiles=profiles,
        baseline_centre=centre,
        exposure_days=exp_control,
        source=f"posterior means of a fit of {fit.spec.name} to '{fit.info.get('trial_name', '')}'",
    )


def _design_from_trial(trial: Trial, person_sd, baseline_slope) -> PlanDesign:
    from fd_bayes.modelling.build import Design

    d = Design.from_trial(trial)
    data = trial.data
    pre = data["pre_count"].to_numpy().astype("int64")
    exposure = data["exposure_days"].to_numpy(float)
    profiles, sizes_t, sizes_c, exp_control = _people_table(
        d.cells, d.cell_idx, d.person_idx, pre, d.treated, exposure, d.n_people
    )
    control = d.treated == 0
    years = exposure / DAYS_PER_YEAR
    groups = [(str(o), str(c)) for o, c in d.crime_outcomes[["outcome", "crime_type"]].to_numpy()]
    # person-level variance from the covariance of rates across crime types x outcomes
    rate_pp = pd.DataFrame({"person": d.person_idx[control], "co": d.co_idx[control]}).assign(
        r=d.post_count[control] / years[control]
    )
    wide = rate_pp.pivot_table(index="person", columns="co", values="r", aggfunc="first")
    m = wide.mean()
    if person_sd is None:
        cov = wide.cov().to_numpy()
        mm = np.outer(m, m)
        off = ~np.eye(len(m), dtype=bool) & (mm > 0)
        ratio = np.nanmean(cov[off] / mm[off]) if off.any() else 0.0
        person_sd = float(np.sqrt(np.clip(np.log1p(max(ratio, 0.0)), 0.0, 2.25)))
    slope = 0.35 if baseline_slope is None else float(baseline_slope)
    s2 = person_sd**2
    dispersion = {}
    for g, label in enumerate(groups):
        y = wide[g].to_numpy() if g in wide else np.zeros(1)
        mu, var = y.mean(), y.var(ddof=1) if y.size > 1 else 0.0
        if mu <= 0:
            dispersion[label] = 1.0
            continue
        # var = mu + mu^2 (exp(s2) (1 + 1/phi) - 1) for a lognormal person effect
        inv = ((var - mu) / mu**2 + 1.0) / math.exp(s2) - 1.0
        dispersion[label] = float(np.clip(1.0 / inv, 0.1, 1e3)) if inv > 0 else 1e3
    centre = {}
    lp = np.log1p(pre)
    for g, label in enumerate(groups):
        centre[label] = float(lp[d.co_idx == g].mean())
    cells = d.cells[["outcome", "crime_type", "age_band"]].astype(str).copy()
    rates, pre_rates = [], []
    for k in range(len(cells)):
        rows = (d.cell_idx == k) & control
        g = int(d.cells["co_idx"].iloc[k])
        raw = d.post_count[rows].sum() / max(years[rows].sum(), 1e-9)
        label = groups[g]
        mult = np.mean(np.exp(slope * (lp[rows] - centre[label]))) * math.exp(s2 / 2)
        # a cell with no events gets half an event, so the design keeps a positive rate
        raw = raw if raw > 0 else 0.5 / max(years[rows].sum(), 1e-9)
        rates.append(raw / mult)
        pre_rates.append(float(pre[d.cell_idx == k].mean()))
    cells["rate"] = rates
    cells["pre_rate"] = pre_rates
    return PlanDesign(
        treated=sizes_t,
        control=sizes_c,
        cells=cells,
        dispersion=dispersion,
        baseline_slope={g: slope for g in groups},
        person_sd=float(person_sd),
        follow_up_days=float(exposure.max()),
        baseline_profiles=profiles,
        baseline_centre=centre,
        exposure_days=exp_control,
        source=f"moment estimates from the control arm of '{trial.name}'",
    )


# -- the true effect -----------------------------------------------------------------------
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


def effect_from(fit, discount: float = 1.0) -> EffectDistribution:
    """The true effect as a distribution: ``fit``'s posterior draws of the cell effects.

    ``discount`` (>= 1) inflates the variance of each log rate ratio (see
    :class:`EffectDistribution`).
    """
    if discount < 1:
        raise SettingsError(f"discount must be >= 1 (a variance inflation), got {discount}")
    theta = fit.idata.posterior["theta"].stack(s=("chain", "draw")).transpose("s", ...).values
    cells = fit.design.cells[["outcome", "crime_type", "age_band"]].astype(str)
    name = fit.info.get("trial_name", "") or "a fit"
    return EffectDistribution(
        cells.reset_index(drop=True), theta, float(discount), f"the posterior of '{name}'"
    )


def _effect_label(effect) -> str:
    if isinstance(effect, EffectDistribution):
        return effect.describe()
    if isinstance(effect, Mapping):
        return "fixed: " + ", ".join(f"{_key_label(k)} RR {v:g}" for k, v in effect.items())
    return f"fixed: RR {float(effect):g} in every cell"


def _key_label(key) -> str:
    return key if isinstance(key, str) else " / ".join(map(str, key))


def _cell_rr(effect, cells: pd.DataFrame, rng: np.random.Generator) -> np.ndarray:
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
            v = _lookup(effect, o, c, a)
            out.append(1.0 if v is None else v)
        return np.array(out)
    value = float(effect)
    if not value > 0:
        raise SettingsError(f"a rate ratio must be > 0, got {effect!r}")
    return np.full(len(keys), value)


def _check_effect(effect, design: PlanDesign) -> None:
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


# -- simulating one trial ------------------------------------------------------------------------
@dataclass(frozen=True)
class SimulatedTruth:
    """Per cell: the true rate ratio and the treated cohort's expected control counts.

    ``cells`` has ``outcome``, ``crime_type``, ``age_band``, ``rr`` and ``mu0`` (sum over
    the treated people of their expected yearly count under control), which is all a
    g-computed estimand's true value needs: ``sum(mu0 * rr) / sum(mu0)`` over its cells.
    """

    cells: pd.DataFrame

    def rr(self, estimand: Estimand) -> float:
        mask = estimand.mask(self.cells)
        mu0 = self.cells.loc[mask, "mu0"].to_numpy()
        rr = self.cells.loc[mask, "rr"].to_numpy()
        return float((mu0 * rr).sum() / mu0.sum()) if mu0.sum() > 0 else float(rr.mean())


def simulate(
    design: PlanDesign, effect=1.0, seed: int | np.random.SeedSequence | None = None
) -> tuple[Trial, SimulatedTruth]:
    """Simulate one trial of ``design`` with true ``effect``; returns (Trial, truth).

    ``effect`` is a rate ratio for every cell, a mapping (crime type, (outcome, crime
    type) or (outcome, crime type, age band) -> RR; missing cells have no effect), or an
    :class:`EffectDistribution` (one joint draw per trial).
    """
    seq = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    rng = np.random.default_rng(_child(seq, 0))
    rr_cells = _cell_rr(effect, design.cells, np.random.default_rng(_child(seq, 1)))

    bands = np.concatenate(
        [np.repeat([b, b], [design.treated[b], design.control[b]]) for b in design.age_bands]
    )
    treated = np.concatenate(
        [np.repeat([1, 0], [design.treated[b], design.control[b]]) for b in design.age_bands]
    )
    n = len(bands)
    groups = design.crime_outcomes
    labels = [o + SEP + c for o, c in groups]

    # baseline counts: resampled profiles of real people, or simulated
    pre = np.zeros((n, len(groups)), dtype="int64")
    profiles = design.baseline_profiles
    cell_key = {
        (o, c, a): k
        for k, (o, c, a) in enumerate(
            design.cells[["outcome", "crime_type", "age_band"]].itertuples(index=False)
        )
    }
    if profiles is not None:
        for b in design.age_bands:
            rows = np.flatnonzero(bands == b)
            pool = profiles[profiles["age_band"] == b]
            if pool.empty:
                pool = profiles
            pick = rng.integers(len(pool), size=rows.size)
            for g, label in enumerate(labels):
                if label in pool:
                    pre[rows, g] = pool[label].to_numpy()[pick]
    else:
        v = rng.normal(0.0, design.person_sd, n)
        for g, (o, c) in enumerate(groups):
            m = np.array([design.cells["pre_rate"].iloc[cell_key[(o, c, b)]] for b in bands])
            phi = design.dispersion[(o, c)]
            pre[:, g] = rng.negative_binomial(phi, phi / (phi + m * np.exp(v)))

    u = rng.normal(0.0, design.person_sd, n)
    if design.exposure_days is not None and len(design.exposure_days):
        exposure = rng.choice(np.asarray(design.exposure_days, float), size=n)
    else:
        exposure = np.full(n, float(design.follow_up_days))
        custody = rng.random(n) < design.custody_share
        exposure[custody] -= rng.integers(30, 250, custody.sum())
        exposure = np.maximum(exposure, 1.0)

    frames = []
    mu0_sum = np.zeros(len(design.cells))
    person_ids = np.array([f"S{i:05d}" for i in range(n)])
    arms = np.where(treated == 1, "treatment", "control")
    for g, (o, c) in enumerate(groups):
        k = np.array([cell_key[(o, c, b)] for b in bands])
        lp = np.log1p(pre[:, g])
        centre = (design.baseline_centre or {}).get((o, c), lp.mean())
        log_mu0 = (
            np.log(design.cells["rate"].to_numpy()[k])
            + design.baseline_slope[(o, c)] * (lp - centre)
            + u
        )
        mu0 = np.exp(log_mu0)
        np.add.at(mu0_sum, k[treated == 1], mu0[treated == 1])
        mu = mu0 * np.where(treated == 1, rr_cells[k], 1.0) * exposure / DAYS_PER_YEAR
        phi = design.dispersion[(o, c)]
        y = rng.negative_binomial(phi, phi / (phi + mu))
        frames.append(
            pd.DataFrame(
                {
                    "person_id": person_ids,
                    "arm": arms,
                    "age_band": bands,
                    "crime_type": c,
                    "outcome": o,
                    "pre_count": pre[:, g],
                    "post_count": y,
                    "exposure_days": exposure,
                }
            )
        )
    trial = Trial.from_counts(pd.concat(frames, ignore_index=True), name="simulated replication")
    truth = design.cells[["outcome", "crime_type", "age_band"]].copy()
    truth["rr"] = rr_cells
    truth["mu0"] = mu0_sum
    return trial, SimulatedTruth(truth.reset_index(drop=True))


# -- estimands and decisions ---------------------------------------------------------------------
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


# -- one simulation of a study -----------------------------------------------------------------
def _frequentist_rr(trial: Trial, estimand: Estimand) -> tuple[float, float, str]:
    """NB GLM rate ratio and two-sided p for ``estimand`` (as in frequentist.compare)."""
    from fd_bayes import frequentist as fq

    cells = fq._cells(trial)
    parts = [
        cl
        for (o, c), cl in cells.items()
        if o == estimand.outcome and estimand.crime_type in (ALL, c)
    ]
    if not parts:
        return float("nan"), float("nan"), "no cells"
    cell = fq._pool(parts) if len(parts) > 1 else parts[0]
    if estimand.age_band != ALL:
        band = trial.data.groupby(trial.person_index())["age_band"].first().astype(str).to_numpy()
        cell = cell.subset(band[cell.person] == estimand.age_band)
    est = fq._glm_estimate(cell, "negbin_glm", HDI_PROB, overall=len(parts) > 1)
    return float(est.estimate), float(est.p_value), est.reason


def estimand_draws(fit, estimand: Estimand) -> np.ndarray:
    """Draws (chain, draw) of the g-computed rate ratio of ``estimand`` from a fit."""
    d = fit.design
    rows = np.flatnonzero(d.treated == 1)
    mu1, mu0 = expected_counts(fit.idata.posterior, d, rows)
    cells = d.cells.iloc[d.cell_idx[rows]].reset_index(drop=True)
    mask = estimand.mask(cells)
    rr = mu1[:, mask].sum(axis=1) / mu0[:, mask].sum(axis=1)
    post = fit.idata.posterior
    return rr.reshape(post.sizes["chain"], post.sizes["draw"])


def summarise_fit(fit, estimand: Estimand, decision: Decision, true_rr: float) -> dict:
    """The per-simulation record of a fitted replication."""
    rr = estimand_draws(fit, estimand)
    flat = rr.ravel()
    lower, upper = hdi(flat[:, None], HDI_PROB)
    rhat, ess_bulk, ess_tail = infd.array_diagnostics(rr)
    diag = fit.diagnostics()
    p = float((flat < 1.0 - decision.reduction).mean())
    return {
        "true_rr": float(true_rr),
        "rr_median": float(np.median(flat)),
        "rr_lower": float(lower[0]),
        "rr_upper": float(upper[0]),
        "p_reduction": float((flat < 1.0).mean()),
        "p_decision": p,
        "success": bool(p > decision.prob),
        "covered": bool(lower[0] <= true_rr <= upper[0]),
        "max_rhat": float(diag["max_rhat"]),
        "min_ess_bulk": float(diag["min_ess_bulk"]),
        "min_ess_tail": float(diag["min_ess_tail"]),
        "divergences": int(diag["divergences"]),
        "headline_rhat": rhat,
        "headline_ess_bulk": ess_bulk,
        "headline_ess_tail": ess_tail,
        "compile_seconds": float(fit.info.get("compile_seconds", float("nan"))),
        "sampling_seconds": float(fit.info.get("sampling_seconds", float("nan"))),
    }


@dataclass
class FitSettings:
    """Sampling settings of every simulated fit (recorded with the results)."""

    model: str = DEFAULT_MODEL
    draws: int = PLAN_DRAWS
    tune: int = PLAN_TUNE
    chains: int = PLAN_CHAINS
    target_accept: float = DEFAULT_TARGET_ACCEPT
    sampler: str = "auto"
    cores: int = 1
    priors: dict | None = None

    def fit(self, trial: Trial, seed: int):
        from fd_bayes.results.fit import fit

        return fit(
            trial,
            model=self.model,
            draws=self.draws,
            tune=self.tune,
            chains=self.chains,
            seed=seed,
            sampler=self.sampler,
            target_accept=self.target_accept,
            priors=self.priors,
            progress=False,
            cores=self.cores,
            predictive=False,
        )

    def describe(self) -> str:
        return (
            f"{self.model}, {self.chains} chains x {self.draws} draws after {self.tune} "
            f"warm-up, target_accept {self.target_accept:g}, sampler {self.sampler}"
        )


@dataclass
class AssuranceJob:
    """One simulation of an assurance study (picklable: runs in any worker)."""

    design: PlanDesign
    effect: object
    decision: Decision
    settings: FitSettings
    frequentist: bool = True

    def __call__(self, index: int, seq: np.random.SeedSequence) -> dict:
        trial, truth = simulate(self.design, self.effect, _child(seq, 0))
        est = self.decision.estimand
        true_rr = truth.rr(est)
        y = trial.data["post_count"].to_numpy()
        record = {
            "max_count": int(y.max(initial=0)),
            "events": int(y.sum()),
            # the width of the likelihood's count matrix: a new width is a new compile
            "excess_width": int(excess_counts(y, np.zeros(y.size, dtype="int64"), 1).shape[1]),
        }
        fit = self.settings.fit(trial, int_seed(_child(seq, 2)))
        record.update(summarise_fit(fit, est, self.decision, true_rr))
        if self.frequentist:
            rr, p, reason = _frequentist_rr(trial, est)
            record.update(
                {
                    "freq_rr": rr,
                    "freq_p": p,
                    "freq_success": bool(rr < 1 and p < ALPHA),
                    "freq_reason": reason,
                }
            )
        return record


# -- results -------------------------------------------------------------------------------------
def diagnostic_tallies(sims: pd.DataFrame) -> dict[str, int]:
    """How many simulated fits failed each diagnostic (of those that ran)."""
    ran = sims[sims["error"] == ""] if "error" in sims else sims
    if ran.empty or "max_rhat" not in ran:
        return {"fits": 0, "errors": int(len(sims) - len(ran))}
    rhat = ran["max_rhat"] > RHAT_MAX
    ess = np.minimum(ran["min_ess_bulk"], ran["min_ess_tail"]) < ESS_MIN
    div = ran["divergences"] > DIVERGENCES_MAX
    h_rhat = ran["headline_rhat"] > RHAT_MAX
    h_ess = np.minimum(ran["headline_ess_bulk"], ran["headline_ess_tail"]) < ESS_MIN
    return {
        "fits": len(ran),
        "errors": int(len(sims) - len(ran)),
        "rhat_over_1.01": int(rhat.sum()),
        "ess_under_400": int(ess.sum()),
        "divergent": int(div.sum()),
        "any_failure": int((rhat | ess | div).sum()),
        "headline_rhat_over_1.01": int(h_rhat.sum()),
        "headline_ess_under_400": int(h_ess.sum()),
        "diagnostics_warnings": int(
            sum(any(w[0] == "DiagnosticsWarning" for w in ws) for ws in ran["warnings"])
        ),
        # the model was adapted to a simulated data set (e.g. person effect left out)
        "model_notes": int(sum(any(w[0] == "ModelNote" for w in ws) for ws in ran["warnings"])),
    }


@dataclass
class Assurance:
    """The result of :func:`assurance`.

    Attributes
    ----------
    sims : DataFrame
        One row per simulation: the true and estimated rate ratio of the headline
        estimand, its HDI, P(reduction), success under the decision and under the
        frequentist rule, the fit's diagnostics, timings and any error.
    design, decision, settings, effect_label, seed, n_sims
    null : Assurance or None
        The same study with no effect (``effect=1``): its success rate is the
        false-positive rate.
    where, seconds, compilations, compilations_per_process
        Where it ran, wall time, and model compilations (1 per worker process and bucket
        of the likelihood's data shape; see ``docs/planning.md``).
    """

    sims: pd.DataFrame
    design: PlanDesign
    decision: Decision
    settings: FitSettings
    effect_label: str
    seed: int
    n_sims: int
    where: str = ""
    seconds: float = float("nan")
    compilations: int = 0
    compilations_per_process: dict = field(default_factory=dict)
    null: Assurance | None = None

    @property
    def _ran(self) -> pd.DataFrame:
        return self.sims[self.sims["error"] == ""]

    def _rate(self, column: str) -> tuple[float, float, int]:
        ran = self._ran
        if column not in ran or ran.empty:
            return float("nan"), float("nan"), 0
        p = float(ran[column].astype(bool).mean())
        return p, mc_se(p, len(ran)), len(ran)

    @property
    def probability(self) -> float:
        """Assurance: share of simulations meeting the decision rule."""
        return self._rate("success")[0]

    @property
    def mc_error(self) -> float:
        """Monte Carlo standard error of :attr:`probability`."""
        return self._rate("success")[1]

    @property
    def frequentist_probability(self) -> float:
        """Share of simulations with NB GLM p < 0.05 and an estimated reduction."""
        return self._rate("freq_success")[0]

    @property
    def coverage(self) -> float:
        """Share of 95% HDIs of the headline estimand that contain its true value."""
        return self._rate("covered")[0]

    @property
    def false_positive_rate(self) -> float:
        return self.null.probability if self.null is not None else float("nan")

    def diagnostics(self) -> dict[str, int]:
        """Tallies of failed diagnostics across the simulated fits (never hidden)."""
        return diagnostic_tallies(self.sims)

    def rr_quantiles(self, q=(0.05, 0.25, 0.5, 0.75, 0.95)) -> pd.Series:
        """Quantiles of the posterior median rate ratio across simulations."""
        return self._ran["rr_median"].quantile(list(q))

    def table(self) -> pd.DataFrame:
        """One row per rule (and for the null study, when run)."""
        rows = []
        for scenario, res in (("effect", self), ("no effect", self.null)):
            if res is None:
                continue
            for rule, col in (
                (
                    f"Bayes: P(RR < {1 - res.decision.reduction:g}) > {res.decision.prob:g}",
                    "success",
                ),
                (f"NB GLM: p < {ALPHA:g} and RR < 1", "freq_success"),
            ):
                p, se, n = res._rate(col)
                if n == 0:
                    continue
                rows.append(
                    {
                        "scenario": scenario,
                        "rule": rule,
                        "estimand": res.decision.estimand.describe(),
                        "treated": res.design.size_label(),
                        "n_treated": res.design.n_treated,
                        "n_control": res.design.n_control,
                        "probability": p,
                        "mc_error": se,
                        "n_sims": n,
                        "coverage_95": res.coverage,
                        "median_rr": float(res._ran["rr_median"].median()),
                        "fits_failing_diagnostics": res.diagnostics().get("any_failure", 0),
                        "errors": res.diagnostics().get("errors", 0),
                    }
                )
        return pd.DataFrame(rows)

    def summary(self) -> str:
        """A plain-language sentence, like "With 40 and 50 young people treated, ..."."""
        sizes = list(self.design.treated.values())
        who = " and ".join(
            [", ".join(map(str, sizes[:-1])), str(sizes[-1])] if len(sizes) > 1 else [str(sizes[0])]
        )
        text = (
            f"With {who} young people treated, a replication has an estimated "
            f"{self.probability:.0%} chance (Monte Carlo error {self.mc_error:.0%}) of showing "
            f"{self.decision.describe()}, if the true effect is {self.effect_label}"
        )
        if self.null is not None:
            text += (
                f"; if the intervention had no effect, it would wrongly show one "
                f"{self.false_positive_rate:.0%} of the time (Monte Carlo error "
                f"{self.null.mc_error:.0%})"
            )
        text += "."
        d = self.diagnostics()
        if d.get("fits"):
            text += (
                f" {d['any_failure']} of {d['fits']} simulated fits failed a sampler "
                f"diagnostic (R-hat, ESS or divergences)"
            )
            if d.get("errors"):
                text += f" and {d['errors']} simulations failed to run"
            text += "."
        return text

    def markdown(self) -> str:
        """A short report section (Markdown)."""
        lines = [
            "## Planning: assurance of the replication",
            "",
            self.summary(),
            "",
            f"- Design: treated/control per age band {self.design.size_label()}; "
            f"{len(self.design.crime_types)} crime type(s) x {len(self.design.outcomes)} "
            f"outcome(s); values from {self.design.source}.",
            f"- Decision: {self.decision.describe()}; frequentist comparison: NB GLM "
            f"p < {ALPHA:g} with an estimated reduction.",
            f"- True effect: {self.effect_label}.",
            f"- {self.n_sims} simulations (seed {self.seed}), each analysed with "
            f"{self.settings.describe()}; {self.where}, {self.seconds:.0f} s, "
            f"{self.compilations} model compilation(s).",
            f"- Coverage of the 95% intervals of the true rate ratio: {self.coverage:.0%}.",
            f"- Diagnostics: {json.dumps(self.diagnostics())}.",
            "",
            _markdown_table(self.table()),
        ]
        return "\n".join(lines) + "\n"


def _markdown_table(df: pd.DataFrame) -> str:
    if df.empty:
        return ""
    cols = list(df.columns)
    out = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for _, r in df.iterrows():
        cells = [f"{v:.3f}" if isinstance(v, float) else str(v) for v in r]
        out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out)


# -- the studies -----------------------------------------------------------------------------------
def assurance(
    design: PlanDesign,
    effect=1.0,
    model: str = DEFAULT_MODEL,
    decision=None,
    n_sims: int = 200,
    seed: int | None = None,
    client=None,
    *,
    draws: int = PLAN_DRAWS,
    tune: int = PLAN_TUNE,
    chains: int = PLAN_CHAINS,
    target_accept: float = DEFAULT_TARGET_ACCEPT,
    sampler: str = "auto",
    priors: dict | None = None,
    false_positive: bool | int = False,
    frequentist: bool = True,
    workers: int | None = None,
    batch_size: int | None = None,
) -> Assurance:
    """Probability that a replication of ``design`` succeeds, by simulation.

    Parameters
    ----------
    design : PlanDesign, Fit or Trial
        A Fit or Trial is turned into a design with :func:`design_from`.
    effect : float, mapping, EffectDistribution or Fit
        The true rate ratio: one number for every cell, a mapping (crime type, (outcome,
        crime type) or (outcome, crime type, age band) -> RR; cells not named have no
        effect), or a distribution (:func:`effect_from`; a Fit means
        ``effect_from(fit)``), over which the assurance averages. ``1`` gives the
        false-positive rate.
    model : str
        The model that will analyse the replication.
    decision : Decision, str or mapping, optional
        Default: P(reduction) > 0.95 for overall offending. A string names the headline
        estimand (``"knife"``, ``"knife/11-17"``, ``"victimisation:overall"``).
    n_sims : int
    seed : int, optional
        Study seed; simulation ``i`` uses a seed derived from (seed, i).
    client : dask.distributed.Client, optional
        Run on this cluster; default local processes (``workers``).
    draws, tune, chains, target_accept, sampler, priors
        Settings of every simulated fit (small by default; see ``docs/planning.md``).
    false_positive : bool or int
        Also run the study with no effect (``n_sims`` simulations, or this many), for
        the false-positive rate (:attr:`Assurance.null`).
    frequentist : bool
        Also apply the NB GLM rule (p < 0.05 and an estimated reduction).
    """
    from fd_bayes.results.fit import Fit

    if isinstance(design, Fit | Trial):
        design = design_from(design)
    if isinstance(effect, Fit):
        effect = effect_from(effect)
    _check_effect(effect, design)
    decision = Decision.parse(decision, design)
    settings = FitSettings(model, draws, tune, chains, target_accept, sampler, 1, priors)
    from fd_bayes.modelling.spec import load_spec

    load_spec(model)  # a bad name fails here, not in every worker
    seed = study_seed(seed)
    job = AssuranceJob(design, effect, decision, settings, frequentist)
    run = run_study(job, n_sims, seed, client=client, workers=workers, batch_size=batch_size)
    result = Assurance(
        sims=_records_frame(run.records),
        design=design,
        decision=decision,
        settings=settings,
        effect_label=_effect_label(effect),
        seed=seed,
        n_sims=n_sims,
        where=run.where,
        seconds=run.seconds,
        compilations=run.compilations,
        compilations_per_process=run.compilations_per_process(),
    )
    if false_positive:
        n_null = n_sims if false_positive is True else int(false_positive)
        # a different stream from the effect study (seed + 1 would collide with another
        # study's seed: derive it)
        null_seed = int_seed(np.random.SeedSequence(seed, spawn_key=(2**31,)))
        result.null = assurance(
            design,
            1.0,
            model,
            decision,
            n_null,
            null_seed,
            client,
            draws=draws,
            tune=tune,
            chains=chains,
            target_accept=target_accept,
            sampler=sampler,
            priors=priors,
            frequentist=frequentist,
            workers=workers,
            batch_size=batch_size,
        )
        result.null.effect_label = "no effect (RR 1)"
    return result


def _records_frame(records: list[dict]) -> pd.DataFrame:
    df = pd.DataFrame.from_records(records)
    if "success" in df:
        df["success"] = df["success"].fillna(False).astype(bool)
    return df


@dataclass
class SampleSize:
    """The result of :func:`sample_size`: assurance per size and the smallest that reaches
    the target."""

    results: list[Assurance]
    target: float

    def table(self) -> pd.DataFrame:
        rows = []
        for res in self.results:
            fq = res._rate("freq_success")
            rows.append(
                {
                    "treated": res.design.size_label(),
                    "n_treated": res.design.n_treated,
                    "n_control": res.design.n_control,
                    **{f"treated_{b}": n for b, n in res.design.treated.items()},
                    "assurance": res.probability,
                    "mc_error": res.mc_error,
                    "frequentist": fq[0],
                    "frequentist_mc_error": fq[1],
                    "false_positive_rate": res.false_positive_rate,
                    "coverage_95": res.coverage,
                    "n_sims": res._rate("success")[2],
                    "fits_failing_diagnostics": res.diagnostics().get("any_failure", 0),
                    "errors": res.diagnostics().get("errors", 0),
                }
            )
        return pd.DataFrame(rows)

    @property
    def smallest(self) -> Assurance | None:
        """The smallest size whose assurance reaches the target (None if none does)."""
        for res in sorted(self.results, key=lambda r: r.design.n_treated):
            if res.probability >= self.target:
                return res
        return None

    def summary(self) -> str:
        best = self.smallest
        sizes = ", ".join(str(r.design.n_treated) for r in self.results)
        if best is None:
            return (
                f"None of the sizes tried ({sizes} treated) reaches an assurance of "
                f"{self.target:.0%}; the largest gives {self.results[-1].probability:.0%}."
            )
        return (
            f"The smallest size tried ({sizes} treated) that reaches an assurance of "
            f"{self.target:.0%} is {best.design.n_treated} treated ({best.design.size_label()}): "
            + best.summary()
        )

    def plot(self, path=None):
        """Assurance (and the NB GLM rule) against the number treated, with +-2 MC SE."""
        from fd_bayes.plots import save_figure, subplots

        t = self.table().sort_values("n_treated")
        fig, ax = subplots(figsize=(6, 4))
        x = t["n_treated"].to_numpy()

        def bars(p, se):  # +-2 SE, clipped to [0, 1]
            p, se = p.to_numpy(float), se.to_numpy(float)
            return np.vstack([p - np.clip(p - 2 * se, 0, 1), np.clip(p + 2 * se, 0, 1) - p])

        ax.errorbar(
            x,
            t["assurance"],
            yerr=bars(t["assurance"], t["mc_error"]),
            marker="o",
            capsize=3,
            label="Bayes: " + self.results[0].decision.describe(),
        )
        if t["frequentist"].notna().any():
            ax.errorbar(
                x,
                t["frequentist"],
                yerr=bars(t["frequentist"], t["frequentist_mc_error"]),
                marker="s",
                capsize=3,
                linestyle="--",
                label=f"NB GLM p < {ALPHA:g}",
            )
        if t["false_positive_rate"].notna().any():
            ax.plot(
                x,
                t["false_positive_rate"],
                marker="x",
                linestyle=":",
                label="false positives (no effect)",
            )
        ax.axhline(self.target, color="grey", linewidth=0.8)
        ax.set_ylim(0, 1)
        ax.set_xlabel("young people treated (all age bands)")
        ax.set_ylabel("probability of success")
        ax.set_title("Assurance by size (bars: ±2 Monte Carlo SE)", fontsize=10)
        ax.legend(fontsize=7, loc="lower right")
        if path is not None:
            save_figure(fig, path)
        return fig

    def markdown(self) -> str:
        lines = ["## Planning: size of the replication", "", self.summary(), ""]
        lines.append(_markdown_table(self.table()))
        return "\n".join(lines) + "\n"


def sample_size(
    design: PlanDesign,
    effect=1.0,
    target: float = 0.8,
    sizes: Sequence[int | Mapping[str, int]] | None = None,
    **kwargs,
) -> SampleSize:
    """Assurance for several numbers treated; the smallest that reaches ``target``.

    ``sizes`` are totals treated (split over age bands in the design's proportions) or
    mappings age band -> number; the control arm keeps the design's sizes. Every size
    uses the same study seed (common random numbers), so the curve is smoother than its
    Monte Carlo errors suggest. ``kwargs`` go to :func:`assurance` (``n_sims``,
    ``seed``, ``client``, ``false_positive``, sampling settings, ...).
    """
    from fd_bayes.results.fit import Fit

    if isinstance(design, Fit | Trial):
        design = design_from(design)
    if not 0 < target < 1:
        raise SettingsError(f"target must be in (0, 1), got {target}")
    if sizes is None:
        n = design.n_treated
        sizes = sorted({max(len(design.age_bands), round(n * f)) for f in (0.5, 1, 1.5, 2, 3)})
    kwargs["seed"] = study_seed(kwargs.get("seed"))
    results = [assurance(design.with_sizes(s), effect, **kwargs) for s in sizes]
    return SampleSize(results, target)


def parse_sizes(values: Sequence[str]) -> dict[str, int]:
    """``["11-17=40", "18-25=50"]`` -> ``{"11-17": 40, "18-25": 50}`` (the CLI's form)."""
    out = {}
    for v in values:
        m = re.fullmatch(r"\s*([^=]+?)\s*=\s*(\d+)\s*", v)
        if not m:
            raise SettingsError(f"expected BAND=NUMBER, got '{v}'")
        out[m.group(1)] = int(m.group(2))
    return out


def write_plan(result: Assurance | SampleSize, out: str | Path) -> list[Path]:
    """Write ``assurance.csv``, ``simulations.csv``, ``plan.md`` and (for a size search)
    ``assurance_curve.png``/``.svg`` to the folder ``out``. No person data."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    if isinstance(result, SampleSize):
        table = result.table()
        sims = pd.concat(
            [r.sims.assign(n_treated=r.design.n_treated) for r in result.results], ignore_index=True
        )
        curve = [out / "assurance_curve.png", out / "assurance_curve.svg"]
        result.plot(curve)
        paths += curve
        text = result.markdown()
        best = result.smallest or result.results[-1]
        text += "\n" + best.markdown().replace("## Planning", "### Detail")
        text += "\n![Assurance by size](assurance_curve.png)\n"
    else:
        table = result.table()
        sims = result.sims
        text = result.markdown()
    table.to_csv(out / "assurance.csv", index=False)
    sims.drop(columns=["warnings"], errors="ignore").to_csv(out / "simulations.csv", index=False)
    (out / "plan.md").write_text(text, encoding="utf-8")
    return [out / "assurance.csv", out / "simulations.csv", out / "plan.md", *paths]


__all__ = [
    "Assurance",
    "AssuranceJob",
    "Decision",
    "EffectDistribution",
    "Estimand",
    "FitSettings",
    "PlanDesign",
    "SampleSize",
    "SimulatedTruth",
    "assurance",
    "design_from",
    "effect_from",
    "estimand_draws",
    "parse_sizes",
    "sample_size",
    "simulate",
    "write_plan",
]
