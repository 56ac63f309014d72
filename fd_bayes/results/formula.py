"""Formula models fitted with Bambi, reported like the catalogue models.

``fdb.fit(trial, formula="post_count ~ arm * crime_type + (1|person_id)
+ offset(log_exposure_years)", family="negativebinomial")`` hands the trial to Bambi as
a data frame (:func:`bambi_frame`), samples with the same samplers as the catalogue
models and returns a :class:`FormulaFit`. Its effects table has the same columns as
every other fit's: the treatment effect is g-computation from Bambi's predictions. For
every treated person-row, the expected count over one year (365 days at risk) is
predicted twice per posterior draw, once with ``arm`` set to ``treatment`` and once with
``arm`` set to ``control`` (:func:`counterfactual_frame`), and
:func:`fd_bayes.results.effects.effects_table` sums them exactly as for the catalogue models.

Privacy: the frame given to Bambi carries integer person codes
(:meth:`fd_bayes.Trial.person_index`) in the column ``person_id``, never the
identifiers, so neither the Bambi model nor the fit holds one.

Limits: a formula fit lives in memory only (:meth:`FormulaFit.save` raises, save
``fit.idata`` with ArviZ instead), and the report functions, which describe a catalogue
spec and its priors, do not take formula fits yet.
"""

from __future__ import annotations

import json
import logging
import sys
import time
import warnings
from collections.abc import Mapping
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr
from scipy.special import gammaln

from fd_bayes.constants import (
    DAYS_PER_YEAR,
    DEFAULT_CHAINS,
    DEFAULT_DRAWS,
    DEFAULT_TARGET_ACCEPT,
    DEFAULT_TUNE,
    HDI_PROB,
)
from fd_bayes.data.trial import Trial
from fd_bayes.errors import DiagnosticsWarning, FdBayesError, ModelNote, SettingsError
from fd_bayes.inference import idata as infd
from fd_bayes.inference.sampling import resolve_sampler
from fd_bayes.modelling.build import Design
from fd_bayes.results.effects import effects_table
from fd_bayes.results.fit import Fit, _version, check_fit_settings

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


def _bambi():
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
        raise SettingsError(_family_message(family))
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
        raise SettingsError(_family_message(family))
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


def _family_message(family) -> str:
    return (
        f"unknown family {family!r} for a formula model; choose one of "
        f"{', '.join(FAMILIES)} (Bambi's names; all with a log link)"
    )


def _stacked(da: xr.DataArray) -> np.ndarray:
    """Draws of a posterior variable as (chain * draw, ...) or (chain * draw, 1)."""
    da = da.transpose("chain", "draw", ...)
    values = da.values.reshape(da.sizes["chain"] * da.sizes["draw"], -1)
    return values


