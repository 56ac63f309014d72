"""fit() as a dispatcher, without MCMC: its argument checks, settings= against the
sampler keywords, and that both paths (catalogue and formula) share the provenance writer
and the warnings, which point at the caller's line."""

from __future__ import annotations

import warnings
from types import SimpleNamespace

import numpy as np
import pytest

import fd_bayes as fdb
from fd_bayes.errors import DiagnosticsWarning, ModelNote, SettingsError
from fd_bayes.inference import DIAGNOSTICS_FAILED, SamplerSettings, provenance
from fd_bayes.inference import catalogue as catalogue_path
from fd_bayes.inference import formula as formula_path
from fd_bayes.results import Fit, FormulaFit, api, fit_formula
from tests.helpers import handmade_fit, small_counts


@pytest.fixture
def trial() -> fdb.Trial:
    return fdb.Trial.from_counts(small_counts())


def test_settings_and_keywords_are_not_both(trial):
    settings = SamplerSettings(draws=10)
    with pytest.raises(SettingsError, match="not both: draws"):
        api.fit(trial, settings=settings, draws=20)
    with pytest.raises(SettingsError, match="not both: mass_matrix"):
        api.fit(trial, settings=settings, mass_matrix="diag")
    with pytest.raises(SettingsError, match="not both: progress"):
        fit_formula(trial, "post_count ~ arm", settings=settings, progress=False)


def test_argument_checks_come_first(trial):
    with pytest.raises(SettingsError, match="not both"):
        api.fit(trial, "poisson_hier", formula="post_count ~ arm")
    with pytest.raises(SettingsError, match="for catalogue models"):
        api.fit(trial, formula="post_count ~ arm", mass_matrix="diag")
    with pytest.raises(SettingsError, match="for catalogue models"):
        api.fit(trial, formula="post_count ~ arm", settings=SamplerSettings(mass_matrix="diag"))
    with pytest.raises(SettingsError, match="family= is for formula"):
        api.fit(trial, family="poisson")
    with pytest.raises(SettingsError, match="fit\\(\\) needs a Trial, got DataFrame"):
        api.fit(trial.data)
    with pytest.raises(SettingsError, match="unknown sampler 'stan'"):
        api.fit(trial, sampler="stan")
    with pytest.raises(SettingsError, match="mass_matrix must be one of"):
        api.fit(trial, mass_matrix="dense")
    with pytest.raises(SettingsError, match="seed must be"):
        api.fit(trial, seed=-3)
    assert fdb.fit is api.fit


def test_both_paths_share_the_provenance_writer():
    assert catalogue_path.write_provenance is provenance.write_provenance
    assert formula_path.write_provenance is provenance.write_provenance


@pytest.fixture
def stubbed(monkeypatch, trial):
    """Both paths prepared and sampled by stubs: a hand-made posterior with divergences,
    a model note from each; records the settings and seeds the stubs received."""
    fit0, _, _ = handmade_fit(small_counts(), intercept=-0.5, theta=-0.3, n_draw=200)
    idata = fit0.idata
    diverging = np.zeros((2, 200), bool)
    diverging[0, :3] = True
    idata.sample_stats["diverging"] = (("chain", "draw"), diverging)
    seen = []
    cat = SimpleNamespace(warnings=["catalogue note"], spec=fit0.spec, design=fit0.design)
    form = SimpleNamespace(notes=("formula note",), design=fit0.design, model=None, frame=None)

    def sample(prepared, trial, settings, seed, predictive):
        seen.append((settings, seed, predictive))
        return idata

    monkeypatch.setattr(api, "prepare_catalogue", lambda *a: cat)
    monkeypatch.setattr(api, "prepare_formula", lambda *a: form)
    monkeypatch.setattr(api, "sample_catalogue", sample)
    monkeypatch.setattr(api, "sample_formula", sample)
    return seen


def _caught(call):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = call()
    return out, [w for w in caught if issubclass(w.category, ModelNote | DiagnosticsWarning)]


def test_both_paths_warn_the_same_way_at_the_callers_line(trial, stubbed):
    settings = SamplerSettings(draws=200, chains=2, progress=False)
    calls = {
        "catalogue": lambda: fdb.fit(trial, settings=settings, seed=5),
        "fit(formula=)": lambda: fdb.fit(trial, formula="post_count ~ arm", settings=settings),
        "fit_formula": lambda: fit_formula(trial, "post_count ~ arm", seed=5, draws=200),
    }
    for name, call in calls.items():
        out, caught = _caught(call)
        assert isinstance(out, FormulaFit if "formula" in name else Fit), name
        assert [w.category for w in caught] == [ModelNote, DiagnosticsWarning], name
        assert str(caught[1].message).startswith(DIAGNOSTICS_FAILED)
        assert "3 divergent transition(s)" in str(caught[1].message)
        # every warning points at this file (the lambda's line), not at fd_bayes
        assert {w.filename for w in caught} == {__file__}, name
    assert stubbed[0] == (settings, 5, True)
    assert stubbed[2][0] == SamplerSettings(draws=200)  # built from the keywords
    assert 0 <= stubbed[1][1] < 2**31  # a seed was drawn when none was given
