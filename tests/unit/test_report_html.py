"""The verbal scale, key-findings sentences and the self-contained HTML report (no MCMC)."""

from __future__ import annotations

import itertools
import re

import numpy as np
import pandas as pd
import pytest

import fd_bayes as fdb
from fd_bayes.inference import idata as infd
from fd_bayes.report.html import (
    data_description,
    findings_table,
    key_findings,
    render_html,
    stars,
)
from fd_bayes.report.sentences import (
    VERBAL_SCALE,
    effect_sentence,
    finding_sentence,
    percent,
    verbal_probability,
    verbal_scale_rows,
)
from tests.helpers import report_fit as handmade_fit


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


# --- the verbal scale ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("p", "words"),
    [
        (1.0, "virtually certain"),
        (0.995, "virtually certain"),
        (0.99, "extremely likely"),  # printed "99%", not "more than 99%"
        (0.9899, "extremely likely"),
        (0.95, "extremely likely"),
        (0.9449, "very likely"),  # printed "94%"
        (0.90, "very likely"),
        (0.8949, "likely"),  # printed "89%"
        (0.66, "likely"),
        (0.6549, "about as likely as not"),
        (0.5, "about as likely as not"),
        (0.33, "about as likely as not"),
        (0.3249, "unlikely"),
        (0.10, "unlikely"),
        (0.0949, "very unlikely"),
        (0.05, "very unlikely"),
        (0.0449, "extremely unlikely"),
        (0.01, "extremely unlikely"),
        (0.0099, "exceptionally unlikely"),
        (0.0, "exceptionally unlikely"),
    ],
)
def test_verbal_scale_boundaries(p, words):
    assert verbal_probability(p) == words


def test_a_printed_percentage_always_gets_the_same_words():
    grid = np.linspace(0, 1, 20001)
    by_text: dict[str, set[str]] = {}
    for p in grid:
        by_text.setdefault(percent(p), set()).add(verbal_probability(p))
    assert all(len(words) == 1 for words in by_text.values())


def test_verbal_scale_covers_unit_interval_without_certainty():
    bounds = sorted((lo, hi) for lo, hi, _ in VERBAL_SCALE)
    assert bounds[0][0] == 0.0 and bounds[-1][1] == 1.0
    assert all(a[1] == b[0] for a, b in itertools.pairwise(bounds))
    words = [w for _, _, w in VERBAL_SCALE]
    assert "certain" not in words and "impossible" not in " ".join(words)
    assert verbal_scale_rows()[0] == ("virtually certain", "more than 99%")
    assert ("extremely likely", "95% to 99%") in verbal_scale_rows()
    assert ("likely", "66% to 89%") in verbal_scale_rows()
    assert verbal_scale_rows()[-1] == ("exceptionally unlikely", "less than 1%")
    with pytest.raises(ValueError):
        verbal_probability(1.2)


# --- golden sentences ---------------------------------------------------------------------


def test_golden_reduction_finding():
    assert finding_sentence(_row()) == (
        "Young people offered the intervention were suspects in an estimated 58% fewer knife "
        "offences than the control group (95% credible interval: 21% to 79% fewer). The "
        "probability that the intervention reduced knife offending is more than 99% "
        "(virtually certain); the probability that it reduced it by at least half is 62% "
        "(about as likely as not)."
    )


def test_golden_increase_and_rounding():
    text = finding_sentence(
        _row(rr_median=1.126, rr_lower=1.014, rr_upper=1.61, p_reduction=0.004, p_reduction_50=0)
    )
    assert text == (
        "Young people offered the intervention were suspects in an estimated 13% more knife "
        "offences than the control group (95% credible interval: 1% to 61% more). The "
        "probability that the intervention reduced knife offending is less than 1% "
        "(exceptionally unlikely); the probability that it reduced it by at least half is "
        "less than 1% (exceptionally unlikely)."
    )


