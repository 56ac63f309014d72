"""Fitting a model to a trial, and the Fit that holds the result.

:func:`fit` is the one place where sampling happens: nothing samples at import or in a
constructor. A :class:`Fit` wraps an ``arviz.InferenceData`` whose ``constant_data``
holds the design (integer person index only, never a person identifier) and whose
posterior attributes record the spec, the seed, the sampler, the data hash and the
package version, so that a saved fit can be re-read and reported without the data.
"""

from __future__ import annotations

import json
import logging
import warnings
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd
import pymc as pm
import xarray as xr

from fd_bayes.constants import (
    ALL,
    DEFAULT_CHAINS,
    DEFAULT_DRAWS,
    DEFAULT_MODEL,
    DEFAULT_OUTCOME,
    DEFAULT_TARGET_ACCEPT,
    DEFAULT_TUNE,
    HDI_PROB,
)
from fd_bayes.data.published import Published
from fd_bayes.data.trial import Trial
from fd_bayes.errors import DiagnosticsWarning, FdBayesError, ModelNote, SettingsError
from fd_bayes.inference import idata as infd
from fd_bayes.inference.sampling import run_nuts
from fd_bayes.modelling import families
from fd_bayes.modelling.build import (
    Design,
    build_model,
    expected_counts,
    frailty_draws,
    model_data,
    model_key,
    new_trial_counts,
    observed_parameters,
    pointwise_loglik,
    resolve_structure,
    row_trials,
)
from fd_bayes.modelling.draws import n_chain_draw
from fd_bayes.modelling.spec import ModelSpec, load_spec, spec_from_dict
from fd_bayes.results.effects import effects_table, insert_published, published_rows
from fd_bayes.results.potential import PotentialOutcomes

PRIOR_PREDICTIVE_DRAWS = 500
MASS_MATRICES = ("auto", "diag", "low_rank")
#: The new-trial deviations of the effects table are drawn with the fit's seed plus this,
#: so the table of a fit is reproducible.
NEW_TRIAL_SEED_OFFSET = 7919


def _version() -> str:
    from fd_bayes import __version__

    return __version__


