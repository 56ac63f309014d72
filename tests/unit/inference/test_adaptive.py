"""Adaptive sampling on hand-made posteriors (no MCMC)."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pytest

from fd_bayes.constants import ADAPT_MAX_ROUNDS
from fd_bayes.errors import SettingsError
from fd_bayes.inference import idata as infd
from fd_bayes.inference.adaptive import (
    Round,
    history_from_attrs,
    round_seeds,
    round_settings,
    rounds_attrs,
    rounds_sentence,
    sample_adaptively,
)
from fd_bayes.inference.settings import SamplerSettings


def posterior(converged: bool, draws: int, seed: int, chains: int = 4):
    """iid draws (converged) or chains stuck at different levels (not converged)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(chains, draws))
    if not converged:
        x = x + np.arange(chains)[:, None]  # chains disagree: R-hat far above 1.01
    idata = infd.from_dict(
        posterior={"x": x},
        sample_stats={"diverging": np.zeros((chains, draws), dtype=bool)},
    )
    return SimpleNamespace(idata=idata)


class FakeSampler:
    """Fails its first ``failures`` rounds, then converges; records its calls."""

    def __init__(self, failures: int):
        self.failures = failures
        self.calls: list[tuple[int, int, int]] = []

    def __call__(self, settings: SamplerSettings, seed: int):
        self.calls.append((settings.draws, settings.tune, seed))
        ok = len(self.calls) > self.failures
        return posterior(ok, settings.draws, seed), 0.5


def test_a_passing_first_round_is_the_only_round():
    run = FakeSampler(failures=0)
    _, history = sample_adaptively(run, SamplerSettings(draws=500, tune=300), seed=7)
    assert len(history) == 1 and history[0].passed
    assert run.calls == [(500, 300, 7)]  # the first round uses the seed itself
    assert rounds_sentence(history) == ""


def test_failing_rounds_double_warmup_and_draws_until_they_pass():
    run = FakeSampler(failures=1)
    result, history = sample_adaptively(run, SamplerSettings(draws=500, tune=300), seed=7)
    assert [r.passed for r in history] == [False, True]
    assert [(d, t) for d, t, _ in run.calls] == [(500, 300), (1000, 600)]
    assert history[0].max_rhat > 1.01 and history[0].failing == ("x",)
    assert history[1].failing == ()
    assert result.idata.posterior.sizes["draw"] == 1000  # the last round is kept
    assert "passed at round 2" in rounds_sentence(history)


def test_the_cap_stops_the_rounds_and_says_so():
    run = FakeSampler(failures=99)
    _, history = sample_adaptively(run, SamplerSettings(draws=100, tune=100), seed=3)
    assert len(history) == ADAPT_MAX_ROUNDS and not any(r.passed for r in history)
    assert f"still failed after {ADAPT_MAX_ROUNDS} rounds" in rounds_sentence(history)


def test_adapt_false_is_a_single_run_whatever_its_diagnostics():
    run = FakeSampler(failures=99)
    _, history = sample_adaptively(run, SamplerSettings(adapt=False), seed=3)
    assert len(history) == 1 and not history[0].passed


def test_same_seed_same_rounds_and_distinct_round_seeds():
    a, b = FakeSampler(failures=99), FakeSampler(failures=99)
    sample_adaptively(a, SamplerSettings(draws=50, tune=50), seed=11)
    sample_adaptively(b, SamplerSettings(draws=50, tune=50), seed=11)
    assert a.calls == b.calls
    seeds = [s for *_, s in a.calls]
    assert len(set(seeds)) == len(seeds) == ADAPT_MAX_ROUNDS
    assert round_seeds(11, 3) == seeds
    assert all(0 <= s < 2**31 for s in seeds)


def test_round_settings_keep_everything_else():
    s = SamplerSettings(draws=400, tune=200, chains=2, target_accept=0.95, sampler="pymc")
    third = round_settings(s, 3)
    assert (third.draws, third.tune) == (1600, 800)
    assert third.replace(draws=400, tune=200) == s


def test_history_round_trips_through_the_provenance():
    history = [
        Round(1, 1000, 1000, 5, 1.02, 300.0, 310.0, 0, False, 9.5, ("crime_sd", "cell_sd")),
        Round(2, 2000, 2000, 6, 1.004, 900.0, 950.0, 0, True, 19.0),
    ]
    attrs = rounds_attrs(history, adapt=True)
    assert attrs["rounds"] == 2 and attrs["adapt"] == 1
    assert json.loads(attrs["round_history"])[0]["failing"] == ["crime_sd", "cell_sd"]
    assert history_from_attrs(attrs) == history
    assert history_from_attrs({}) == []  # a fit saved before rounds were recorded


@pytest.mark.parametrize("bad", [0, 1, "yes", None])
def test_adapt_is_a_bool_setting(bad):
    with pytest.raises(SettingsError, match="adapt must be True or False"):
        SamplerSettings(adapt=bad)
    assert SamplerSettings(adapt=np.bool_(False)).adapt is False
