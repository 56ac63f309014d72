"""A fit saved before the layered layout (fd_bayes 0.1.0, flat modules) loads and reports.

``tests/data/fit_v0_1_0_flat_layout.nc`` was written by the last commit of the flat
layout (``fdb.fit(fdb.example_trial(), draws=200, tune=300, chains=2, seed=3)``, then
``fit.save``; too short a run to report, which the report must say), and
``fit_v0_1_0_flat_layout_effects.csv`` is its effects table from that code.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

import fd_bayes as fdb

DATA = Path(__file__).resolve().parents[1] / "data"
FIT = DATA / "fit_v0_1_0_flat_layout.nc"


def test_old_fit_loads_with_the_same_effects_table():
    fit = fdb.load(FIT)
    assert fit.info["fd_bayes_version"] == "0.1.0"
    new = fit.effects()
    old = pd.read_csv(DATA / "fit_v0_1_0_flat_layout_effects.csv", keep_default_na=False)
    # the 0.1 columns, in order, then the columns added since (at the end)
    assert list(new.columns) == [*old.columns, "sd_ratio", "informed"]
    for col in old.columns:
        if col == "note":
            # every 0.1 note is kept; rows without one may now say how little the data
            # informed them (0.2: weakly informed, events in one arm only)
            kept = [o == n for o, n in zip(old[col], new[col], strict=True) if o]
            assert all(kept), col
            continue
        if pd.api.types.is_numeric_dtype(new[col]):
            np.testing.assert_allclose(
                new[col].to_numpy(float), pd.to_numeric(old[col]).to_numpy(float), rtol=1e-9
            )
        else:
            assert new[col].astype(str).tolist() == old[col].astype(str).tolist(), col
    # the public contract reads the same draws as the table (summed in another order:
    # equal to the last bits of a double)
    knife = fit.effect_draws("offending", "crime_type", "knife")
    row = new[(new["level"] == "crime_type") & (new["crime_type"] == "knife")]
    want = row[row["outcome"] == "offending"]["rr_median"].item()
    assert knife.shape == (2, 200)
    np.testing.assert_allclose(np.median(knife), want, rtol=1e-12)


def test_old_fit_reports(tmp_path):
    fit = fdb.load(FIT)
    files = fdb.report(fit, tmp_path)
    wanted = {"report.html", "summary.md", "effects.csv", "findings.xlsx", "results.json"}
    assert wanted <= set(files)
    assert all((tmp_path / name).stat().st_size > 0 for name in wanted)
    summary = (tmp_path / "summary.md").read_text()
    # 2 chains x 200 draws fail the diagnostics: the report says so
    assert fit.diagnostic_problems()
    assert "do not report" in summary.lower()
    effects = pd.read_csv(tmp_path / "effects.csv")
    assert len(effects) == len(fit.effects())
