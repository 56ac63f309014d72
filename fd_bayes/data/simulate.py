"""Simulated trials with known truth, and the embedded example trial.

The simulator draws data from the same kind of process the default model assumes
(negative-binomial counts, a person-level effect shared across crime types and
outcomes, pre-period counts that predict follow-up counts, varied exposure), so that
parameter recovery can be tested against a known truth.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from fd_bayes.constants import DAYS_PER_YEAR
from fd_bayes.data.trial import Trial

#: Illustrative harm weights (days of imprisonment-equivalent, in the spirit of the
#: Cambridge Crime Harm Index). They are NOT official index values: they exist so the
#: demo can show the harm estimand. Give your own with ``harm_weights=``.
ILLUSTRATIVE_HARM_WEIGHTS: dict[str, float] = {
    "knife": 730.0,
    "violence": 365.0,
    "sexual": 1825.0,
    "robbery": 365.0,
    "drugs": 20.0,
}

#: Control-arm follow-up rates per person-year in the example's seed-like cohort
#: (synthetic), per (outcome, crime type).
EXAMPLE_RATES: dict[tuple[str, str], float] = {
    ("offending", "knife"): 0.9,
    ("offending", "violence"): 1.3,
    ("offending", "sexual"): 0.08,
    ("offending", "robbery"): 0.35,
    ("offending", "drugs"): 0.6,
    ("victimisation", "knife"): 0.25,
    ("victimisation", "violence"): 0.7,
    ("victimisation", "sexual"): 0.06,
    ("victimisation", "robbery"): 0.2,
    ("victimisation", "drugs"): 0.02,
}
#: True rate ratios of the example (synthetic; in the range the published findings
#: suggest), keyed as ``rate_ratios=`` of :func:`simulate_trial`.
EXAMPLE_EFFECTS: dict[tuple[str, ...], float] = {
    ("offending", "knife", "11-17"): 0.40,
    ("offending", "knife", "18-25"): 0.60,
    ("offending", "violence", "11-17"): 0.55,
    ("offending", "violence", "18-25"): 0.70,
    ("offending", "sexual"): 0.70,
    ("offending", "robbery"): 0.60,
    ("offending", "drugs"): 0.85,
    ("victimisation", "knife"): 0.75,
    ("victimisation", "violence"): 0.85,
    ("victimisation", "sexual"): 1.00,
    ("victimisation", "robbery"): 0.85,
    ("victimisation", "drugs"): 1.00,
}


#: The seed trial's design as keywords of :func:`simulate_trial`: its arms and age bands
#: (20 + 25 treated, 65 + 85 controls), five crime types, both outcomes, the baseline
#: slope and the age bands' rate multipliers. :func:`example_trial` adds the rates,
#: effects, person SD and dispersion; ``benchmarks/bench_convergence.py`` varies those.
EXAMPLE_DESIGN: dict = {
    "n_treated": {"11-17": 20, "18-25": 25},
    "n_control": {"11-17": 65, "18-25": 85},
    "crime_types": {c: 0.0 for o, c in EXAMPLE_RATES if o == "offending"},
    "outcomes": ("offending", "victimisation"),
    "baseline_slope": 0.35,
    "age_rate_multiplier": {"11-17": 0.9, "18-25": 1.1},
}


@dataclass(frozen=True)
class SimulationTruth:
    """The true values a simulated trial was drawn with.

    ``cells`` has one row per outcome x crime type x age band with the true rate ratio
    ``rr``; ``crime_type`` has the true g-computed rate ratio per outcome x crime type
    over the treated cohort's expected counts (equal to ``rr`` where it is constant
    over age bands).
    """

    cells: pd.DataFrame
    crime_type: pd.DataFrame
    person_sd: float
    dispersion: float
    baseline_slope: float
    #: Share of structural zeros (rows set to 0 whatever their mean), in both arms.
    zero_inflation: float = 0.0
    #: ``"lognormal"`` or ``"gamma"`` (see :func:`simulate_trial`).
    person_frailty: str = "lognormal"


def _counts(rng: np.random.Generator, mu: np.ndarray, dispersion: float) -> np.ndarray:
    """NB(mu, shape dispersion) counts; Poisson(mu) when the dispersion is infinite."""
    if np.isinf(dispersion):
        return rng.poisson(mu)
    return rng.negative_binomial(dispersion, dispersion / (dispersion + mu))


def _lookup(effects: Mapping, outcome: str, crime: str, age: str) -> float:
    for key in ((outcome, crime, age), (outcome, crime), crime):
        if key in effects:
            return float(effects[key])
    return 1.0


def simulate_trial(
    n_treated: Mapping[str, int] | int = 45,
    n_control: Mapping[str, int] | int = 150,
    *,
    crime_types: Mapping[str, float] | None = None,
    outcomes: tuple[str, ...] = ("offending",),
    rate_ratios: Mapping | float = 0.6,
    base_rates: Mapping[tuple[str, str], float] | None = None,
    person_sd: float = 0.6,
    dispersion: float = 2.0,
    baseline_slope: float = 0.3,
    person_frailty: str = "lognormal",
    age_rate_multiplier: Mapping[str, float] | None = None,
    custody_share: float = 0.15,
    zero_inflation: float = 0.0,
    seed: int | None = None,
    name: str = "simulated",
) -> tuple[Trial, SimulationTruth]:
    """Simulate a trial with known true rate ratios.

    Parameters
    ----------
    n_treated : int or mapping age band -> int
        Treated people (per age band when a mapping).
    n_control : int or mapping age band -> int
        Control people (per age band when a mapping; an int applies to every band).
    crime_types : mapping crime type -> control rate per person-year
        Used for every outcome unless ``base_rates`` is given.
    outcomes : tuple of str
        Outcomes to simulate (e.g. ``("offending", "victimisation")``).
    rate_ratios : float or mapping
        True rate ratio of treatment, either one number, or keyed by crime type,
        ``(outcome, crime_type)`` or ``(outcome, crime_type, age_band)`` (most specific
        key wins; missing keys mean no effect, 1.0).
    base_rates : mapping (outcome, crime_type) -> rate, optional
        Control rates per person-year for an average person.
    person_sd : float
        SD of the person effect on the log scale, shared over crime types and outcomes;
        with ``person_frailty="gamma"`` the coefficient of variation of the frailty.
    dispersion : float
        Negative-binomial shape phi (variance = mu + mu^2 / phi); ``math.inf`` draws
        Poisson counts given the person effect.
    baseline_slope : float
        Coefficient of log1p(pre_count) on the log follow-up rate.
    person_frailty : {"lognormal", "gamma"}
        Distribution of the person effect: ``"lognormal"`` (``u ~ Normal(0, person_sd)``,
        what ``negbin_hier`` assumes) or ``"gamma"`` (``exp(u) ~ Gamma(k, rate k)`` with
        ``k = 1 / person_sd^2``: mean 1, CV ``person_sd``; with ``dispersion=math.inf``
        this is the model of ``negmult_pooled``).
    age_rate_multiplier : mapping age band -> float, optional
        Rate multiplier by age band.
    custody_share : float
        Share of people with reduced exposure (time in custody, 30-250 days).
    zero_inflation : float
        Share of structural zeros: each row's follow-up count is set to 0 with this
        probability, in both arms (data for the ``zinb`` family). The true rate ratios of
        expected counts are then unchanged. 0 (the default) draws nothing extra.
    seed : int, optional
        Random seed; the same seed gives the same trial.

    Returns
    -------
    (Trial, SimulationTruth)
    """
    if person_frailty not in ("lognormal", "gamma"):
        raise ValueError("person_frailty must be 'lognormal' or 'gamma'")
    if not dispersion > 0:
        raise ValueError("dispersion must be > 0 (math.inf for Poisson counts)")
    rng = np.random.default_rng(seed)
    if isinstance(n_treated, int):
        n_treated = {"all": n_treated}
    if isinstance(n_control, int):
        n_control = {band: n_control for band in n_treated}
    if set(n_treated) != set(n_control):
        raise ValueError("n_treated and n_control must name the same age bands")
    crime_types = dict(crime_types or {"knife": 0.8, "violence": 1.2})
    if base_rates is None:
        base_rates = {(o, c): r for o in outcomes for c, r in crime_types.items()}
    if not isinstance(rate_ratios, Mapping):
        rate_ratios = {c: float(rate_ratios) for c in crime_types}
    age_mult = dict(age_rate_multiplier or {})

    people = _people(n_treated, n_control)
    u, exposure = _person_draws(rng, len(people), person_frailty, person_sd, custody_share)
    people = people.assign(u=u, exposure_days=exposure)

    rows = []
    truth_rows = []
    for outcome in outcomes:
        for crime in crime_types:
            for band in n_treated:
                rr = _lookup(rate_ratios, outcome, crime, band)
                truth_rows.append((outcome, crime, band, rr))
            rows.append(
                _cell_counts(
                    rng,
                    people,
                    outcome,
                    crime,
                    base_rates[(outcome, crime)],
                    rate_ratios,
                    age_mult,
                    dispersion=dispersion,
                    baseline_slope=baseline_slope,
                    zero_inflation=zero_inflation,
                )
            )
    df = pd.concat(rows, ignore_index=True)
    cells = pd.DataFrame(truth_rows, columns=["outcome", "crime_type", "age_band", "rr"])
    trial = Trial.from_counts(df.drop(columns="_mu_control_year"), name=name)
    truth = SimulationTruth(
        cells=cells,
        crime_type=_crime_type_truth(df, cells),
        person_sd=person_sd,
        dispersion=dispersion,
        baseline_slope=baseline_slope,
        zero_inflation=zero_inflation,
        person_frailty=person_frailty,
    )
    return trial, truth


def _people(n_treated: Mapping[str, int], n_control: Mapping[str, int]) -> pd.DataFrame:
    """One row per person: ``person_id``, ``age_band``, ``arm`` (band by band, treated first)."""
    people = []
    for band in n_treated:
        for arm, n in (("treatment", n_treated[band]), ("control", n_control[band])):
            people += [(band, arm)] * int(n)
    n = len(people)
    width = len(str(n))
    return pd.DataFrame(
        {
            "person_id": [f"P{i:0{width}d}" for i in range(n)],
            "age_band": np.array([p[0] for p in people]),
            "arm": np.array([p[1] for p in people]),
        }
    )


def _person_draws(
    rng: np.random.Generator, n: int, person_frailty: str, person_sd: float, custody_share: float
) -> tuple[np.ndarray, np.ndarray]:
    """The person effects ``u`` (log scale) and the exposure days (custody shortens some)."""
    if person_frailty == "lognormal":
        u = rng.normal(0.0, person_sd, n)
    else:
        k = 1.0 / person_sd**2
        u = np.log(rng.gamma(k, 1.0 / k, n))
    exposure = np.full(n, DAYS_PER_YEAR)
    in_custody = rng.random(n) < custody_share
    exposure[in_custody] -= rng.integers(30, 250, in_custody.sum())
    return u, exposure


def _cell_counts(
    rng: np.random.Generator,
    people: pd.DataFrame,
    outcome: str,
    crime: str,
    rate: float,
    rate_ratios: Mapping,
    age_mult: Mapping[str, float],
    *,
    dispersion: float,
    baseline_slope: float,
    zero_inflation: float,
) -> pd.DataFrame:
    """Pre and post counts of every person for one outcome x crime type.

    Also ``_mu_control_year``: each person's expected yearly count under control (for the
    truth of the g-computed rate ratios).
    """
    n = len(people)
    bands = people["age_band"].to_numpy()
    u = people["u"].to_numpy()
    exposure = people["exposure_days"].to_numpy()
    mult = np.array([age_mult.get(b, 1.0) for b in bands])
    mu_pre = rate * mult * np.exp(u)
    pre = _counts(rng, mu_pre, dispersion)
    rr_i = np.array([_lookup(rate_ratios, outcome, crime, b) for b in bands])
    treated = people["arm"].to_numpy() == "treatment"
    # centre the slope at the expected log1p(pre) so `rate` stays the average rate
    log_mu = (
        np.log(rate * mult)
        + baseline_slope * (np.log1p(pre) - np.log1p(mu_pre).mean())
        + u
        + np.log(np.where(treated, rr_i, 1.0))
        + np.log(exposure / DAYS_PER_YEAR)
    )
    mu = np.exp(log_mu)
    post = _counts(rng, mu, dispersion)
    if zero_inflation:
        post = np.where(rng.random(n) < zero_inflation, 0, post)
    return pd.DataFrame(
        {
            "person_id": people["person_id"].to_numpy(),
            "arm": people["arm"].to_numpy(),
            "age_band": bands,
            "crime_type": crime,
            "outcome": outcome,
            "pre_count": pre,
            "post_count": post,
            "exposure_days": exposure,
            "_mu_control_year": mu / np.where(treated, rr_i, 1.0) / (exposure / DAYS_PER_YEAR),
        }
    )


def _crime_type_truth(df: pd.DataFrame, cells: pd.DataFrame) -> pd.DataFrame:
    """The true g-computed rate ratio per outcome x crime type over the treated people."""
    treated_rows = df[df["arm"] == "treatment"].merge(
        cells, on=["outcome", "crime_type", "age_band"]
    )
    treated_rows["mu1"] = treated_rows["_mu_control_year"] * treated_rows["rr"]
    agg = treated_rows.groupby(["outcome", "crime_type"], sort=False)[
        ["mu1", "_mu_control_year"]
    ].sum()
    return (agg["mu1"] / agg["_mu_control_year"]).rename("rr").reset_index()


def example_trial() -> Trial:
    """The embedded example: a SYNTHETIC trial with the Milton Keynes design.

    45 treated young people (20 aged 11-17, 25 aged 18-25) and 150 controls (65 aged
    11-17, 85 aged 18-25); crime types knife, violence, sexual, robbery and drugs; both
    outcomes (offending as a suspect, victimisation). The counts are simulated, not
    real records, with true effects in the range the published findings suggest (e.g.
    a rate ratio of 0.40 for knife offending among under-18s). Deterministic: every call
    returns the same data. Carries :data:`ILLUSTRATIVE_HARM_WEIGHTS`.

    Examples
    --------
    >>> import fd_bayes as fdb
    >>> trial = fdb.example_trial()
    >>> trial.n_people, trial.n_treated
    (195, 45)
    """
    trial, _ = example_trial_with_truth()
    return trial


def example_trial_with_truth() -> tuple[Trial, SimulationTruth]:
    """:func:`example_trial` together with the truth it was simulated from."""
    trial, truth = simulate_trial(
        **EXAMPLE_DESIGN,
        base_rates=EXAMPLE_RATES,
        rate_ratios=EXAMPLE_EFFECTS,
        person_sd=0.7,
        dispersion=1.5,
        seed=20181001,
        name="example (synthetic Milton Keynes design)",
    )
    trial.harm_weights = dict(ILLUSTRATIVE_HARM_WEIGHTS)
    return trial, truth
