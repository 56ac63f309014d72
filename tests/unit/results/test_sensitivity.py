"""Prior sensitivity without MCMC: table, flags and text from hand-made effects tables,
and the fitting loop with fd_bayes.fit replaced by hand-made fits."""

from __future__ import annotations

import sys
import warnings

import numpy as np
import pandas as pd
import pytest

from fd_bayes import constants
from fd_bayes.data.trial import Trial
from fd_bayes.errors import DiagnosticsWarning, SettingsError
from fd_bayes.inference import SamplerSettings
from fd_bayes.modelling import load_spec
from fd_bayes.results import Fit
from fd_bayes.results.sensitivity import (
    FLAG_COLUMNS,
    KEYS,
    TABLE_COLUMNS,
    Sensitivity,
    crossing_flags,
    p_text,
    reaches,
    sensitivity,
    sensitivity_table,
    wide_table,
)
from tests.helpers import handmade_fit, small_counts

ESTIMATES = [
    ("cell", "offending", "knife", "11-17"),
    ("crime_type", "offending", "knife", "all"),
    ("crime_type", "offending", "violence", "all"),
    ("overall", "offending", "all", "all"),
]


def effects(p: list[float], rr: list[float] | None = None, order=None) -> pd.DataFrame:
    """A hand-made effects table of the four ESTIMATES with these P(reduction)."""
    rr = rr if rr is not None else [1.0 - 0.4 * (x - 0.5) for x in p]
    rows = [
        {
            **dict(zip(KEYS, key, strict=True)),
            "rr_median": r,
            "rr_mean": r * 1.02,
            "rr_lower": r * 0.6,
            "rr_upper": r * 1.5,
            "p_reduction": x,
        }
        for key, x, r in zip(ESTIMATES, p, rr, strict=True)
    ]
    table = pd.DataFrame(rows)
    return table if order is None else table.iloc[order].reset_index(drop=True)


def test_thresholds_are_a_constant():
    assert constants.SENSITIVITY_THRESHOLDS == (0.90, 0.95)


def test_long_table_in_estimate_then_prior_order():
    table = sensitivity_table(
        {
            "default": effects([0.97, 0.97, 0.80, 0.99]),
            # another row order: matched on the keys, not the position
            "sceptical": effects([0.91, 0.91, 0.70, 0.98], order=[3, 2, 1, 0]),
        }
    )
    assert list(table.columns) == TABLE_COLUMNS
    assert len(table) == 8
    assert list(table["prior"]) == ["default", "sceptical"] * 4
    assert [tuple(r) for r in table[KEYS].iloc[::2].itertuples(index=False)] == ESTIMATES
    knife = table[(table["level"] == "crime_type") & (table["crime_type"] == "knife")]
    assert list(knife["p_reduction"]) == [0.97, 0.91]
    wide = wide_table(table, stats=("rr_median", "p_reduction"))
    assert list(wide.columns) == [
        *KEYS,
        "rr_median_default",
        "rr_median_sceptical",
        "p_reduction_default",
        "p_reduction_sceptical",
    ]
    assert wide.loc[1, "p_reduction_sceptical"] == 0.91
    assert len(wide) == 4


def test_tables_must_match():
    good = effects([0.9, 0.9, 0.9, 0.9])
    with pytest.raises(SettingsError, match="different estimates"):
        sensitivity_table({"a": good, "b": good.iloc[:3]})
    with pytest.raises(SettingsError, match="lacks column"):
        sensitivity_table({"a": good, "b": good.drop(columns="p_reduction")})
    with pytest.raises(SettingsError, match="repeats the estimate"):
        sensitivity_table({"a": pd.concat([good, good.iloc[:1]])})
    with pytest.raises(SettingsError, match="at least one"):
        sensitivity_table({})
    with pytest.raises(SettingsError, match="unknown statistic"):
        wide_table(sensitivity_table({"a": good}), stats=("prior",))


