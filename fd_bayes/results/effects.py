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

from fd_bayes.constants import HDI_PROB, REDUCTION_THRESHOLDS, WEAK_INFORMATION_SD_RATIO

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
    "trial",
    "sd_ratio",
    "informed",
]
ALL = "all"
LEVELS = ("cell", "crime_type", "age_band", "overall", "harm", "trial", "new_trial")


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
    mu_treat_new: np.ndarray | None = None,
    trial_note: str = "",
    prior: tuple[np.ndarray, np.ndarray] | None = None,
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
    mu_treat_new : array (draws, rows), optional
        Pooled multi-trial fits: expected counts of the same rows under treatment in a
        *new* trial (each draw's trial deviation replaced by a fresh draw from its
        distribution); adds ``new_trial`` rows.
    trial_note : str
        The ``note`` of ``trial`` and ``new_trial`` rows (the heterogeneity prior).
    prior : (mu_treat, mu_control), optional
        The same potential outcomes under draws from the *prior*: give ``sd_ratio``, the
        posterior SD of each estimand's log rate ratio over its prior SD (NaN without).


    Notes
    -----
    How much the data informed each row: ``informed`` is false where neither arm had a
    follow-up event, or where ``sd_ratio`` exceeds
    :data:`~fd_bayes.constants.WEAK_INFORMATION_SD_RATIO` (the prior carries more of the
    estimate than the data); ``note`` then says so, and the report states no
    probability of reduction for the row. A row with events in one arm only is
    informed, and its note says that the size of the change rests on the prior.

    With several trials (``rows`` has a ``trial`` column with more than one label) the
    table adds level ``trial``: each trial's effect, g-computed over that trial's treated
    people, overall and per crime type, labelled in the ``trial`` column. Every other
    row pools the trials and has ``trial == "all"``. ``new_trial`` rows are the
    predictive effect in a new site over the pooled treated cohort; their ``p_reduction``
    is P(a new site sees a reduction).
    """
    groups = estimate_groups(rows, harm_weights, new_trial=mu_treat_new is not None)
    new = np.array([g["level"] == "new_trial" for g in groups])
    membership = np.column_stack([g["weights"] for g in groups])
    rr, diff = g_computation(mu_treat, mu_control, membership)
    if new.any():
        rr_new, diff_new = g_computation(mu_treat_new, mu_control, membership[:, new])
        rr[:, new], diff[:, new] = rr_new, diff_new
    table = summarise_ratios(rr, prob)
    n_people = np.array([rows.loc[g["weights"] > 0, "person"].nunique() for g in groups])
    prevented = diff / n_people * 100.0
    lo, hi = hdi(prevented, prob)
    table["offences_prevented_per_100"] = np.median(prevented, axis=0)
    table["prevented_lower"] = lo
    table["prevented_upper"] = hi
    keys = ["level", "outcome", "crime_type", "age_band", "trial"]
    labels = pd.DataFrame([{k: g.get(k, ALL) for k in keys} for g in groups])
    table = pd.concat([labels, table], axis=1)
    table = table.merge(_descriptives(counts), on=keys, how="left")
    harm = table["level"] == "harm"
    # Harm-weighted "offences prevented" are harm units, not offences: leave them out.
    table.loc[harm, ["offences_prevented_per_100", "prevented_lower", "prevented_upper"]] = np.nan
    table["sd_ratio"] = _sd_ratio(rr, groups, prior, new)
    table["note"], table["informed"] = _information_notes(table)
    if trial_note:
        pooled_rows = table["level"].isin(["trial", "new_trial"]).to_numpy()
        table.loc[pooled_rows, "note"] = [
            f"{n}; {trial_note}" if n else trial_note for n in table.loc[pooled_rows, "note"]
        ]
    return table[EFFECT_COLUMNS]


def _sd_ratio(rr: np.ndarray, groups: list[dict], prior, new: np.ndarray) -> np.ndarray:
    """Posterior SD of each estimand's log rate ratio over its SD under the prior."""
    if prior is None:
        return np.full(rr.shape[1], np.nan)
    membership = np.column_stack([g["weights"] for g in groups])
    with np.errstate(divide="ignore", invalid="ignore"):
        rr_prior, _ = g_computation(prior[0], prior[1], membership)
        log_post, log_prior = np.log(rr), np.log(rr_prior)
        ok = np.isfinite(log_prior).all(axis=0) & np.isfinite(log_post).all(axis=0)
        ratio = np.where(ok, log_post.std(axis=0) / log_prior.std(axis=0), np.nan)
    ratio[new] = np.nan  # a new site's effect has its own (predictive) spread
    return ratio


def _information_notes(table: pd.DataFrame) -> tuple[list[str], np.ndarray]:
    """Each row's note on how much the data informed it, and whether they did."""
    treated = table["events_treatment"].fillna(0).to_numpy()
    control = table["events_control"].fillna(0).to_numpy()
    ratio = table["sd_ratio"].to_numpy(dtype=float)
    notes, informed = [], np.ones(len(table), dtype=bool)
    for i in range(len(table)):
        t, c, r = int(treated[i]), int(control[i]), ratio[i]
        if t + c == 0:
            notes.append("no events in follow-up in either arm: the estimate reflects the prior")
            informed[i] = False
        elif np.isfinite(r) and r > WEAK_INFORMATION_SD_RATIO:
            notes.append(
                f"weakly informed ({t} treated and {c} control events): the posterior spread "
                f"of the rate ratio is {r:.0%} of the prior's, so the prior carries more of "
                "this estimate than the data"
            )
            informed[i] = False
        elif t == 0 or c == 0:
            arm, other = ("treated", "control") if t == 0 else ("control", "treated")
            notes.append(
                f"no events in the {arm} arm ({max(t, c)} {other}): the data bound the "
                f"{arm} rate from above only, so the size of the change rests on the prior"
            )
        else:
            notes.append("")
    return notes, informed