def test_golden_very_uncertain_and_no_change():
    row = _row(
        level="age_band",
        crime_type="all",
        age_band="11-17",
        outcome="victimisation",
        rr_median=1.004,
        rr_lower=0.3,
        rr_upper=3.2,
        p_reduction=0.49,
        p_reduction_50=0.08,
    )
    assert finding_sentence(row) == (
        "Young people aged 11-17 offered the intervention were victims of about the same "
        "number of victimisations as the control group (95% credible interval: from 70% "
        "fewer to 220% more). The probability that the intervention reduced victimisation is "
        "49% (about as likely as not); the probability that it reduced it by at least half "
        "is 8% (very unlikely). This estimate is very uncertain: the data are consistent "
        "with both halving and more than doubling."
    )
    # without the verbal scale the original wording is unchanged
    assert "(about as likely" not in effect_sentence(row)


def test_golden_harm_at_90_percent():
    text = finding_sentence(
        _row(level="harm", crime_type="all", rr_median=0.7, rr_lower=0.5, rr_upper=0.95,
             p_reduction=0.97, p_reduction_50=0.05),
        prob=0.9,
    )  # fmt: skip
    assert text.startswith(
        "Young people offered the intervention were suspects in an estimated 30% fewer "
        "harm-weighted offences than the control group (90% credible interval: 5% to 50% fewer)"
    )
    assert "reduced the harm of offending is 97% (extremely likely)" in text
    assert "very uncertain" not in text


def test_significance_stars():
    assert [stars(p) for p in (0.0004, 0.004, 0.04, 0.2, None, np.nan)] == [
        "***",
        "**",
        "*",
        "",
        "",
        "",
    ]


# --- the HTML report on a hand-made fit ---------------------------------------------------


@pytest.fixture(scope="module")
def fitted():
    return handmade_fit()


@pytest.fixture(scope="module")
def html(fitted):
    fit, trial = fitted
    table = fdb.frequentist.compare(trial, seed=1)
    return render_html(fit, frequentist=table)


def test_html_is_self_contained(html):
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", html, re.I)
    assert "@import" not in html and "<link" not in html and "<script" not in html
    images = re.findall(r"<img[^>]*\ssrc=\"([^\"]+)\"", html)
    assert len(images) == 3  # forest, densities, appendix trace/rank plots
    assert all(src.startswith("data:image/png;base64,") for src in images)
    assert "@media print" in html


def test_html_has_findings_keys_and_checklist(html, fitted):
    fit, _ = fitted
    effects = fit.effects()
    overall = effects[(effects["level"] == "overall")].iloc[0]
    assert finding_sentence(overall) in html.replace("&#39;", "'")
    assert "Key findings" in html and "Findings table" in html
    assert "Verbal probability scale" in html and "virtually certain" in html
    assert "NB GLM p" in html and "p &lt; 0.05" in html
    assert "Bayesian Analysis Reporting Guidelines" in html and "Kruschke" in html
    for item in ("Prior predictive check", "MCMC convergence", "Posterior predictive check"):
        assert item in html
    assert "Provenance" in html and "abc123" in html
    assert "disclosure threshold is\n5" in html or "disclosure threshold is 5" in html


def test_findings_table_layout(fitted):
    fit, trial = fitted
    table = findings_table(fit.effects(), fdb.frequentist.compare(trial, seed=1))
    labels = [r["label"] for r in table["rows"]]
    assert labels[:4] == ["All crime types", "Harm-weighted", "Knife", "Violence"]
    assert table["outcomes"] == ["Offending"] and table["has_p"]
    knife = table["rows"][2]["cells"][0]
    rr = fit.effects().query("level == 'crime_type' and crime_type == 'knife'").iloc[0]
    assert knife["change"] == f"{(rr['rr_median'] - 1) * 100:+.0f}%".replace("-", "−")
    assert table["rows"][1]["cells"][0]["p_value"] == "–"  # no frequentist harm


def test_html_without_frequentist_and_small_strata_is_suppressed():
    fit, _ = handmade_fit(n_per_arm=3, seed=1)
    html = render_html(fit, densities=False)
    assert "NB GLM p" not in html
    assert "<img" in html and html.count("<img") == 2  # forest, appendix
    assert "&lt;5" in html  # every count of the 3-person arms is suppressed
    assert re.search(r">\s*3\s*<", html) is None


# --- appendix chain plots and per-quantity diagnostics --------------------------------------


