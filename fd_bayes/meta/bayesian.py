"""Bayesian random-effects meta-analysis: the normal-normal hierarchical model in PyMC.

Non-centred, with a half-normal, half-Cauchy or Turner et al. (2012) log-normal prior on
the heterogeneity; sampled by :func:`fd_bayes.inference.run_nuts` with one
:class:`~fd_bayes.inference.SamplerSettings`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import stats

from fd_bayes.constants import HDI_PROB, META_TARGET_ACCEPT
from fd_bayes.errors import SettingsError
from fd_bayes.inference import SamplerSettings, run_nuts
from fd_bayes.inference import idata as infd
from fd_bayes.meta.inputs import check_effects, study_labels
from fd_bayes.modelling.draws import flat_draws
from fd_bayes.plots import pooled_forest_plot
from fd_bayes.results import hdi

if TYPE_CHECKING:
    from matplotlib.figure import Figure

TAU_PRIORS = ("halfnormal", "halfcauchy", "turner")

#: Turner et al. (2012), Int J Epidemiol 41:818-827: predictive distribution of the
#: between-study variance of log odds ratios for a meta-analysis in a general setting
#: (any outcome, any comparison): log(tau^2) ~ Normal(mean, sd). Setting-specific
#: distributions are in Turner et al. (2015), Stat Med 34:984-998. Check these two values
#: against the paper's table before relying on them.
TURNER_LOG_TAU2_MEAN: float = -2.56
TURNER_LOG_TAU2_SD: float = 1.74


@dataclass
class BayesMetaResult:
    """Posterior of the normal-normal hierarchical model.

    Attributes
    ----------
    idata : arviz.InferenceData
        Posterior (``mu``, ``tau``, ``z``, ``theta``, ``theta_new``) and sample stats.
    labels : list of str
        Study labels (the index of the per-study rows of :meth:`summary`).
    prior : dict
        The priors used, in words and numbers.
    """

    idata: Any
    labels: list[str]
    yi: np.ndarray
    sei: np.ndarray
    prior: dict
    sampler: str

    def _draws(self, name: str) -> np.ndarray:
        return np.asarray(flat_draws(self.idata.posterior[name]), dtype=float)

    @property
    def mu(self) -> np.ndarray:
        """Posterior draws of the mean effect (chains stacked)."""
        return self._draws("mu")

    @property
    def tau(self) -> np.ndarray:
        """Posterior draws of the between-study standard deviation."""
        return self._draws("tau")

    @property
    def theta(self) -> np.ndarray:
        """Posterior draws of the study-specific (shrunken) effects, shape (draws, k)."""
        return self._draws("theta")

    def predictive(self) -> np.ndarray:
        """Draws of the true effect in a new study: ``mu + tau * z_new``, z_new ~ N(0, 1)."""
        return self._draws("theta_new")

    def p_mu_below(self, threshold: float = 0.0) -> float:
        """P(mu < threshold); with log rate ratios, P(mu < 0) is P(the mean RR < 1)."""
        return float((self.mu < threshold).mean())

    @property
    def p_mu_negative(self) -> float:
        """P(mu < 0)."""
        return self.p_mu_below(0.0)

    def summary(self, prob: float = HDI_PROB) -> pd.DataFrame:
        """Posterior summaries indexed by ``mu``, ``tau``, the study labels and ``new_study``.

        Columns ``mean``, ``sd``, ``lower``, ``upper`` (highest-density interval at
        ``prob``) and ``p_below_0`` (share of draws below zero; NaN for ``tau``).
        """
        draws = np.column_stack([self.mu, self.tau, self.theta, self.predictive()])
        lower, upper = hdi(draws, prob)
        below = (draws < 0).mean(axis=0)
        below[1] = np.nan
        return pd.DataFrame(
            {
                "mean": draws.mean(axis=0),
                "sd": draws.std(axis=0, ddof=1),
                "lower": lower,
                "upper": upper,
                "p_below_0": below,
            },
            index=pd.Index(["mu", "tau", *self.labels, "new_study"], name="parameter"),
        )

    def diagnostics(self) -> dict:
        """``max_rhat``, ``min_ess_bulk``, ``min_ess_tail``, ``divergences`` (and sizes)."""
        return infd.diagnostics(self.idata)

    def diagnostic_problems(self) -> list[str]:
        """Plain-language statements of every failed diagnostic (empty when all pass)."""
        return infd.diagnostic_problems(self.diagnostics())

    def plot_forest(self, path: str | Path | None = None, xlabel: str = "effect") -> Figure:
        """Observed estimates (Wald 95% CIs) with the posterior mean effect and its HDI."""
        z = stats.norm.ppf(0.975)
        frame = pd.DataFrame(
            {
                "yi": self.yi,
                "ci_lower": self.yi - z * self.sei,
                "ci_upper": self.yi + z * self.sei,
                "weight": 100.0 / self.sei**2 / np.sum(1.0 / self.sei**2),
            },
            index=self.labels,
        )
        s = self.summary()
        pooled = (s.loc["mu", "mean"], s.loc["mu", "lower"], s.loc["mu", "upper"])
        extra = [(s.loc["new_study", "lower"], s.loc["new_study", "upper"])]
        return pooled_forest_plot(frame, pooled, extra, "Bayesian random-effects", xlabel, path)


def _tau_prior(prior_tau: str, scale: float) -> dict:
    if prior_tau == "halfnormal":
        return {"tau": f"HalfNormal(sigma={scale:g})", "scale": scale}
    if prior_tau == "halfcauchy":
        return {"tau": f"HalfCauchy(beta={scale:g})", "scale": scale}
    if prior_tau == "turner":
        return {
            "tau": (
                f"log(tau^2) ~ Normal({TURNER_LOG_TAU2_MEAN}, {TURNER_LOG_TAU2_SD}^2) "
                "(Turner et al. 2012, general setting)"
            ),
            "log_tau2_mean": TURNER_LOG_TAU2_MEAN,
            "log_tau2_sd": TURNER_LOG_TAU2_SD,
        }
    raise SettingsError(f"unknown prior_tau '{prior_tau}'; choose one of {', '.join(TAU_PRIORS)}")


def build_bayes_model(
    yi: np.ndarray,
    sei: np.ndarray,
    prior_mu_sd: float = 1.0,
    prior_tau: str = "halfnormal",
    prior_tau_scale: float = 0.5,
    labels: Sequence[str] | None = None,
):
    """The PyMC model of :func:`bayes` (non-centred), without sampling it."""
    import pymc as pm

    y, s = check_effects(yi, sei, "sei")
    labs = study_labels(labels, y.size)
    _tau_prior(prior_tau, prior_tau_scale)
    if not prior_mu_sd > 0 or not prior_tau_scale > 0:
        raise SettingsError("prior_mu_sd and prior_tau_scale must be positive")
    with pm.Model(coords={"study": labs}) as model:
        mu = pm.Normal("mu", 0.0, prior_mu_sd)
        if prior_tau == "halfnormal":
            tau = pm.HalfNormal("tau", sigma=prior_tau_scale)
        elif prior_tau == "halfcauchy":
            tau = pm.HalfCauchy("tau", beta=prior_tau_scale)
        else:
            # tau^2 log-normal <=> log tau ~ Normal(mean / 2, sd / 2).
            tau = pm.LogNormal("tau", mu=TURNER_LOG_TAU2_MEAN / 2, sigma=TURNER_LOG_TAU2_SD / 2)
        z = pm.Normal("z", 0.0, 1.0, dims="study")
        theta = pm.Deterministic("theta", mu + tau * z, dims="study")
        pm.Normal("y", mu=theta, sigma=s, observed=y, dims="study")
        # The effect in a new study, sampled jointly (independent of the data given mu, tau).
        z_new = pm.Normal("z_new", 0.0, 1.0)
        pm.Deterministic("theta_new", mu + tau * z_new)
    return model


#: The sampler keywords of :func:`bayes` and their defaults.
BAYES_DEFAULTS: dict[str, Any] = {
    "draws": 2000,
    "tune": 1000,
    "chains": 4,
    "progress": False,
    "target_accept": META_TARGET_ACCEPT,
    "sampler": "auto",
}


def bayes_settings(settings: SamplerSettings | None = None, **keywords: Any) -> SamplerSettings:
    """The one :class:`~fd_bayes.inference.SamplerSettings` of :func:`bayes`.

    ``settings`` when given, else one built from the sampler keywords (``draws``,
    ``tune``, ``chains``, ``progress``, ``target_accept``, ``sampler``) over
    :data:`BAYES_DEFAULTS`. Giving ``settings`` together with a keyword that differs from
    its default in :func:`bayes` is a :class:`~fd_bayes.errors.SettingsError`, as
    :func:`fd_bayes.inference.resolve_settings` does for the fit's defaults (those of
    :func:`bayes` differ: more draws, no progress bar, a higher target acceptance).

    >>> bayes_settings(draws=500).describe()
    '4 chains x 500 draws after 1000 warm-up, target_accept 0.95, sampler auto'
    """
    unknown = sorted(set(keywords) - set(BAYES_DEFAULTS))
    if unknown:
        raise SettingsError(
            f"unknown sampler setting(s) {unknown}; known: {', '.join(BAYES_DEFAULTS)}"
        )
    if settings is None:
        return SamplerSettings(**{**BAYES_DEFAULTS, **keywords})
    if not isinstance(settings, SamplerSettings):
        raise SettingsError(
            f"settings= takes a fd_bayes.inference.SamplerSettings, got {type(settings).__name__}"
        )
    given = sorted(k for k, v in keywords.items() if v != BAYES_DEFAULTS[k])
    if given:
        raise SettingsError(
            f"give the sampler settings either as settings= or as keywords, not both: "
            f"{', '.join(given)} given besides settings= (use settings.replace({given[0]}=...))"
        )
    return settings


def bayes(
    yi: Any,
    sei: Any,
    prior_mu_sd: float = 1.0,
    prior_tau: str = "halfnormal",
    prior_tau_scale: float = 0.5,
    labels: Sequence[str] | None = None,
    draws: int = 2000,
    tune: int = 1000,
    chains: int = 4,
    seed: int | None = None,
    progress: bool = False,
    target_accept: float = META_TARGET_ACCEPT,
    sampler: str = "auto",
    settings: SamplerSettings | None = None,
) -> BayesMetaResult:
    """Bayesian random-effects meta-analysis: the normal-normal hierarchical model.

    ``yi ~ Normal(theta_i, sei)``, ``theta_i = mu + tau z_i`` with ``z_i ~ Normal(0, 1)``
    (non-centred, so that small or homogeneous data sets sample without divergences),
    ``mu ~ Normal(0, prior_mu_sd)`` and a prior on ``tau``:

    - ``"halfnormal"``: ``tau ~ HalfNormal(prior_tau_scale)``. The defaults (mu sd 1,
      tau scale 0.5) suit log rate ratios: a rate ratio between 0.14 and 7 for the mean
      a priori, and between-study SDs mostly below 1 on the log scale.
    - ``"halfcauchy"``: ``tau ~ HalfCauchy(prior_tau_scale)``.
    - ``"turner"``: the log-normal predictive distribution for a meta-analysis in a
      general setting, ``log(tau^2) ~ Normal(-2.56, 1.74^2)`` (median tau 0.28);
      ``prior_tau_scale`` is ignored. Turner RM, Davey J, Clarke MJ, Thompson SG, Higgins
      JPT. Predicting the extent of heterogeneity in meta-analysis, using empirical data
      from the Cochrane Database of Systematic Reviews. *Int J Epidemiol* 2012;
      41:818-827 (setting-specific versions: Turner et al., *Stat Med* 2015; 34:984-998).
      It was derived for log odds ratios of binary outcomes in the Cochrane Database; for
      log rate ratios of offending it is an approximation.

    Parameters
    ----------
    yi, sei : array-like
        Study estimates and their standard errors (> 0).
    labels : sequence of str, optional
        Study labels (default ``study 1``, ...).
    draws, tune, chains, progress, target_accept, sampler
        How to sample, as :func:`fd_bayes.inference.run_nuts` (``sampler="auto"`` is
        nutpie when installed).
    seed : int, optional
        The sampler's seed (drawn at random when not given).
    settings : fd_bayes.inference.SamplerSettings, optional
        All the sampling settings in one object, instead of the keywords above (giving
        both is a :class:`~fd_bayes.errors.SettingsError`). See :func:`bayes_settings`
        for the meta-analysis defaults.

    Returns
    -------
    BayesMetaResult
        ``.summary()``, ``.diagnostics()``, ``.predictive()`` and ``.p_mu_negative``.
    """
    settings = bayes_settings(
        settings,
        draws=draws,
        tune=tune,
        chains=chains,
        progress=progress,
        target_accept=target_accept,
        sampler=sampler,
    )
    y, s = check_effects(yi, sei, "sei")
    labs = study_labels(labels, y.size)
    prior = {"mu": f"Normal(0, {prior_mu_sd:g})", **_tau_prior(prior_tau, prior_tau_scale)}
    model = build_bayes_model(y, s, prior_mu_sd, prior_tau, prior_tau_scale, labs)
    if seed is None:
        seed = int(np.random.default_rng().integers(2**31 - 1))
    result = run_nuts(
        model,
        sampler=settings.sampler,
        draws=settings.draws,
        tune=settings.tune,
        chains=settings.chains,
        seed=seed,
        target_accept=settings.target_accept,
        progress=settings.progress,
        cores=settings.cores,
        low_rank=settings.mass_matrix == "low_rank",
        label=f"meta-analysis of {y.size} studies",
    )
    return BayesMetaResult(result.idata, labs, y, s, prior, result.sampler)


__all__ = [
    "BAYES_DEFAULTS",
    "TAU_PRIORS",
    "TURNER_LOG_TAU2_MEAN",
    "TURNER_LOG_TAU2_SD",
    "BayesMetaResult",
    "bayes",
    "bayes_settings",
    "build_bayes_model",
]
