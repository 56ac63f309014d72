"""The operating-characteristics study on a tiny design against a case whose answer is
known: with no effect and a prior symmetric about no effect, the posterior median rate
ratio falls below 1 in half of the trials, so the claim "P(reduction) > 0.5" appears
at a rate of 0.5 (within its Monte Carlo error); the family-wise rate is at least every
row's."""

from __future__ import annotations

import pytest

import fd_bayes as fdb

pytestmark = pytest.mark.filterwarnings("ignore::fd_bayes.errors.DiagnosticsWarning")


def test_the_false_positive_rate_of_a_known_case():
    trial, _ = fdb.simulate_trial(40, 40, crime_types={"knife": 0.6, "violence": 1.0}, seed=4)
    fit = fdb.fit(
        trial,
        "poisson_hier",
        draws=300,
        tune=300,
        chains=2,
        seed=1,
        progress=False,
        adapt=False,
    )
    study = fdb.claims(fit, n_sims=40, seed=2, threshold=0.5, workers=1, draws=200, tune=200)
    table = study.table()
    rows = table[table["estimand"] != "family"]
    for r in rows.itertuples():
        assert abs(r.claim_rate_no_effect - 0.5) < 3 * max(r.claim_rate_no_effect_mc_se, 0.079)
    family = table[table["estimand"] == "family"]
    worst = rows[rows["estimand"] == "crime_type"]["claim_rate_no_effect"].max()
    assert (family["claim_rate_no_effect"] >= worst - 1e-12).all()
    assert len(study.records) == 80  # 40 trials per scenario
    assert study.sentences()
