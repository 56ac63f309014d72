"""Fitting a model to a trial, and reading a saved fit: :func:`fit` and :func:`load`.

:func:`fit` is a dispatcher: it checks its arguments once (one
:class:`~fd_bayes.inference.SamplerSettings`, one seed), prepares the catalogue model
(:func:`fd_bayes.inference.prepare_catalogue`) or the Bambi formula model
(:func:`fd_bayes.inference.prepare_formula`), issues its model notes, samples it
(:func:`~fd_bayes.inference.sample_catalogue`, :func:`~fd_bayes.inference.sample_formula`:
both record the provenance with one writer), wraps the ``InferenceData`` in a
:class:`~fd_bayes.results.fit.Fit` or a :class:`~fd_bayes.results.formula.FormulaFit`
and issues the one diagnostics warning. It lives in the results layer because it returns
a Fit; the inference layer stops at the ``InferenceData``.

Warnings point at the caller's line by fixed stack levels (no frame is inspected): the
user calls :func:`fit` or :func:`fit_formula`, which issue the diagnostics warning
themselves and call the path (whose model notes point two frames up) directly.
"""

from __future__ import annotations

import json
from pathlib import Path

from fd_bayes.constants import (
    DEFAULT_CHAINS,
    DEFAULT_DRAWS,
    DEFAULT_MODEL,
    DEFAULT_TARGET_ACCEPT,
    DEFAULT_TUNE,
)
from fd_bayes.data import Published, Trial
from fd_bayes.errors import FdBayesError, SettingsError
from fd_bayes.inference import (
    SamplerSettings,
    prepare_catalogue,
    prepare_formula,
    resolve_seed,
    resolve_settings,
    sample_catalogue,
    sample_formula,
    warn_diagnostics,
    warn_notes,
)
from fd_bayes.inference import idata as infd
from fd_bayes.modelling import Design, ModelSpec, spec_from_dict
from fd_bayes.results.fit import Fit
from fd_bayes.results.formula import FormulaFit


def load(path: str | Path) -> Fit:
    """Read a fit written by :meth:`Fit.save`."""
    path = Path(path)
    if not path.exists():
        raise FdBayesError(f"no saved fit at {path}")
    idata = infd.from_netcdf(path)
    attrs = idata.posterior.attrs
    if "spec_json" not in attrs:
        raise FdBayesError(f"{path} is not a fit saved by fd_bayes")
    spec = spec_from_dict(json.loads(attrs["spec_json"]), source=attrs.get("spec_source", ""))
    return Fit(idata, spec, Design.from_dataset(idata.constant_data))


