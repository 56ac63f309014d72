"""Plain-language sentences and disclosure control (no MCMC)."""

from __future__ import annotations

import pandas as pd
import pytest

from fd_bayes.report.disclosure import suppress_small_cells
from fd_bayes.report.sentences import effect_sentence, percent
from fd_bayes.report.summary import summary_markdown
from fd_bayes.report.trials import trial_rows_markdown, trial_table
from tests.helpers import report_fit


def _row(**kw):
    base = {
        "level": "crime_type",
        "outcome": "offending",
        "crime_type": "knife",
        "age_band": "all",
        "rr_median": 0.42,
        "rr_lower": 0.21,
        "rr_upper": 0.79,
        "p_reduction": 0.995,
        "p_reduction_50": 0.62,
    }
    return pd.Series({**base, **kw})


def test_reduction_sentence():
    text = effect_sentence(_row())
    assert "an estimated 58% fewer knife offences" in text
    assert "(95% credible interval: 21% to 79% fewer)" in text
    assert "reduced knife offending is more than 99%" in text
    assert "by at least half is 62%" in text


def test_interval_crossing_one_and_increase():
    text = effect_sentence(
        _row(
            rr_median=1.2,
            rr_lower=0.8,
            rr_upper=1.7,
            p_reduction=0.2,
            p_reduction_50=0.0,
            outcome="victimisation",
            age_band="11-17",
        )
    )
    assert "Young people aged 11-17" in text
    assert "were victims of an estimated 20% more knife victimisations" in text
    assert "from 20% fewer to 70% more" in text
    assert "by at least half is less than 1%" in text


def test_percent_never_claims_certainty():
    assert percent(1.0) == "more than 99%"
    assert percent(0.0) == "less than 1%"
    assert percent(0.5) == "50%"


def test_small_cells_are_suppressed():
    table = pd.DataFrame(
        {
            "level": ["cell", "cell"],
            "rr_median": [0.5, 0.7],
            "n_treatment": [3, 20],
            "n_control": [40, 60],
            "events_treatment": [1, 9],
            "events_control": [12, 30],
            "note": ["", ""],
        }
    )
    out = suppress_small_cells(table, threshold=5)
    assert out.loc[0, ["n_treatment", "n_control", "events_treatment"]].isna().all()
    assert "suppressed" in out.loc[0, "note"]
    assert out.loc[1, "events_treatment"] == 9 and out.loc[1, "note"] == ""
    assert out.loc[0, "rr_median"] == 0.5  # estimates are kept


def test_export_refuses_person_ids():
    with pytest.raises(ValueError, match="person identifiers"):
        suppress_small_cells(
            pd.DataFrame({"person_id": ["a"], "n_treatment": [9], "n_control": [9]})
        )


# --- the pooled-trials table in summary.md and pooled.md ------------------------------------

TAU_NOTE = "between-trial SD prior: trial_sd ~ HalfNormal(sigma=0.5)"
NO_EVENTS = "no events in follow-up in either arm: the estimate reflects the prior"


def _pooled(effects: pd.DataFrame) -> pd.DataFrame:
    """``effects`` plus hand-made trial rows (two trials, one crime type) and new-site rows."""
    base = effects[effects["level"] == "overall"].iloc[0].to_dict()
    made = [
        ("trial", "A", "all", 0.52, 0.30, 0.88, 0.987, TAU_NOTE),
        ("trial", "A", "knife", 0.47, 0.20, 1.04, 0.962, f"{NO_EVENTS}; {TAU_NOTE}"),
        ("trial", "B", "all", 0.93, 0.51, 1.62, 0.61, TAU_NOTE),
        ("new_trial", "all", "all", 0.70, 0.25, 1.95, 0.804, TAU_NOTE),
    ]
    rows = [
        {**base, "level": lv, "trial": t, "crime_type": c, "rr_median": m, "rr_lower": lo,
         "rr_upper": hi, "p_reduction": p, "note": note}
        for lv, t, c, m, lo, hi, p, note in made
    ]  # fmt: skip
    return pd.concat([effects, pd.DataFrame(rows)], ignore_index=True)


@pytest.fixture(scope="module")
def single():
    fit, _ = report_fit()
    return fit, fit.effects()


def test_trial_table_numbers_and_notes(single):
    _, effects = single
    table = trial_table(_pooled(effects), prob=0.9)
    assert table["header"][4] == "90% HDI" and table["header"][-1] == "note"
    assert [r["cells"] for r in table["rows"]] == [
        ["offending", "A", "all crime types", "0.52", "0.30 to 0.88", "99%", ""],
        ["offending", "A", "knife", "0.47", "0.20 to 1.04", "96%", NO_EVENTS],
        ["offending", "B", "all crime types", "0.93", "0.51 to 1.62", "61%", ""],
        ["offending", "new site", "all crime types", "0.70", "0.25 to 1.95", "80%", ""],
    ]
    assert [r["summary"] for r in table["rows"]] == [True, False, True, True]
    assert table["notes"] == [TAU_NOTE]  # shared by every row: said once
    assert trial_table(effects) is None and trial_rows_markdown(effects) == ""


