"""The formula path of a fit: a Bambi model of the trial, sampled into an ``InferenceData``.

``fdb.fit(trial, formula="post_count ~ arm * crime_type + (1|person_id)
+ offset(log_exposure_years)", family="negativebinomial")`` hands the trial to Bambi as
a data frame (:func:`bambi_frame`), samples with the same samplers as the catalogue
models and returns a :class:`~fd_bayes.results.formula.FormulaFit`. Its effects table
has the same columns as every other fit's: the treatment effect is g-computation from
Bambi's predictions. For every treated person-row, the expected count over one year
(365 days at risk) is predicted twice per posterior draw, once with ``arm`` set to
``treatment`` and once with ``arm`` set to ``control`` (:func:`counterfactual_frame`),
and :func:`fd_bayes.results.effects.effects_table` sums them exactly as for the catalogue
models.

Two steps, as for catalogue models: :func:`prepare_formula` checks the formula and
builds the Bambi model (:class:`FormulaModel`, with the notes to warn about);
:func:`sample_formula` samples it with one
:class:`~fd_bayes.inference.settings.SamplerSettings`, adds the predictive groups and
writes the provenance. Seeds: the fit's seed is split as for catalogue fits
(:func:`~fd_bayes.inference.settings.split_seed`): the first word seeds the sampler, the
second the posterior predictive draws.

Privacy: the frame given to Bambi carries integer person codes
(:meth:`fd_bayes.Trial.person_index`) in the column ``person_id``, never the
identifiers, so neither the Bambi model nor the fit holds one.
"""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from types import SimpleNamespace

import numpy as np
import pandas as pd
import xarray as xr
from scipy.special import gammaln

from fd_bayes.constants import DAYS_PER_YEAR
from fd_bayes.data import Trial
from fd_bayes.errors import SettingsError
from fd_bayes.inference import idata as infd
from fd_bayes.inference.adaptive import round_settings, rounds_attrs, sample_adaptively
from fd_bayes.inference.catalogue import drop_internal, observed_groups
from fd_bayes.inference.predictive import draws_dataset
from fd_bayes.inference.provenance import write_provenance
from fd_bayes.inference.sampling import resolve_sampler
from fd_bayes.inference.settings import SEED_LIMIT, SamplerSettings, split_seed
from fd_bayes.modelling import Design, by_chain, flat_draws, n_chain_draw

#: Bambi families whose expected count fd_bayes knows how to compute (all log link).
FAMILIES: dict[str, str] = {
    "negativebinomial": "negative binomial (NB2), mean mu",
    "poisson": "Poisson, mean mu",
    "zero_inflated_poisson": "zero-inflated Poisson, mean psi * mu",
    "zero_inflated_negativebinomial": "zero-inflated negative binomial, mean psi * mu",
    "hurdle_poisson": "hurdle Poisson, mean psi * mu / (1 - exp(-mu))",
    "hurdle_negativebinomial": (
        "hurdle negative binomial, mean psi * mu / (1 - (alpha / (alpha + mu))^alpha)"
    ),
}
DEFAULT_FAMILY = "negativebinomial"
#: The response every formula must model.
RESPONSE = "post_count"
#: The column formulas use as the exposure offset: log(exposure_days / 365).
OFFSET_COLUMN = "log_exposure_years"
#: Functions formulas may call besides Bambi's own (log, log2, log10, exp, abs, ...).
NAMESPACE = {"log1p": np.log1p, "expm1": np.expm1, "sqrt": np.sqrt, "np": np}

NO_OFFSET_NOTE = (
    "The formula has no offset(log_exposure_years): expected counts, and so the "
    "offences-prevented figures, are per follow-up period, not per year, and people "
    "with less time at risk are not allowed for. Add + offset(log_exposure_years) to "
    "model rates per year at risk."
)