def fit(
    trial: Trial,
    model: str | Path | ModelSpec = DEFAULT_MODEL,
    *,
    draws: int = DEFAULT_DRAWS,
    tune: int = DEFAULT_TUNE,
    chains: int = DEFAULT_CHAINS,
    seed: int | None = None,
    sampler: str = "auto",
    target_accept: float = DEFAULT_TARGET_ACCEPT,
    priors: dict | None = None,
    progress: bool = True,
    cores: int | None = None,
    predictive: bool = True,
    formula: str | None = None,
    family: str | None = None,
    mass_matrix: str = "auto",
    published: Published | None = None,
    adapt: bool = True,
    settings: SamplerSettings | None = None,
) -> Fit | FormulaFit:
    """Fit a model from the catalogue (or a spec file) to a trial.

    Parameters
    ----------
    trial : Trial
    model : str, path or ModelSpec
        A catalogue name (``fd-bayes models`` lists them) or a path to a TOML spec.
    draws : int
        Posterior draws per chain (after warm-up).
    tune : int
        Warm-up (tuning) iterations per chain, discarded.
    chains : int
        Number of independent chains; at least 4 for trustworthy R-hat.
    seed : int, optional
        Random seed. The same seed gives an identical effects table. When omitted a
        seed is drawn and recorded in ``fit.info``, so the fit can be repeated.
    sampler : {"auto", "nutpie", "pymc", "numpyro", "nutpie-jax"}
        ``"nutpie-jax"``: nutpie with a JAX-compiled model (needs jax): compiles in
        seconds, faster gradients on large pooled data; no compile cache.
    target_accept : float
        NUTS target acceptance rate; raise it (0.95, 0.99) if there are divergences.
    priors : dict, optional
        Overrides of the spec's priors, ``{"effect_overall": {"dist": "Normal", "mu": 0,
        "sigma": 0.3}}``.
    progress : bool
        Show the sampler's progress bar.
    cores : int, optional
        Chains run in parallel on this many cores (default: all available).
    predictive : bool
        Also draw from the prior, the prior and posterior predictive distributions and
        store the pointwise log-likelihood (model checking, LOO). Simulation studies
        that only need the effects set it to False.
    formula : str, optional
        Fit a Bambi formula model instead of a catalogue model, e.g. ``"post_count ~
        arm * crime_type + (1|person_id) + offset(log_exposure_years)"``; returns a
        :class:`fd_bayes.results.formula.FormulaFit` with the same effects table (see
        :func:`fd_bayes.results.api.fit_formula` and ``docs/formula.md``). Needs
        ``pip install 'fd_bayes[bambi]'``; ``priors`` are then Bambi priors.
    family : str, optional
        The Bambi family of a formula model (default ``"negativebinomial"``; also
        ``"poisson"``, zero-inflated and hurdle count families). Only with ``formula``.
    mass_matrix : {"auto", "diag", "low_rank"}
        nutpie's mass matrix: diagonal, or diagonal plus a low-rank correction that
        learns the correlations of the posterior. ``"auto"``: low-rank for models with
        the person effect integrated out (``negmult`` family: tens of parameters, strongly
        correlated intercepts and effects when the data are large; on 10 x 1,000
        people it quadrupled the ESS of ``effect_overall``), diagonal otherwise (it slowed
        ``negbin_hier`` on the example trial by half and did not help ``negbin_pooled``).
        See ``benchmarks/README.md``.
    published : Published, optional
        Published trials (log rate ratios and standard errors) pooled with the
        individual data in one model (one-stage IPD + aggregate data; needs a model with
        a pooled trial term, ``negbin_pooled`` or ``negmult_pooled``): each published
        estimate is ``Normal(typical log RR + its trial deviation, its SE)``, the
        deviation drawn from the same between-trial SD. The effects table adds a
        ``trial`` row per published trial. See :class:`fd_bayes.data.published.Published`.
    adapt : bool
        Adaptive sampling, a safety net (default on): when the diagnostics fail, fresh
        chains are sampled with twice the warm-up and draws, up to three rounds in all,
        and the fit keeps the first round that passes (or the last). ``fit.info()``
        (``rounds``), the report and the CLI say how many rounds it took. The same seed
        gives the same rounds. ``False``: one run, whatever its diagnostics. See
        :mod:`fd_bayes.inference.adaptive`.
    settings : SamplerSettings, optional
        All the sampler settings in one object (``draws``, ``tune``, ``chains``,
        ``target_accept``, ``sampler``, ``cores``, ``progress``, ``mass_matrix``,
        ``adapt``), instead
        of the keywords; giving it together with one of those keywords (other than its
        default) is a :class:`~fd_bayes.errors.SettingsError`.

    Notes
    -----
    A second fit of the same spec to data of the same design (same labels and shapes)
    in the same process reuses nutpie's compiled model (see
    :mod:`fd_bayes.inference.sampling`): only the first pays the compile time.

    Returns
    -------
    Fit
        A :class:`~fd_bayes.results.formula.FormulaFit` (a Fit) with ``formula``.

    Warns
    -----
    DiagnosticsWarning
        When R-hat > 1.01, an ESS < 400 or any divergence.
    ModelNote
        When a term the spec asks for cannot be identified and was left out.
    """
    keywords = {
        "draws": draws,
        "tune": tune,
        "chains": chains,
        "target_accept": target_accept,
        "sampler": sampler,
        "cores": cores,
        "progress": progress,
        "mass_matrix": mass_matrix,
        "adapt": adapt,
    }
    if formula is not None:
        if model != DEFAULT_MODEL:
            raise SettingsError("give either model= (a catalogue model) or formula=, not both")
        matrix = mass_matrix if settings is None else settings.mass_matrix
        if matrix != "auto" or published is not None:
            raise SettingsError(
                "mass_matrix= and published= are for catalogue models, not formula models"
            )
        out = _fit_formula(trial, formula, family, priors, settings, keywords, seed, predictive)
    else:
        if family is not None:
            raise SettingsError(
                "family= is for formula models (with formula=); a catalogue model's family "
                "is set in its spec"
            )
        out = _fit_catalogue(trial, model, priors, published, settings, keywords, seed, predictive)
    warn_diagnostics(out.diagnostic_problems(), stacklevel=2)
    return out


