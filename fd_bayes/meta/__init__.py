"""Meta-analysis of published (aggregate) estimates: frequentist and Bayesian.

Three parts, array-first:

- :func:`frequentist` — the random-effects (or fixed-effect) model and meta-regression as
  R's metafor ``rma()`` fits them: heterogeneity estimators ``REML`` (Fisher scoring),
  ``DL`` (DerSimonian-Laird), ``PM`` (Paule-Mandel) and ``FE``; Wald-type (``z``) or
  Knapp-Hartung (``knha``) inference. Reference numbers from metafor are frozen in
  ``tests/unit/test_meta.py``.
- :func:`bayes` — the normal-normal hierarchical model in PyMC, non-centred, with a
  half-normal, half-Cauchy or Turner et al. (2012) log-normal prior on the heterogeneity.
- Effect-size helpers: :func:`log_rate_ratio` (arm-level counts and exposure),
  :func:`hedges_g` (means and SDs), :func:`from_fit` (a saved fd_bayes fit).

Effects are on the scale given (log rate ratios for the defaults): negative values favour
the intervention.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import optimize, special, stats

from fd_bayes.constants import DEFAULT_OUTCOME, HDI_PROB, META_TARGET_ACCEPT
from fd_bayes.errors import DataError, SettingsError

if TYPE_CHECKING:
    from matplotlib.figure import Figure

METHODS = ("REML", "DL", "PM", "FE")
TESTS = ("z", "knha")
TAU_PRIORS = ("halfnormal", "halfcauchy", "turner")

#: Turner et al. (2012), Int J Epidemiol 41:818-827: predictive distribution of the
#: between-study variance of log odds ratios for a meta-analysis in a general setting
#: (any outcome, any comparison): log(tau^2) ~ Normal(mean, sd). Setting-specific
#: distributions are in Turner et al. (2015), Stat Med 34:984-998. Check these two values
#: against the paper's table before relying on them.
TURNER_LOG_TAU2_MEAN: float = -2.56
TURNER_LOG_TAU2_SD: float = 1.74

_REML_TOL = 1e-10
_REML_MAXITER = 1000


# -- input checks ---------------------------------------------------------------------------
def _as_vector(x: Any, name: str) -> np.ndarray:
    try:
        arr = np.asarray(x, dtype=float)
    except (TypeError, ValueError) as err:
        raise DataError(
            f"{name} must be numbers.\nFix: pass a list or array of numbers for {name}.",
            column=name,
        ) from err
    arr = np.atleast_1d(arr)
    if arr.ndim != 1:
        raise DataError(f"{name} must be one-dimensional.\nFix: pass one value per study.")
    bad = np.flatnonzero(~np.isfinite(arr))
    if bad.size:
        raise DataError(
            f"{name} has missing or infinite values.\nFix: drop those studies or supply "
            f"their {name}.",
            column=name,
            rows=bad[:5].tolist(),
        )
    return arr


def _check_effects(yi: Any, vi: Any, vname: str = "vi") -> tuple[np.ndarray, np.ndarray]:
    y = _as_vector(yi, "yi")
    v = _as_vector(vi, vname)
    if y.size != v.size:
        raise DataError(
            f"yi has {y.size} values but {vname} has {v.size}.\nFix: give one {vname} per yi.",
            column=vname,
        )
    if y.size == 0:
        raise DataError("no studies given.\nFix: pass at least one estimate.", column="yi")
    bad = np.flatnonzero(v <= 0)
    if bad.size:
        raise DataError(
            f"{vname} must be positive; study {bad[0]} has {vname} = {v[bad[0]]:g}.\n"
            f"Fix: check the sampling {'variances' if vname == 'vi' else 'standard errors'} "
            "(a zero usually means a zero cell: see log_rate_ratio's zero handling).",
            column=vname,
            rows=bad[:5].tolist(),
        )
    return y, v


def _labels(labels: Sequence[str] | None, k: int) -> list[str]:
    if labels is None:
        return [f"study {i + 1}" for i in range(k)]
    out = [str(x) for x in labels]
    if len(out) != k:
        raise DataError(
            f"{len(out)} labels for {k} studies.\nFix: give one label per study.",
            column="labels",
        )
    if len(set(out)) != k:
        raise DataError("study labels must be unique.\nFix: rename the duplicates.")
    if {"mu", "tau", "new_study"} & set(out):
        raise DataError(
            "study labels 'mu', 'tau' and 'new_study' are reserved.\nFix: rename those studies."
        )
    return out


def _design(mods: Any, k: int) -> tuple[np.ndarray, list[str]]:
    if mods is None:
        return np.ones((k, 1)), ["intercept"]
    frame = pd.DataFrame(mods)
    if len(frame) != k:
        raise DataError(
            f"mods has {len(frame)} rows for {k} studies.\nFix: give one moderator value "
            "per study.",
            column="mods",
        )
    names = [str(c) for c in frame.columns]
    if "intercept" in names:
        raise DataError("a moderator may not be called 'intercept'.\nFix: rename it.")
    X = np.column_stack([np.ones(k), _as_matrix(frame)])
    if np.linalg.matrix_rank(X) < X.shape[1]:
        raise DataError(
            "the moderators are collinear (or constant), so their coefficients are not "
            "identified.\nFix: drop redundant moderators.",
            column="mods",
        )
    return X, ["intercept", *names]


def _as_matrix(frame: pd.DataFrame) -> np.ndarray:
    try:
        X = frame.to_numpy(dtype=float)
    except (TypeError, ValueError) as err:
        raise DataError(
            "moderators must be numeric.\nFix: code categorical moderators as 0/1 columns.",
            column="mods",
        ) from err
    bad = np.flatnonzero(~np.isfinite(X).all(axis=1))
    if bad.size:
        raise DataError(
            "mods has missing values.\nFix: drop those studies or fill in the moderator.",
            column="mods",
            rows=bad[:5].tolist(),
        )
    return X


# -- frequentist ----------------------------------------------------------------------------
def _wls(y: np.ndarray, X: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Weighted least squares: coefficients and their (model-based) covariance."""
    xtw = X.T * w
    vb = np.linalg.inv(xtw @ X)
    return vb @ (xtw @ y), vb


