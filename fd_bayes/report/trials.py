"""The "Pooled trials" table of a multi-trial fit: each trial's effect and a new site's.

A pooled fit's effects table has ``trial`` rows (each trial's shrunken effect, the trial
named in the ``trial`` column) and ``new_trial`` rows (the predictive effect in a new
site). :func:`trial_table` lays them out once, for every report that shows them:
``report.html``, ``summary.md`` and the CLI's ``pooled.md``
(:func:`trial_rows_markdown`). Single-trial tables have no such rows and no table.
"""

from __future__ import annotations

import pandas as pd

from fd_bayes.constants import HDI_PROB
from fd_bayes.report.sentences import percent

#: Levels of the effects table shown in the pooled-trials table.
TRIAL_LEVELS = ("trial", "new_trial")
#: How the ``new_trial`` rows are labelled in the ``trial`` column of the table.
NEW_SITE = "new site"
#: What the rows mean, said once above the table.
EXPLANATION = (
    "Each trial's effect is its shrunken (partially pooled) rate ratio, g-computed over "
    "that trial's treated people; the new-site row is the predictive effect for a site "
    "not in the data, and its P(reduction) is the probability that a new site sees a "
    "reduction."
)


def has_trial_rows(effects: pd.DataFrame) -> bool:
    """Whether ``effects`` has ``trial`` or ``new_trial`` rows (a pooled multi-trial fit)."""
    return bool(effects["level"].isin(TRIAL_LEVELS).any())


def trial_rows(effects: pd.DataFrame) -> pd.DataFrame:
    """The ``trial`` and ``new_trial`` rows in reading order.

    Per outcome (in table order): each trial (in table order), then the new site; within
    each, the overall row (crime type ``all``) first, then the crime types.
    """
    rows = effects[effects["level"].isin(TRIAL_LEVELS)]
    outcomes = {o: i for i, o in enumerate(pd.unique(rows["outcome"]))}
    trials = {t: i for i, t in enumerate(pd.unique(rows["trial"]))}
    order = pd.DataFrame(
        {
            "outcome": rows["outcome"].map(outcomes),
            "new": rows["level"] == "new_trial",
            "trial": rows["trial"].map(trials),
            "crime": rows["crime_type"] != "all",
        },
        index=rows.index,
    )
    return rows.loc[order.sort_values(list(order.columns), kind="stable").index]


def _note_parts(note) -> list[str]:
    if note is None or pd.isna(note) or not str(note):
        return []
    return [p.strip() for p in str(note).split(";") if p.strip()]


def trial_table(effects: pd.DataFrame, prob: float = HDI_PROB) -> dict | None:
    """The pooled-trials table of ``effects``, formatted; ``None`` without trial rows.

    Parameters
    ----------
    effects : pandas.DataFrame
        A table of :meth:`fd_bayes.Fit.effects` (before disclosure control: the table
        shows no counts).
    prob : float
        The probability of the table's intervals (for the header).

    Returns
    -------
    dict or None
        ``header`` (column names), ``rows`` (each ``cells``, a list of strings, and
        ``summary``, true for the overall rows), ``notes`` (note parts shared by every
        row, e.g. the heterogeneity prior, shown once under the table) and
        ``explanation``. Note parts that only some rows have fill a last ``note``
        column.
    """
    rows = trial_rows(effects)
    if rows.empty:
        return None
    parts = [_note_parts(n) for n in rows["note"]]
    shared = [p for p in dict.fromkeys(parts[0]) if all(p in x for x in parts)]
    own = [[p for p in x if p not in shared] for x in parts]
    header = [
        "outcome",
        "trial",
        "crime type",
        "RR median",
        f"{round(100 * prob)}% HDI",
        "P(reduction)",
    ]
    if any(own):
        header.append("note")
    out = []
    for (_, r), extra in zip(rows.iterrows(), own, strict=True):
        cells = [
            str(r["outcome"]),
            NEW_SITE if r["level"] == "new_trial" else str(r["trial"]),
            "all crime types" if r["crime_type"] == "all" else str(r["crime_type"]),
            f"{r['rr_median']:.2f}",
            f"{r['rr_lower']:.2f} to {r['rr_upper']:.2f}",
            percent(r["p_reduction"]),
        ]
        if any(own):
            cells.append("; ".join(extra))
        out.append({"cells": cells, "summary": r["crime_type"] == "all"})
    return {"header": header, "rows": out, "notes": shared, "explanation": EXPLANATION}


def trial_rows_markdown(
    effects: pd.DataFrame,
    prob: float = HDI_PROB,
    heading: str = "# Pooled trials (individual data)",
) -> str:
    """The ``trial`` and ``new_trial`` rows of a pooled fit's effects table as Markdown.

    The section of ``summary.md`` (``heading="## Pooled trials"``) and the CLI's
    ``pooled.md``; an empty string when ``effects`` has no such rows.

    Examples
    --------
    >>> import pandas as pd
    >>> effects = pd.DataFrame({"level": ["overall", "trial", "new_trial"],
    ...     "outcome": "offending", "crime_type": "all", "trial": ["all", "A", "all"],
    ...     "rr_median": [0.6, 0.5, 0.62], "rr_lower": [0.4, 0.3, 0.2],
    ...     "rr_upper": [0.9, 0.8, 1.9], "p_reduction": [0.99, 0.995, 0.83],
    ...     "note": ["", "tau prior", "tau prior"]})
    >>> print(trial_rows_markdown(effects, heading="## Pooled trials"))
    ... # doctest: +NORMALIZE_WHITESPACE
    ## Pooled trials
    <BLANKLINE>
    Each trial's effect is its shrunken (partially pooled) rate ratio, g-computed over
    that trial's treated people; the new-site row is the predictive effect for a site
    not in the data, and its P(reduction) is the probability that a new site sees a
    reduction.
    <BLANKLINE>
    | outcome | trial | crime type | RR median | 95% HDI | P(reduction) |
    |---|---|---|---|---|---|
    | offending | A | all crime types | 0.50 | 0.30 to 0.80 | more than 99% |
    | offending | new site | all crime types | 0.62 | 0.20 to 1.90 | 83% |
    <BLANKLINE>
    Note: tau prior.
    """
    table = trial_table(effects, prob)
    if table is None:
        return ""
    header = table["header"]
    lines = [
        heading,
        "",
        table["explanation"],
        "",
        "| " + " | ".join(header) + " |",
        "|" + "|".join("---" for _ in header) + "|",
        *("| " + " | ".join(r["cells"]) + " |" for r in table["rows"]),
    ]
    if table["notes"]:
        lines += ["", *(f"Note: {n}." for n in table["notes"])]
    return "\n".join(lines) + "\n"


__all__ = [
    "EXPLANATION",
    "NEW_SITE",
    "TRIAL_LEVELS",
    "has_trial_rows",
    "trial_rows",
    "trial_rows_markdown",
    "trial_table",
]
