"""A claims study's summaries from hand-made records (no MCMC): rates, family-wise
rates and coverage with their Monte Carlo errors, and the words for them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fd_bayes.plan.claims import SCENARIOS, ClaimsStudy, study_sentences
from fd_bayes.plan.decision import Estimand

ESTIMANDS = (
    Estimand(level="crime_type", outcome="offending", crime_type="knife"),
    Estimand(level="crime_type", outcome="offending", crime_type="drugs"),
    Estimand(level="overall", outcome="offending"),
)


def _records(claims: dict, covered: dict, n: int = 4) -> pd.DataFrame:
    rows = []
    for s in SCENARIOS:
        for i in range(n):
            row = {"scenario": s}
            for e in ESTIMANDS:
                key = f"{e.outcome}|{e.level}|{e.crime_type}"
                row[f"claim|{key}"] = bool(claims[(s, e.crime_type)][i])
                row[f"covered|{key}"] = bool(covered[(s, e.crime_type)][i])
                row[f"p|{key}"] = 0.5
            rows.append(row)
    return pd.DataFrame(rows)


def test_rates_family_wise_rates_and_coverage():
    none, est = SCENARIOS
    claims = {
        (none, "knife"): [1, 0, 0, 0],
        (none, "drugs"): [0, 1, 0, 0],
        (none, "all"): [0, 0, 0, 0],
        (est, "knife"): [1, 1, 1, 0],
        (est, "drugs"): [1, 0, 0, 0],
        (est, "all"): [1, 1, 0, 0],
    }
    covered = {k: [1, 1, 1, 0] for k in claims}
    study = ClaimsStudy(_records(claims, covered), ESTIMANDS, 0.95, 4, 1, "here", 1.0)
    table = study.table().set_index(["estimand", "crime_type", "outcome"])
    knife = table.loc[("crime_type", "knife", "offending")]
    assert knife["claim_rate_no_effect"] == 0.25
    assert knife["claim_rate_no_effect_mc_se"] == pytest.approx(np.sqrt(0.25 * 0.75 / 4))
    assert knife["claim_rate_estimated_effect"] == 0.75
    assert knife["coverage_no_effect"] == 0.75
    family = table.loc[("family", "all", "at least one offending crime type")]
    assert family["claim_rate_no_effect"] == 0.5  # trials 1 and 2: one row each
    assert family["claim_rate_estimated_effect"] == 0.75
    assert np.isnan(family["coverage_no_effect"])
    words = study.sentences()
    assert words[0].startswith("In 4 simulated trials of this design in which the intervention")
    assert "at least one offending crime type had P(reduction) above 95% in 50%" in words[0]
    assert study_sentences(study.table(), 4, 0.95) == words


def test_write_and_read_back(tmp_path):
    from fd_bayes.plan.claims import read_study

    claims = {(s, c): [0, 1, 0, 1] for s in SCENARIOS for c in ("knife", "drugs", "all")}
    study = ClaimsStudy(_records(claims, claims), ESTIMANDS, 0.9, 4, 7, "here", 2.0)
    assert read_study(tmp_path) is None
    study.write(tmp_path)
    table, meta = read_study(tmp_path)
    assert meta["n_sims"] == 4 and meta["seed"] == 7 and meta["threshold"] == 0.9
    pd.testing.assert_frame_equal(table, study.table(), check_dtype=False)
