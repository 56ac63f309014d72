"""Posterior effects: rate ratios, probabilities of reduction, offences prevented.

Statistics are computed on arrays of draws first; building the tidy table is the last
step. Aggregated ratios (crime type over age bands, age band over crime types, overall,
harm) are g-computation over the treated cohort: per posterior draw, the sum of
expected counts under treatment divided by the sum under control. They are never a
mean of cell ratios. Every probability is a share of draws; every interval is a
highest-density interval (HDI) of the draws.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from fd_bayes.constants import HDI_PROB, REDUCTION_THRESHOLDS

#: Columns of the effects table, in order (the public contract, extended at the end).
EFFECT_COLUMNS = [
    "level",
    "outcome",
    "crime_type",
    "age_band",
    "rr_median",
    "rr_mean",
    "rr_lower",
    "rr_upper",
    "reduction_median",
    "p_reduction",
    "p_reduction_25",
    "p_reduction_50",
    "offences_prevented_per_100",
    "prevented_lower",
    "prevented_upper",
    "n_treatment",
    "n_control",
    "events_treatment",
    "events_control",
    "note",
]
ALL = "all"
LEVELS = ("cell", "crime_type", "age_band", "overall", "harm")


def hdi(draws: np.ndarray, prob: float = HDI_PROB) -> tuple[np.ndarray, np.ndarray]:
    """Highest-density interval of each column of ``draws`` (draws along axis 0).

    The narrowest interval that contains ``ceil(prob * n)`` of the sorted draws.

    Examples
    --------
    >>> import numpy as np
    >>> lo, hi = hdi(np.arange(100.0)[:, None], prob=0.9)
    >>> float(hi[0] - lo[0])
    89.0
    """
    if not 0 < prob < 1:
        raise ValueError(f"prob must be between 0 and 1, got {prob}")
    x = np.sort(np.asarray(draws, dtype=float), axis=0)
    n = x.shape[0]
    k = int(np.ceil(prob * n))
    if k >= n:
        return x[0], x[-1]
    widths = x[k - 1 :] - x[: n - k + 1]
    start = np.argmin(widths, axis=0)
    cols = np.arange(x.shape[1]) if x.ndim > 1 else None
    if cols is None:
        return x[start], x[start + k - 1]
    return x[start, cols], x[start + k - 1, cols]


def summarise_ratios(
    rr: np.ndarray,
    prob: float = HDI_PROB,
    thresholds: Sequence[float] = REDUCTION_THRESHOLDS,
) -> pd.DataFrame:
    """Summaries of rate-ratio draws, one row per column of ``rr`` (draws, k).

    Columns: rr_median, rr_mean, rr_lower, rr_upper (HDI at ``prob``),
    reduction_median (1 - median RR), p_reduction = P(RR < 1), and
    p_reduction_<100 t> = P(RR < 1 - t) for each threshold t.
    """
    rr = np.atleast_2d(np.asarray(rr, dtype=float).T).T
    lower, upper = hdi(rr, prob)
    median = np.median(rr, axis=0)
    out = {
        "rr_median": median,
        "rr_mean": rr.mean(axis=0),
        "rr_lower": lower,
        "rr_upper": upper,
        "reduction_median": 1.0 - median,
        "p_reduction": (rr < 1.0).mean(axis=0),
    }
    for t in thresholds:
        out[f"p_reduction_{round(100 * t)}"] = (rr < 1.0 - t).mean(axis=0)
    return pd.DataFrame(out)


def g_computation(
    mu_treat: np.ndarray, mu_control: np.ndarray, membership: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Aggregate potential outcomes over groups of rows, per draw.

    Parameters
    ----------
    mu_treat, mu_control : array (draws, rows)
        Expected counts of each row under treatment and under control.
    membership : array (rows, groups)
        Weight of each row in each group (0/1 for plain sums, harm weights for harm).

    Returns
    -------
    (rr, difference) : arrays (draws, groups)
        ``sum(mu_treat) / sum(mu_control)`` and ``sum(mu_control) - sum(mu_treat)``.
    """
    s1 = mu_treat @ membership
    s0 = mu_control @ membership
    return s1 / s0, s0 - s1


