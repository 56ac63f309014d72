"""Adaptive sampling: a safety net for a fit that falls short of its diagnostics.

A default fit should pass its diagnostics on its own (``benchmarks/bench_convergence.py``
measures how often it does). When one does not, :func:`sample_adaptively` samples again,
up to :data:`~fd_bayes.constants.ADAPT_MAX_ROUNDS` rounds in all: each further round runs
fresh chains from their own seed stream with twice the warm-up and twice the draws of the
round before, and replaces the round before (chains that disagreed are not mixed with new
ones). It stops at the first round that passes, or at the cap; the fit then carries the
last round, its diagnostics and warning as usual, and the history of the rounds in its
provenance (``rounds``, ``round_history``), which ``fit.info()``, the report and the CLI
put in words (:func:`rounds_sentence`).

Nothing is excluded from the diagnostics to make a round pass: each round is judged by
:func:`fd_bayes.inference.idata.diagnostics` on every parameter, as a single fit is.
The same seed gives the same rounds (round ``k`` samples with the ``k``-th word of the
seed's sequence); the first round is exactly the single run of ``adapt=False``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass

from fd_bayes.constants import ADAPT_MAX_ROUNDS, DIVERGENCES_MAX, ESS_MIN, RHAT_MAX
from fd_bayes.inference import idata as infd
from fd_bayes.inference.settings import SEED_LIMIT, SamplerSettings, split_seed


@dataclass(frozen=True)
class Round:
    """One round of sampling: its size, seed and how its diagnostics came out."""

    round: int
    draws: int
    tune: int
    seed: int
    max_rhat: float
    min_ess_bulk: float
    min_ess_tail: float
    divergences: int
    passed: bool
    seconds: float
    #: The variables that failed a threshold in this round (see :func:`diagnostics`).
    failing: tuple[str, ...] = ()


def round_settings(settings: SamplerSettings, k: int) -> SamplerSettings:
    """The settings of round ``k`` (1 is the first): twice the warm-up and draws of the
    round before.

    >>> s = SamplerSettings(draws=1000, tune=1000)
    >>> [(r.tune, r.draws) for r in (round_settings(s, k) for k in (1, 2, 3))]
    [(1000, 1000), (2000, 2000), (4000, 4000)]
    """
    factor = 2 ** (k - 1)
    return settings.replace(draws=settings.draws * factor, tune=settings.tune * factor)


def round_seeds(seed: int, n: int) -> list[int]:
    """The sampler seeds of rounds 1..n: ``seed`` itself first (so that the first round
    is the single run of ``adapt=False``), then independent words of its sequence."""
    return [seed, *(s % SEED_LIMIT for s in split_seed(seed, n)[1:])]


def sample_adaptively(
    run: Callable[[SamplerSettings, int], tuple[infd.InferenceData, float]],
    settings: SamplerSettings,
    seed: int,
) -> tuple[object, list[Round]]:
    """Call ``run(settings_k, seed_k)`` round by round until its diagnostics pass.

    ``run`` samples once with the round's settings and sampler seed and returns
    ``(result, seconds)``, where ``result.idata`` holds the posterior and sample stats
    (sampler-internal variables dropped). With ``settings.adapt`` false there is one
    round whatever its diagnostics. Returns the last round's result and every round's
    :class:`Round`.
    """
    n = ADAPT_MAX_ROUNDS if settings.adapt else 1
    history: list[Round] = []
    result = None
    for k, round_seed in enumerate(round_seeds(seed, n), start=1):
        current = round_settings(settings, k)
        result, seconds = run(current, round_seed)
        diag = infd.diagnostics(result.idata, variables=True)
        passed = not infd.diagnostic_problems(diag)
        history.append(
            Round(
                round=k,
                draws=current.draws,
                tune=current.tune,
                seed=int(round_seed),
                max_rhat=float(diag["max_rhat"]),
                min_ess_bulk=float(diag["min_ess_bulk"]),
                min_ess_tail=float(diag["min_ess_tail"]),
                divergences=int(diag["divergences"]),
                passed=passed,
                seconds=float(seconds),
                failing=tuple(diag["failing"]),
            )
        )
        if passed:
            break
    return result, history


def rounds_attrs(history: list[Round], adapt: bool) -> dict:
    """The provenance of the rounds: ``rounds`` (how many), ``adapt`` and
    ``round_history`` (JSON list of the rounds)."""
    return {
        "adapt": int(adapt),
        "rounds": len(history),
        "round_history": json.dumps([asdict(r) for r in history]),
    }


def history_from_attrs(attrs: dict) -> list[Round]:
    """The rounds recorded in a fit's provenance (none for a fit saved before rounds)."""
    raw = attrs.get("round_history", "")
    return (
        [Round(**{**r, "failing": tuple(r.get("failing", ()))}) for r in json.loads(raw)]
        if raw
        else []
    )


def rounds_sentence(history: list[Round]) -> str:
    """The rounds in plain words ("" for a fit that passed at its first round, or one
    saved before rounds were recorded).

    >>> r = Round(1, 1000, 1000, 1, 1.02, 300.0, 350.0, 0, False, 9.0, ("crime_sd",))
    >>> ok = Round(2, 2000, 2000, 7, 1.004, 900.0, 950.0, 0, True, 18.0)
    >>> print(rounds_sentence([r, ok]))  # doctest: +NORMALIZE_WHITESPACE
    The first run (1000 draws after 1000 warm-up per chain) fell short of the
    diagnostics (R-hat 1.020, smallest ESS 300; crime_sd), so fresh chains were sampled with more
    warm-up and draws; the diagnostics passed at round 2 of at most 3 (2000 draws after
    2000 warm-up per chain). The results are from that round.
    """
    if len(history) <= 1 and (not history or history[0].passed):
        return ""
    first = history[0]
    why = _shortfall(first)
    if history[-1].passed:
        last = history[-1]
        return (
            f"The first run ({first.draws} draws after {first.tune} warm-up per chain) fell "
            f"short of the diagnostics ({why}), so fresh chains were sampled with more "
            f"warm-up and draws; the diagnostics passed at round {last.round} of at most "
            f"{ADAPT_MAX_ROUNDS} ({last.draws} draws after {last.tune} warm-up per chain). "
            "The results are from that round."
        )
    return (
        f"The diagnostics still failed after {len(history)} rounds of sampling (the last "
        f"with {history[-1].draws} draws after {history[-1].tune} warm-up per chain; the "
        f"first fell short with {why}). More draws did not help: the model may not suit "
        "these data."
    )


def _shortfall(r: Round) -> str:
    parts = []
    if r.max_rhat > RHAT_MAX:
        parts.append(f"R-hat {r.max_rhat:.3f}")
    low = min(r.min_ess_bulk, r.min_ess_tail)
    if low < ESS_MIN:
        parts.append(f"smallest ESS {low:.0f}")
    if r.divergences > DIVERGENCES_MAX:
        parts.append(f"{r.divergences} divergent transitions")
    text = ", ".join(parts) or "diagnostics not met"
    return f"{text}; {', '.join(r.failing)}" if r.failing else text


__all__ = [
    "Round",
    "history_from_attrs",
    "round_seeds",
    "round_settings",
    "rounds_attrs",
    "rounds_sentence",
    "sample_adaptively",
]
