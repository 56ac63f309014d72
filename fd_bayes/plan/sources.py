"""A :class:`~fd_bayes.plan.design.PlanDesign` estimated from a fit (posterior means) or
from a trial (moment estimates from the control arm): :func:`design_from`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import replace

import numpy as np
import pandas as pd

from fd_bayes.constants import DAYS_PER_YEAR
from fd_bayes.data import Trial
from fd_bayes.errors import SettingsError
from fd_bayes.modelling import SEP, Design
from fd_bayes.plan.design import PlanDesign
from fd_bayes.results import Fit


def design_from(
    source: Fit | Trial,
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


def _design_from_fit(fit: Fit) -> PlanDesign:
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


__all__ = ["design_from"]