def _p_matrix(X: np.ndarray, w: np.ndarray) -> np.ndarray:
    """P = W - W X (X'WX)^-1 X'W, the residual-making matrix of the weighted fit."""
    W = np.diag(w)
    WX = X * w[:, None]
    return W - WX @ np.linalg.solve(X.T @ WX, WX.T)


def _tau2_dl(y: np.ndarray, v: np.ndarray, X: np.ndarray) -> float:
    k, p = X.shape
    P = _p_matrix(X, 1.0 / v)
    q = float(y @ P @ y)
    return max(0.0, (q - (k - p)) / float(np.trace(P)))


def _generalised_q(tau2: float, y: np.ndarray, v: np.ndarray, X: np.ndarray) -> float:
    return float(y @ _p_matrix(X, 1.0 / (v + tau2)) @ y)


def _tau2_pm(y: np.ndarray, v: np.ndarray, X: np.ndarray) -> float:
    """Paule-Mandel: the tau^2 at which the generalised Q equals its df (k - p)."""
    k, p = X.shape
    df = k - p
    if _generalised_q(0.0, y, v, X) <= df:
        return 0.0
    hi = max(1.0, 10.0 * float(np.var(y)))
    while _generalised_q(hi, y, v, X) > df:
        hi *= 10.0
    return float(
        optimize.brentq(lambda t: _generalised_q(t, y, v, X) - df, 0.0, hi, xtol=1e-14, rtol=1e-14)
    )