class FormulaFit(Fit):
    """A fitted Bambi formula model, reported like a catalogue fit.

    Create with ``fdb.fit(trial, formula=..., family=...)``. :meth:`effects`,
    :meth:`diagnostics`, :meth:`diagnostic_problems`, :attr:`info`, :attr:`notes`,
    :meth:`ppc` and :meth:`log_likelihood` work as for a catalogue fit; :meth:`save`
    does not (yet).

    Attributes
    ----------
    idata : arviz.InferenceData
        Bambi's posterior and sample stats, plus ``posterior_predictive``,
        ``log_likelihood``, ``observed_data`` (each a variable ``y`` over ``obs``, as in
        catalogue fits) and ``constant_data`` (the design, integer person index only).
    model : bambi.Model
        The fitted Bambi model; its data are :attr:`frame`.
    frame : pandas.DataFrame
        The data the formula was evaluated on (see :func:`bambi_frame`): person codes,
        never identifiers.
    design : Design
        Index arrays and labels of the data, as for catalogue fits.
    """

    def __init__(self, idata, design: Design, model, frame: pd.DataFrame):
        super().__init__(idata, spec=None, design=design)
        self.model = model
        self.frame = frame

    @property
    def formula(self) -> str:
        return str(self.idata.posterior.attrs["formula"])

    @property
    def family(self) -> str:
        return str(self.idata.posterior.attrs["family"])

    @property
    def info(self) -> dict:
        """Provenance: formula (also as ``model``), family, seed, sampler, draws, data
        hash, versions and ``sampling_seconds`` (Bambi compiles and samples in one call,
        so this includes compilation)."""
        a = self.idata.posterior.attrs
        keys = (
            "fd_bayes_version",
            "bambi_version",
            "model",
            "formula",
            "family",
            "seed",
            "sampler",
            "data_hash",
            "trial_name",
            "draws",
            "tune",
            "chains",
            "target_accept",
            "sampling_seconds",
        )
        return {k: a[k] for k in keys if k in a}

    def response_params(self, data: pd.DataFrame | None = None) -> dict[str, np.ndarray]:
        """Bambi's response parameters (``mu`` and ``alpha``/``psi`` where the family has
        them) for the rows of ``data`` (default: the observed rows), per draw.

        Arrays are (chain * draw, rows) for parameters that vary by row and (chain *
        draw, 1) for the others, chain-major. Group-specific effects are included.
        """
        return _response_params(self.model, self.idata.posterior, data)

    def expected_counts(self, data: pd.DataFrame) -> np.ndarray:
        """Expected counts of the rows of ``data`` (a frame like :attr:`frame`), per draw.

        Returns an array (chain * draw, rows), chain-major: Bambi's response parameters
        for these rows (``model.predict(kind="response_params")``) turned into the
        family's mean by :func:`family_mean`.
        """
        return family_mean(self.family, self.response_params(data))

    def effects(self, prob: float = HDI_PROB, harm_weights=None) -> pd.DataFrame:
        """The effects table, with the columns of every fit's (see :meth:`Fit.effects`).

        The potential outcomes are Bambi's predictions for every treated person-row with
        ``arm`` set to ``treatment`` and to ``control`` and one year at risk; the table
        is built from them by :func:`fd_bayes.results.effects.effects_table`, as for catalogue
        fits. Pooled data get per-trial rows but no new-site prediction (a formula
        model has no declared between-trial distribution to draw from).
        """
        if harm_weights is None:
            harm_weights = self.harm_weights
        if harm_weights:
            missing = sorted(set(self.design.cells["crime_type"]) - set(harm_weights))
            if missing:
                raise FdBayesError(f"harm weights missing for crime type(s) {missing}")
        mu1, mu0, rows = self._potential_outcomes
        counts = self._row_labels(np.arange(len(self.design.cell_idx)))
        return effects_table(mu1, mu0, rows, counts, prob=prob, harm_weights=harm_weights)

    @cached_property
    def _potential_outcomes(self) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
        rows = np.flatnonzero(self.design.treated == 1)
        mu1 = self.expected_counts(counterfactual_frame(self.frame, rows, "treatment"))
        mu0 = self.expected_counts(counterfactual_frame(self.frame, rows, "control"))
        return mu1, mu0, self._row_labels(rows)

    def log_likelihood(self) -> xr.Dataset:
        """Pointwise log-likelihood ``y`` (chain, draw, obs) of the observed counts.

        Stored at fit time (unless ``predictive=False``, then computed now and stored).
        """
        if "log_likelihood" not in self.idata.groups():
            loglik = _loglik_dataset(self.model, self.idata.posterior, self.family)
            infd.add_groups(self.idata, {"log_likelihood": loglik})
        return self.idata.log_likelihood

    def save(self, path: str | Path) -> Path:
        """Not available yet for formula fits: raises :class:`FdBayesError`.

        A formula fit needs its Bambi model to predict, and that is not stored in the
        netCDF file. Save the draws with ``fit.idata.to_netcdf(path)`` (ArviZ) and refit
        with the same seed to get the same effects table.
        """
        raise FdBayesError(
            "formula fits cannot be saved yet; save fit.idata with ArviZ "
            "(fit.idata.to_netcdf(path)) and refit with the same seed to reproduce effects"
        )

    def __repr__(self) -> str:
        i = self.info
        return (
            f"FormulaFit(formula={i.get('formula')!r}, family={i.get('family')!r}, "
            f"sampler={i.get('sampler')!r}, chains={i.get('chains')}, draws={i.get('draws')}, "
            f"seed={i.get('seed')})"
        )


# -- fitting ------------------------------------------------------------------------------
def _user_stacklevel() -> int:
    """Warning stacklevel that points at the user's line: 2 when the user called
    :func:`fit_formula`, 3 when they called :func:`fd_bayes.fit` (which calls it)."""
    caller = sys._getframe(2)  # 0: here, 1: fit_formula, 2: whoever called fit_formula
    return 3 if caller.f_globals.get("__name__") == "fd_bayes.results.fit" else 2


@contextmanager
def _quiet(active: bool):
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


def _response_params(model, posterior: xr.Dataset, data) -> dict[str, np.ndarray]:
    with _quiet(True):
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


def _loglik_dataset(model, posterior: xr.Dataset, family: str) -> xr.Dataset:
    """The pointwise log-likelihood group (``y`` over chain, draw, obs)."""
    y = np.asarray(model.data[RESPONSE], dtype=float)
    values = family_loglik(family, y, _response_params(model, posterior, None))
    n_chain, n_draw = posterior.sizes["chain"], posterior.sizes["draw"]
    return xr.Dataset(
        {"y": (("chain", "draw", "obs"), values.reshape(n_chain, n_draw, -1).astype("float32"))},
        coords={
            "chain": posterior["chain"].values,
            "draw": posterior["draw"].values,
            "obs": np.arange(len(y)),
        },
    )