def load_bambi():
    """The ``bambi`` module, or a :class:`SettingsError` that says how to install it."""
    try:
        import bambi
    except ImportError:
        raise SettingsError(
            "formula models need Bambi, which is not installed; pip install 'fd_bayes[bambi]'"
        ) from None
    return bambi


# -- the data handed to Bambi -------------------------------------------------------------
def bambi_frame(trial: Trial) -> pd.DataFrame:
    """The trial as the data frame that formulas refer to.

    Columns: ``person_id`` (integer person codes 0..n-1 as a categorical, NOT the
    identifiers), ``arm`` (categorical, ``control`` first, so Bambi's coefficient
    ``arm[treatment]`` is the log rate ratio of treatment against control),
    ``age_band``, ``crime_type``, ``outcome`` (categoricals), ``pre_count``,
    ``post_count``, ``exposure_days``, ``log_exposure_years`` = log(exposure_days /
    365), and ``trial`` when the data pool more than one trial.
    """
    d = trial.data
    frame = pd.DataFrame(
        {
            "person_id": pd.Categorical(trial.person_index()),
            "arm": pd.Categorical(d["arm"].astype(str), categories=["control", "treatment"]),
            "age_band": d["age_band"],
            "crime_type": d["crime_type"],
            "outcome": d["outcome"],
            "pre_count": d["pre_count"].to_numpy().astype("int64"),
            "post_count": d["post_count"].to_numpy().astype("int64"),
            "exposure_days": d["exposure_days"].to_numpy(float),
            OFFSET_COLUMN: np.log(d["exposure_days"].to_numpy(float) / DAYS_PER_YEAR),
        }
    )
    if len(trial.trials) > 1:
        frame["trial"] = d["trial"].to_numpy()
        frame["trial"] = frame["trial"].astype("category")
    return frame.reset_index(drop=True)


def counterfactual_frame(frame: pd.DataFrame, rows: np.ndarray, arm: str) -> pd.DataFrame:
    """The rows ``rows`` of ``frame`` with ``arm`` set to ``arm`` and one year at risk.

    ``exposure_days`` becomes 365 and ``log_exposure_years`` 0, so a formula with
    ``offset(log_exposure_years)`` (or an offset computed from ``exposure_days``)
    predicts expected counts per year. Every other column keeps its values; the
    categorical columns keep all their categories.
    """
    if arm not in ("treatment", "control"):
        raise SettingsError(f"arm must be 'treatment' or 'control', got {arm!r}")
    out = frame.iloc[np.asarray(rows)].copy()
    out["arm"] = pd.Categorical([arm] * len(out), categories=frame["arm"].cat.categories)
    out["exposure_days"] = DAYS_PER_YEAR
    out[OFFSET_COLUMN] = 0.0
    return out.reset_index(drop=True)


# -- checking the formula -----------------------------------------------------------------
def formula_variables(formula: str) -> tuple[set[str], set[str]]:
    """The names a formula reads: ``(response names, predictor names)``.

    Function names (``log1p``, ``scale``, ``C``, ``offset``) are not included.
    """
    from formulae import model_description  # a dependency of Bambi

    try:
        desc = model_description(formula)
    except Exception as exc:  # formulae raises its own parse errors
        raise SettingsError(f"could not read the formula {formula!r}: {exc}") from None
    response = set(desc.response.var_names) if desc.response is not None else set()
    names = {n for n in desc.var_names if n and n not in NAMESPACE} - response
    return response, names