def fit_formula(
    trial: Trial,
    formula: str,
    *,
    family: str | None = None,
    draws: int = DEFAULT_DRAWS,
    tune: int = DEFAULT_TUNE,
    chains: int = DEFAULT_CHAINS,
    seed: int | None = None,
    sampler: str = "auto",
    target_accept: float = DEFAULT_TARGET_ACCEPT,
    priors: dict | None = None,
    progress: bool = True,
    cores: int | None = None,
    predictive: bool = True,
    adapt: bool = True,
    settings: SamplerSettings | None = None,
) -> FormulaFit:
    """Fit a Bambi formula model to a trial (what ``fdb.fit(trial, formula=...)`` calls).

    Parameters
    ----------
    trial : Trial
    formula : str
        A Bambi (formulae) formula for ``post_count`` that uses ``arm``, e.g.
        ``"post_count ~ arm * crime_type + log1p(pre_count) + (1|person_id)
        + offset(log_exposure_years)"``. The columns are those of
        :func:`fd_bayes.inference.bambi_frame`; ``person_id`` holds integer codes.
        Include ``offset(log_exposure_years)`` so the model is for rates per year at
        risk; without it a :class:`ModelNote` says that the rates are per follow-up
        period.
    family : str, optional
        A Bambi family: ``"negativebinomial"`` (default), ``"poisson"``,
        ``"zero_inflated_poisson"``, ``"zero_inflated_negativebinomial"``,
        ``"hurdle_poisson"`` or ``"hurdle_negativebinomial"`` (log link).
    draws, tune, chains, seed, sampler, target_accept, progress, cores, predictive, adapt, settings
        As for :func:`fd_bayes.fit`. ``sampler`` names the NUTS implementation Bambi
        uses (``"auto"`` = nutpie when installed). The same seed gives an identical
        effects table.
    priors : dict, optional
        Bambi priors, ``{"arm": bambi.Prior("Normal", mu=0, sigma=0.5)}``, passed to
        ``bambi.Model``; Bambi's default (weakly informative, scaled to the data) priors
        are used for the rest.

    Returns
    -------
    FormulaFit

    Warns
    -----
    DiagnosticsWarning
        When R-hat > 1.01, an ESS < 400 or any divergence.
    ModelNote
        When the formula has no ``offset(log_exposure_years)``.
    """
    keywords = {
        "draws": draws,
        "tune": tune,
        "chains": chains,
        "target_accept": target_accept,
        "sampler": sampler,
        "cores": cores,
        "progress": progress,
        "adapt": adapt,
    }
    out = _fit_formula(trial, formula, family, priors, settings, keywords, seed, predictive)
    warn_diagnostics(out.diagnostic_problems(), stacklevel=2)
    return out


# The two paths, each called directly by fit() (and _fit_formula by fit_formula), which
# the user calls: their model notes point two frames up (stacklevel 3 from here).
def _fit_catalogue(trial, model, priors, published, settings, keywords, seed, predictive) -> Fit:
    check_trial(trial)
    settings = resolve_settings(settings, **keywords)
    seed = resolve_seed(seed)
    prepared = prepare_catalogue(trial, model, priors, published)
    warn_notes(prepared.warnings, stacklevel=3)
    idata = sample_catalogue(prepared, trial, settings, seed, predictive)
    return Fit(idata, prepared.spec, prepared.design)


def _fit_formula(
    trial, formula, family, priors, settings, keywords, seed, predictive
) -> FormulaFit:
    check_trial(trial)
    settings = resolve_settings(settings, **keywords)
    seed = resolve_seed(seed)
    prepared = prepare_formula(trial, formula, family, priors, settings)
    warn_notes(prepared.notes, stacklevel=3)
    idata = sample_formula(prepared, trial, settings, seed, predictive)
    return FormulaFit(idata, prepared.design, prepared.model, prepared.frame)


def check_trial(trial) -> None:
    """The check every fit makes before any work: ``trial`` is a :class:`Trial`."""
    if not isinstance(trial, Trial):
        raise SettingsError(f"fit() needs a Trial, got {type(trial).__name__}")


__all__ = ["check_trial", "fit", "fit_formula", "load"]
