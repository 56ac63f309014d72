"""The frequentist random-effects (or fixed-effect) model and meta-regression, as R's
metafor ``rma()`` fits them.

Heterogeneity estimators ``REML`` (Fisher scoring), ``DL`` (DerSimonian-Laird), ``PM``
(Paule-Mandel) and ``FE``; Wald-type (``z``) or Knapp-Hartung (``knha``) inference.
Reference numbers from metafor are frozen in ``tests/unit/meta/test_meta.py``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import optimize, stats

from fd_bayes.constants import HDI_PROB
from fd_bayes.errors import DataError, SettingsError
from fd_bayes.meta.inputs import check_effects, study_labels
from fd_bayes.plots import pooled_forest_plot

if TYPE_CHECKING:
    from matplotlib.figure import Figure

METHODS = ("REML", "DL", "PM", "FE")
TESTS = ("z", "knha")

_REML_TOL = 1e-10
_REML_MAXITER = 1000


# -- moderators ----------------------------------------------------------------------------
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
        return pooled_forest_plot(frame, pooled, extra, title, xlabel, path)

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
    y, v = check_effects(yi, vi)
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
    df_res = k - p
    beta, vb, coef, crit = _coefficients(y, X, w, names, test, level, df_res)
    q, q_p, i2, h2 = _heterogeneity(y, v, X, tau2, method, df_res)
    qm, m, qm_p = _moderator_test(beta, vb, p, df_res, test)
    half = crit * np.sqrt(float(coef["se"].iloc[0]) ** 2 + tau2)
    return MetaResult(
        yi=y,
        vi=v,
        labels=study_labels(labels, k),
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


def _coefficients(
    y: np.ndarray,
    X: np.ndarray,
    w: np.ndarray,
    names: list[str],
    test: str,
    level: float,
    df_res: int,
) -> tuple[np.ndarray, np.ndarray, pd.DataFrame, float]:
    """Coefficients, their covariance (Knapp-Hartung-scaled with ``knha``), the coefficient
    table and the critical value of the intervals."""
    beta, vb = _wls(y, X, w)
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
    return beta, vb, coef, crit


def _heterogeneity(
    y: np.ndarray, v: np.ndarray, X: np.ndarray, tau2: float, method: str, df_res: int
) -> tuple[float, float, float, float]:
    """Cochran's Q (fixed-effect weights), its p-value, I^2 and H^2."""
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
    return q, q_p, i2, h2


def _moderator_test(
    beta: np.ndarray, vb: np.ndarray, p: int, df_res: int, test: str
) -> tuple[float, int, float]:
    """The omnibus test of the moderators: statistic, its df and p-value (NaN, 0, NaN
    without moderators)."""
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
    return qm, m, qm_p


__all__ = ["METHODS", "TESTS", "MetaResult", "frequentist"]