def check_formula(formula, columns) -> None:
    """Raise :class:`SettingsError` unless ``formula`` models ``post_count`` from known
    columns and references ``arm``."""
    if not isinstance(formula, str) or "~" not in formula:
        raise SettingsError(
            f"formula must be a string like 'post_count ~ arm + crime_type', got {formula!r}"
        )
    columns = list(columns)
    available = ", ".join(columns)
    response, names = formula_variables(formula)
    if response != {RESPONSE}:
        raise SettingsError(
            f"the formula must model {RESPONSE!r} (the follow-up count), as in "
            f"'{RESPONSE} ~ arm + ...'; it models {sorted(response) or 'nothing'}"
        )
    unknown = sorted(names - set(columns))
    if unknown:
        raise SettingsError(
            f"the formula uses unknown column(s) {unknown}; the columns available to "
            f"formulas are: {available}"
        )
    if "arm" not in names:
        raise SettingsError(
            "the formula does not use 'arm', so there is no treatment effect to estimate; "
            "add arm, e.g. 'post_count ~ arm + crime_type + offset(log_exposure_years)'"
        )


# -- expected counts ----------------------------------------------------------------------
def family_mean(family: str, params: Mapping[str, np.ndarray]) -> np.ndarray:
    """The expected count of a Bambi count family from its response parameters.

    ``params`` holds ``mu`` and, where the family has them, ``alpha`` (NB shape) and
    ``psi``; they broadcast against each other. PyMC's conventions: for zero-inflated
    families ``psi`` is the probability of the count component (mean ``psi * mu``); for
    hurdle families ``psi`` is the probability of a non-zero count, whose distribution is
    the count distribution truncated at zero (mean ``psi * mu / (1 - P(0))``).
    """
    if family not in FAMILIES:
        raise SettingsError(family_message(family))
    mu = np.asarray(params["mu"], dtype=float)
    if family in ("negativebinomial", "poisson"):
        return mu
    psi = np.asarray(params["psi"], dtype=float)
    if family.startswith("zero_inflated"):
        return psi * mu
    if family == "hurdle_poisson":
        return psi * mu / -np.expm1(-mu)
    alpha = np.asarray(params["alpha"], dtype=float)
    # 1 - (alpha / (alpha + mu))^alpha, accurate for small mu
    p_positive = -np.expm1(-alpha * np.log1p(mu / alpha))
    return psi * mu / p_positive


def family_loglik(family: str, y: np.ndarray, params: Mapping[str, np.ndarray]) -> np.ndarray:
    """Log-probability of counts ``y`` under a Bambi count family, element by element.

    The same distributions and parameterisations as Bambi's likelihoods (PyMC's
    ``Poisson``, ``NegativeBinomial(mu, alpha)``, ``ZeroInflated*`` and ``Hurdle*``; see
    :func:`family_mean`), in numpy: Bambi's own ``compute_log_likelihood`` compiles a
    PyTensor graph and took half a minute for the example trial.
    """
    if family not in FAMILIES:
        raise SettingsError(family_message(family))
    y = np.asarray(y, dtype=float)
    mu = np.asarray(params["mu"], dtype=float)
    if family.endswith("poisson"):
        logp0 = -mu
        logp = y * np.log(mu) - mu - gammaln(y + 1.0)
    else:
        alpha = np.asarray(params["alpha"], dtype=float)
        logp0 = -alpha * np.log1p(mu / alpha)
        logp = (
            gammaln(y + alpha)
            - gammaln(alpha)
            - gammaln(y + 1.0)
            + logp0
            + y * (np.log(mu) - np.log(alpha + mu))
        )
    if family in ("poisson", "negativebinomial"):
        return logp
    psi = np.asarray(params["psi"], dtype=float)
    if family.startswith("zero_inflated"):
        zero = np.logaddexp(np.log1p(-psi), np.log(psi) + logp0)
        return np.where(y == 0, zero, np.log(psi) + logp)
    positive = np.log(psi) + logp - np.log(-np.expm1(logp0))
    return np.where(y == 0, np.log1p(-psi), positive)


def family_message(family) -> str:
    """The error message for a family fd_bayes cannot compute the mean of."""
    return (
        f"unknown family {family!r} for a formula model; choose one of "
        f"{', '.join(FAMILIES)} (Bambi's names; all with a log link)"
    )


