"""Adaptive sampling in a real fit: rounds, provenance, report, reproducibility.

Deliberately tiny settings (2 chains x 30 draws) make every round fail its ESS
threshold, so the cap is reached: the test is about the machinery, not about whether
the defaults converge (that is ``benchmarks/bench_convergence.py``'s question).
"""

from __future__ import annotations

import numpy as np
import pytest

import fd_bayes as fdb
from fd_bayes.constants import ADAPT_MAX_ROUNDS
from fd_bayes.errors import DiagnosticsWarning
from fd_bayes.report.html import render_html
from fd_bayes.report.summary import summary_markdown

TINY = {"draws": 30, "tune": 30, "chains": 2, "progress": False, "predictive": False}


@pytest.fixture(scope="module")
def adaptive():
    with pytest.warns(DiagnosticsWarning):
        return fdb.fit(fdb.example_trial(), seed=5, **TINY)


def test_rounds_double_until_the_cap(adaptive):
    rounds = adaptive.rounds
    assert len(rounds) == ADAPT_MAX_ROUNDS
    assert [(r.draws, r.tune) for r in rounds] == [(30, 30), (60, 60), (120, 120)]
    assert not any(r.passed for r in rounds)
    assert all(r.failing for r in rounds)  # each names the variables that failed
    # the fit is the last round, and its provenance says so
    assert adaptive.idata.posterior.sizes["draw"] == 120
    info = adaptive.info
    assert (info["draws"], info["tune"], info["rounds"], info["adapt"]) == (120, 120, 3, 1)
    assert info["sampling_seconds"] == pytest.approx(sum(r.seconds for r in rounds))


def test_the_report_and_the_note_say_how_it_went(adaptive):
    note = adaptive.sampling_note()
    assert note.startswith(f"The diagnostics still failed after {ADAPT_MAX_ROUNDS} rounds")
    assert note in summary_markdown(adaptive, adaptive.effects())
    html = render_html(adaptive, densities=False)
    assert f'<p class="sampling-note">{note}</p>' in html
    assert "<th>sampling rounds</th><td><code>3 (adaptive)</code>" in html


def test_adapt_false_is_the_first_round():
    with pytest.warns(DiagnosticsWarning):
        single = fdb.fit(fdb.example_trial(), seed=5, adapt=False, **TINY)
    with pytest.warns(DiagnosticsWarning):
        again = fdb.fit(fdb.example_trial(), seed=5, **TINY)
    assert len(single.rounds) == 1 and single.info["adapt"] == 0
    # same seed, same rounds: the adaptive fit's first round is the single run
    assert again.rounds[0].seed == single.rounds[0].seed
    assert again.rounds[0].max_rhat == single.diagnostics()["max_rhat"]


def test_same_seed_same_result(adaptive):
    with pytest.warns(DiagnosticsWarning):
        again = fdb.fit(fdb.example_trial(), seed=5, **TINY)
    assert [r.seed for r in again.rounds] == [r.seed for r in adaptive.rounds]
    np.testing.assert_array_equal(
        again.idata.posterior["effect_overall"].values,
        adaptive.idata.posterior["effect_overall"].values,
    )