def _tau2_reml(y: np.ndarray, v: np.ndarray, X: np.ndarray) -> float:
    """REML by Fisher scoring (as metafor), started at the DL estimate, step-halving at 0.

    tau2 <- tau2 + (y'PPy - tr P) / tr(PP), truncated at zero.
    """
    tau2 = _tau2_dl(y, v, X)
    for _ in range(_REML_MAXITER):
        P = _p_matrix(X, 1.0 / (v + tau2))
        Py = P @ y
        step = (float(Py @ Py) - float(np.trace(P))) / float(np.sum(P * P))
        new = tau2 + step
        while new < 0 and step < 0 and tau2 > 0:
            step /= 2.0
            new = tau2 + step
            if abs(step) < _REML_TOL:
                break
        new = max(0.0, new)
        if abs(new - tau2) < _REML_TOL:
            return new
        tau2 = new
    raise DataError(  # pragma: no cover - Fisher scoring converges on sane data
        "REML did not converge.\nFix: try method='PM' or 'DL'.", column="yi"
    )


@dataclass
class MetaResult:
    """A fitted (random- or fixed-effect) meta-analysis or meta-regression.

    Attributes
    ----------
    estimate, se, ci_lower, ci_upper, p_value : float
        The pooled effect (the intercept in a meta-regression) and its inference.
    tau2 : float
        Between-study variance (residual heterogeneity with moderators; 0 for ``FE``).
    i2, h2 : float
        I^2 (percent) and H^2, computed as metafor does (from the typical within-study
        variance for random-effects models; from Q for ``FE``).
    q, q_df, q_pvalue : float
        Cochran's Q test of (residual) heterogeneity, with fixed-effect weights.
    pi_lower, pi_upper : float
        Prediction interval for the true effect in a new study (moderators at zero in
        a meta-regression). Equals the CI for ``FE``.
    coef : DataFrame
        Indexed by ``intercept`` and the moderator names: ``estimate``, ``se``,
        ``ci_lower``, ``ci_upper``, ``p_value``.
    qm, qm_pvalue, qm_df : float
        Omnibus test of the moderators (chi-square with ``z``, F with ``knha``); NaN
        without moderators.
    k, method, test, level : the inputs.
    """

    yi: np.ndarray
    vi: np.ndarray
    labels: list[str]
    method: str
    test: str
    level: float
    k: int
    tau2: float
    coef: pd.DataFrame
    vcov: np.ndarray
    weights: np.ndarray
    q: float
    q_df: int
    q_pvalue: float
    i2: float
    h2: float
    qm: float
    qm_df: int
    qm_pvalue: float
    pi_lower: float
    pi_upper: float
    ddf: float | None = None
    X: np.ndarray = field(repr=False, default_factory=lambda: np.empty((0, 0)))

    @property
    def estimate(self) -> float:
        return float(self.coef["estimate"].iloc[0])

    @property
    def se(self) -> float:
        return float(self.coef["se"].iloc[0])

    @property
    def ci_lower(self) -> float:
        return float(self.coef["ci_lower"].iloc[0])

    @property
    def ci_upper(self) -> float:
        return float(self.coef["ci_upper"].iloc[0])

    @property
    def p_value(self) -> float:
        return float(self.coef["p_value"].iloc[0])

    def summary_frame(self) -> pd.DataFrame:
        """Per-study table: ``yi``, ``vi``, ``sei``, ``ci_lower``, ``ci_upper`` (Wald, at
        ``level``) and ``weight`` (percent of the total model weight), indexed by label."""
        z = stats.norm.ppf(0.5 + self.level / 2)
        sei = np.sqrt(self.vi)
        return pd.DataFrame(
            {
                "yi": self.yi,
                "vi": self.vi,
                "sei": sei,
                "ci_lower": self.yi - z * sei,
                "ci_upper": self.yi + z * sei,
                "weight": 100.0 * self.weights / self.weights.sum(),
            },
            index=pd.Index(self.labels, name="study"),
        )

    def plot_forest(self, path: str | Path | None = None, xlabel: str = "effect") -> Figure:
        """Forest plot: studies (boxes sized by weight) and the pooled diamond.

        Returns the matplotlib Figure; writes it to ``path`` when given.
        """
        frame = self.summary_frame()
        pooled = (self.estimate, self.ci_lower, self.ci_upper)
        if self.X.shape[1] > 1:
            title = f"{self.method} meta-regression: intercept (moderators at 0)"
        else:
            title = f"{self.method} {'fixed-effect' if self.method == 'FE' else 'random-effects'}"
        extra = [] if self.method == "FE" else [(self.pi_lower, self.pi_upper)]
        return _forest(frame, pooled, extra, title, xlabel, path)

    def __repr__(self) -> str:
        return (
            f"MetaResult(method={self.method!r}, test={self.test!r}, k={self.k}, "
            f"estimate={self.estimate:.4f}, se={self.se:.4f}, "
            f"ci=({self.ci_lower:.4f}, {self.ci_upper:.4f}), tau2={self.tau2:.4f}, "
            f"i2={self.i2:.1f}%)"
        )


