"""How every simulated fit of a planning or calibration study is run: the model, its
priors and a :class:`~fd_bayes.inference.SamplerSettings` (:class:`FitSettings`).

The studies take the sampler settings either as the keywords ``draws``, ``tune``,
``chains``, ``target_accept`` and ``sampler`` or as one ``settings=SamplerSettings(...)``
(as the CLI passes them), never both: :func:`plan_sampler_settings` turns either into the
one object the simulated fits use. Each simulated fit runs on one core without a progress
bar (a study spreads its simulations over processes), whatever ``cores`` and ``progress``
the given settings say.
"""

from __future__ import annotations

from dataclasses import dataclass

from fd_bayes.constants import DEFAULT_MODEL, DEFAULT_TARGET_ACCEPT
from fd_bayes.data import Trial
from fd_bayes.errors import SettingsError
from fd_bayes.inference import SamplerSettings
from fd_bayes.results import fit

#: Sampling settings of each simulated fit unless told otherwise (see ``docs/planning.md``
#: and ``benchmarks/bench_plan.py`` for why these suffice for a decision at 0.95).
PLAN_CHAINS = 2
PLAN_TUNE = 300
PLAN_DRAWS = 400

#: The sampler settings of a simulated fit by default: one core, no progress bar, and one
#: round (no adaptive sampling): a planning study tallies its fits' diagnostics instead of
#: rerunning them, and at 2 x 400 draws adaptive rounds would triple its cost. Pass
#: ``settings=SamplerSettings(...)`` (adaptive by default) for fits that must each pass.
PLAN_SAMPLING = SamplerSettings(
    draws=PLAN_DRAWS, tune=PLAN_TUNE, chains=PLAN_CHAINS, cores=1, progress=False, adapt=False
)


def plan_sampler_settings(
    settings: SamplerSettings | None = None,
    *,
    draws: int | None = None,
    tune: int | None = None,
    chains: int | None = None,
    target_accept: float | None = None,
    sampler: str | None = None,
) -> SamplerSettings:
    """The sampler settings of a study's simulated fits, from ``settings`` or from the
    keywords (``None``: the planning defaults :data:`PLAN_DRAWS`, :data:`PLAN_TUNE`,
    :data:`PLAN_CHAINS`, the package's target acceptance and ``"auto"``).

    Giving ``settings`` and any keyword is a :class:`~fd_bayes.errors.SettingsError`.
    ``cores`` is 1 and ``progress`` off in either case (one simulation per process).
    """
    keywords = {
        "draws": draws,
        "tune": tune,
        "chains": chains,
        "target_accept": target_accept,
        "sampler": sampler,
    }
    given = {k: v for k, v in keywords.items() if v is not None}
    if settings is not None:
        if given:
            raise SettingsError(
                f"give the sampler settings either as settings= or as keywords, not both "
                f"(settings= and {', '.join(sorted(given))}=)"
            )
        if not isinstance(settings, SamplerSettings):
            raise SettingsError(
                f"settings must be a SamplerSettings, got {type(settings).__name__}"
            )
        return settings.replace(cores=1, progress=False)
    return PLAN_SAMPLING.replace(**given)


@dataclass(init=False)
class FitSettings:
    """Sampling settings of every simulated fit (recorded with the results).

    Holds the ``model``, its ``priors`` and ``sampling``, a
    :class:`~fd_bayes.inference.SamplerSettings`. It is built either from one
    (``FitSettings(model, sampling=SamplerSettings(...), priors=...)``) or, as before,
    from the keywords ``draws``, ``tune``, ``chains``, ``target_accept``, ``sampler`` and
    ``cores`` (default: the planning settings, :data:`PLAN_SAMPLING`); those names stay
    readable as attributes. The fits never show a progress bar.
    """

    model: str
    sampling: SamplerSettings
    priors: dict | None

    def __init__(
        self,
        model: str = DEFAULT_MODEL,
        draws: int = PLAN_DRAWS,
        tune: int = PLAN_TUNE,
        chains: int = PLAN_CHAINS,
        target_accept: float = DEFAULT_TARGET_ACCEPT,
        sampler: str = "auto",
        cores: int | None = 1,
        priors: dict | None = None,
        *,
        sampling: SamplerSettings | None = None,
    ) -> None:
        if sampling is None:
            sampling = PLAN_SAMPLING.replace(
                draws=draws,
                tune=tune,
                chains=chains,
                target_accept=target_accept,
                sampler=sampler,
                cores=cores,
            )
        elif not isinstance(sampling, SamplerSettings):
            raise SettingsError(
                f"sampling must be a SamplerSettings, got {type(sampling).__name__}"
            )
        self.model = model
        self.sampling = sampling.replace(progress=False)
        self.priors = priors

    # the sampler settings by their old names (read-only)
    @property
    def draws(self) -> int:
        return self.sampling.draws

    @property
    def tune(self) -> int:
        return self.sampling.tune

    @property
    def chains(self) -> int:
        return self.sampling.chains

    @property
    def target_accept(self) -> float:
        return self.sampling.target_accept

    @property
    def sampler(self) -> str:
        return self.sampling.sampler

    @property
    def cores(self) -> int | None:
        return self.sampling.cores

    def fit(self, trial: Trial, seed: int):
        """Fit ``trial`` with these settings (no predictive draws)."""
        return fit(
            trial,
            model=self.model,
            seed=seed,
            priors=self.priors,
            predictive=False,
            settings=self.sampling,
        )

    def describe(self) -> str:
        return f"{self.model}, {self.sampling.describe()}"


__all__ = [
    "PLAN_CHAINS",
    "PLAN_DRAWS",
    "PLAN_SAMPLING",
    "PLAN_TUNE",
    "FitSettings",
    "plan_sampler_settings",
]