def test_appendix_has_trace_and_rank_plots(html):
    appendix = html[html.index('<section id="appendix">') :]
    assert "Trace plots" in appendix and "rank plots" in appendix
    assert "person_sd" in appendix  # the hand-made fit has no effect_overall/crime_sd
    assert appendix.count("<img") == 1
    assert "Chain plots (trace and rank plots)" in html


def test_headline_draws_and_rank_counts():
    from fd_bayes.plots import headline_draws, rank_counts, trace_rank_plot

    rng = np.random.default_rng(3)
    post = {
        "effect_overall": rng.normal(size=(3, 100)),
        "crime_sd": rng.normal(size=(3, 100, 2)),
        "other": rng.normal(size=(3, 100)),
    }
    draws = headline_draws(post)
    assert list(draws) == ["effect_overall", "crime_sd[0]", "crime_sd[1]"]
    assert all(x.shape == (3, 100) for x in draws.values())
    counts = rank_counts(draws["effect_overall"], bins=10)
    assert counts.shape == (3, 10) and (counts.sum(axis=1) == 100).all()
    # a chain stuck above the others has all the top ranks
    stuck = np.vstack([np.zeros(50), np.ones(50)]) + rng.normal(0, 0.01, (2, 50))
    assert rank_counts(stuck, bins=2).tolist() == [[50, 0], [0, 50]]
    fig = trace_rank_plot(draws)
    assert len(fig.axes) == 6
    import matplotlib.pyplot as plt

    plt.close(fig)


def test_quantity_diagnostics_per_reported_rate_ratio(fitted, html):
    from fd_bayes.report.html import quantity_diagnostics
    from fd_bayes.results.effects import estimate_groups, g_computation

    fit, _ = fitted
    effects = fit.effects()
    rows = quantity_diagnostics(fit, effects)
    # one row per row of the effects table, in the same order
    assert len(rows) == len(effects)
    assert [r["label"] for r in rows][:2] == ["Knife, aged 11-17", "Knife, aged 18-25"]
    assert {"Knife", "Violence", "All crime types"} <= {r["label"] for r in rows}
    assert all(r["outcome"] == "offending" for r in rows)
    # independent draws: R-hat near 1, bulk ESS near the 400 draws
    for r in rows:
        assert abs(float(r["rhat"]) - 1) < 0.02 and float(r["ess_bulk"]) > 200
    # the overall ratio, recomputed chain-major, gives the same R-hat. (Computed with
    # the same membership matrix: a one-column product differs by ~1e-16, which can move
    # the folded R-hat by 1e-4 through the median, across a printed rounding boundary.)
    po = fit.potential_outcomes()
    mu1, mu0, labels = po.treatment, po.control, po.rows
    groups = estimate_groups(labels, fit.harm_weights)
    i = next(k for k, g in enumerate(groups) if g["level"] == "overall")
    rr, _ = g_computation(mu1, mu0, np.column_stack([g["weights"] for g in groups]))
    np.testing.assert_allclose(rr[:, i], mu1.sum(axis=1) / mu0.sum(axis=1), rtol=1e-12)
    rhat, ess_bulk, _ = infd.array_diagnostics(rr[:, i].reshape(2, 200))
    overall = next(r for r in rows if r["label"] == "All crime types")
    assert overall["rhat"] == f"{rhat:.3f}" and overall["ess_bulk"] == f"{ess_bulk:.0f}"
    assert 'class="quantity-diagnostics"' in html and "Bulk ESS" in html


def test_array_diagnostics_flags_unmixed_chains():
    rng = np.random.default_rng(0)
    rhat, ess_bulk, ess_tail = infd.array_diagnostics(rng.normal(size=(4, 250)))
    assert rhat < 1.01 and ess_bulk > 600 and ess_tail > 600
    bad = rng.normal(size=(2, 250)) + np.array([[0.0], [3.0]])
    assert infd.array_diagnostics(bad)[0] > 1.5
    with pytest.raises(ValueError):
        infd.array_diagnostics(np.zeros(10))


# --- pooled multi-trial tables: the "Pooled trials" section ---------------------------------

TAU_NOTE = "between-trial SD prior: trial_sd ~ HalfNormal(sigma=0.5)"


