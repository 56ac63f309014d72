"""Joint statements from hand-made draws (no MCMC): exact shares of draws of the joint
events, and only over crime types the data informed."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fd_bayes.results.joint import joint_from_draws
from tests.helpers import handmade_fit, small_counts


def _by_statement(rows: list[dict]) -> dict[str, float]:
    return {r["statement"]: r["value"] for r in rows}


def test_joint_probabilities_are_shares_of_draws_of_the_joint_event():
    # four draws x three crime types, chosen so that every statement has a known value
    rr = np.array(
        [
            [0.5, 0.8, 0.9],  # all three reduced
            [0.5, 1.2, 1.1],  # one
            [1.5, 1.2, 1.1],  # none
            [0.7, 0.9, 1.3],  # two
        ]
    )
    flagged = np.array([True, True, False])
    got = _by_statement(joint_from_draws(rr, ["a", "b", "c"], flagged, "offending"))
    assert got["P(reduced in at least one crime type)"] == 0.75
    assert got["P(reduced in at least half: 2 of 3)"] == 0.5
    assert got["P(reduced in every crime type)"] == 0.25
    assert got["expected number of crime types reduced"] == (3 + 1 + 0 + 2) / 4
    assert got["P(every flagged crime type is a reduction)"] == 0.5  # draws 1 and 4


def test_independent_rows_each_likely_are_jointly_less_likely():
    # ten crime types, each P(reduction) ~0.96 and independent: jointly ~0.96^10
    rng = np.random.default_rng(1)
    rr = np.exp(rng.normal(-1.75, 1.0, size=(200_000, 10)))
    each = (rr < 1).mean(axis=0)
    assert (each > 0.95).all()
    got = _by_statement(joint_from_draws(rr, list("abcdefghij"), each > 0.95, "o"))
    assert got["P(every flagged crime type is a reduction)"] == pytest.approx(
        np.prod(each), abs=0.01
    )
    assert got["P(every flagged crime type is a reduction)"] < 0.7


def test_no_flagged_row_gives_no_flagged_statement():
    rr = np.full((10, 2), 1.1)
    got = _by_statement(joint_from_draws(rr, ["a", "b"], np.array([False, False]), "o"))
    assert "P(every flagged crime type is a reduction)" not in got
    assert got["P(reduced in at least one crime type)"] == 0.0


def test_fit_joint_statements_use_the_effects_tables_draws():
    fit, _, _ = handmade_fit(small_counts(), intercept=-0.5, theta=-0.7)
    table = fit.joint_statements()
    assert set(table["outcome"]) <= set(fit.effects()["outcome"])
    for outcome, part in table.groupby("outcome"):
        crimes = fit.effects()
        crimes = crimes[(crimes["level"] == "crime_type") & (crimes["outcome"] == outcome)]
        draws = np.column_stack(
            [
                fit.effect_draws(outcome, "crime_type", c).ravel()
                for c in crimes["crime_type"]
                if bool(crimes.set_index("crime_type").loc[c, "informed"])
            ]
        )
        values = dict(zip(part["statement"], part["value"], strict=True))
        assert values["P(reduced in every crime type)"] == pytest.approx(
            float((draws < 1).all(axis=1).mean())
        )
        assert values["expected number of crime types reduced"] == pytest.approx(
            float((draws < 1).sum(axis=1).mean())
        )


def test_threshold_is_checked():
    fit, _, _ = handmade_fit(small_counts(), intercept=-0.5, theta=-0.7)
    with pytest.raises(ValueError, match="threshold"):
        fit.joint_statements(threshold=1.5)
    assert isinstance(fit.joint_statements(0.5), pd.DataFrame)