def estimate_groups(
    rows: pd.DataFrame, harm_weights: Mapping[str, float] | None, new_trial: bool = False
) -> list[dict]:
    """Every estimate of the effects table, in table order, as labels and row weights.

    Each entry has ``level``, ``outcome``, ``crime_type``, ``age_band``, ``trial`` and
    ``weights`` (one weight per row of ``rows``: 0/1, or the harm weight for ``harm``
    entries). The report uses it to diagnose each reported ratio per chain. With a
    ``trial`` column holding several trials, ``trial`` entries (per trial, overall and by
    crime type) follow each outcome's pooled entries, and with ``new_trial`` the
    ``new_trial`` entries (overall and by crime type; their weights select the pooled
    rows, the caller supplies the new-trial potential outcomes).
    """
    out = []
    o, c, a = (rows[k].to_numpy() for k in ("outcome", "crime_type", "age_band"))
    t = rows["trial"].astype(str).to_numpy() if "trial" in rows else np.full(len(rows), "")
    trials = list(pd.unique(t))

    def add(level, outcome, crime, age, mask, weights=None, trial=ALL):
        w = mask.astype(float) if weights is None else np.where(mask, weights, 0.0)
        if mask.any():
            out.append(
                {
                    "level": level,
                    "outcome": outcome,
                    "crime_type": crime,
                    "age_band": age,
                    "trial": trial,
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
        if _named(trials):
            for tt in trials:
                add("trial", oo, ALL, ALL, (o == oo) & (t == tt), trial=tt)
                for cc in crimes:
                    add("trial", oo, cc, ALL, (o == oo) & (t == tt) & (c == cc), trial=tt)
        if new_trial:
            add("new_trial", oo, ALL, ALL, o == oo)
            for cc in crimes:
                add("new_trial", oo, cc, ALL, (o == oo) & (c == cc))
    return out


def _named(trials: list[str]) -> bool:
    """Whether rows carry trial labels (several trials, or one named beside published
    trials) rather than the single unnamed trial ``""``."""
    return len(trials) > 1 or (len(trials) == 1 and trials[0] != "")


def published_rows(
    labels: Sequence[str],
    log_rr: np.ndarray,
    outcome: str,
    crime_type: str,
    prob: float = HDI_PROB,
    note: str = "",
) -> pd.DataFrame:
    """``trial`` rows of published trials (one-stage IPD + aggregate data).

    ``log_rr`` (draws, trials) are the model's log rate ratios of each published trial
    (its typical log rate ratio plus its trial deviation): a published trial has no
    individual data, so its rate ratio is not g-computed and its counts are missing.
    """
    table = summarise_ratios(np.exp(log_rr), prob)
    for col in ("offences_prevented_per_100", "prevented_lower", "prevented_upper"):
        table[col] = np.nan
    for col in ("n_treatment", "n_control", "events_treatment", "events_control"):
        table[col] = pd.array([pd.NA] * len(labels), dtype="Int64")
    table["level"] = "trial"
    table["outcome"] = outcome
    table["crime_type"] = crime_type
    table["age_band"] = ALL
    table["trial"] = [str(x) for x in labels]
    table["note"] = note
    table["sd_ratio"] = np.nan
    table["informed"] = True
    return table[EFFECT_COLUMNS]


def insert_published(table: pd.DataFrame, rows: pd.DataFrame) -> pd.DataFrame:
    """``rows`` of :func:`published_rows` placed after the outcome's other ``trial`` rows
    (before its ``new_trial`` rows)."""
    outcome = rows["outcome"].iloc[0]
    same = (table["outcome"] == outcome).to_numpy()
    before_new = np.flatnonzero(same & (table["level"] == "new_trial").to_numpy())
    at = before_new[0] if len(before_new) else np.flatnonzero(same)[-1] + 1
    out = pd.concat([table.iloc[:at], rows, table.iloc[at:]], ignore_index=True)
    return out[EFFECT_COLUMNS]


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
        ("new_trial", ["outcome"]),
        ("new_trial", ["outcome", "crime_type"]),
    ]
    if "trial" in counts and _named(list(pd.unique(counts["trial"].astype(str)))):
        specs += [("trial", ["trial", "outcome"]), ("trial", ["trial", "outcome", "crime_type"])]
    for level, keys in specs:
        g = counts.groupby([*keys, "arm"], observed=True).agg(
            n=("person", "nunique"), events=("post_count", "sum")
        )
        wide = g.unstack("arm").fillna(0)
        wide.columns = [f"{a}_{b}" for a, b in wide.columns]
        wide = wide.reset_index()
        for k in ("crime_type", "age_band", "trial"):
            if k not in keys:
                wide[k] = ALL
        wide["level"] = level
        frames.append(wide)
    d = pd.concat(frames, ignore_index=True)
    d = d.drop_duplicates(["level", "outcome", "crime_type", "age_band", "trial"])
    return pd.DataFrame(
        {
            "level": d["level"],
            "outcome": d["outcome"].astype(str),
            "crime_type": d["crime_type"].astype(str),
            "age_band": d["age_band"].astype(str),
            "trial": d["trial"].astype(str),
            "n_treatment": d.get("n_treatment", 0).astype(int),
            "n_control": d.get("n_control", 0).astype(int),
            "events_treatment": d.get("events_treatment", 0).astype(int),
            "events_control": d.get("events_control", 0).astype(int),
        }
    )


__all__ = [
    "ALL",
    "EFFECT_COLUMNS",
    "LEVELS",
    "effects_table",
    "estimate_groups",
    "g_computation",
    "hdi",
    "insert_published",
    "published_rows",
    "summarise_ratios",
]
