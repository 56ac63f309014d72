"""The full report: results.json, findings.xlsx, CSVs, disclosure control (no MCMC)."""

from __future__ import annotations

import json
import re
import zipfile

import numpy as np
import openpyxl
import pandas as pd
import pytest

import fd_bayes as fdb
from fd_bayes.errors import SettingsError
from fd_bayes.report.exports import COMPLEMENT_NOTE, SCHEMA_VERSION, disclosed
from fd_bayes.report.full import report
from tests.helpers import report_fit as handmade_fit

DATA_URI = re.compile(r"data:image/png;base64,[A-Za-z0-9+/=]+")


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    fit, trial = handmade_fit()
    out = tmp_path_factory.mktemp("report")
    table = fdb.frequentist.compare(trial, seed=1)
    paths = report(fit, out, frequentist=table)
    return fit, trial, out, paths


def _texts(out):
    """The text of every written file (xlsx: its XML parts; PNG skipped; data URIs cut)."""
    for path in sorted(out.iterdir()):
        if path.suffix == ".png":
            continue
        if path.suffix == ".xlsx":
            with zipfile.ZipFile(path) as z:
                text = "\n".join(z.read(n).decode("utf-8") for n in z.namelist())
        else:
            text = path.read_text(encoding="utf-8")
        yield path.name, DATA_URI.sub("", text)


def test_all_formats_written(written):
    _, _, out, paths = written
    expected = {
        "report.html",
        "summary.md",
        "forest.png",
        "forest.svg",
        "effects.csv",
        "frequentist.csv",
        "side_by_side.csv",
        "findings.xlsx",
        "results.json",
    }
    # the hand-made fit has no predictive draws, so no predictive-check figures
    expected |= {f"{n}.{e}" for n in ("density", "trace_rank") for e in ("png", "svg")}
    assert set(paths) == expected
    assert {p.name for p in out.iterdir()} == expected


def test_no_person_id_in_any_file(written):
    _, trial, out, _ = written
    ids = sorted(set(trial.data["person_id"])) if hasattr(trial, "data") else []
    ids = ids or [f"P{i:03d}" for i in range(24)]
    assert "P000" in ids
    pattern = re.compile(r"\b(" + "|".join(map(re.escape, ids)) + r")\b")
    for name, text in _texts(out):
        assert "person_id" not in text, name
        assert not pattern.search(text), (name, pattern.search(text))


def test_results_json_schema(written):
    fit, _, out, _ = written
    doc = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert doc["schema_version"] == SCHEMA_VERSION
    assert doc["provenance"]["spec_hash"] == "abc123" and doc["provenance"]["seed"] == 7
    assert doc["interval"]["probability"] == 0.95 and doc["disclosure_threshold"] == 5
    effects = fit.effects()
    assert len(doc["estimates"]) == len(effects)
    first = doc["estimates"][0]
    assert first["rr_median"] == pytest.approx(effects.iloc[0]["rr_median"])
    assert set(effects.columns) <= set(first)
    assert doc["model"]["priors"]["effect_overall"].startswith("Normal")


def _sheet(path, name) -> pd.DataFrame:
    ws = openpyxl.load_workbook(path, read_only=True)[name]
    rows = list(ws.values)
    return pd.DataFrame(rows[1:], columns=rows[0])


@pytest.mark.parametrize("name", ["effects", "frequentist", "side_by_side"])
def test_xlsx_numbers_equal_csv(written, name):
    _, _, out, _ = written
    csv = pd.read_csv(out / f"{name}.csv")
    sheet = _sheet(out / "findings.xlsx", name)
    assert list(sheet.columns) == list(csv.columns)
    assert len(sheet) == len(csv)
    for col in csv.columns:
        if pd.api.types.is_numeric_dtype(csv[col]):
            np.testing.assert_allclose(
                pd.to_numeric(sheet[col]).astype(float), csv[col].astype(float), rtol=1e-12
            )