def frequentist(
    yi: Any,
    vi: Any,
    method: str = "REML",
    test: str = "z",
    mods: Mapping[str, Any] | pd.DataFrame | None = None,
    level: float = HDI_PROB,
    labels: Sequence[str] | None = None,
) -> MetaResult:
    """Random-effects (or fixed-effect) meta-analysis and meta-regression, as metafor's ``rma``.

    Parameters
    ----------
    yi, vi : array-like
        Study estimates (e.g. log rate ratios) and their sampling variances (> 0).
    method : {"REML", "DL", "PM", "FE"}
        Heterogeneity estimator: restricted maximum likelihood (Fisher scoring),
        DerSimonian-Laird, Paule-Mandel, or a fixed-effect (common-effect) model.
    test : {"z", "knha"}
        Wald-type normal inference, or Knapp-Hartung: the coefficients' covariance is
        multiplied by ``s2 = y'Py / (k - p)`` (not truncated at 1, as metafor's
        ``test="knha"``) and t (or F) distributions with ``k - p`` df are used, also for
        the prediction interval.
    mods : dict or DataFrame, optional
        Numeric moderators, one value per study; adds a meta-regression with an intercept.
    level : float
        Confidence level of the intervals (default 0.95).
    labels : sequence of str, optional
        Study labels for ``summary_frame`` and the plot.

    Returns
    -------
    MetaResult

    Raises
    ------
    DataError
        Mismatched lengths, non-positive ``vi``, missing values, fewer than two studies
        for a random-effects model, or no residual degrees of freedom.

    Examples
    --------
    >>> res = frequentist([-0.9, -1.6, -1.4, -1.5], [0.36, 0.19, 0.42, 0.02], method="DL")
    >>> round(res.tau2, 4) >= 0
    True
    """
    if method not in METHODS:
        raise SettingsError(f"unknown method '{method}'; choose one of {', '.join(METHODS)}")
    if test not in TESTS:
        raise SettingsError(f"unknown test '{test}'; choose 'z' or 'knha'")
    if not 0 < level < 1:
        raise SettingsError(f"level must be between 0 and 1, got {level}")
    y, v = _check_effects(yi, vi)
    k = y.size
    X, names = _design(mods, k)
    p = X.shape[1]
    if method != "FE" and k < 2:
        raise DataError(
            f"a random-effects model needs at least 2 studies, got {k}.\nFix: add studies "
            "or use method='FE'.",
            column="yi",
        )
    if k - p < 1 and (method != "FE" or test == "knha" or p > 1):
        raise DataError(
            f"{k} studies leave no residual degrees of freedom for {p} coefficient(s).\n"
            "Fix: add studies or drop moderators.",
            column="mods" if p > 1 else "yi",
        )
    tau2 = {
        "REML": _tau2_reml,
        "DL": _tau2_dl,
        "PM": _tau2_pm,
        "FE": lambda *_: 0.0,
    }[method](y, v, X)

    w = 1.0 / (v + tau2)
    beta, vb = _wls(y, X, w)
    df_res = k - p
    if test == "knha":
        s2 = float(y @ _p_matrix(X, w) @ y) / df_res
        vb = s2 * vb
        crit = stats.t.ppf(0.5 + level / 2, df_res)
    else:
        crit = stats.norm.ppf(0.5 + level / 2)
    se = np.sqrt(np.diag(vb))
    zval = beta / se
    pval = (
        2 * stats.t.sf(np.abs(zval), df_res) if test == "knha" else 2 * stats.norm.sf(np.abs(zval))
    )
    coef = pd.DataFrame(
        {
            "estimate": beta,
            "se": se,
            "ci_lower": beta - crit * se,
            "ci_upper": beta + crit * se,
            "p_value": pval,
        },
        index=pd.Index(names, name="term"),
    )

    # Heterogeneity: Q with fixed-effect weights; I^2 and H^2 as metafor.
    P_fe = _p_matrix(X, 1.0 / v)
    q = float(y @ P_fe @ y)
    q_p = float(stats.chi2.sf(q, df_res)) if df_res > 0 else float("nan")
    if method == "FE":
        i2 = 100.0 * max(0.0, (q - df_res) / q) if df_res > 0 and q > 0 else 0.0
        h2 = q / df_res if df_res > 0 else float("nan")
    else:
        vt = df_res / float(np.trace(P_fe))
        i2 = 100.0 * tau2 / (tau2 + vt)
        h2 = (tau2 + vt) / vt

    # Omnibus test of moderators.
    if p > 1:
        b = beta[1:]
        qm = float(b @ np.linalg.solve(vb[1:, 1:], b))
        m = p - 1
        if test == "knha":
            qm /= m
            qm_p = float(stats.f.sf(qm, m, df_res))
        else:
            qm_p = float(stats.chi2.sf(qm, m))
    else:
        qm, m, qm_p = float("nan"), 0, float("nan")

    half = crit * np.sqrt(se[0] ** 2 + tau2)
    return MetaResult(
        yi=y,
        vi=v,
        labels=_labels(labels, k),
        method=method,
        test=test,
        level=level,
        k=k,
        tau2=float(tau2),
        coef=coef,
        vcov=vb,
        weights=w,
        q=q,
        q_df=df_res,
        q_pvalue=q_p,
        i2=float(i2),
        h2=float(h2),
        qm=qm,
        qm_df=m,
        qm_pvalue=qm_p,
        pi_lower=float(beta[0] - half),
        pi_upper=float(beta[0] + half),
        ddf=float(df_res) if test == "knha" else None,
        X=X,
    )


