"""Pre-registered claims: the file's rules are checked, each claim is a share of the
effects table's draws, and the report leads with them (no MCMC)."""

from __future__ import annotations

import hashlib
import sys

import numpy as np
import pytest

from fd_bayes import cli
from fd_bayes.errors import SettingsError
from fd_bayes.results.claims import evaluate_claims, load_claims
from tests.helpers import handmade_fit, small_counts

CLAIMS = """
[[claim]]
name = "knife offending"
outcome = "offending"
crime_type = "knife"
probability = 0.9

[[claim]]
outcome = "offending"
reduction = 0.25
"""


def _write(tmp_path, text):
    path = tmp_path / "claims.toml"
    path.write_text(text)
    return path


def test_a_claims_file_is_read_with_its_hash(tmp_path):
    path = _write(tmp_path, CLAIMS)
    claims = load_claims(path)
    assert claims.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    knife, overall = claims.claims
    assert (knife.level, knife.crime_type, knife.probability) == ("crime_type", "knife", 0.9)
    assert (overall.level, overall.reduction, overall.probability) == ("overall", 0.25, 0.95)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[[claim]]\ncrime_type = 'knife'\n", "needs an outcome"),
        ("[[claim]]\noutcome = 'offending'\nthreshold = 0.9\n", "unknown key"),
        ("[[claim]]\noutcome = 'offending'\nprobability = 0.4\n", "above 0.5"),
        ("[[claim]]\noutcome = 'offending'\nreduction = 1.5\n", "reduction must be"),
        ("[[claim]]\noutcome = 'offending'\nlevel = 'person'\n", "level must be"),
        ("[claims]\noutcome = 'offending'\n", "unknown table"),
        ("", "states no claim"),
        ("[[claim\n", "not valid TOML"),
    ],
)
def test_bad_claims_files_are_refused_with_the_reason(tmp_path, text, message):
    with pytest.raises(SettingsError, match=message):
        load_claims(_write(tmp_path, text))


def test_each_claim_is_a_share_of_the_effects_tables_draws(tmp_path):
    fit, _, _ = handmade_fit(small_counts(), intercept=-0.5, theta=-0.4)
    table = evaluate_claims(fit, load_claims(_write(tmp_path, CLAIMS)))
    knife = fit.effect_draws("offending", "crime_type", "knife").ravel()
    overall = fit.effect_draws("offending", "overall").ravel()
    assert table["posterior_probability"].tolist() == pytest.approx(
        [float((knife < 1).mean()), float((overall < 0.75).mean())]
    )
    assert table["met"].tolist() == [
        bool((knife < 1).mean() >= 0.9),
        bool((overall < 0.75).mean() >= 0.95),
    ]
    assert table["statement"].iloc[0].startswith("P(knife offending reduced) >= 90%")


def test_a_claim_on_an_estimand_without_events_is_not_assessed(tmp_path):
    fit, _, _ = handmade_fit(small_counts(), intercept=-0.5, theta=-2.0)
    fit.design.post_count[:] = 0
    fit.__dict__.pop("_potential_outcomes", None)
    table = evaluate_claims(fit, load_claims(_write(tmp_path, CLAIMS)))
    assert not table["met"].any()
    assert table["statement"].str.contains("not assessed").all()


def test_report_dir_leads_with_the_claims_kept_beside_the_fit(monkeypatch, capsys, tmp_path):
    from tests.unit.cli.test_cli import _saved_fit

    _saved_fit(tmp_path, -0.4, 1)
    _write(tmp_path, CLAIMS)
    monkeypatch.setattr(sys, "argv", ["fd-bayes", "report", str(tmp_path)])
    cli.main()
    summary = (tmp_path / "summary.md").read_text()
    assert summary.index("## Pre-registered claims") < summary.index("## Key findings")
    assert "## Key findings (exploratory)" in summary
    assert hashlib.sha256((tmp_path / "claims.toml").read_bytes()).hexdigest() in summary
    html = (tmp_path / "report.html").read_text()
    assert "Pre-registered claims" in html and "Key findings (exploratory)" in html
    assert (tmp_path / "claims.csv").exists()
    assert np.isfinite(
        __import__("pandas").read_csv(tmp_path / "claims.csv")["posterior_probability"]
    ).all()
