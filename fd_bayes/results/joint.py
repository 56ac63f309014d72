"""Joint statements: what the posterior says about several rows of the effects table at once.

The report lists one P(reduction) per crime type x outcome. Read together, ten rows each
with P(reduction) > 0.95 do not make a 0.95 probability that all ten are reductions, and
with no effect at all one row in ten crossing 0.95 is no surprise. The statements here
are computed per posterior draw from the same g-computed rate ratios as the effects
table (the potential outcomes of :meth:`fd_bayes.Fit.potential_outcomes` and the groups
of :func:`~fd_bayes.results.effects.estimate_groups`), so they are exact posterior
probabilities of the joint events, never products or a second fit:

- the probability that the intervention reduced offending in at least one, at least
  half, and all of the crime types;
- the expected number of crime types with a reduction;
- for the rows the report flags (P(reduction) above ``threshold``), the probability
  that every flagged row is a reduction.

Only crime types the data informed (the effects table's ``informed``) take part: a
joint statement about rows whose estimates are the prior's would be a claim the data do
not carry.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from fd_bayes.results.effects import estimate_groups, g_computation

#: The P(reduction) above which the report flags a row (and the joint statements ask
#: whether every flagged row is a reduction).
FLAG_PROBABILITY = 0.95

JOINT_COLUMNS = ["outcome", "statement", "value", "n_rows", "rows"]


def _reduced(rr: np.ndarray) -> np.ndarray:
    return rr < 1.0


def joint_from_draws(
    rr: np.ndarray, labels: list[str], flagged: np.ndarray, outcome: str
) -> list[dict]:
    """The joint statements of one outcome from crime-type rate-ratio draws ``rr``
    (draws, crime types), their ``labels`` and which of them are ``flagged``."""
    k = rr.shape[1]
    if k == 0:
        return []
    down = _reduced(rr)
    n_down = down.sum(axis=1)
    half = math.ceil(k / 2)
    names = ", ".join(labels)
    out = [
        ("P(reduced in at least one crime type)", float((n_down >= 1).mean()), k, names),
        (f"P(reduced in at least half: {half} of {k})", float((n_down >= half).mean()), k, names),
        ("P(reduced in every crime type)", float((n_down == k).mean()), k, names),
        ("expected number of crime types reduced", float(n_down.mean()), k, names),
    ]
    if flagged.any():
        chosen = [lab for lab, f in zip(labels, flagged, strict=True) if f]
        out.append(
            (
                "P(every flagged crime type is a reduction)",
                float(down[:, flagged].all(axis=1).mean()),
                int(flagged.sum()),
                ", ".join(chosen),
            )
        )
    return [
        {"outcome": outcome, "statement": s, "value": v, "n_rows": n, "rows": r}
        for s, v, n, r in out
    ]


def joint_statements(fit, threshold: float = FLAG_PROBABILITY) -> pd.DataFrame:
    """The joint statements of every outcome of ``fit`` (see the module's docstring).

    Parameters
    ----------
    fit : Fit
        A fitted model (fresh or loaded).
    threshold : float
        A crime type is *flagged* when its P(reduction) exceeds this (default 0.95).

    Returns
    -------
    pandas.DataFrame
        ``outcome``, ``statement``, ``value`` (a probability, or the expected number of
        crime types), ``n_rows`` (how many crime types the statement is about) and
        ``rows`` (their names). Empty for an outcome where no crime type is informed.
    """
    if not 0 < threshold < 1:
        raise ValueError(f"threshold must be between 0 and 1, got {threshold!r}")
    effects = fit.effects(harm_weights={})
    po = fit.potential_outcomes()
    groups = estimate_groups(po.rows, None)
    rows = []
    for outcome in pd.unique(effects["outcome"]):
        picked = [
            j
            for j, g in enumerate(groups)
            if g["level"] == "crime_type" and g["outcome"] == outcome and g["trial"] == "all"
        ]
        table = effects[
            (effects["level"] == "crime_type")
            & (effects["outcome"] == outcome)
            & (effects["trial"] == "all")
        ].set_index("crime_type")
        keep = [j for j in picked if bool(table.loc[groups[j]["crime_type"], "informed"])]
        if not keep:
            continue
        membership = np.column_stack([groups[j]["weights"] for j in keep])
        rr, _ = g_computation(po.treatment, po.control, membership)
        labels = [str(groups[j]["crime_type"]) for j in keep]
        flagged = np.array([table.loc[lab, "p_reduction"] > threshold for lab in labels])
        rows += joint_from_draws(rr, labels, flagged, str(outcome))
    return pd.DataFrame(rows, columns=JOINT_COLUMNS)


__all__ = ["FLAG_PROBABILITY", "JOINT_COLUMNS", "joint_from_draws", "joint_statements"]
