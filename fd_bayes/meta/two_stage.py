"""Two-stage meta-analysis of fitted trials: a fit's g-computed log rate ratio as
``(yi, sei)`` (:func:`from_fit`), pooled with published estimates in the normal-normal
model (:func:`bayes_combined`). These consume fits, so they sit above the results layer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import xarray as xr

from fd_bayes.constants import DEFAULT_OUTCOME
from fd_bayes.data import Trial
from fd_bayes.errors import DataError, SettingsError
from fd_bayes.inference import SamplerSettings
from fd_bayes.meta.bayesian import BayesMetaResult, bayes
from fd_bayes.meta.inputs import study_labels
from fd_bayes.modelling.draws import flat_draws
from fd_bayes.results import Fit
from fd_bayes.results import fit as fit_trial


def from_fit(
    fit: Fit,
    level: str = "overall",
    outcome: str = DEFAULT_OUTCOME,
    crime_type: str = "all",
) -> tuple[float, float]:
    """A fitted trial's log rate ratio as (yi, sei) for a meta-analysis.

    The posterior mean and SD of the g-computed log rate ratio (sum of expected counts
    under treatment over sum under control, over the treated cohort; as the effects
    table), for the ``overall`` row of an outcome or one ``crime_type``.

    Parameters
    ----------
    fit : fd_bayes.Fit
        A fitted (or loaded) fit; its :meth:`~fd_bayes.Fit.effect_draws` gives the
        draws.
    level : {"overall", "crime_type"}
    outcome : str
    crime_type : str
        Required for ``level="crime_type"``; ``"all"`` for ``overall``.

    Returns
    -------
    (yi, sei) : floats
    """
    if level not in ("overall", "crime_type"):
        raise SettingsError(f"level must be 'overall' or 'crime_type', got '{level}'")
    if level == "overall" and crime_type != "all":
        raise SettingsError("level='overall' collapses crime types: leave crime_type='all'")
    if level == "crime_type" and crime_type == "all":
        raise SettingsError("level='crime_type' needs a crime_type, e.g. crime_type='knife'")
    try:
        ratio = fit.effect_draws(outcome, level, crime_type)
    except DataError as err:
        table = fit.effects()
        have = table.loc[table["level"] == level, ["outcome", "crime_type"]]
        choices = ", ".join(f"{o}/{c}" for o, c in have.itertuples(index=False))
        raise DataError(
            f"the fit has no {level} estimate for outcome '{outcome}', crime type "
            f"'{crime_type}'.\nFix: choose one of (outcome/crime type): {choices}.",
            column="crime_type" if level == "crime_type" else "outcome",
        ) from err
    log_rr = np.log(flat_draws(xr.DataArray(ratio, dims=("chain", "draw"))))
    return float(log_rr.mean()), float(log_rr.std(ddof=1))


# -- individual and aggregate data together -------------------------------------------------
def bayes_combined(
    ipd: Any,
    yi: Any = (),
    sei: Any = (),
    labels: Sequence[str] | None = None,
    *,
    ipd_labels: Sequence[str] | None = None,
    level: str = "overall",
    outcome: str = DEFAULT_OUTCOME,
    crime_type: str = "all",
    model: str = "negbin_hier",
    fit_kwargs: Mapping[str, Any] | None = None,
    settings: SamplerSettings | None = None,
    **bayes_kwargs: Any,
) -> BayesMetaResult:
    """Pool trials with individual data and published (aggregate) trials: two-stage.

    Stage 1: each trial with individual data is fitted by fd_bayes (or an existing fit is
    used), and the posterior of its g-computed log rate ratio is summarised as normal,
    ``(yi, sei) = (mean, SD)`` (:func:`from_fit`). Stage 2: these and the published
    ``yi``/``sei`` go into the normal-normal model of :func:`bayes`.

    This is the *two-stage* approach. It is honest when each trial's log-RR posterior is
    close to normal (check the density plot of its fit), and it is what most IPD + AD
    meta-analyses do. What it loses compared with a one-stage model: (1) the normal
    summary of a small trial's posterior (skewed when events are few); (2) the IPD fit's
    own prior on the effect is counted once more inside stage 2 (with the weakly
    informative defaults this pulls the IPD estimate slightly towards no effect);
    (3) the crime-type structure is collapsed to one number per trial. The one-stage
    alternative keeps all three: fit ``negbin_pooled`` to the individual data
    (:meth:`fd_bayes.Trial.concat` for several trials) with the published estimates
    inside the model, ``fd_bayes.fit(trial, "negbin_pooled",
    published=fd_bayes.Published(labels, yi, sei))``.

    Parameters
    ----------
    ipd : Fit, Trial, or a list of them
        Trials with individual data: fitted :class:`~fd_bayes.Fit` objects, or
        single-trial :class:`~fd_bayes.Trial` objects that are fitted here with ``model``
        and ``fit_kwargs``.
    yi, sei : array-like
        Published log rate ratios and their standard errors (may be empty).
    labels : sequence of str, optional
        Labels of the published studies.
    ipd_labels : sequence of str, optional
        Labels of the IPD trials (default: the trial names, ``fit.info["trial_name"]``).
    level, outcome, crime_type
        Which estimate of the IPD fits (as :func:`from_fit`): the ``overall`` log rate
        ratio of an outcome or one crime type's. The published estimates must be on the
        same scale and for the same outcome.
    model : str
        Model for IPD given as a Trial.
    fit_kwargs : mapping, optional
        Passed to :func:`fd_bayes.fit` for IPD given as a Trial (draws, seed, ...).
    settings : fd_bayes.inference.SamplerSettings, optional
        How to sample stage 2 (the normal-normal model), as ``settings`` of :func:`bayes`
        (instead of its draws, tune, ... keywords). Stage-1 fits of trials take theirs
        from ``fit_kwargs``.
    **bayes_kwargs
        Passed to :func:`bayes` (priors, draws, seed, ...).

    Returns
    -------
    BayesMetaResult
        The IPD trials come first in ``labels``; ``prior["method"]`` says two-stage.
    """
    items = list(ipd) if isinstance(ipd, list | tuple) else [ipd]
    if not items:
        raise SettingsError("bayes_combined needs at least one fit or trial with individual data")
    fits = []
    for item in items:
        if isinstance(item, Trial):
            if len(item.trials) > 1:
                raise SettingsError(
                    "bayes_combined: a Trial holding several trials is pooled one-stage by "
                    "fitting negbin_pooled; pass single trials here"
                )
            item = fit_trial(item, model, **dict(fit_kwargs or {}))
        if not isinstance(item, Fit):
            raise SettingsError(
                f"bayes_combined: expected a Fit or a Trial, got {type(item).__name__}"
            )
        fits.append(item)
    pairs = [from_fit(f, level=level, outcome=outcome, crime_type=crime_type) for f in fits]
    names = (
        list(ipd_labels)
        if ipd_labels is not None
        else [str(f.info.get("trial_name", f"IPD trial {i + 1}")) for i, f in enumerate(fits)]
    )
    if len(names) != len(fits):
        raise SettingsError("ipd_labels needs one label per IPD trial")
    y_ad = np.atleast_1d(np.asarray(yi, dtype=float))
    s_ad = np.atleast_1d(np.asarray(sei, dtype=float))
    ad_labels = study_labels(labels, y_ad.size) if y_ad.size else []
    y = np.concatenate([[p[0] for p in pairs], y_ad])
    s = np.concatenate([[p[1] for p in pairs], s_ad])
    all_labels = [f"{n} (IPD)" for n in names] + list(ad_labels)
    if len(set(all_labels)) != len(all_labels):
        raise SettingsError(f"study labels must be distinct, got {all_labels}")
    if settings is not None:
        bayes_kwargs["settings"] = settings
    result = bayes(y, s, labels=all_labels, **bayes_kwargs)
    result.prior["method"] = (
        f"two-stage: {len(fits)} IPD trial(s) summarised as normal (posterior mean and SD of "
        f"the g-computed log rate ratio, level {level}), pooled with {y_ad.size} published "
        "estimate(s) in the normal-normal model"
    )
    return result


__all__ = ["bayes_combined", "from_fit"]
