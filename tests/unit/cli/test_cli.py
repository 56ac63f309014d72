"""CLI exit codes and messages for bad input (no sampling)."""

from __future__ import annotations

import sys

import pytest

from fd_bayes import cli
from fd_bayes.constants import DEFAULT_DRAWS


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


def test_records_pipeline_on_the_command_line(monkeypatch, capsys, tmp_path):
    """cohort -> randomise -> counts, each a CSV a person can open; the counts load."""
    import fd_bayes as fdb
    from fd_bayes.data.records import simulate_records

    events, persons, custody = simulate_records(n_people=2000, index_date="2024-01-01", seed=3)
    paths = {}
    for name, frame in (("events", events), ("persons", persons), ("custody", custody)):
        paths[name] = tmp_path / f"{name}.csv"
        frame.to_csv(paths[name], index=False)
    cohort_csv, alloc_csv, counts_csv = (tmp_path / n for n in ("c.csv", "a.csv", "n.csv"))
    steps = [
        [
            "cohort",
            str(paths["events"]),
            str(paths["persons"]),
            "--index-date",
            "2024-01-01",
            "--out",
            str(cohort_csv),
        ],
        [
            "randomise",
            str(cohort_csv),
            "--n-treat",
            "11-17=20",
            "--n-treat",
            "18-25=25",
            "--seed",
            "5",
            "--out",
            str(alloc_csv),
        ],
        [
            "counts",
            str(paths["events"]),
            str(alloc_csv),
            "--index-date",
            "2024-01-01",
            "--custody",
            str(paths["custody"]),
            "--out",
            str(counts_csv),
        ],
    ]
    for args in steps:
        monkeypatch.setattr(sys, "argv", ["fd-bayes", *args])
        code = None
        try:
            cli.main()
        except SystemExit as exc:
            code = exc.code
        assert code in (None, 0), capsys.readouterr().err
    trial = fdb.Trial.read_csv(counts_csv)
    assert trial.n_treated == 45
    # a second randomise into the same file is refused
    code, _, err = run(monkeypatch, capsys, *steps[1])
    assert code == 2 and "--force" in err


def _saved_fit(folder, theta, seed):
    """A hand-made negbin fit saved to folder/fit.nc (no MCMC)."""
    import json

    import numpy as np

    from fd_bayes.modelling.spec import load_spec
    from tests.helpers import handmade_fit, small_counts

    fit, _, _ = handmade_fit(small_counts(), intercept=-0.5, theta=theta, seed=seed)
    post = fit.idata.posterior
    shape = (post.sizes["chain"], post.sizes["draw"], len(fit.design.crime_outcomes))
    disp = np.random.default_rng(seed).gamma(20.0, 0.1, shape)
    fit.idata.posterior = post.assign(dispersion=(("chain", "draw", "crime_outcome"), disp))
    fit.idata.posterior.attrs.update(
        {"spec_json": json.dumps(load_spec("negbin_hier").to_dict()), "model": "negbin_hier"}
    )
    fit.save(folder / "fit.nc")


def test_compare_ranks_saved_fits(monkeypatch, capsys, tmp_path):
    import pandas as pd

    _saved_fit(tmp_path / "a", -0.2, 1)
    _saved_fit(tmp_path / "b", 2.0, 2)  # an absurd treatment effect: worse predictions
    monkeypatch.setattr(
        sys,
        "argv",
        [
            "fd-bayes",
            "compare",
            str(tmp_path / "a"),
            str(tmp_path / "b"),
            "--out",
            str(tmp_path / "c.csv"),
        ],
    )
    cli.main()
    out = capsys.readouterr().out
    assert "PSIS-LOO comparison" in out
    table = pd.read_csv(tmp_path / "c.csv")
    assert table["model"].iloc[0].startswith("a ")
    assert table["elpd_diff"].iloc[1] < 0


def test_compare_needs_two_saved_fits(monkeypatch, capsys, tmp_path):
    code, _, err = run(monkeypatch, capsys, "compare", str(tmp_path))
    assert code == 2 and "at least two" in err
    code, _, err = run(monkeypatch, capsys, "compare", str(tmp_path), str(tmp_path))
    assert code == 2 and "holds no fit.nc" in err


@pytest.mark.parametrize("command", ["demo", "fit", "pool"])
def test_target_accept_reaches_the_fit(monkeypatch, capsys, tmp_path, command):
    """The diagnostics advise a higher target_accept after divergences: every fitting
    command takes it (fdb.fit is replaced, so nothing samples)."""
    import fd_bayes as fdb
    from fd_bayes.errors import FdBayesError

    seen = {}

    def fake_fit(*args, **kwargs):
        seen.update(kwargs)
        raise FdBayesError("stopped before sampling")

    monkeypatch.setattr(fdb, "fit", fake_fit)
    data = tmp_path / "data.csv"
    fdb.example_trial().data.to_csv(data, index=False)
    args = {"demo": ["demo"], "fit": ["fit", str(data)], "pool": ["pool", "--ipd", str(data)]}
    code, _, err = run(
        monkeypatch,
        capsys,
        *args[command],
        "--out",
        str(tmp_path / "out"),
        "--target-accept",
        "0.97",
    )
    assert code == 2 and "stopped before sampling" in err
    assert seen["settings"].target_accept == 0.97  # one validated SamplerSettings
    assert seen["settings"].draws == DEFAULT_DRAWS and "draws" not in seen


def test_target_accept_out_of_range_exits_2(monkeypatch, capsys, tmp_path):
    code, _, err = run(
        monkeypatch, capsys, "demo", "--out", str(tmp_path / "x"), "--target-accept", "1.0"
    )
    assert code == 2 and "target-accept" in err