def test_flags_mark_crossings():
    table = sensitivity_table(
        {
            "default": effects([0.97, 0.97, 0.97, 0.99]),
            "sceptical": effects([0.91, 0.85, 0.96, 0.98]),
        }
    )
    flags = crossing_flags(table)
    assert list(flags.columns) == FLAG_COLUMNS
    # cell: 0.97 vs 0.91 crosses 0.95 only; knife: 0.97 vs 0.85 crosses both; violence and
    # overall stay above both thresholds under both priors
    got = {(r.level, r.crime_type, r.threshold) for r in flags.itertuples()}
    assert got == {
        ("cell", "knife", 0.95),
        ("crime_type", "knife", 0.9),
        ("crime_type", "knife", 0.95),
    }
    knife = flags[(flags["level"] == "crime_type") & (flags["threshold"] == 0.95)].iloc[0]
    assert (knife["p_min"], knife["p_max"]) == (0.85, 0.97)
    assert (knife["prior_min"], knife["prior_max"]) == ("sceptical", "default")
    assert (knife["priors_below"], knife["priors_reaching"]) == ("sceptical", "default")


def test_exactly_at_the_threshold_counts_as_reaching_it():
    # a share of draws: 3800 of 4000 draws below RR 1 is exactly 0.95
    at = (np.arange(4000) < 3800).mean()
    assert at == 0.95 and reaches(at, 0.95)
    assert not reaches(0.9499999, 0.95)
    table = sensitivity_table(
        {
            "default": effects([0.97, at, 0.95, 0.90]),
            "sceptical": effects([at, 0.9499999, 0.94, 0.89]),
        }
    )
    flags = crossing_flags(table)
    got = {(r.level, r.crime_type, r.threshold): r.priors_reaching for r in flags.itertuples()}
    # cell 0.97 vs 0.95: both reach 0.95, no flag; knife 0.95 vs 0.9499999: flagged, only
    # the prior at exactly 0.95 reaches it; violence 0.95 vs 0.94 and overall 0.90 vs 0.89
    # likewise at 0.95 and 0.90
    assert got == {
        ("crime_type", "knife", 0.95): "default",
        ("crime_type", "violence", 0.95): "default",
        ("overall", "all", 0.9): "default",
    }


def test_no_flags_is_an_empty_table_with_the_columns():
    table = sensitivity_table(
        {"a": effects([0.5, 0.6, 0.7, 0.96]), "b": effects([0.4, 0.55, 0.89, 0.99])}
    )
    flags = crossing_flags(table)
    assert flags.empty and list(flags.columns) == FLAG_COLUMNS
    with pytest.raises(SettingsError, match="between 0 and 1"):
        crossing_flags(table, thresholds=(95,))


def test_a_trial_column_is_a_key_when_present():
    # pooled multi-trial fits label each trial's estimates in a `trial` column
    def pooled(p):
        one, two = effects(p), effects(p)
        one["trial"], two["trial"] = "site A", "site B"
        return pd.concat([one, two], ignore_index=True)

    table = sensitivity_table(
        {"default": pooled([0.97] * 4), "sceptical": pooled([0.97, 0.93, 0.97, 0.99])}
    )
    assert list(table.columns) == [*KEYS, "trial", *TABLE_COLUMNS[len(KEYS) :]]
    flags = crossing_flags(table)
    assert set(flags["trial"]) == {"site A", "site B"} and len(flags) == 2
    assert "trial_default" not in wide_table(table).columns
    assert len(wide_table(table)) == 8
    # a single trial's table labels every row "all": no extra key column
    single = effects([0.9] * 4).assign(trial="all")
    assert list(sensitivity_table({"a": single, "b": single}).columns) == TABLE_COLUMNS


def test_three_priors_min_and_max():
    table = sensitivity_table(
        {
            "default": effects([0.97, 0.97, 0.97, 0.99]),
            "sceptical": effects([0.97, 0.93, 0.97, 0.99]),
            "alt1": effects([0.97, 0.96, 0.97, 0.99]),
        }
    )
    flags = crossing_flags(table)
    assert len(flags) == 1
    f = flags.iloc[0]
    assert (f["prior_min"], f["prior_max"], f["p_min"], f["p_max"]) == (
        "sceptical",
        "default",
        0.93,
        0.97,
    )
    assert (f["priors_below"], f["priors_reaching"]) == ("sceptical", "default, alt1")


def test_p_text_never_rounds_across_a_threshold_nor_to_certainty():
    assert p_text(0.9712) == "0.97"
    assert p_text(0.9496) == "0.949"  # not 0.95 nor 0.950: it does not reach 0.95
    assert p_text(0.8999) == "0.899"
    assert p_text(0.95) == "0.95"
    assert p_text(0.951) == "0.95"
    assert p_text(0.99825) == "0.998"  # not 1.00
    assert p_text(0.99975) == "> 0.999"
    assert p_text(0.0004) == "< 0.001"
    assert p_text(0.004) == "0.004"