class Fit:
    """A fitted model: posterior draws plus everything needed to report them.

    Create with :func:`fd_bayes.fit` or :func:`fd_bayes.load`.

    Attributes
    ----------
    idata : arviz.InferenceData
        Groups ``posterior``, ``sample_stats``, ``prior``, ``prior_predictive``,
        ``posterior_predictive``, ``log_likelihood`` (pointwise, for PSIS-LOO),
        ``observed_data`` and ``constant_data`` (the design).
    spec : ModelSpec
        The model specification that was fitted.
    design : Design
        Index arrays and labels of the data (no person identifiers).
    """

    def __init__(self, idata, spec: ModelSpec, design: Design):
        self.idata = idata
        self.spec = spec
        self.design = design

    # -- metadata -----------------------------------------------------------------------
    @property
    def info(self) -> dict:
        """Provenance: spec name and hash, seed, sampler, data hash, version, timings."""
        a = self.idata.posterior.attrs
        keys = (
            "fd_bayes_version",
            "model",
            "spec_hash",
            "seed",
            "sampler",
            "data_hash",
            "trial_name",
            "draws",
            "tune",
            "chains",
            "target_accept",
            "mass_matrix",
            "compile_seconds",
            "sampling_seconds",
        )
        return {k: a[k] for k in keys if k in a}

    @property
    def notes(self) -> list[str]:
        """Plain-language notes on how the model was adapted to the data."""
        return list(json.loads(self.idata.posterior.attrs.get("notes", "[]")))

    @property
    def harm_weights(self) -> dict[str, float] | None:
        raw = self.idata.posterior.attrs.get("harm_weights", "")
        return json.loads(raw) if raw else None

    # -- results ------------------------------------------------------------------------
    def diagnostics(self) -> dict:
        """``max_rhat``, ``min_ess_bulk``, ``min_ess_tail``, ``divergences`` (and sizes)."""
        return dict(self._diagnostics)

    @cached_property
    def _diagnostics(self) -> dict:
        return infd.diagnostics(self.idata)

    def diagnostic_problems(self) -> list[str]:
        """Plain-language statements of every failed diagnostic (empty when all pass)."""
        return infd.diagnostic_problems(self._diagnostics)

    @cached_property
    def _potential_outcomes(self) -> PotentialOutcomes:
        d = self.design
        rows = np.flatnonzero(d.treated == 1)
        mu1, mu0 = expected_counts(self.idata.posterior, d, rows)
        n_chain, n_draw = n_chain_draw(self.idata.posterior)
        return PotentialOutcomes(mu1, mu0, self._row_labels(rows), n_chain, n_draw)

    def potential_outcomes(self) -> PotentialOutcomes:
        """Expected yearly counts of every treated person-row under treatment and under
        control, per posterior draw: what every rate ratio of the effects table is
        g-computed from.

        Returns
        -------
        PotentialOutcomes
            ``treatment`` and ``control``: arrays (sample, row), the samples chain-major
            (``chains`` x ``draws``; :meth:`PotentialOutcomes.to_dataset` gives dims
            ``(chain, draw, row)``); ``rows``: one row of labels per column (``person``
            integer index, ``arm``, ``outcome``, ``crime_type``, ``age_band``,
            ``post_count``, ``trial``). One year at risk each.
        """
        return self._potential_outcomes

    def effect_draws(
        self,
        outcome: str = DEFAULT_OUTCOME,
        level: str = "overall",
        crime_type: str = ALL,
        age_band: str = ALL,
        trial: str = ALL,
    ) -> np.ndarray:
        """Draws (chain, draw) of the g-computed rate ratio of one estimand.

        The same ratio of sums as the effects table's row with these labels (``level``:
        ``overall``, ``crime_type``, ``age_band``, ``cell``, ``harm`` or ``trial``; "all"
        where collapsed). A label the fit does not have raises a
        :class:`~fd_bayes.errors.DataError` that lists the estimands it has.
        """
        return self._potential_outcomes.ratio_draws(
            outcome, level, crime_type, age_band, trial, self.harm_weights
        )

    def _row_labels(self, rows: np.ndarray) -> pd.DataFrame:
        d = self.design
        cells = d.cells.iloc[d.cell_idx[rows]]
        return pd.DataFrame(
            {
                "person": d.person_idx[rows],
                "arm": np.where(d.treated[rows] == 1, "treatment", "control"),
                "outcome": cells["outcome"].to_numpy(),
                "crime_type": cells["crime_type"].to_numpy(),
                "age_band": cells["age_band"].to_numpy(),
                "post_count": d.post_count[rows],
                # trial label per row ("" for a single trial); effects add trial rows
                "trial": np.asarray(d.trials, dtype=object)[row_trials(d, rows)].astype(str),
            }
        )

    def effects(self, prob: float = HDI_PROB, harm_weights=None) -> pd.DataFrame:
        """The effects table: one row per estimate.

        Parameters
        ----------
        prob : float
            Probability of the highest-density intervals (default 0.95).
        harm_weights : mapping crime type -> weight, optional
            Adds ``harm`` rows (harm-weighted g-computed rate ratios). Defaults to the
            weights the trial carried, if any; pass ``{}`` to leave harm out.

        Returns
        -------
        pandas.DataFrame
            Columns ``level`` (cell, crime_type, age_band, overall, harm), ``outcome``,
            ``crime_type``, ``age_band`` ("all" where collapsed), ``rr_median``,
            ``rr_mean``, ``rr_lower``, ``rr_upper``, ``reduction_median``,
            ``p_reduction`` = P(RR < 1), ``p_reduction_25`` = P(RR < 0.75),
            ``p_reduction_50`` = P(RR < 0.5), ``offences_prevented_per_100`` (per 100
            treated people per year, with ``prevented_lower``/``prevented_upper``),
            ``n_treatment``, ``n_control``, ``events_treatment``, ``events_control``
            and ``note``.
        """
        if harm_weights is None:
            harm_weights = self.harm_weights
        if harm_weights:
            missing = sorted(set(self.design.cells["crime_type"]) - set(harm_weights))
            if missing:
                raise FdBayesError(f"harm weights missing for crime type(s) {missing}")
        po = self._potential_outcomes
        mu1, mu0, rows = po.treatment, po.control, po.rows
        counts = self._row_labels(np.arange(len(self.design.cell_idx)))
        mu1_new, trial_note = None, ""
        if self.design.n_trials > 1:  # several IPD trials, or IPD + published trials
            treated = np.flatnonzero(self.design.treated == 1)
            seed = int(self.idata.posterior.attrs.get("seed", 0)) + NEW_TRIAL_SEED_OFFSET
            mu1_new = new_trial_counts(self.idata.posterior, self.design, treated, seed)
            prior = self.spec.priors.get("trial_sd")
            if prior is not None and mu1_new is not None:
                trial_note = f"between-trial SD prior: trial_sd ~ {prior.describe()}"
            elif "trial_effect" in self.idata.posterior:
                trial_note = "trial deviations as a fixed term: no new-site prediction"
            else:
                trial_note = "no between-trial variation of the effect in this model"
        table = effects_table(
            mu1,
            mu0,
            rows,
            counts,
            prob=prob,
            harm_weights=harm_weights,
            mu_treat_new=mu1_new,
            trial_note=trial_note,
        )
        pub = self.design.published
        if pub is None:
            return table
        log_rr = self.idata.posterior["published_log_rr"].stack(s=("chain", "draw"))
        note = (
            f"published trial (aggregate data, one stage): the model's typical rate ratio of "
            f"{pub.estimand} times this trial's deviation, not g-computed; {trial_note}"
        )
        extra = published_rows(
            pub.labels, log_rr.transpose("s", ...).values, pub.outcome, pub.crime_type, prob, note
        )
        return insert_published(table, extra)

    # -- checking -----------------------------------------------------------------------
    def log_likelihood(self) -> xr.Dataset:
        """Pointwise log-likelihood ``y`` (chain, draw, obs), the input of PSIS-LOO.

        Read from ``idata.log_likelihood`` when the fit stored it, otherwise computed from
        the posterior draws (fits saved before it was stored).
        """
        if "log_likelihood" in self.idata.groups():
            return self.idata.log_likelihood
        return log_likelihood_dataset(self.idata.posterior, self.design, self.spec.family)

    def ppc(self, group: str = "posterior") -> pd.DataFrame:
        """Observed vs replicated statistics with predictive p-values (see
        :func:`fd_bayes.results.checking.ppc`)."""
        from fd_bayes.results.checking import ppc

        return ppc(self, group=group)

    def plot_ppc(self, path: str | Path | None = None, group: str = "posterior"):
        """Histograms of replicated statistics with the observed values marked (see
        :func:`fd_bayes.results.checking.plot_ppc`)."""
        from fd_bayes.results.checking import plot_ppc

        return plot_ppc(self, path=path, group=group)

    # -- persistence --------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """Write the fit to a netCDF file (ArviZ can open it). No person identifiers.

        All groups but the pointwise log-likelihood are written; :meth:`log_likelihood`
        recomputes it after :func:`load`.
        """
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        # the pointwise log-likelihood (a third of the file) is recomputed on demand from
        # the posterior and the design by Fit.log_likelihood(), so it is not written
        infd.to_netcdf(self.idata, path, exclude=("log_likelihood",))
        return path

    def __repr__(self) -> str:
        i = self.info
        return (
            f"Fit(model={i.get('model')!r}, sampler={i.get('sampler')!r}, "
            f"chains={i.get('chains')}, draws={i.get('draws')}, seed={i.get('seed')})"
        )


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
) -> Fit:
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
        :func:`fd_bayes.results.formula.fit_formula` and ``docs/formula.md``). Needs
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

    Notes
    -----
    A second fit of the same spec to data of the same design (same labels and shapes)
    in the same process reuses nutpie's compiled model (see :mod:`fd_bayes.inference.sampling`):
    only the first pays the compile time.

    Returns
    -------
    Fit

    Warns
    -----
    DiagnosticsWarning
        When R-hat > 1.01, an ESS < 400 or any divergence.
    ModelNote
        When a term the spec asks for cannot be identified and was left out.
    """
    if formula is not None:
        from fd_bayes.results.formula import fit_formula

        if model != DEFAULT_MODEL:
            raise SettingsError("give either model= (a catalogue model) or formula=, not both")
        if mass_matrix != "auto" or published is not None:
            raise SettingsError(
                "mass_matrix= and published= are for catalogue models, not formula models"
            )
        return fit_formula(
            trial,
            formula,
            family=family,
            draws=draws,
            tune=tune,
            chains=chains,
            seed=seed,
            sampler=sampler,
            target_accept=target_accept,
            priors=priors,
            progress=progress,
            cores=cores,
            predictive=predictive,
        )
    if family is not None:
        raise SettingsError(
            "family= is for formula models (with formula=); a catalogue model's family is "
            "set in its spec"
        )
    check_fit_settings(trial, draws, tune, chains)
    if mass_matrix not in MASS_MATRICES:
        raise SettingsError(
            f"mass_matrix must be one of {', '.join(MASS_MATRICES)}, got {mass_matrix!r}"
        )
    spec = load_spec(model).with_priors(priors)
    if published is not None and not isinstance(published, Published):
        raise SettingsError(
            f"published= takes a fd_bayes.Published, got {type(published).__name__}; build "
            "one with Published(labels, yi, sei) or Published.from_table(path)"
        )
    design = Design.from_trial(trial, published)
    structure = resolve_structure(spec, design)
    pm_model, _ = build_model(spec, design, structure)
    for note in structure.notes:
        if note.startswith("Person effect left out"):
            warnings.warn(note, ModelNote, stacklevel=2)
    low_rank = mass_matrix == "low_rank" or (
        mass_matrix == "auto" and families.get(spec.family).frailty
    )
    if seed is None:
        seed = int(np.random.SeedSequence().generate_state(1)[0] % (2**31))
    sampler_seed, prior_seed, ppc_seed, frailty_seed = np.random.SeedSequence(seed).generate_state(
        4
    )
    result = run_nuts(
        pm_model,
        sampler=sampler,
        draws=draws,
        tune=tune,
        chains=chains,
        seed=int(sampler_seed % (2**31)),
        target_accept=target_accept,
        progress=progress,
        cores=cores,
        cache_key=model_key(spec, design, structure),
        data=model_data(design, spec.family),
        low_rank=low_rank,
    )
    idata = result.idata
    # nutpie also returns the unconstrained copies (``*_log__``); PyMC does not. Drop them
    # so every sampler gives the same posterior group.
    internal = [v for v in idata.posterior.data_vars if str(v).endswith("__")]
    if internal:
        idata.posterior = idata.posterior.drop_vars(internal)
    if families.get(spec.family).frailty:
        # the frailties were integrated out; draw them from their exact conditional
        # posterior so that effects and checks see (parameters, frailties) jointly
        attrs = idata.posterior.attrs
        idata.posterior["log_frailty"] = frailty_draws(idata.posterior, design, frailty_seed)
        idata.posterior.attrs = attrs
    observed = xr.Dataset(
        {"y": ("obs", design.post_count)}, coords={"obs": np.arange(len(design.post_count))}
    )
    groups = {"observed_data": observed, "constant_data": design.to_dataset()}
    if predictive:
        prior = sample_prior(pm_model, PRIOR_PREDICTIVE_DRAWS, int(prior_seed % (2**31)))
        groups.update(
            {
                "prior": prior,
                "prior_predictive": posterior_predictive(
                    prior, design, spec.family, prior_seed + 1
                ),
                "posterior_predictive": posterior_predictive(
                    idata.posterior, design, spec.family, ppc_seed
                ),
                "log_likelihood": log_likelihood_dataset(idata.posterior, design, spec.family),
            }
        )
    infd.add_groups(idata, groups)
    idata.posterior.attrs.update(
        {
            "fd_bayes_version": _version(),
            "model": spec.name,
            "spec_hash": spec.content_hash,
            "spec_json": json.dumps(spec.to_dict()),
            "spec_source": spec.source,
            "seed": int(seed),
            "sampler": result.sampler,
            "draws": int(draws),
            "tune": int(tune),
            "chains": int(chains),
            "target_accept": float(target_accept),
            "mass_matrix": "low_rank"
            if low_rank and result.sampler.startswith("nutpie")
            else "diag",
            "compile_seconds": float(result.compile_seconds),
            "sampling_seconds": float(result.sampling_seconds),
            "data_hash": trial.data_hash(),
            "trial_name": trial.name,
            "notes": json.dumps(list(structure.notes)),
            "harm_weights": json.dumps(trial.harm_weights) if trial.harm_weights else "",
        }
    )
    out = Fit(idata, spec, design)
    problems = out.diagnostic_problems()
    if problems:
        warnings.warn(
            "The sampler's diagnostics failed, do not report these results yet: "
            + " ".join(problems),
            DiagnosticsWarning,
            stacklevel=2,
        )
    return out


