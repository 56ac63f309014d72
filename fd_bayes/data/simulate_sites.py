"""Simulated multi-site trials with known site effects, for pooled models (issue 7).

:func:`simulate_sites` draws several trials from the model that ``negbin_pooled``
assumes: each site is a :func:`~fd_bayes.data.simulate.simulate_trial` with its own control
rates, and its log rate ratios shifted by a site effect ``eta[t] ~ Normal(0, tau)``
shared by every crime type. It returns one multi-trial :class:`~fd_bayes.Trial` (built
with :meth:`~fd_bayes.Trial.concat`) and the truth.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from fd_bayes.data.simulate import simulate_trial
from fd_bayes.data.trial import Trial


@dataclass(frozen=True)
class SitesTruth:
    """The truth a multi-site simulation was drawn with.

    ``sites`` has one row per site: ``trial``, ``eta`` (the site's log rate-ratio shift),
    ``rate_multiplier`` (of its control rates), ``n_treated``, ``n_control``. ``cells`` has
    the true rate ratio per site x outcome x crime type x age band; ``mean_rr`` the
    rate ratio per crime type at ``eta = 0`` (the pooled mean, what ``effect_overall``
    plus the crime-type terms estimate) and ``tau`` the between-site SD of the log rate
    ratio.
    """

    sites: pd.DataFrame
    cells: pd.DataFrame
    mean_rr: dict[str, float]
    tau: float
    person_sd: float
    dispersion: float
    baseline_slope: float
    person_frailty: str = "lognormal"


def simulate_sites(
    n_sites: int = 6,
    n_treated: int | Sequence[int] = 30,
    n_control: int | Sequence[int] = 120,
    *,
    tau: float = 0.3,
    rate_ratio: float | Mapping[str, float] = 0.6,
    crime_types: Mapping[str, float] | None = None,
    site_effects: Sequence[float] | None = None,
    rate_spread: float = 0.3,
    person_sd: float = 0.6,
    dispersion: float = 2.0,
    baseline_slope: float = 0.3,
    person_frailty: str = "lognormal",
    names: Sequence[str] | None = None,
    seed: int | None = None,
) -> tuple[Trial, SitesTruth]:
    """Simulate ``n_sites`` trials with known site effects and between-site SD.

    Parameters
    ----------
    n_sites : int
        Number of sites (trials).
    n_treated, n_control : int or sequence of int
        People per arm, the same for every site or one number per site.
    tau : float
        Between-site SD of the log rate ratio; site effects are drawn from
        Normal(0, tau) unless ``site_effects`` is given.
    rate_ratio : float or mapping crime type -> float
        Mean rate ratio (at site effect 0), for every crime type or per crime type.
    crime_types : mapping crime type -> control rate per person-year
        Default ``{"knife": 0.8, "violence": 1.2}``.
    site_effects : sequence of float, optional
        The sites' log rate-ratio shifts, instead of drawing them.
    rate_spread : float
        SD of the sites' log control-rate multipliers (sites differ in crime levels).
    person_sd, dispersion, baseline_slope : float
        As :func:`~fd_bayes.data.simulate.simulate_trial`.
    person_frailty : {"lognormal", "gamma"}
        As :func:`~fd_bayes.data.simulate.simulate_trial`: ``"gamma"`` with
        ``dispersion=math.inf`` draws from the model of ``negmult_pooled``.
    names : sequence of str, optional
        Site labels (default ``site 1``, ...).
    seed : int, optional
        Random seed; the same seed gives the same data.

    Returns
    -------
    (Trial, SitesTruth)

    Examples
    --------
    >>> trial, truth = simulate_sites(3, 10, 20, seed=1)
    >>> trial.trials, round(truth.tau, 2)
    (['site 1', 'site 2', 'site 3'], 0.3)
    """
    if n_sites < 1:
        raise ValueError("n_sites must be >= 1")
    rng = np.random.default_rng(seed)
    crime_types = dict(crime_types or {"knife": 0.8, "violence": 1.2})
    if isinstance(rate_ratio, Mapping):
        mean_rr = {c: float(rate_ratio.get(c, 1.0)) for c in crime_types}
    else:
        mean_rr = {c: float(rate_ratio) for c in crime_types}
    names = list(names) if names is not None else [f"site {i + 1}" for i in range(n_sites)]
    treated = [n_treated] * n_sites if isinstance(n_treated, int) else list(n_treated)
    control = [n_control] * n_sites if isinstance(n_control, int) else list(n_control)
    if not len(names) == len(treated) == len(control) == n_sites:
        raise ValueError("names, n_treated and n_control need one entry per site")
    if site_effects is None:
        eta = rng.normal(0.0, tau, n_sites)
    else:
        eta = np.asarray(site_effects, dtype=float)
        if eta.shape != (n_sites,):
            raise ValueError("site_effects needs one value per site")
    multiplier = np.exp(rng.normal(0.0, rate_spread, n_sites))
    seeds = rng.integers(0, 2**31 - 1, n_sites)
    trials, cells, sites = [], [], []
    for i, name in enumerate(names):
        rrs = {c: mean_rr[c] * float(np.exp(eta[i])) for c in crime_types}
        trial, truth = simulate_trial(
            treated[i],
            control[i],
            crime_types={c: r * multiplier[i] for c, r in crime_types.items()},
            rate_ratios=rrs,
            person_sd=person_sd,
            dispersion=dispersion,
            baseline_slope=baseline_slope,
            person_frailty=person_frailty,
            seed=int(seeds[i]),
            name=name,
        )
        trials.append(trial)
        cells.append(truth.cells.assign(trial=name))
        sites.append(
            {
                "trial": name,
                "eta": float(eta[i]),
                "rate_multiplier": float(multiplier[i]),
                "n_treated": treated[i],
                "n_control": control[i],
            }
        )
    pooled = Trial.concat(trials, names=names, name=f"{n_sites} simulated sites")
    truth = SitesTruth(
        sites=pd.DataFrame(sites),
        cells=pd.concat(cells, ignore_index=True),
        mean_rr=mean_rr,
        tau=float(tau),
        person_sd=person_sd,
        dispersion=dispersion,
        baseline_slope=baseline_slope,
        person_frailty=person_frailty,
    )
    return pooled, truth


__all__ = ["SitesTruth", "simulate_sites"]