def _with_trial_rows(effects: pd.DataFrame) -> pd.DataFrame:
    """A single-trial effects table plus hand-made ``trial`` and ``new_trial`` rows (out of
    reading order: new site first, a trial's crime type before its overall row)."""
    base = effects[effects["level"] == "overall"].iloc[0].to_dict()
    made = [
        ("new_trial", "all", "knife", 0.60, 0.20, 2.10, 0.80),
        ("new_trial", "all", "all", 0.66, 0.21, 2.30, 0.83),
        ("trial", "Force A", "knife", 0.50, 0.22, 1.10, 0.96),
        ("trial", "Force A", "all", 0.55, 0.31, 0.93, 0.987),
        ("trial", "Force B", "all", 0.81, 0.45, 1.38, 0.79),
    ]
    rows = [
        {
            **base,
            "level": level,
            "trial": trial,
            "crime_type": crime,
            "rr_median": rr,
            "rr_lower": lo,
            "rr_upper": hi,
            "p_reduction": p,
            "p_reduction_50": 0.3,
            "note": TAU_NOTE,
        }
        for level, trial, crime, rr, lo, hi, p in made
    ]
    return pd.concat([effects, pd.DataFrame(rows)], ignore_index=True)


def _table_cells(html: str, section: str) -> list[list[str]]:
    part = html[html.index(f'<section id="{section}">') :]
    part = part[: part.index("</section>")]
    body = part[part.index("<tbody>") : part.index("</tbody>")]
    return [re.findall(r"<td[^>]*>(.*?)</td>", tr) for tr in re.findall(r"<tr.*?</tr>", body)]


@pytest.fixture(scope="module")
def pooled_html(fitted):
    fit, _ = fitted
    return render_html(fit, effects=_with_trial_rows(fit.effects()), densities=False)


def test_pooled_trials_section_lists_trials_then_the_new_site(pooled_html):
    assert "<h2>Pooled trials</h2>" in pooled_html
    assert "g-computed over that trial&#39;s treated people" in pooled_html
    assert "predictive effect for a site not in the data" in pooled_html
    assert _table_cells(pooled_html, "pooled-trials") == [
        ["offending", "Force A", "all crime types", "0.55", "0.31 to 0.93", "99%"],
        ["offending", "Force A", "knife", "0.50", "0.22 to 1.10", "96%"],
        ["offending", "Force B", "all crime types", "0.81", "0.45 to 1.38", "79%"],
        ["offending", "new site", "all crime types", "0.66", "0.21 to 2.30", "83%"],
        ["offending", "new site", "knife", "0.60", "0.20 to 2.10", "80%"],
    ]
    # the heterogeneity prior is said once, under the table
    section = pooled_html[pooled_html.index('<section id="pooled-trials">') :]
    section = section[: section.index("</section>")]
    assert section.count(TAU_NOTE) == 1


def test_pooled_new_site_is_a_key_finding(fitted, pooled_html):
    fit, _ = fitted
    single = key_findings(fit.effects())[0]["items"]
    pooled = key_findings(_with_trial_rows(fit.effects()))[0]["items"]
    # one more finding, right after the overall one; the others are unchanged
    assert len(pooled) == len(single) + 1
    assert pooled[0] == single[0] and pooled[2:] == single[1:]
    assert pooled[1]["text"].startswith("At a new site (one not among the pooled trials)")
    assert (
        "The probability that a new site sees a reduction in offending is 83% (likely)."
        in pooled[1]["text"]
    )
    assert "very uncertain" in pooled[1]["text"]  # 0.21 to 2.30
    assert pooled[1]["note"] == TAU_NOTE
    assert pooled[1]["text"] in pooled_html


def test_trial_rows_stay_out_of_the_other_tables(fitted, pooled_html):
    fit, trial = fitted
    effects = fit.effects()
    pooled = _with_trial_rows(effects)
    freq = fdb.frequentist.compare(trial, seed=1)
    assert findings_table(pooled, freq) == findings_table(effects, freq)
    assert data_description(pooled) == data_description(effects)
    for section in ("findings-table", "methods"):
        part = pooled_html[pooled_html.index(f'<section id="{section}">') :]
        part = part[: part.index("</section>")]
        assert "Force A" not in part and "new site" not in part


def test_single_trial_report_has_no_pooled_section(html):
    assert 'id="pooled-trials"' not in html and "Pooled trials" not in html
    assert "new site" not in html
