"""The Bayesian estimates next to the frequentist comparisons, one row per estimate."""

from __future__ import annotations

import numpy as np
import pandas as pd

from fd_bayes import frequentist as freq_module
from fd_bayes.constants import SHRINKAGE_NOTE_FACTOR
from fd_bayes.data import Trial

#: Frequentist methods whose p-values are shown beside the NB GLM (measure in brackets).
P_VALUE_METHODS = (
    ("poisson_glm", "rate_ratio"),
    ("rate_test", "rate_ratio"),
    ("mann_whitney", "rank_biserial"),
    ("welch_t", "difference"),
    ("fisher_any", "risk_ratio"),
    ("randomisation", "rate_ratio"),
)
KEYS = ["outcome", "crime_type"]


def side_by_side(fit, frequentist, effects: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per outcome x crime type (and overall): posterior beside classical results.

    Parameters
    ----------
    fit : Fit
        A fitted model (fresh or loaded).
    frequentist : Trial or DataFrame
        The trial (``fd_bayes.frequentist.compare`` is then run with its defaults and
        seed 0) or a table that ``compare`` returned.
    effects : DataFrame, optional
        The fit's effects table, where the caller has it (its crime type and overall
        rows are taken, whatever its harm weights; its intervals are at its ``prob``).
        Computed at the 95% default when not given.

    Returns
    -------
    pandas.DataFrame
        ``outcome``, ``crime_type``; the Bayesian ``rr_median``, ``rr_lower``,
        ``rr_upper`` (HDI) and ``p_reduction``; the NB GLM's ``nb_rr``, ``nb_lower``,
        ``nb_upper``, ``nb_p``; and ``p_<method>`` for the other tests. Bands are pooled
        (``age_band`` "all" on both sides).
    """
    table = (
        freq_module.compare(frequentist, seed=0) if isinstance(frequentist, Trial) else frequentist
    )
    if effects is None:
        effects = fit.effects(harm_weights={})
    bayes = effects[effects["level"].isin(["crime_type", "overall"])]
    bayes = bayes[[*KEYS, "rr_median", "rr_lower", "rr_upper", "p_reduction"]]
    pooled = table[table["age_band"] == "all"]
    nb = pooled[(pooled["method"] == "negbin_glm") & (pooled["measure"] == "rate_ratio")]
    nb = nb[[*KEYS, "estimate", "lower", "upper", "p_value"]].rename(
        columns={"estimate": "nb_rr", "lower": "nb_lower", "upper": "nb_upper", "p_value": "nb_p"}
    )
    out = bayes.merge(nb, on=KEYS, how="left")
    for method, measure in P_VALUE_METHODS:
        part = pooled[(pooled["method"] == method) & (pooled["measure"] == measure)]
        part = part[[*KEYS, "p_value"]].rename(columns={"p_value": f"p_{method}"})
        out = out.merge(part, on=KEYS, how="left")
    return out.reset_index(drop=True)


def with_shrinkage_notes(effects: pd.DataFrame, frequentist: pd.DataFrame) -> pd.DataFrame:
    """``effects`` with a note on each crime-type row that partial pooling moved.

    A crime type's *unpooled* estimate is the NB GLM rate ratio of that crime type alone
    (the frequentist table's ``negbin_glm`` row, all age bands). Where the posterior
    median lies at least :data:`~fd_bayes.constants.SHRINKAGE_NOTE_FACTOR` from it and on
    the side of the outcome's overall rate ratio (pooling pulled it towards the other
    crime types), the row's ``note`` says so, with both numbers. Rows the data barely
    informed, and rows without a GLM estimate, are left as they are.
    """
    nb = frequentist[
        (frequentist["method"] == "negbin_glm")
        & (frequentist["measure"] == "rate_ratio")
        & (frequentist["age_band"] == "all")
    ].set_index(["outcome", "crime_type"])["estimate"]
    out = effects.copy()
    overall = out[(out["level"] == "overall") & (out["trial"] == "all")].set_index("outcome")
    limit = np.log(SHRINKAGE_NOTE_FACTOR)
    for i in np.flatnonzero(((out["level"] == "crime_type") & (out["trial"] == "all")).to_numpy()):
        row = out.iloc[i]
        alone = nb.get((row["outcome"], row["crime_type"]))
        if alone is None or not np.isfinite(alone) or alone <= 0 or not bool(row["informed"]):
            continue
        pooled, centre = np.log(row["rr_median"]), np.log(overall.loc[row["outcome"], "rr_median"])
        moved = pooled - np.log(alone)
        towards = np.sign(moved) == np.sign(centre - np.log(alone))
        if abs(moved) >= limit and towards:
            text = (
                f"partial pooling moved this estimate towards the other crime types: on its "
                f"own (NB GLM of this crime type alone) the rate ratio is {alone:.2f}, pooled "
                f"{row['rr_median']:.2f}"
            )
            note = str(row["note"]) if isinstance(row["note"], str) else ""
            out.iloc[i, out.columns.get_loc("note")] = f"{note}; {text}" if note else text
    return out