def _forest(
    frame: pd.DataFrame,
    pooled: tuple[float, float, float],
    extra: list[tuple[float, float]],
    title: str,
    xlabel: str,
    path: str | Path | None,
) -> Figure:
    from matplotlib.figure import Figure  # Agg canvas; no pyplot state

    k = len(frame)
    fig = Figure(figsize=(7.0, 1.6 + 0.35 * (k + 2)))
    ax = fig.add_subplot()
    ys = np.arange(k, 0, -1) + 1.0
    w = frame["weight"].to_numpy() if "weight" in frame else np.full(k, 100.0 / k)
    ax.hlines(ys, frame["ci_lower"], frame["ci_upper"], color="0.3", lw=1)
    ax.scatter(frame["yi"], ys, s=20 + 4 * w, marker="s", color="0.2", zorder=3)
    est, lo, hi = pooled
    ax.fill([lo, est, hi, est], [0.5, 0.8, 0.5, 0.2], color="tab:blue", zorder=3)
    for plo, phi in extra:
        ax.hlines(0.5, plo, phi, color="tab:blue", lw=1, linestyles="dotted")
    ax.axvline(0.0, color="0.6", lw=0.8, ls="--")
    ax.set_yticks([*ys, 0.5], [*frame.index.astype(str), "Pooled"])
    ax.set_ylim(-0.2, k + 1.8)
    ax.set_xlabel(xlabel)
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=150)
    return fig


