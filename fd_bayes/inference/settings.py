"""Sampler settings and seeds: validated once, shared by every path that samples.

:class:`SamplerSettings` is the one object that carries how to run NUTS (draws, warm-up,
chains, target acceptance, sampler, cores, progress bar, mass matrix). Catalogue fits,
formula fits, :func:`fd_bayes.meta.bayes`, planning, calibration, sensitivity analyses and
the CLI build one and pass it on, instead of threading six keywords through each layer.
It is frozen (hashable, picklable: it travels to simulation workers) and checks its
values on construction, so a bad value fails before any work, with a
:class:`~fd_bayes.errors.SettingsError` that names it.

Seeds: :func:`resolve_seed` draws (and so records) a seed when none is given;
:func:`split_seed` gives the independent streams of one fit (sampler, prior draws,
predictive draws, frailty draws), and :func:`child_seed` the ``k``-th stream of a
simulation's seed sequence.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from fd_bayes.constants import DEFAULT_CHAINS, DEFAULT_DRAWS, DEFAULT_TARGET_ACCEPT, DEFAULT_TUNE
from fd_bayes.errors import SettingsError

#: The NUTS implementations :func:`fd_bayes.inference.sampling.run_nuts` knows.
SAMPLERS = ("auto", "nutpie", "pymc", "numpyro", "nutpie-jax")
#: nutpie's mass matrices (``"auto"``: low-rank for frailty families, diagonal otherwise).
MASS_MATRICES = ("auto", "diag", "low_rank")
#: Seeds are kept below 2**31 so that every sampler accepts them.
SEED_LIMIT = 2**31


@dataclass(frozen=True)
class SamplerSettings:
    """How to run NUTS: validated on construction, immutable afterwards.

    Parameters
    ----------
    draws : int
        Posterior draws per chain (after warm-up), at least 1.
    tune : int
        Warm-up (tuning) iterations per chain, discarded; at least 0.
    chains : int
        Independent chains, at least 1 (4 or more for a trustworthy R-hat).
    target_accept : float
        NUTS target acceptance rate, in (0, 1); raise it (0.95, 0.99) after divergences.
    sampler : {"auto", "nutpie", "pymc", "numpyro", "nutpie-jax"}
        ``"auto"`` is nutpie when installed, else PyMC's NUTS.
    cores : int, optional
        Chains run in parallel on this many cores (default: all available).
    progress : bool
        Show the sampler's progress bar.
    mass_matrix : {"auto", "diag", "low_rank"}
        nutpie's mass matrix (see :func:`fd_bayes.fit`).
    adapt : bool
        When the diagnostics fail, sample fresh chains with twice the warm-up and
        draws, up to :data:`~fd_bayes.constants.ADAPT_MAX_ROUNDS` rounds in all (see
        :mod:`fd_bayes.inference.adaptive`); ``False``: one run, whatever its
        diagnostics.

    Examples
    --------
    >>> from fd_bayes.inference.settings import SamplerSettings
    >>> s = SamplerSettings(draws=500, chains=2)
    >>> s.replace(target_accept=0.95).target_accept
    0.95
    >>> SamplerSettings(draws=0)
    Traceback (most recent call last):
    ...
    fd_bayes.errors.SettingsError: draws must be an integer >= 1, got 0
    """

    draws: int = DEFAULT_DRAWS
    tune: int = DEFAULT_TUNE
    chains: int = DEFAULT_CHAINS
    target_accept: float = DEFAULT_TARGET_ACCEPT
    sampler: str = "auto"
    cores: int | None = None
    progress: bool = True
    mass_matrix: str = "auto"
    adapt: bool = True

    def __post_init__(self) -> None:
        for name, low in (("draws", 1), ("tune", 0), ("chains", 1)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < low:
                raise SettingsError(f"{name} must be an integer >= {low}, got {value!r}")
            object.__setattr__(self, name, int(value))
        ta = self.target_accept
        if isinstance(ta, bool) or not isinstance(ta, int | float | np.floating) or not 0 < ta < 1:
            raise SettingsError(f"target_accept must be a number in (0, 1), got {ta!r}")
        object.__setattr__(self, "target_accept", float(ta))
        if self.sampler not in SAMPLERS:
            raise SettingsError(
                f"unknown sampler '{self.sampler}'; choose one of {', '.join(SAMPLERS)}"
            )
        if self.cores is not None and (
            isinstance(self.cores, bool)
            or not isinstance(self.cores, int | np.integer)
            or self.cores < 1
        ):
            raise SettingsError(f"cores must be an integer >= 1 or None, got {self.cores!r}")
        if self.mass_matrix not in MASS_MATRICES:
            raise SettingsError(
                f"mass_matrix must be one of {', '.join(MASS_MATRICES)}, got {self.mass_matrix!r}"
            )
        object.__setattr__(self, "progress", bool(self.progress))
        if not isinstance(self.adapt, bool | np.bool_):
            raise SettingsError(f"adapt must be True or False, got {self.adapt!r}")
        object.__setattr__(self, "adapt", bool(self.adapt))

    def replace(self, **changes) -> SamplerSettings:
        """A copy with some settings changed (validated again)."""
        return dataclasses.replace(self, **changes)

    def describe(self) -> str:
        """One line for reports: ``4 chains x 1000 draws after 1000 warm-up, ...``."""
        return (
            f"{self.chains} chains x {self.draws} draws after {self.tune} warm-up, "
            f"target_accept {self.target_accept:g}, sampler {self.sampler}"
        )

    def as_attrs(self) -> dict:
        """The settings as provenance attributes of a fit (``posterior.attrs``)."""
        return {
            "draws": self.draws,
            "tune": self.tune,
            "chains": self.chains,
            "target_accept": self.target_accept,
            "adapt": int(self.adapt),
        }


def resolve_seed(seed: int | None) -> int:
    """``seed`` as an int, or a fresh one drawn from the OS when ``None`` (so that a fit
    without a seed still records one and can be repeated)."""
    if seed is None:
        return int(np.random.SeedSequence().generate_state(1)[0] % SEED_LIMIT)
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise SettingsError(f"seed must be a non-negative integer or None, got {seed!r}")
    return int(seed)


def split_seed(seed: int, n: int) -> list[int]:
    """``n`` independent 32-bit seeds derived from one seed (``SeedSequence(seed)``'s
    first ``n`` words; reduce one modulo :data:`SEED_LIMIT` for a sampler).

    >>> split_seed(1, 2) == split_seed(1, 2)
    True
    """
    return [int(s) for s in np.random.SeedSequence(seed).generate_state(n)]


def child_seed(seq: np.random.SeedSequence, k: int) -> np.random.SeedSequence:
    """The ``k``-th independent stream of a simulation's seed sequence (the same in any
    order of evaluation and on any scheduler)."""
    return np.random.SeedSequence(seq.entropy, spawn_key=(*seq.spawn_key, k))


def resolve_settings(settings: SamplerSettings | None = None, **keywords) -> SamplerSettings:
    """The one :class:`SamplerSettings` of a call that takes both ``settings=`` and the
    sampler keywords (``draws``, ``tune``, ``chains``, ``target_accept``, ``sampler``,
    ``cores``, ``progress``, ``mass_matrix``, ``adapt``).

    ``settings`` when given, else one built (and so validated) from ``keywords``. Giving
    ``settings`` together with a keyword that differs from its default is a
    :class:`~fd_bayes.errors.SettingsError` (the two would disagree).

    >>> resolve_settings(None, draws=200).draws
    200
    >>> resolve_settings(SamplerSettings(draws=300), draws=1000).draws  # 1000 is the default
    300
    """
    fields = {f.name: f.default for f in dataclasses.fields(SamplerSettings)}
    unknown = sorted(set(keywords) - set(fields))
    if unknown:
        raise SettingsError(f"unknown sampler setting(s) {unknown}; known: {', '.join(fields)}")
    if settings is None:
        return SamplerSettings(**keywords)
    if not isinstance(settings, SamplerSettings):
        raise SettingsError(
            f"settings= takes a fd_bayes.inference.SamplerSettings, got {type(settings).__name__}"
        )
    given = sorted(k for k, v in keywords.items() if v != fields[k])
    if given:
        raise SettingsError(
            f"give the sampler settings either as settings= or as keywords, not both: "
            f"{', '.join(given)} given besides settings= (use settings.replace({given[0]}=...))"
        )
    return settings


__all__ = [
    "MASS_MATRICES",
    "SAMPLERS",
    "SEED_LIMIT",
    "SamplerSettings",
    "child_seed",
    "resolve_seed",
    "resolve_settings",
    "split_seed",
]