def _stacked(da: xr.DataArray) -> np.ndarray:
    """Draws of a posterior variable as (chain * draw, ...) or (chain * draw, 1)."""
    values = flat_draws(da)
    return values.reshape(values.shape[0], -1)


@contextmanager
def quiet(active: bool = True):
    """Silence PyMC's, Bambi's and formulae's chatter (fd_bayes reports diagnostics)."""
    loggers = [logging.getLogger(n) for n in ("pymc", "bambi", "formulae")]
    levels = [lg.level for lg in loggers]
    if active:
        for lg in loggers:
            lg.setLevel(logging.WARNING)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", module="pymc")
            warnings.filterwarnings("ignore", module="bambi")
            yield
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)


def response_params(model, posterior: xr.Dataset, data=None) -> dict[str, np.ndarray]:
    """Bambi's response parameters (``mu`` and ``alpha``/``psi`` where the family has
    them) for the rows of ``data`` (default: the observed rows), per draw: arrays
    (chain * draw, rows), or (chain * draw, 1) for parameters that do not vary by row,
    chain-major."""
    with quiet(True):
        pred = model.predict(
            infd.InferenceData(posterior=posterior),
            kind="response_params",
            data=data,
            inplace=False,
        )
    post = pred.posterior
    return {
        name: _stacked(post[name])
        for name in model.family.likelihood.params
        if name in post.data_vars
    }


def formula_loglik_dataset(model, posterior: xr.Dataset, family: str) -> xr.Dataset:
    """The pointwise log-likelihood group of a Bambi model (``y`` over chain, draw, obs)."""
    y = np.asarray(model.data[RESPONSE], dtype=float)
    values = family_loglik(family, y, response_params(model, posterior, None))
    return draws_dataset(by_chain(values, *n_chain_draw(posterior)).astype("float32"), posterior)


def _replicated_dataset(values: xr.DataArray) -> xr.Dataset:
    """Bambi's replicated counts as a group ``y`` over (chain, draw, obs), as catalogue fits."""
    da = values.transpose("chain", "draw", "__obs__").rename({"__obs__": "obs"})
    da = da.assign_coords(obs=np.arange(da.sizes["obs"]))
    return xr.Dataset({"y": da.drop_vars([c for c in da.coords if c not in da.dims])})


# -- fitting ------------------------------------------------------------------------------
@dataclass(frozen=True)
class FormulaModel:
    """A Bambi model ready to sample, with what the fit needs besides.

    ``model`` is the ``bambi.Model`` of ``frame`` (:func:`bambi_frame`; person codes,
    never identifiers); ``sampler`` the resolved NUTS implementation; ``notes`` the
    notes a fit records and issues as a ModelNote.
    """

    formula: str
    family: str
    frame: pd.DataFrame
    design: Design
    model: object
    sampler: str
    bambi_version: str
    notes: tuple[str, ...]


def prepare_formula(
    trial: Trial,
    formula: str,
    family: str | None = None,
    priors: dict | None = None,
    settings: SamplerSettings | None = None,
) -> FormulaModel:
    """Check the formula and the family, and build the Bambi model of ``trial``.

    ``priors`` are Bambi priors; ``settings`` gives the sampler (checked to be
    installed) and whether to show Bambi's messages (``progress``).
    """
    settings = SamplerSettings() if settings is None else settings
    family = DEFAULT_FAMILY if family is None else family
    if family not in FAMILIES:
        raise SettingsError(family_message(family))
    bmb = load_bambi()
    frame = bambi_frame(trial)
    check_formula(formula, frame.columns)
    sampler = resolve_sampler(settings.sampler)
    with quiet(not settings.progress):
        bmodel = bmb.Model(formula, frame, family=family, priors=priors, extra_namespace=NAMESPACE)
    notes = ()
    if not bmodel.components[bmodel.family.likelihood.parent].offset_terms:
        notes = (NO_OFFSET_NOTE,)
    return FormulaModel(
        formula,
        family,
        frame,
        Design.from_trial(trial),
        bmodel,
        sampler,
        str(bmb.__version__),
        notes,
    )