# -- Bayesian -------------------------------------------------------------------------------
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
        x = np.asarray(self.idata.posterior[name].values, dtype=float)
        return x.reshape(x.shape[0] * x.shape[1], *x.shape[2:])

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
        from fd_bayes.results.effects import hdi

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
        from fd_bayes.inference import idata as infd

        return infd.diagnostics(self.idata)

    def diagnostic_problems(self) -> list[str]:
        """Plain-language statements of every failed diagnostic (empty when all pass)."""
        from fd_bayes.inference import idata as infd

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
        return _forest(frame, pooled, extra, "Bayesian random-effects", xlabel, path)


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

    y, s = _check_effects(yi, sei, "sei")
    labs = _labels(labels, y.size)
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
    draws, tune, chains, seed, progress, target_accept, sampler
        Passed to :func:`fd_bayes.inference.sampling.run_nuts` (``sampler="auto"`` is nutpie when
        installed).

    Returns
    -------
    BayesMetaResult
        ``.summary()``, ``.diagnostics()``, ``.predictive()`` and ``.p_mu_negative``.
    """
    from fd_bayes.inference.sampling import run_nuts

    y, s = _check_effects(yi, sei, "sei")
    labs = _labels(labels, y.size)
    prior = {"mu": f"Normal(0, {prior_mu_sd:g})", **_tau_prior(prior_tau, prior_tau_scale)}
    model = build_bayes_model(y, s, prior_mu_sd, prior_tau, prior_tau_scale, labs)
    if seed is None:
        seed = int(np.random.default_rng().integers(2**31 - 1))
    result = run_nuts(
        model,
        sampler=sampler,
        draws=draws,
        tune=tune,
        chains=chains,
        seed=seed,
        target_accept=target_accept,
        progress=progress,
    )
    return BayesMetaResult(result.idata, labs, y, s, prior, result.sampler)


# -- effect sizes ---------------------------------------------------------------------------
ZERO_RULES = ("add_half", "add_half_all", "error")


def log_rate_ratio(
    events_t: Any,
    exposure_t: Any,
    events_c: Any,
    exposure_c: Any,
    zero: str = "add_half",
) -> tuple[np.ndarray, np.ndarray]:
    """Log rate ratio (treatment / control) and its variance from arm-level counts.

    ``yi = log(x_t / T_t) - log(x_c / T_c)``, ``vi = 1 / x_t + 1 / x_c`` (Poisson counts;
    metafor's ``escalc(measure="IRR")``).

    Parameters
    ----------
    events_t, events_c : array-like
        Event counts (>= 0) in the treatment and control arms of each study.
    exposure_t, exposure_c : array-like
        Person-time at risk (> 0), in any unit common to both arms of a study.
    zero : {"add_half", "add_half_all", "error"}
        Zero-cell handling. ``"add_half"`` (default, as metafor's ``add=1/2,
        to="only0"``): in a study with a zero count in either arm, 0.5 is added to both
        arms' counts (exposure unchanged); other studies are untouched. A study with no
        events in either arm then has ``yi = log(T_c / T_t)`` and ``vi = 4``: it carries
        almost no weight, and is kept rather than silently dropped. ``"add_half_all"``:
        if any study has a zero, 0.5 is added to every study (metafor's ``to="if0all"``).
        ``"error"``: a zero count raises DataError.

    Returns
    -------
    (yi, vi) : arrays

    Examples
    --------
    >>> yi, vi = log_rate_ratio([10], [100.0], [20], [100.0])
    >>> round(float(yi[0]), 4), round(float(vi[0]), 4)
    (-0.6931, 0.15)
    """
    if zero not in ZERO_RULES:
        raise SettingsError(f"unknown zero rule '{zero}'; choose one of {', '.join(ZERO_RULES)}")
    xt, tt = _as_vector(events_t, "events_t"), _as_vector(exposure_t, "exposure_t")
    xc, tc = _as_vector(events_c, "events_c"), _as_vector(exposure_c, "exposure_c")
    k = xt.size
    for name, arr in (("exposure_t", tt), ("events_c", xc), ("exposure_c", tc)):
        if arr.size != k:
            raise DataError(
                f"events_t has {k} values but {name} has {arr.size}.\nFix: give one value "
                "per study for every argument.",
                column=name,
            )
    for name, arr in (("events_t", xt), ("events_c", xc)):
        bad = np.flatnonzero(arr < 0)
        if bad.size:
            raise DataError(
                f"{name} must be counts >= 0.\nFix: check the event counts.",
                column=name,
                rows=bad[:5].tolist(),
            )
    for name, arr in (("exposure_t", tt), ("exposure_c", tc)):
        bad = np.flatnonzero(arr <= 0)
        if bad.size:
            raise DataError(
                f"{name} must be positive.\nFix: check the person-time at risk.",
                column=name,
                rows=bad[:5].tolist(),
            )
    has_zero = (xt == 0) | (xc == 0)
    if zero == "error" and has_zero.any():
        raise DataError(
            "a study has a zero event count, so its log rate ratio is infinite.\nFix: use "
            "zero='add_half' (continuity correction) or a Bayesian model of the counts.",
            column="events_t" if (xt == 0).any() else "events_c",
            rows=np.flatnonzero(has_zero)[:5].tolist(),
        )
    add = np.where(has_zero, 0.5, 0.0) if zero == "add_half" else np.full(k, 0.0)
    if zero == "add_half_all" and has_zero.any():
        add = np.full(k, 0.5)
    xt, xc = xt + add, xc + add
    return np.log(xt / tt) - np.log(xc / tc), 1.0 / xt + 1.0 / xc


def hedges_g(
    m1: Any, sd1: Any, n1: Any, m2: Any, sd2: Any, n2: Any
) -> tuple[np.ndarray, np.ndarray]:
    """Hedges' g (group 1 - group 2) and its sampling variance, as metafor's ``escalc("SMD")``.

    ``d = (m1 - m2) / s_pooled``, ``g = J(m) d`` with the exact correction
    ``J(m) = Gamma(m / 2) / (sqrt(m / 2) Gamma((m - 1) / 2))``, ``m = n1 + n2 - 2``, and
    ``vg = 1 / n1 + 1 / n2 + g^2 / (2 (n1 + n2))`` (Hedges 1981; metafor's default
    large-sample variance). :func:`fd_bayes.frequentist.hedges_g` on individual data uses
    the usual approximation ``J ~ 1 - 3 / (4 (n1 + n2) - 9)``; the two agree to about 1e-3
    for n1 + n2 > 20.

    Examples
    --------
    >>> g, vg = hedges_g([1.0], [2.0], [20], [0.0], [2.0], [20])
    >>> round(float(g[0]), 4), round(float(vg[0]), 4)
    (0.49, 0.103)
    """
    a = {
        k: _as_vector(x, k)
        for k, x in (("m1", m1), ("sd1", sd1), ("n1", n1), ("m2", m2), ("sd2", sd2), ("n2", n2))
    }
    size = a["m1"].size
    for name, arr in a.items():
        if arr.size != size:
            raise DataError(
                f"m1 has {size} values but {name} has {arr.size}.\nFix: give one value per "
                "study for every argument.",
                column=name,
            )
    for name in ("sd1", "sd2"):
        bad = np.flatnonzero(a[name] <= 0)
        if bad.size:
            raise DataError(
                f"{name} must be positive.\nFix: check the standard deviations.",
                column=name,
                rows=bad[:5].tolist(),
            )
    for name in ("n1", "n2"):
        bad = np.flatnonzero(a[name] < 2)
        if bad.size:
            raise DataError(
                f"{name} must be at least 2.\nFix: check the group sizes.",
                column=name,
                rows=bad[:5].tolist(),
            )
    n1_, n2_ = a["n1"], a["n2"]
    m = n1_ + n2_ - 2
    sp = np.sqrt(((n1_ - 1) * a["sd1"] ** 2 + (n2_ - 1) * a["sd2"] ** 2) / m)
    d = (a["m1"] - a["m2"]) / sp
    j = np.exp(special.gammaln(m / 2) - 0.5 * np.log(m / 2) - special.gammaln((m - 1) / 2))
    g = j * d
    return g, 1.0 / n1_ + 1.0 / n2_ + g**2 / (2.0 * (n1_ + n2_))


def from_fit(
    fit: Any,
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
        A fitted (or loaded) fit.
    level : {"overall", "crime_type"}
    outcome : str
    crime_type : str
        Required for ``level="crime_type"``; ``"all"`` for ``overall``.

    Returns
    -------
    (yi, sei) : floats
    """
    from fd_bayes.results.effects import g_computation

    if level not in ("overall", "crime_type"):
        raise SettingsError(f"level must be 'overall' or 'crime_type', got '{level}'")
    if level == "overall" and crime_type != "all":
        raise SettingsError("level='overall' collapses crime types: leave crime_type='all'")
    if level == "crime_type" and crime_type == "all":
        raise SettingsError("level='crime_type' needs a crime_type, e.g. crime_type='knife'")
    mu1, mu0, rows = fit._potential_outcomes
    mask = rows["outcome"].to_numpy() == outcome
    if level == "crime_type":
        mask &= rows["crime_type"].to_numpy() == crime_type
    if not mask.any():
        table = fit.effects()
        have = table.loc[table["level"] == level, ["outcome", "crime_type"]]
        choices = ", ".join(f"{o}/{c}" for o, c in have.itertuples(index=False))
        raise DataError(
            f"the fit has no {level} estimate for outcome '{outcome}', crime type "
            f"'{crime_type}'.\nFix: choose one of (outcome/crime type): {choices}.",
            column="crime_type" if level == "crime_type" else "outcome",
        )
    rr, _ = g_computation(
        np.asarray(mu1, float), np.asarray(mu0, float), mask.astype(float)[:, None]
    )
    log_rr = np.log(rr[:, 0])
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
    **bayes_kwargs
        Passed to :func:`bayes` (priors, draws, seed, ...).

    Returns
    -------
    BayesMetaResult
        The IPD trials come first in ``labels``; ``prior["method"]`` says two-stage.
    """
    from fd_bayes.data.trial import Trial
    from fd_bayes.results.fit import Fit
    from fd_bayes.results.fit import fit as fit_trial

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
    ad_labels = _labels(labels, y_ad.size) if y_ad.size else []
    y = np.concatenate([[p[0] for p in pairs], y_ad])
    s = np.concatenate([[p[1] for p in pairs], s_ad])
    all_labels = [f"{n} (IPD)" for n in names] + list(ad_labels)
    if len(set(all_labels)) != len(all_labels):
        raise SettingsError(f"study labels must be distinct, got {all_labels}")
    result = bayes(y, s, labels=all_labels, **bayes_kwargs)
    result.prior["method"] = (
        f"two-stage: {len(fits)} IPD trial(s) summarised as normal (posterior mean and SD of "
        f"the g-computed log rate ratio, level {level}), pooled with {y_ad.size} published "
        "estimate(s) in the normal-normal model"
    )
    return result