def check_fit_settings(trial, draws, tune, chains) -> None:
    """The checks every fit makes before any work (catalogue and formula models)."""
    if not isinstance(trial, Trial):
        raise SettingsError(f"fit() needs a Trial, got {type(trial).__name__}")
    for name, value, low in (("draws", draws, 1), ("tune", tune, 0), ("chains", chains, 1)):
        if not isinstance(value, int | np.integer) or value < low:
            raise SettingsError(f"{name} must be an integer >= {low}, got {value!r}")


def sample_prior(pm_model: pm.Model, draws: int, seed: int) -> xr.Dataset:
    """Draws of every parameter from the prior (the likelihood potential is ignored)."""
    logger = logging.getLogger("pymc")
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*Potential", category=UserWarning)
            prior = pm.sample_prior_predictive(draws=draws, model=pm_model, random_seed=seed)
    finally:
        logger.setLevel(level)
    return prior.prior


def log_likelihood_dataset(posterior: xr.Dataset, design: Design, family: str) -> xr.Dataset:
    """The pointwise log-likelihood ``y`` (chain, draw, obs) as an InferenceData group."""
    return _draws_dataset(pointwise_loglik(posterior, design, family).astype("float32"), posterior)


def posterior_predictive(posterior: xr.Dataset, design: Design, family: str, seed) -> xr.Dataset:
    """Replicated follow-up counts for every row, one set per posterior draw.

    Drawn from the family's distribution (:func:`fd_bayes.modelling.families.draw`) with each
    row's parameters under its own arm and exposure. For a ``negmult`` model, draws
    without frailties (prior draws: :func:`fit` adds the conditional ones to every
    posterior) get frailties from their prior ``Gamma(k, k)``.
    """
    if families.get(family).frailty and "log_frailty" not in posterior:
        rng = np.random.default_rng(seed)
        posterior = posterior.assign(
            log_frailty=frailty_draws(posterior, design, rng, conditional=False)
        )
        seed = rng
    params = observed_parameters(posterior, design)
    if not families.get(family).negbin:
        params = families.RowParams(params.mu)
    y = families.draw(family, np.random.default_rng(seed), params)
    n_chain, n_draw = posterior.sizes["chain"], posterior.sizes["draw"]
    return _draws_dataset(y.reshape(n_chain, n_draw, -1).astype("int32"), posterior)


def _draws_dataset(values: np.ndarray, posterior: xr.Dataset) -> xr.Dataset:
    """``values`` (chain, draw, obs) as a group ``y`` with the posterior's chain/draw."""
    return xr.Dataset(
        {"y": (("chain", "draw", "obs"), values)},
        coords={
            "chain": posterior["chain"].values,
            "draw": posterior["draw"].values,
            "obs": np.arange(values.shape[-1]),
        },
    )


__all__ = ["Fit", "fit", "load", "posterior_predictive"]