def _fit_kwargs(prepared: FormulaModel, settings: SamplerSettings, seed: int) -> dict:
    """The keywords of ``bambi.Model.fit``."""
    kwargs = {
        "draws": settings.draws,
        "tune": settings.tune,
        "chains": settings.chains,
        "random_seed": seed,
        "inference_method": prepared.sampler,
        "target_accept": settings.target_accept,
        "progressbar": settings.progress,
        "compute_convergence_checks": False,
    }
    if prepared.sampler == "nutpie":
        kwargs["nuts_sampler_kwargs"] = {"save_warmup": False}
        if settings.cores:
            kwargs["nuts_sampler_kwargs"]["cores"] = settings.cores
    else:
        kwargs["cores"] = settings.cores or min(settings.chains, 2)
    return kwargs


def sample_formula(
    prepared: FormulaModel,
    trial: Trial,
    settings: SamplerSettings,
    seed: int,
    predictive: bool = True,
) -> infd.InferenceData:
    """Sample a prepared Bambi model; returns the fit's ``InferenceData``.

    Bambi's posterior and sample stats, plus ``observed_data``, ``constant_data`` (the
    design) and, with ``predictive``, ``posterior_predictive`` and ``log_likelihood``
    (each a variable ``y`` over ``obs``, as in catalogue fits); the provenance in
    ``posterior.attrs``. Sampling is adaptive, as for catalogue fits
    (:func:`~fd_bayes.inference.adaptive.sample_adaptively`).
    """
    sampler_seed, ppc_seed = (s % SEED_LIMIT for s in split_seed(seed, 4)[:2])
    bmodel = prepared.model

    def run(round_settings: SamplerSettings, round_seed: int):
        t0 = time.perf_counter()
        with quiet(not round_settings.progress):
            idata = bmodel.fit(**_fit_kwargs(prepared, round_settings, round_seed))
        seconds = time.perf_counter() - t0
        drop_internal(idata)
        for group in [g for g in idata.groups() if g.startswith("warmup")]:
            del idata[group]
        return SimpleNamespace(idata=idata), seconds

    result, history = sample_adaptively(run, settings, sampler_seed)
    idata = result.idata
    groups = observed_groups(prepared.design)
    if predictive:
        with quiet(True):
            replicated = bmodel.predict(
                infd.InferenceData(posterior=idata.posterior),
                kind="response",
                inplace=False,
                random_seed=ppc_seed,
            ).posterior_predictive[RESPONSE]
        groups["posterior_predictive"] = _replicated_dataset(replicated.astype("int32"))
        groups["log_likelihood"] = formula_loglik_dataset(bmodel, idata.posterior, prepared.family)
    infd.add_groups(idata, groups)
    write_provenance(
        idata,
        trial=trial,
        settings=round_settings(settings, len(history)),
        seed=seed,
        sampler=prepared.sampler,
        model={
            "bambi_version": prepared.bambi_version,
            "model": prepared.formula,
            "formula": prepared.formula,
            "family": prepared.family,
        },
        run={
            "sampling_seconds": float(sum(r.seconds for r in history)),
            **rounds_attrs(history, settings.adapt),
        },
        notes=prepared.notes,
    )
    return idata


__all__ = [
    "DEFAULT_FAMILY",
    "FAMILIES",
    "NAMESPACE",
    "NO_OFFSET_NOTE",
    "OFFSET_COLUMN",
    "RESPONSE",
    "FormulaModel",
    "bambi_frame",
    "check_formula",
    "counterfactual_frame",
    "family_loglik",
    "family_mean",
    "family_message",
    "formula_loglik_dataset",
    "formula_variables",
    "load_bambi",
    "prepare_formula",
    "quiet",
    "response_params",
    "sample_formula",
]