def effects_table(
    mu_treat: np.ndarray,
    mu_control: np.ndarray,
    rows: pd.DataFrame,
    counts: pd.DataFrame,
    *,
    prob: float = HDI_PROB,
    harm_weights: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """The effects table from potential outcomes of the treated cohort.

    Parameters
    ----------
    mu_treat, mu_control : array (draws, rows)
        Expected yearly counts of each treated person-row under treatment/control.
    rows : DataFrame
        One row per column of ``mu_*``: ``person`` (integer index), ``outcome``,
        ``crime_type``, ``age_band``.
    counts : DataFrame
        Observed data of both arms for the descriptive columns: ``person``, ``arm``
        (``treatment``/``control``), ``outcome``, ``crime_type``, ``age_band``,
        ``post_count``.
    prob : float
        HDI probability.
    harm_weights : mapping, optional
        Crime type -> harm weight; adds ``harm`` rows.
    """
    groups = estimate_groups(rows, harm_weights)
    membership = np.column_stack([g["weights"] for g in groups])
    rr, diff = g_computation(mu_treat, mu_control, membership)
    table = summarise_ratios(rr, prob)
    n_people = np.array([rows.loc[g["weights"] > 0, "person"].nunique() for g in groups])
    prevented = diff / n_people * 100.0
    lo, hi = hdi(prevented, prob)
    table["offences_prevented_per_100"] = np.median(prevented, axis=0)
    table["prevented_lower"] = lo
    table["prevented_upper"] = hi
    labels = pd.DataFrame(
        [{k: g[k] for k in ("level", "outcome", "crime_type", "age_band")} for g in groups]
    )
    table = pd.concat([labels, table], axis=1)
    table = table.merge(
        _descriptives(counts), on=["level", "outcome", "crime_type", "age_band"], how="left"
    )
    harm = table["level"] == "harm"
    # Harm-weighted "offences prevented" are harm units, not offences: leave them out.
    table.loc[harm, ["offences_prevented_per_100", "prevented_lower", "prevented_upper"]] = np.nan
    no_events = (table["events_treatment"] + table["events_control"]) == 0
    table["note"] = np.where(
        no_events, "no events in follow-up in either arm: the estimate reflects the prior", ""
    )
    return table[EFFECT_COLUMNS]


def estimate_groups(rows: pd.DataFrame, harm_weights: Mapping[str, float] | None) -> list[dict]:
    """Every estimate of the effects table, in table order, as labels and row weights.

    Each entry has ``level``, ``outcome``, ``crime_type``, ``age_band`` and ``weights``
    (one weight per row of ``rows``: 0/1, or the harm weight for ``harm`` entries). The
    report uses it to diagnose each reported ratio per chain.
    """
    out = []
    o, c, a = (rows[k].to_numpy() for k in ("outcome", "crime_type", "age_band"))

    def add(level, outcome, crime, age, mask, weights=None):
        w = mask.astype(float) if weights is None else np.where(mask, weights, 0.0)
        if mask.any():
            out.append(
                {
                    "level": level,
                    "outcome": outcome,
                    "crime_type": crime,
                    "age_band": age,
                    "weights": w,
                }
            )

    outcomes = list(pd.unique(o))
    crimes = list(pd.unique(c))
    ages = list(pd.unique(a))
    for oo in outcomes:
        for cc in crimes:
            for aa in ages:
                add("cell", oo, cc, aa, (o == oo) & (c == cc) & (a == aa))
        for cc in crimes:
            add("crime_type", oo, cc, ALL, (o == oo) & (c == cc))
        if len(ages) > 1:
            for aa in ages:
                add("age_band", oo, ALL, aa, (o == oo) & (a == aa))
        add("overall", oo, ALL, ALL, o == oo)
        if harm_weights:
            w = np.array([float(harm_weights[x]) for x in c])
            add("harm", oo, ALL, ALL, o == oo, w)
            if len(ages) > 1:
                for aa in ages:
                    add("harm", oo, ALL, aa, (o == oo) & (a == aa), w)
    return out


def _descriptives(counts: pd.DataFrame) -> pd.DataFrame:
    """People and follow-up events per arm for every label combination of the table."""
    frames = []
    specs = [
        ("cell", ["outcome", "crime_type", "age_band"]),
        ("crime_type", ["outcome", "crime_type"]),
        ("age_band", ["outcome", "age_band"]),
        ("overall", ["outcome"]),
        ("harm", ["outcome"]),
        ("harm", ["outcome", "age_band"]),
    ]
    for level, keys in specs:
        g = counts.groupby([*keys, "arm"], observed=True).agg(
            n=("person", "nunique"), events=("post_count", "sum")
        )
        wide = g.unstack("arm").fillna(0)
        wide.columns = [f"{a}_{b}" for a, b in wide.columns]
        wide = wide.reset_index()
        for k in ("crime_type", "age_band"):
            if k not in keys:
                wide[k] = ALL
        wide["level"] = level
        frames.append(wide)
    d = pd.concat(frames, ignore_index=True)
    d = d.drop_duplicates(["level", "outcome", "crime_type", "age_band"])
    return pd.DataFrame(
        {
            "level": d["level"],
            "outcome": d["outcome"].astype(str),
            "crime_type": d["crime_type"].astype(str),
            "age_band": d["age_band"].astype(str),
            "n_treatment": d.get("n_treatment", 0).astype(int),
            "n_control": d.get("n_control", 0).astype(int),
            "events_treatment": d.get("events_treatment", 0).astype(int),
            "events_control": d.get("events_control", 0).astype(int),
        }
    )