def _obs_dataset(values: np.ndarray | xr.DataArray) -> xr.Dataset:
    """``values`` as a group with one variable ``y`` over ``obs`` (as catalogue fits)."""
    if isinstance(values, xr.DataArray):
        da = values.transpose("chain", "draw", "__obs__").rename({"__obs__": "obs"})
        da = da.assign_coords(obs=np.arange(da.sizes["obs"]))
        return xr.Dataset({"y": da.drop_vars([c for c in da.coords if c not in da.dims])})
    return xr.Dataset({"y": ("obs", values)}, coords={"obs": np.arange(len(values))})


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
) -> FormulaFit:
    """Fit a Bambi formula model to a trial (what ``fdb.fit(trial, formula=...)`` calls).

    Parameters
    ----------
    trial : Trial
    formula : str
        A Bambi (formulae) formula for ``post_count`` that uses ``arm``, e.g.
        ``"post_count ~ arm * crime_type + log1p(pre_count) + (1|person_id)
        + offset(log_exposure_years)"``. The columns are those of :func:`bambi_frame`;
        ``person_id`` holds integer codes. Include ``offset(log_exposure_years)`` so the
        model is for rates per year at risk; without it a :class:`ModelNote` says that
        the rates are per follow-up period.
    family : str, optional
        A Bambi family: ``"negativebinomial"`` (default), ``"poisson"``,
        ``"zero_inflated_poisson"``, ``"zero_inflated_negativebinomial"``,
        ``"hurdle_poisson"`` or ``"hurdle_negativebinomial"`` (log link).
    draws, tune, chains, seed, sampler, target_accept, progress, cores, predictive
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
    stacklevel = _user_stacklevel()
    check_fit_settings(trial, draws, tune, chains)
    family = DEFAULT_FAMILY if family is None else family
    if family not in FAMILIES:
        raise SettingsError(_family_message(family))
    bmb = _bambi()
    frame = bambi_frame(trial)
    check_formula(formula, frame.columns)
    sampler_name = resolve_sampler(sampler)
    with _quiet(not progress):
        bmodel = bmb.Model(formula, frame, family=family, priors=priors, extra_namespace=NAMESPACE)
    notes = []
    if not bmodel.components[bmodel.family.likelihood.parent].offset_terms:
        notes.append(NO_OFFSET_NOTE)
        warnings.warn(NO_OFFSET_NOTE, ModelNote, stacklevel=stacklevel)

    if seed is None:
        seed = int(np.random.SeedSequence().generate_state(1)[0] % (2**31))
    sampler_seed, ppc_seed = (
        int(s % (2**31)) for s in np.random.SeedSequence(seed).generate_state(2)
    )
    kwargs = {
        "draws": draws,
        "tune": tune,
        "chains": chains,
        "random_seed": sampler_seed,
        "inference_method": sampler_name,
        "target_accept": target_accept,
        "progressbar": progress,
        "compute_convergence_checks": False,
    }
    if sampler_name == "nutpie":
        kwargs["nuts_sampler_kwargs"] = {"save_warmup": False}
        if cores:
            kwargs["nuts_sampler_kwargs"]["cores"] = cores
    else:
        kwargs["cores"] = cores or min(chains, 2)
    t0 = time.perf_counter()
    with _quiet(not progress):
        idata = bmodel.fit(**kwargs)
    seconds = time.perf_counter() - t0
    internal = [v for v in idata.posterior.data_vars if str(v).endswith("__")]
    if internal:
        idata.posterior = idata.posterior.drop_vars(internal)
    for group in [g for g in idata.groups() if g.startswith("warmup")]:
        del idata[group]

    design = Design.from_trial(trial)
    groups = {
        "observed_data": _obs_dataset(design.post_count),
        "constant_data": design.to_dataset(),
    }
    if predictive:
        with _quiet(True):
            replicated = bmodel.predict(
                infd.InferenceData(posterior=idata.posterior),
                kind="response",
                inplace=False,
                random_seed=ppc_seed,
            ).posterior_predictive[RESPONSE]
        groups["posterior_predictive"] = _obs_dataset(replicated.astype("int32"))
        groups["log_likelihood"] = _loglik_dataset(bmodel, idata.posterior, family)
    infd.add_groups(idata, groups)
    idata.posterior.attrs.update(
        {
            "fd_bayes_version": _version(),
            "bambi_version": str(bmb.__version__),
            "model": formula,
            "formula": formula,
            "family": family,
            "seed": int(seed),
            "sampler": sampler_name,
            "draws": int(draws),
            "tune": int(tune),
            "chains": int(chains),
            "target_accept": float(target_accept),
            "sampling_seconds": float(seconds),
            "data_hash": trial.data_hash(),
            "trial_name": trial.name,
            "notes": json.dumps(notes),
            "harm_weights": json.dumps(trial.harm_weights) if trial.harm_weights else "",
        }
    )
    out = FormulaFit(idata, design, bmodel, frame)
    problems = out.diagnostic_problems()
    if problems:
        warnings.warn(
            "The sampler's diagnostics failed, do not report these results yet: "
            + " ".join(problems),
            DiagnosticsWarning,
            stacklevel=stacklevel,
        )
    return out


__all__ = [
    "FAMILIES",
    "OFFSET_COLUMN",
    "FormulaFit",
    "bambi_frame",
    "check_formula",
    "counterfactual_frame",
    "family_loglik",
    "family_mean",
    "fit_formula",
]
