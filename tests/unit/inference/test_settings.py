"""SamplerSettings: validation on construction, replace(), the settings-or-keywords rule
(resolve_settings) and the seed split that both fit paths share."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from fd_bayes.errors import SettingsError
from fd_bayes.inference import (
    SEED_LIMIT,
    SamplerSettings,
    resolve_seed,
    resolve_settings,
    split_seed,
)


def test_defaults_match_fit():
    s = SamplerSettings()
    assert (s.draws, s.tune, s.chains, s.target_accept) == (1000, 1000, 4, 0.9)
    assert (s.sampler, s.cores, s.progress, s.mass_matrix) == ("auto", None, True, "auto")
    assert s.as_attrs() == {
        "draws": 1000,
        "tune": 1000,
        "chains": 4,
        "target_accept": 0.9,
        "adapt": 1,
    }
    assert s.adapt is True
    assert pickle.loads(pickle.dumps(s)) == s and hash(s) == hash(SamplerSettings())


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"draws": 0}, "draws must be an integer >= 1, got 0"),
        ({"draws": 2.5}, "draws must be an integer"),
        ({"draws": True}, "draws must be an integer"),
        ({"tune": -1}, "tune must be an integer >= 0"),
        ({"chains": 0}, "chains must be an integer >= 1"),
        ({"target_accept": 1.0}, r"target_accept must be a number in \(0, 1\)"),
        ({"target_accept": "0.9"}, "target_accept must be a number"),
        ({"sampler": "stan"}, "unknown sampler 'stan'"),
        ({"cores": 0}, "cores must be an integer >= 1 or None"),
        ({"mass_matrix": "dense"}, "mass_matrix must be one of auto, diag, low_rank"),
    ],
)
def test_bad_values_fail_on_construction(changes, message):
    with pytest.raises(SettingsError, match=message):
        SamplerSettings(**changes)
    with pytest.raises(SettingsError, match=message):
        SamplerSettings().replace(**changes)


def test_values_are_normalised_and_frozen():
    s = SamplerSettings(draws=np.int64(200), target_accept=np.float32(0.95), progress=0)
    assert type(s.draws) is int and type(s.target_accept) is float and s.progress is False
    with pytest.raises(AttributeError):
        s.draws = 5  # frozen


def test_replace_returns_a_validated_copy():
    s = SamplerSettings(draws=500, chains=2)
    t = s.replace(target_accept=0.99, mass_matrix="low_rank")
    assert (t.draws, t.chains, t.target_accept, t.mass_matrix) == (500, 2, 0.99, "low_rank")
    assert s.target_accept == 0.9  # the original is unchanged
    assert "2 chains x 500 draws after 1000 warm-up" in s.describe()


def test_settings_or_keywords_not_both():
    assert resolve_settings(None, draws=200, progress=False) == SamplerSettings(
        draws=200, progress=False
    )
    given = SamplerSettings(draws=300)
    assert resolve_settings(given) is given
    # keywords at their defaults (what a function's signature passes on) are not "given"
    assert resolve_settings(given, draws=1000, cores=None, sampler="auto") is given
    with pytest.raises(SettingsError, match="not both: chains, draws"):
        resolve_settings(given, draws=10, chains=2)
    with pytest.raises(SettingsError, match="settings= takes"):
        resolve_settings({"draws": 10})
    with pytest.raises(SettingsError, match="unknown sampler setting"):
        resolve_settings(None, draw=10)
    with pytest.raises(SettingsError, match="draws must be an integer"):
        resolve_settings(None, draws=0)


def test_seeds():
    assert resolve_seed(7) == 7 and isinstance(resolve_seed(np.int32(7)), int)
    drawn = resolve_seed(None)
    assert 0 <= drawn < SEED_LIMIT
    with pytest.raises(SettingsError, match="seed must be a non-negative integer"):
        resolve_seed(-1)
    # the catalogue path's streams: SeedSequence(seed).generate_state(4), raw 32-bit words
    words = split_seed(11, 4)
    assert words == [int(w) for w in np.random.SeedSequence(11).generate_state(4)]
    # the formula path takes the first two of the same split
    assert split_seed(11, 2) == words[:2]
