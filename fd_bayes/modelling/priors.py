"""The priors of a model, one row each, with what they govern and what they imply.

:func:`priors` reads a spec (catalogue name, path, :class:`~fd_bayes.ModelSpec`) or a
:class:`~fd_bayes.Fit` and returns a table a reviewer can read without knowing the
parameterisation: the prior's name, its distribution and parameters, the parameter it
governs in plain words, and the range it implies on a scale people think in (rate
ratios, rates per person-year, the negative-binomial shape). Every implied number is
computed from the distribution with scipy, so the table cannot drift from the spec.
No MCMC, no PyMC model.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats
from scipy.special import expit

from fd_bayes.errors import SettingsError
from fd_bayes.modelling.design import Design
from fd_bayes.modelling.spec import ModelSpec, Prior, load_spec
from fd_bayes.modelling.structure import resolve_structure

#: Columns of :func:`priors`, in order.
PRIOR_COLUMNS = ["prior", "dist", "params", "parameter", "implied", "note"]

#: Probability of the central prior intervals the table reports.
PRIOR_INTERVAL = 0.95

#: What each term of the treatment effect is, in words (singular, plural).
_TERM_WORDS = {
    "crime": ("crime-type x outcome", "crime-type x outcome rate ratios"),
    "outcome": ("outcome", "outcome rate ratios"),
    "age": ("age-band", "age-band rate ratios"),
    "cell": ("cell (crime type x outcome x age band)", "cell rate ratios"),
    "trial": ("trial (site)", "trial rate ratios"),
}

#: Prior name -> the parameter it governs, in plain words.
PARAMETER_WORDS = {
    "effect_overall": "log rate ratio common to all cells (theta0)",
    "intercept": "log control rate per person-year of a person with a typical baseline "
    "count, per cell",
    "baseline_slope": "slope of the log rate on log1p(pre_count), per crime type x outcome",
    "person_sd": "SD of the person effect (log rate scale), shared over a person's rows",
    "inv_sqrt_dispersion": "negative-binomial dispersion 1/sqrt(phi), per crime type x "
    "outcome (0 is the Poisson limit)",
    "person_corr": "correlation of a person's effects across outcomes (LKJ)",
    "person_cv": "SD (coefficient of variation) of the gamma person frailty, a multiplier "
    "of all of a person's rates (mean 1; integrated out of the likelihood)",
    "zi_intercept": "logit of the share of structural zeros (never at risk), per crime "
    "type x outcome, control arm",
    "zi_treated": "log odds ratio of a structural zero, treated vs control",
    "hurdle_intercept": "shift of the log odds of a zero from the negative binomial's, "
    "per crime type x outcome, control arm",
    "hurdle_treated": "log odds ratio of a zero, treated vs control, beyond the effect on the rate",
}
for _term, (_one, _) in _TERM_WORDS.items():
    PARAMETER_WORDS[f"{_term}_sd"] = (
        f"SD of the {_one} deviations of the log rate ratio (partially pooled)"
    )
    PARAMETER_WORDS[f"{_term}_effect"] = (
        f"{_one} deviations of the log rate ratio (regularised zero-sum fixed term)"
    )


# -- distributions ---------------------------------------------------------------------
class _HalfStudentT:
    """|T| for T ~ StudentT(nu, 0, sigma): scipy has no half-t."""

    def __init__(self, nu: float, sigma: float):
        self._t = stats.t(df=nu, loc=0.0, scale=sigma)

    def ppf(self, q):
        return self._t.ppf((1.0 + np.asarray(q)) / 2.0)

    def cdf(self, x):
        return 2.0 * self._t.cdf(x) - 1.0

    def median(self):
        return float(self.ppf(0.5))


def scipy_dist(prior: Prior, n_levels: int | None = None):
    """The scipy distribution of ``prior`` (frozen), for quantiles and probabilities.

    A ``ZeroSumNormal`` is given by the marginal distribution of one of its ``n_levels``
    elements, Normal(0, sigma * sqrt(1 - 1/n)) as PyMC defines it; without ``n_levels``
    the limit of many levels, Normal(0, sigma), an upper bound on the spread.
    """
    p = prior.params
    match prior.dist:
        case "Normal":
            return stats.norm(loc=p["mu"], scale=p["sigma"])
        case "StudentT":
            return stats.t(df=p["nu"], loc=p["mu"], scale=p["sigma"])
        case "HalfNormal":
            return stats.halfnorm(scale=p["sigma"])
        case "HalfStudentT":
            return _HalfStudentT(p["nu"], p["sigma"])
        case "Exponential":
            return stats.expon(scale=1.0 / p["lam"])
        case "Gamma":
            return stats.gamma(a=p["alpha"], scale=1.0 / p["beta"])
        case "ZeroSumNormal":
            if n_levels is not None and n_levels < 2:
                raise SettingsError("a zero-sum term needs at least two levels")
            shrink = 1.0 if not n_levels else math.sqrt(1.0 - 1.0 / n_levels)
            return stats.norm(loc=0.0, scale=p["sigma"] * shrink)
    raise SettingsError(f"no scipy equivalent for the prior distribution {prior.dist!r}")


def _central(dist, prob: float = PRIOR_INTERVAL) -> tuple[float, float]:
    tail = (1.0 - prob) / 2.0
    lo, hi = dist.ppf([tail, 1.0 - tail])
    return float(lo), float(hi)


def fmt(x: float) -> str:
    """A number for a sentence: 2 decimals from 0.1 to 10, 2 significant digits below,
    fewer decimals above."""
    a = abs(x)
    if a == 0 or math.isinf(a):
        return f"{x:g}"
    if a >= 100:
        return f"{x:,.0f}"
    if a >= 10:
        return f"{x:.1f}"
    if a >= 0.1:
        return f"{x:.2f}"
    return f"{x:.2g}"


def _pct(prob: float) -> str:
    return f"{100 * prob:.0f}%"


# -- implied ranges, per kind of prior -------------------------------------------------
def _implied_log_ratio(prior: Prior, n_levels: int | None) -> str:
    dist = scipy_dist(prior, n_levels)
    lo, hi = _central(dist)
    p_red = float(dist.cdf(0.0))
    return (
        f"{_pct(PRIOR_INTERVAL)} prior mass on rate ratios {fmt(math.exp(lo))} to "
        f"{fmt(math.exp(hi))}; prior P(RR < 1) = {p_red:.2f}"
    )


def _implied_deviation(prior: Prior, term: str, n_levels: int | None) -> str:
    def factor(n: int | None) -> str:
        _, hi = _central(scipy_dist(prior, n))
        return f"×/÷ {fmt(math.exp(hi))}"

    what = f"each {_TERM_WORDS[term][0]} deviation multiplies the rate ratio by a factor within"
    if n_levels:
        return f"{what} {factor(n_levels)} ({_pct(PRIOR_INTERVAL)} prior mass, {n_levels} levels)"
    return (
        f"{what} {factor(2)} with two levels, {factor(None)} with many "
        f"({_pct(PRIOR_INTERVAL)} prior mass; each of n levels has SD sigma * sqrt(1 - 1/n))"
    )


def _implied_effect_sd(prior: Prior, term: str) -> str:
    dist = scipy_dist(prior)
    median = float(dist.median())
    q95 = float(dist.ppf(PRIOR_INTERVAL))
    z = stats.norm.ppf(0.5 + PRIOR_INTERVAL / 2.0)
    return (
        f"median SD {fmt(median)}: at that SD, {_pct(PRIOR_INTERVAL)} of "
        f"{_TERM_WORDS[term][1]} lie within ×/÷ {fmt(math.exp(z * median))} of the "
        f"common one; {_pct(PRIOR_INTERVAL)} prior mass on SDs below {fmt(q95)}"
    )


def _implied_intercept(prior: Prior, _n: int | None) -> str:
    dist = scipy_dist(prior)
    lo, hi = _central(dist)
    return (
        f"control rate per person-year: median {fmt(math.exp(float(dist.median())))}, "
        f"{_pct(PRIOR_INTERVAL)} prior mass on {fmt(math.exp(lo))} to {fmt(math.exp(hi))}"
    )


def _implied_slope(prior: Prior, _n: int | None) -> str:
    dist = scipy_dist(prior)
    lo, hi = _central(dist)
    return (
        f"{_pct(PRIOR_INTERVAL)} prior mass on slopes {fmt(lo)} to {fmt(hi)}; "
        f"prior P(slope > 0) = {1.0 - float(dist.cdf(0.0)):.2f}"
    )


def _implied_person_sd(prior: Prior, _n: int | None) -> str:
    dist = scipy_dist(prior)
    median = float(dist.median())
    q95 = float(dist.ppf(PRIOR_INTERVAL))
    z = stats.norm.ppf(0.5 + PRIOR_INTERVAL / 2.0)
    return (
        f"median SD {fmt(median)}: at that SD, {_pct(PRIOR_INTERVAL)} of young people's "
        f"rates lie within ×/÷ {fmt(math.exp(z * median))} of a typical person's; "
        f"{_pct(PRIOR_INTERVAL)} prior mass on SDs below {fmt(q95)}"
    )


def _implied_frailty(prior: Prior, _n: int | None) -> str:
    dist = scipy_dist(prior)
    median = float(dist.median())
    q95 = float(dist.ppf(PRIOR_INTERVAL))
    k = 1.0 / median**2
    lo, hi = stats.gamma(k, scale=1.0 / k).ppf([(1 - PRIOR_INTERVAL) / 2, (1 + PRIOR_INTERVAL) / 2])
    return (
        f"median CV {fmt(median)}: at that CV, {_pct(PRIOR_INTERVAL)} of young people's "
        f"rates lie between {fmt(lo)} and {fmt(hi)} times a typical (mean) rate; "
        f"{_pct(PRIOR_INTERVAL)} prior mass on CVs below {fmt(q95)}"
    )


def _implied_dispersion(prior: Prior, _n: int | None) -> str:
    dist = scipy_dist(prior)
    median = float(dist.median())
    q95 = float(dist.ppf(PRIOR_INTERVAL))
    return (
        f"median {fmt(median)}, i.e. NB shape phi = {fmt(1.0 / median**2)} (variance "
        f"mu + mu^2 / {fmt(1.0 / median**2)}); {_pct(PRIOR_INTERVAL)} prior mass below "
        f"{fmt(q95)} (phi above {fmt(1.0 / q95**2)})"
    )


def _implied_share(prior: Prior, _n: int | None) -> str:
    dist = scipy_dist(prior)
    lo, hi = (float(expit(x)) for x in _central(dist))
    return (
        f"share: median {fmt(float(expit(dist.median())))}, {_pct(PRIOR_INTERVAL)} prior "
        f"mass on {fmt(lo)} to {fmt(hi)}"
    )


def _implied_odds_ratio(prior: Prior, _n: int | None) -> str:
    lo, hi = _central(scipy_dist(prior))
    ratios = f"{fmt(math.exp(lo))} to {fmt(math.exp(hi))}"
    return f"{_pct(PRIOR_INTERVAL)} prior mass on odds ratios {ratios}"


def _implied_correlation(prior: Prior, n_levels: int | None) -> str:
    # LKJ(eta) on a d x d matrix: each correlation is 2 B - 1, B ~ Beta(b, b),
    # b = eta - 1 + d / 2 (Lewandowski, Kurowicka and Joe 2009)
    if prior.dist != "LKJCorr":
        return ""
    d = n_levels or 2
    b = prior.params["eta"] - 1.0 + d / 2.0
    lo, hi = (2.0 * x - 1.0 for x in _central(stats.beta(b, b)))
    return (
        f"{_pct(PRIOR_INTERVAL)} prior mass on correlations {fmt(lo)} to {fmt(hi)} ({d} outcomes)"
    )


def _implier(name: str) -> Callable[[Prior, int | None], str] | None:
    if name == "effect_overall":
        return _implied_log_ratio
    if name == "intercept":
        return _implied_intercept
    if name == "baseline_slope":
        return _implied_slope
    if name == "person_sd":
        return _implied_person_sd
    if name == "inv_sqrt_dispersion":
        return _implied_dispersion
    if name == "person_cv":
        return _implied_frailty
    if name == "zi_intercept":
        return _implied_share
    if name in ("zi_treated", "hurdle_intercept", "hurdle_treated"):
        return _implied_odds_ratio
    if name == "person_corr":
        return _implied_correlation
    term, _, kind = name.rpartition("_")
    if term in _TERM_WORDS and kind == "sd":
        return lambda prior, _n: _implied_effect_sd(prior, term)
    if term in _TERM_WORDS and kind == "effect":
        return lambda prior, n: _implied_deviation(prior, term, n)
    return None


def implied(name: str, prior: Prior, n_levels: int | None = None) -> str:
    """The plain-language range that prior ``name`` implies ("" where none is meaningful).

    ``n_levels`` is the number of levels of a zero-sum term (known from a fit's design);
    without it the spread of a zero-sum term is given for many levels, an upper bound.

    Examples
    --------
    >>> implied("effect_overall", Prior("Normal", {"mu": 0.0, "sigma": 0.5}))
    '95% prior mass on rate ratios 0.38 to 2.66; prior P(RR < 1) = 0.50'
    """
    how = _implier(name)
    return "" if how is None else how(prior, n_levels)


# -- the table -------------------------------------------------------------------------
def _params_text(prior: Prior) -> str:
    return ", ".join(f"{k}={v:g}" for k, v in prior.params.items())


def _row(name: str, prior: Prior, n_levels: int | None = None, note: str = "") -> dict:
    return {
        "prior": name,
        "dist": prior.dist,
        "params": _params_text(prior),
        "parameter": PARAMETER_WORDS.get(name, name),
        "implied": implied(name, prior, n_levels),
        "note": note,
    }


def _fit_rows(fit) -> list[dict]:
    """Rows for a fit: its priors, with notes on the terms its data changed."""
    spec, design = fit.spec, fit.design
    structure = resolve_structure(spec, design)
    levels = {
        "crime": len(design.crime_outcomes),
        "outcome": len(design.outcomes),
        "age": len(design.age_bands),
        "cell": len(design.cells),
    }
    rows = []
    for name, prior in spec.priors.items():
        term, _, kind = name.rpartition("_")
        note, n = "", None
        if term in levels and kind in ("sd", "effect"):
            n = levels[term] if levels[term] > 1 else None  # one level: the term is out
            used = structure.treatment[term]
            if used == "none":
                note = f"not used in this fit: the {_TERM_WORDS[term][0]} term was left out"
            elif kind == "sd" and used == "fixed":
                note = (
                    f"not used as a variance in this fit: {n} levels are too few, so its "
                    f"scale sets the zero-sum prior {term}_effect"
                )
        elif name == "person_corr":
            n = len(design.outcomes)
        elif name == "person_sd" and not structure.person_effect:
            note = "not used in this fit: the person effect was left out"
        elif name == "baseline_slope" and not structure.baseline:
            note = "not used in this fit: no baseline term"
        rows.append(_row(name, prior, n, note))
    for name, prior in structure.derived_priors.items():
        term = name.rpartition("_")[0]
        rows.append(
            _row(name, prior, levels.get(term), f"derived in this fit from {term}_sd's scale")
        )
    return rows


def _is_fit(model: object) -> bool:
    """Whether ``model`` is a fit of a catalogue model: an object with a
    :class:`~fd_bayes.ModelSpec` ``spec`` and a :class:`Design` ``design`` (a
    :class:`~fd_bayes.Fit`; read by duck typing, as the results layer sits above this one)."""
    return isinstance(getattr(model, "spec", None), ModelSpec) and isinstance(
        getattr(model, "design", None), Design
    )


def priors(
    model: str | Path | ModelSpec | object = "negbin_hier",
    overrides: Mapping[str, Mapping] | None = None,
) -> pd.DataFrame:
    """The priors of a model: one row per prior, with what it governs and implies.

    Parameters
    ----------
    model : str, path, ModelSpec or Fit
        A catalogue name (``"negbin_hier"``, ``"negbin_sceptical"``), a path to a TOML
        spec, a :class:`~fd_bayes.ModelSpec`, or a :class:`~fd_bayes.Fit`, whose priors
        (overrides included) are the ones it was fitted with. For a fit, zero-sum terms
        use the number of levels in its data, and ``note`` says which priors the data
        made unused or derived (e.g. a variance term with too few levels).
    overrides : dict, optional
        Prior overrides as :func:`fd_bayes.fit` takes them (``priors=``), merged over the
        spec's; not allowed with a Fit.

    Returns
    -------
    pandas.DataFrame
        Columns ``prior`` (name), ``dist``, ``params`` (e.g. ``"mu=0, sigma=0.5"``),
        ``parameter`` (what it governs, in words), ``implied`` (a central 95% prior range
        on a natural scale, or the median of an SD, computed from the distribution) and
        ``note`` (empty for a spec). Rows follow the spec's order.

    Examples
    --------
    >>> import fd_bayes as fdb
    >>> table = fdb.priors("negbin_hier")                       # doctest: +SKIP
    >>> table.set_index("prior").loc["effect_overall", "implied"]  # doctest: +SKIP
    '95% prior mass on rate ratios 0.38 to 2.66; prior P(RR < 1) = 0.50'
    """
    if _is_fit(model):
        if overrides:
            raise SettingsError(
                "priors(): a Fit shows the priors it was fitted with; overrides apply to a spec"
            )
        rows = _fit_rows(model)
    elif isinstance(model, str | Path | ModelSpec):
        spec = load_spec(model).with_priors(overrides)
        rows = [_row(name, prior) for name, prior in spec.priors.items()]
    else:
        raise SettingsError(
            "priors() takes a catalogue name, a path to a spec, a ModelSpec or a Fit, "
            f"got {type(model).__name__}"
        )
    return pd.DataFrame(rows, columns=PRIOR_COLUMNS)


__all__ = ["PRIOR_COLUMNS", "implied", "priors", "scipy_dist"]