def test_summary_has_the_pooled_trials_table(single):
    fit, effects = single
    pooled = _pooled(effects)
    text = summary_markdown(fit, pooled)
    section = trial_rows_markdown(pooled, heading="## Pooled trials")
    assert section in text  # the same table as pooled.md, one function
    assert "| offending | B | all crime types | 0.93 | 0.51 to 1.62 | 61% |  |" in text
    assert f"Note: {TAU_NOTE}." in text
    assert text.index("## Effects by crime type") < text.index("## Pooled trials")
    assert text.index("## Pooled trials") < text.index("## Diagnostics")
    # the new site's finding follows the overall one
    assert (
        "At a new site (one not among the pooled trials), young people offered the "
        "intervention would be expected to have an estimated 30% fewer offences than "
        "without it (95% credible interval: from 75% fewer to 95% more). The probability "
        "that a new site sees a reduction in offending is 80%."
    ) in text
    # trial rows stay out of the effects-by-crime-type table and the other findings
    plain = summary_markdown(fit, effects)
    assert _between(text, "## Effects by crime type", "## Pooled trials") == _between(
        plain, "## Effects by crime type", "## Diagnostics"
    )
    findings = _between(text, "## Key findings", "## Effects").splitlines()
    assert [x for x in findings if "new site" not in x] == _between(
        plain, "## Key findings", "## Effects"
    ).splitlines()


def _between(text: str, start: str, end: str) -> str:
    return text[text.index(start) : text.index(end)]


def test_single_trial_summary_is_unchanged_by_pooling(single):
    fit, effects = single
    text = summary_markdown(fit, effects)
    assert "Pooled trials" not in text and "new site" not in text


def test_pooled_md_is_the_report_function():
    from fd_bayes.report import trials

    with pytest.warns(DeprecationWarning, match="fd_bayes.report.trials"):
        from fd_bayes.pooling import trial_rows_markdown
    assert trial_rows_markdown is trials.trial_rows_markdown


def test_a_trial_without_events_makes_no_claim_anywhere_in_the_report():
    """Every follow-up count zero: the posterior still leans to a reduction (the zeros
    pull the treated rate down through the intercept's prior), so the report must not
    read a probability or an estimate off it."""
    from fd_bayes.report.html import render_html

    fit, _ = report_fit()
    fit.design.post_count[:] = 0
    fit.__dict__.pop("_potential_outcomes", None)
    effects = fit.effects()
    assert not effects["informed"].any()
    md = summary_markdown(fit, effects)
    html = render_html(fit, effects=effects)
    for text in (md, html):
        assert "probability that the intervention reduced" not in text
        assert "fewer offences than the control group" not in text
        assert "The data say too little about offending for a claim" in text
    assert "weakly informed: no claim" in md
    assert "Read together" not in md  # no informed crime type: no joint statement


def test_shrinkage_is_said_where_pooling_moved_a_crime_type_towards_the_others():
    from fd_bayes.report.side_by_side import with_shrinkage_notes

    base = {"outcome": "offending", "age_band": "all", "trial": "all", "informed": True}
    effects = pd.DataFrame(
        [
            {**base, "level": "overall", "crime_type": "all", "rr_median": 0.6, "note": ""},
            # moved from 0.30 towards 0.6 by a factor 2: said
            {**base, "level": "crime_type", "crime_type": "knife", "rr_median": 0.6, "note": ""},
            # moved by a factor 1.1 only: not said
            {**base, "level": "crime_type", "crime_type": "drugs", "rr_median": 0.55, "note": ""},
            # moved away from the others: not shrinkage
            {**base, "level": "crime_type", "crime_type": "robbery", "rr_median": 0.4, "note": ""},
            # weakly informed: its own note stands alone
            {
                **base,
                "level": "crime_type",
                "crime_type": "sexual",
                "rr_median": 0.6,
                "note": "weakly informed",
                "informed": False,
            },
        ]
    )
    nb = pd.DataFrame(
        {
            "method": "negbin_glm",
            "measure": "rate_ratio",
            "outcome": "offending",
            "age_band": "all",
            "crime_type": ["knife", "drugs", "robbery", "sexual"],
            "estimate": [0.30, 0.50, 0.55, 0.2],
        }
    )
    notes = with_shrinkage_notes(effects, nb).set_index("crime_type")["note"]
    assert notes["knife"].startswith("partial pooling moved this estimate towards")
    assert "is 0.30, pooled 0.60" in notes["knife"]
    assert notes["drugs"] == "" and notes["robbery"] == ""
    assert notes["sexual"] == "weakly informed"