def test_xlsx_is_formatted(written):
    _, _, out, _ = written
    wb = openpyxl.load_workbook(out / "findings.xlsx")
    assert wb.sheetnames == ["about", "effects", "frequentist", "side_by_side"]
    ws = wb["effects"]
    assert ws.freeze_panes == "A2" and ws["A1"].font.bold
    col = [c.value for c in ws[1]].index("rr_median") + 1
    assert ws.cell(row=2, column=col).number_format == "0.000"


def test_tiny_stratum_is_suppressed_in_every_export(tmp_path):
    fit, _ = handmade_fit(n_per_arm=3, seed=2)
    paths = report(fit, tmp_path, formats=("csv", "xlsx", "json", "html"))
    # 3 people per arm in each age band: every banded row is suppressed; pooled rows
    # (6 people per arm) are not
    csv = pd.read_csv(paths["effects.csv"])
    banded = csv["age_band"] != "all"
    counts = ["n_treatment", "n_control", "events_treatment", "events_control"]
    assert banded.sum() > 0 and csv.loc[banded, counts].isna().all().all()
    assert csv.loc[banded, "note"].str.contains("suppressed").all()
    assert (csv.loc[~banded, "n_treatment"] == 6).all()
    sheet = _sheet(paths["findings.xlsx"], "effects")
    assert sheet.loc[banded, counts].isna().all().all()
    doc = json.loads(paths["results.json"].read_text(encoding="utf-8"))
    assert all(e["n_treatment"] is None and e["events_treatment"] is None
               for e in doc["estimates"] if e["age_band"] != "all")  # fmt: skip
    html = paths["report.html"].read_text(encoding="utf-8")
    assert "&lt;5" in html
    assert not (tmp_path / "summary.md").exists()  # md not asked for


def test_complementary_suppression_one_small_band():
    effects = pd.DataFrame(
        {
            "level": ["cell", "cell", "age_band", "age_band", "overall"],
            "outcome": ["offending"] * 5,
            "crime_type": ["knife", "knife", "all", "all", "all"],
            "age_band": ["11-17", "18-25", "11-17", "18-25", "all"],
            "rr_median": [0.5, 0.6, 0.5, 0.6, 0.55],
            "n_treatment": [2, 20, 2, 20, 22],
            "n_control": [30, 40, 30, 40, 70],
            "events_treatment": [1, 9, 1, 9, 10],
            "events_control": [12, 30, 12, 30, 42],
            "note": [""] * 5,
        }
    )
    out = disclosed(effects, threshold=5)
    # the small band is suppressed, and so is the other band (total - other = small band)
    assert out.loc[:3, "n_treatment"].isna().all()
    assert out.loc[1, "note"] == COMPLEMENT_NOTE
    assert out.loc[4, "n_treatment"] == 22  # the pooled total stays
    assert out.loc[0, "rr_median"] == 0.5


def test_unknown_format_and_subset(tmp_path):
    fit, _ = handmade_fit()
    with pytest.raises(SettingsError, match="unknown report format"):
        report(fit, tmp_path, formats=("pdf",))
    paths = report(fit, tmp_path / "j", formats=("json",))
    assert list(paths) == ["results.json"]
    assert [p.name for p in (tmp_path / "j").iterdir()] == ["results.json"]
    paths = report(fit, tmp_path / "c", formats=("csv",))
    assert sorted(p.name for p in (tmp_path / "c").iterdir()) == ["effects.csv"]