def test_summary_in_plain_language():
    sens = Sensitivity.from_effects(
        {
            "default": effects([0.97, 0.97, 0.80, 0.99]),
            "sceptical": effects([0.91, 0.91, 0.70, 0.98]),
        }
    )
    lines = sens.summary().splitlines()
    assert lines[0] == "Prior sensitivity: 2 priors (default, sceptical)."
    assert lines[1] == (
        "P(reduction) for all offending ranges from 0.98 (sceptical) to 0.99 (default); it "
        "stays at or above 0.95 under every prior."
    )
    assert lines[2] == (
        "P(reduction) for knife offending ranges from 0.91 (sceptical) to 0.97 (default): it "
        "crosses 0.95, so the conclusion depends on the prior."
    )
    assert lines[3] == (
        "1 cell estimate (crime type x age band) also crosses a threshold; see the flags table."
    )
    assert len(lines) == 4  # violence stays below 0.9 under both: not listed
    calm = Sensitivity.from_effects(
        {"a": effects([0.5, 0.6, 0.7, 0.92]), "b": effects([0.4, 0.55, 0.89, 0.93])}
    ).summary()
    assert "at or above 0.9 and below 0.95 under every prior" in calm
    assert calm.endswith(
        "No P(reduction) crosses 0.9 and 0.95 between the 2 priors (a, b): the conclusions "
        "at these thresholds do not depend on the prior."
    )


# -- from fits, and the fitting loop (fd_bayes.fit replaced by hand-made fits) -------------
def _handmade(theta: float, spec=None, seed: int = 0, data_hash: str = "d1") -> Fit:
    fit, _, _ = handmade_fit(
        small_counts(),
        intercept=-0.5,
        theta=theta,
        seed=seed,
        attrs={"data_hash": data_hash, "seed": 5},
    )
    return Fit(fit.idata, spec or fit.spec, fit.design)


def test_from_fits():
    fits = {"default": _handmade(-0.5), "sceptical": _handmade(-0.1, seed=1)}
    sens = Sensitivity.from_fits(fits)
    assert sens.priors == ["default", "sceptical"] and sens.seed == 5
    assert len(sens.table) == 2 * len(fits["default"].effects())
    w = sens.wide()
    overall = w[w["level"] == "overall"].iloc[0]
    assert overall["rr_median_default"] < overall["rr_median_sceptical"] < 1
    assert list(sens.diagnostics()["prior"]) == ["default", "sceptical"]
    assert sens.prior_differences().empty  # both hand-made fits carry negbin_hier's priors
    with pytest.raises(SettingsError, match="different data"):
        Sensitivity.from_fits({"a": _handmade(-0.5), "b": _handmade(-0.5, data_hash="d2")})


@pytest.fixture
def fake_fit(monkeypatch):
    """Replace the fit() that sensitivity calls: record the calls, return hand-made fits
    whose effect follows the spec's effect_overall scale, and warn for the sceptical spec."""
    calls = []

    def fake(trial, model, seed=None, **kwargs):
        calls.append({"model": model, "seed": seed, **kwargs})
        if model.name == "negbin_sceptical":
            warnings.warn("R-hat 1.05 is above 1.01.", DiagnosticsWarning, stacklevel=2)
        sigma = model.priors["effect_overall"].params["sigma"]
        return _handmade(-sigma, spec=model, seed=len(calls))

    # the module, not the function that fd_bayes re-exports under the same name
    monkeypatch.setattr(sys.modules["fd_bayes.results.sensitivity"], "fit", fake)
    return calls


def _trial() -> Trial:
    return Trial.from_counts(small_counts())


