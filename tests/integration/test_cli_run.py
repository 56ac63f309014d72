"""`fd-bayes fit` end to end on a CSV: the files a report writer opens."""

from __future__ import annotations

import json
import sys

import pandas as pd
import pytest

import fd_bayes as fdb
from fd_bayes import cli


def test_fit_writes_the_report(monkeypatch, capsys, tmp_path):
    trial, _ = fdb.simulate_trial(20, 40, crime_types={"knife": 0.8, "violence": 1.0}, seed=9)
    data = tmp_path / "counts.csv"
    trial.data.to_csv(data, index=False)
    out = tmp_path / "out"
    args = [
        "fd-bayes",
        "fit",
        str(data),
        "--out",
        str(out),
        "--draws",
        "300",
        "--tune",
        "300",
        "--chains",
        "2",
        "--no-adapt",
        "--seed",
        "3",
    ]
    monkeypatch.setattr(sys, "argv", args)
    cli.main()
    stdout = capsys.readouterr().out
    assert "Rate ratios" in stdout
    for name in (
        "effects.csv",
        "summary.md",
        "forest.png",
        "fit.nc",
        "frequentist.csv",
        "side_by_side.csv",
    ):
        assert (out / name).stat().st_size > 0, name
    effects = pd.read_csv(out / "effects.csv")
    assert "person_id" not in effects.columns
    assert not set(trial.data["person_id"].astype(str)) & set(effects.astype(str).values.ravel())
    summary = (out / "summary.md").read_text()
    assert "## Key findings" in summary and "## Diagnostics" in summary
    loaded = fdb.load(out / "fit.nc")
    assert loaded.info["seed"] == 3
    assert (loaded.info["adapt"], loaded.info["rounds"]) == (0, 1)  # --no-adapt: one run
    assert set(json.loads(loaded.info["library_versions"])) >= {"pymc", "nutpie", "numpy"}
    # a second run into the same folder refuses to overwrite
    monkeypatch.setattr(sys, "argv", args)
    with pytest.raises(SystemExit) as info:
        cli.main()
    assert info.value.code == 2
    # the report re-renders from the saved fit alone, and only with --force
    monkeypatch.setattr(sys, "argv", ["fd-bayes", "report", str(out)])
    with pytest.raises(SystemExit) as info:
        cli.main()
    assert info.value.code == 2
    before = (out / "report.html").stat().st_mtime_ns
    monkeypatch.setattr(sys, "argv", ["fd-bayes", "report", str(out), "--force"])
    cli.main()
    assert (out / "report.html").stat().st_mtime_ns > before
    html = (out / "report.html").read_text()
    assert not set(trial.data["person_id"].astype(str)) & set(html.split())