def test_forest_svg_written_and_matches_png(written, tmp_path):
    fit, _, out, _ = written
    svg = (out / "forest.svg").read_text(encoding="utf-8")
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg and "</svg>" in svg
    assert "dc:date" not in svg  # no creation date: re-rendering gives the same file
    assert (out / "forest.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # only the md format draws the forest plot files
    only_html = report(fit, tmp_path, formats=("html",))
    assert set(only_html) == {"report.html"}
    assert {p.name for p in tmp_path.iterdir()} == {"report.html"}


def test_forest_plot_to_several_paths(written, tmp_path):
    from fd_bayes.plots import forest_plot

    fit, _, _, _ = written
    forest_plot(fit.effects(), [tmp_path / "f.png", tmp_path / "f.svg"])
    assert (tmp_path / "f.png").stat().st_size > 0 and (tmp_path / "f.svg").stat().st_size > 0


def test_frequentist_table_gets_complementary_suppression():
    """Per-band people counts of a frequentist table add up to its pooled rows: when one
    band is suppressed, the other band's counts must go too, or the total reveals it."""
    from fd_bayes.report.exports import disclosed

    table = pd.DataFrame(
        {
            "method": ["negbin_glm"] * 3,
            "outcome": ["offending"] * 3,
            "crime_type": ["knife"] * 3,
            "age_band": ["11-17", "18-25", "all"],
            "estimate": [0.5, 0.7, 0.6],
            "n_treatment": [3, 25, 28],
            "n_control": [40, 60, 100],
        }
    )
    out = disclosed(table, threshold=5)
    assert out.loc[0, ["n_treatment", "n_control"]].isna().all()
    assert out.loc[1, ["n_treatment", "n_control"]].isna().all()  # complementary
    assert out.loc[2, "n_treatment"] == 28  # the pooled total alone reveals no band
    assert out["estimate"].notna().all()


def test_trial_rows_get_complementary_suppression():
    """Per-trial counts add up to the pooled rows: one small trial suppresses the counts of
    every trial row of its outcome; other outcomes, pooled and new-site rows keep theirs."""
    effects = pd.DataFrame(
        {
            "level": ["overall", "trial", "trial", "trial", "new_trial", "trial", "trial"],
            "outcome": ["offending"] * 5 + ["victimisation"] * 2,
            "crime_type": ["all", "all", "knife", "all", "all", "all", "all"],
            "age_band": ["all"] * 7,
            "trial": ["all", "A", "A", "B", "all", "A", "B"],
            "rr_median": [0.6, 0.5, 0.4, 0.7, 0.62, 0.9, 1.1],
            "n_treatment": [23, 3, 3, 20, 23, 6, 20],
            "n_control": [60, 30, 30, 30, 60, 30, 30],
            "events_treatment": [10, 1, 1, 9, 10, 2, 9],
            "events_control": [40, 12, 8, 28, 40, 12, 28],
            "note": ["", "tau", "tau", "tau", "tau", "tau", "tau"],
        }
    )
    out = disclosed(effects, threshold=5)
    counts = ["n_treatment", "n_control", "events_treatment", "events_control"]
    assert out.loc[1:3, counts].isna().all().all()
    assert "fewer than 5" in out.loc[1, "note"] and out.loc[1, "note"].startswith("tau; ")
    assert out.loc[3, "note"] == f"tau; {COMPLEMENT_NOTE}"
    assert out.loc[0, "n_treatment"] == 23 and out.loc[4, "n_treatment"] == 23
    assert (out.loc[5:6, "n_treatment"] == [6, 20]).all()  # no small trial here
    assert out["rr_median"].tolist() == effects["rr_median"].tolist()


def test_trial_rows_pass_through_json_and_xlsx(tmp_path):
    from fd_bayes.report.exports import results_dict, write_xlsx

    fit, _ = handmade_fit()
    effects = fit.effects()
    base = effects[effects["level"] == "overall"].iloc[0].to_dict()
    extra = pd.DataFrame(
        [
            {**base, "level": "trial", "trial": "Force A", "rr_median": 0.5, "n_treatment": 3},
            {**base, "level": "new_trial", "trial": "all", "rr_median": 0.66},
        ]
    )
    pooled = pd.concat([effects, extra], ignore_index=True)
    doc = results_dict(fit, pooled)
    assert doc["columns"][-3:] == ["trial", "sd_ratio", "informed"]  # extended at the end
    got = [e for e in doc["estimates"] if e["level"] in ("trial", "new_trial")]
    assert [(e["trial"], e["rr_median"]) for e in got] == [("Force A", 0.5), ("all", 0.66)]
    assert got[0]["n_treatment"] is None and got[1]["n_treatment"] == base["n_treatment"]
    path = write_xlsx({"effects": pooled}, tmp_path / "f.xlsx")
    sheet = _sheet(path, "effects")
    assert sheet["trial"].tolist()[-2:] == ["Force A", "all"]
    assert sheet["level"].tolist()[-2:] == ["trial", "new_trial"]
    assert pd.isna(sheet["n_treatment"].iloc[-2])