def test_sensitivity_fits_each_prior_with_one_seed(fake_fit):
    override = {"effect_overall": {"dist": "Normal", "mu": 0, "sigma": 0.3}}
    with pytest.warns(DiagnosticsWarning, match=r"^Prior 'sceptical' \(negbin_sceptical\): R-hat"):
        sens = sensitivity(
            _trial(), priors=["negbin_sceptical", override], draws=10, seed=3, progress=False
        )
    # the model itself is fitted first as "default", since the list does not have it
    assert sens.priors == ["default", "sceptical", "alt1"]
    assert [c["seed"] for c in fake_fit] == [3, 3, 3]
    # the sampler keywords become one SamplerSettings, the same object for every fit
    assert all(c["settings"].draws == 10 and c["settings"].progress is False for c in fake_fit)
    assert len({id(c["settings"]) for c in fake_fit}) == 1
    assert fake_fit[2]["model"].priors["effect_overall"].params["sigma"] == 0.3
    assert fake_fit[2]["model"].priors["crime_sd"] == load_spec("negbin_hier").priors["crime_sd"]
    diff = sens.prior_differences()
    assert list(diff.columns) == ["default", "sceptical", "alt1"]
    assert diff.loc["effect_overall", "alt1"] == "Normal(mu=0, sigma=0.3)"
    assert "cell_sd" in diff.index and "intercept" not in diff.index


def test_sensitivity_takes_settings(fake_fit):
    settings = SamplerSettings(draws=20, chains=2, progress=False)
    with pytest.warns(DiagnosticsWarning):
        sensitivity(_trial(), settings=settings, seed=4, predictive=False)
    assert all(c["settings"] is settings and c["predictive"] is False for c in fake_fit)
    with pytest.raises(SettingsError, match="not both: draws"):
        sensitivity(_trial(), settings=settings, draws=10, seed=4)
    assert len(fake_fit) == 2  # refused before any fit


def test_sensitivity_names_and_checks(fake_fit):
    with pytest.warns(DiagnosticsWarning):
        sens = sensitivity(
            _trial(),
            priors=["negbin_hier", "negbin_sceptical"],
            names=["weakly informative", "sceptic"],
            seed=1,
        )
    assert sens.priors == ["weakly informative", "sceptic"]  # the list had the model
    with pytest.warns(DiagnosticsWarning):
        default = sensitivity(_trial(), seed=2)  # default alternative: the sceptical spec
    assert default.priors == ["default", "sceptical"]
    assert len(fake_fit) == 4
    with pytest.raises(SettingsError, match="list of alternatives"):
        sensitivity(_trial(), priors="negbin_sceptical")
    with pytest.raises(SettingsError, match="same priors"):
        sensitivity(_trial(), priors=["negbin_sceptical", "negbin_sceptical"])
    with pytest.raises(SettingsError, match="two different priors"):
        sensitivity(_trial(), priors=["negbin_hier"])
    with pytest.raises(SettingsError, match="names has 2 entries for 1"):
        sensitivity(_trial(), priors=["negbin_sceptical"], names=["a", "b"])
    with pytest.raises(SettingsError, match="unique"):
        sensitivity(_trial(), priors=["negbin_sceptical"], names=["default"])
    with pytest.raises(SettingsError, match="no sceptical counterpart"):
        sensitivity(_trial(), model="poisson_hier")
    assert len(fake_fit) == 4  # nothing fitted by the refused calls


def test_markdown_summary_gets_a_sensitivity_section(tmp_path):
    from fd_bayes.report import write_report
    from fd_bayes.report.summary import summary_markdown
    from tests.helpers import report_fit

    fit, _ = report_fit()
    data_hash = fit.info["data_hash"]
    sceptical = _handmade(-0.1, spec=load_spec("negbin_sceptical"), data_hash=data_hash)
    sens = Sensitivity.from_fits({"default": fit, "sceptical": sceptical})
    effects = fit.effects()
    plain = summary_markdown(fit, effects)
    assert "Sensitivity" not in plain
    text = write_report(fit, tmp_path, sensitivity=sens)["summary.md"].read_text()
    section = text[text.index("## Sensitivity to the priors") : text.index("## Model")]
    assert text.index("## Diagnostics") < text.index("## Sensitivity to the priors")
    assert "default (`negbin_hier`), sceptical (`negbin_sceptical`)" in section
    assert "The results above use the priors of 'default'." in section
    assert "| `effect_overall` | `Normal(mu=0, sigma=0.5)` | `Normal(mu=0, sigma=0.2)` |" in section
    assert "| rate ratio (default) | rate ratio (sceptical) |" in section
    assert "- P(reduction) for all offending ranges from" in section
    other = _handmade(-0.1, spec=load_spec("negbin_sceptical"), data_hash="other")
    with pytest.raises(SettingsError, match="other data"):
        summary_markdown(fit, effects, sensitivity=Sensitivity.from_fits({"x": other}))
