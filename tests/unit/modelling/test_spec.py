"""The model catalogue: loading, validation, overrides, hashing, packaging."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import fd_bayes as fdb
from fd_bayes import SpecError
from fd_bayes.modelling.spec import load_spec

ROOT = Path(__file__).resolve().parents[3]


def test_catalogue_lists_both_models():
    models = fdb.available_models()
    assert {"negbin_hier", "poisson_hier"} <= set(models)
    assert all(models.values())


def test_default_spec_content():
    spec = load_spec("negbin_hier")
    assert spec.family == "negbin"
    assert spec.treatment == {
        "crime": "pooled",
        "outcome": "fixed",
        "age": "fixed",
        "cell": "pooled",
        "trial": "none",
    }
    assert spec.priors["inv_sqrt_dispersion"].dist == "HalfNormal"
    assert spec.priors["effect_overall"].params == {"mu": 0.0, "sigma": 0.5}


def _write(tmp_path, text: str) -> Path:
    path = tmp_path / "mine.toml"
    path.write_text(text)
    return path


def _base() -> str:
    return (ROOT / "models" / "negbin_hier.toml").read_text()


def test_user_spec_by_path(tmp_path):
    spec = load_spec(_write(tmp_path, _base().replace('name = "negbin_hier"', 'name = "mine"')))
    assert spec.name == "mine"
    assert spec.path.endswith("mine.toml")


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda t: "shoe_size = 3\n" + t, "unknown key"),
        (lambda t: t.replace("cell_sd =", "cel_sd ="), "unknown prior 'cel_sd'"),
        (
            lambda t: t.replace(
                'dist = "HalfNormal", sigma = 0.25', 'dist = "Normal", mu = 0.0, sigma = 0.25'
            ),
            "needs a positive distribution",
        ),
        (
            lambda t: t.replace(
                'dist = "Normal", mu = 0.0, sigma = 0.5', 'dist = "Cauchy", alpha = 0.0, beta = 0.5'
            ),
            "unknown distribution",
        ),
        (lambda t: t.replace("mu = 0.0, sigma = 0.5", "mu = 0.0, scale = 0.5"), "takes parameters"),
        (lambda t: t.replace("sigma = 0.5 }", "sigma = -0.5 }"), "must be > 0"),
        (lambda t: t.replace('family = "negbin"', 'family = "binomial"'), "unknown family"),
        (lambda t: t.replace('age = "fixed"', 'age = "wobbly"'), "must be one of"),
        (lambda t: t.replace("person_effect = true", "persons = true"), "unknown term"),
        (
            lambda t: t.replace('cell_sd = { dist = "HalfNormal", sigma = 0.25 }', ""),
            "missing prior 'cell_sd'",
        ),
        (lambda t: t + "\n[[[", "not valid TOML"),
    ],
)
def test_bad_specs_are_refused(tmp_path, edit, message):
    with pytest.raises(SpecError, match=message):
        load_spec(_write(tmp_path, edit(_base())))


def test_unknown_model_name():
    with pytest.raises(SpecError, match=r"unknown model 'nb_hier'.*negbin_hier"):
        load_spec("nb_hier")


def test_hash_follows_meaning_not_formatting(tmp_path):
    base = load_spec("negbin_hier")
    reformatted = load_spec(_write(tmp_path, "# a comment\n" + _base().replace(" = ", "=")))
    assert reformatted.content_hash == base.content_hash
    changed = base.with_priors({"effect_overall": {"dist": "Normal", "mu": 0.0, "sigma": 0.3}})
    assert changed.content_hash != base.content_hash
    assert changed.priors["effect_overall"].params["sigma"] == 0.3
    assert base.priors["effect_overall"].params["sigma"] == 0.5  # original untouched
    with pytest.raises(SpecError, match="unknown prior"):
        base.with_priors({"effect": {"dist": "Normal", "mu": 0, "sigma": 1}})


def test_spec_round_trips_through_dict():
    from fd_bayes.modelling.spec import spec_from_dict

    spec = load_spec("poisson_hier")
    assert spec_from_dict(spec.to_dict()).content_hash == spec.content_hash
    assert "inv_sqrt_dispersion" not in spec.priors  # Poisson has no dispersion


@pytest.mark.slow
def test_wheel_ships_the_catalogue(tmp_path):
    """A non-editable install must find the specs: they are inside the wheel."""
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "-q", "-w", str(tmp_path)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    wheel = next(tmp_path.glob("fd_bayes-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert "fd_bayes/models/negbin_hier.toml" in names
    assert "fd_bayes/models/poisson_hier.toml" in names
