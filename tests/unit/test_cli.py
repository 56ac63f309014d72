"""CLI exit codes and messages for bad input (no sampling)."""

from __future__ import annotations

import sys

import pytest

from fd_bayes import cli


def run(monkeypatch, capsys, *args):
    monkeypatch.setattr(sys, "argv", ["fd-bayes", *args])
    with pytest.raises(SystemExit) as info:
        cli.main()
    out, err = capsys.readouterr()
    return info.value.code, out, err


def test_models_lists_the_catalogue(monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["fd-bayes", "models"])
    cli.main()
    out = capsys.readouterr().out
    assert "negbin_hier" in out and "poisson_hier" in out


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("", "is empty"),
        (
            "person_id,arm,crime_type,pre_count,post_count\na,treatment,knife,1,-1\n",
            "column 'post_count': negative counts",
        ),
        (
            "person_id,arm,crime_type,pre_count\na,treatment,knife,1\n",
            "column 'post_count': missing",
        ),
        ("person_id,arm,crime_type,pre_count,post_count\na,treated,knife,1,1\n", "column 'arm'"),
    ],
)
def test_bad_data_exits_2_with_one_line(monkeypatch, capsys, tmp_path, content, expected):
    data = tmp_path / "data.csv"
    data.write_text(content)
    code, _, err = run(monkeypatch, capsys, "fit", str(data), "--out", str(tmp_path / "o"))
    assert code == 2
    assert expected in err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_missing_file_and_bad_model(monkeypatch, capsys, tmp_path):
    code, _, err = run(monkeypatch, capsys, "fit", str(tmp_path / "nope.csv"), "--out", "o")
    assert code == 2 and "not found" in err
    good = tmp_path / "good.csv"
    good.write_text(
        "person_id,arm,crime_type,pre_count,post_count\n"
        "a,treatment,knife,1,1\nb,control,knife,0,2\n"
    )
    code, _, err = run(monkeypatch, capsys, "fit", str(good), "--out", "o", "--model", "nb")
    assert code == 2 and "unknown model 'nb'" in err


def test_usage_errors_exit_2(monkeypatch, capsys):
    code, _, err = run(monkeypatch, capsys, "fit")
    assert code == 2 and "Missing argument" in err
    code, _, err = run(monkeypatch, capsys, "demo", "--draws", "0")
    assert code == 2


def test_existing_results_are_not_overwritten(monkeypatch, capsys, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "effects.csv").write_text("keep me")
    code, _, err = run(monkeypatch, capsys, "demo", "--out", str(out))
    assert code == 2 and "--force" in err
    assert (out / "effects.csv").read_text() == "keep me"


def test_unknown_sampler_exits_2(monkeypatch, capsys, tmp_path):
    code, _, err = run(
        monkeypatch, capsys, "demo", "--out", str(tmp_path / "x"), "--sampler", "stan"
    )
    assert code == 2 and "unknown sampler" in err
