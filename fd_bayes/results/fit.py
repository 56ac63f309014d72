"""The Fit that holds a fitted model and reports it.

:func:`fd_bayes.fit` (:mod:`fd_bayes.results.api`) is the one place where sampling
happens: nothing samples at import or in a constructor. A :class:`Fit` wraps an
``arviz.InferenceData`` whose ``constant_data`` holds the design (integer person index
only, never a person identifier) and whose posterior attributes record the spec, the
seed, the sampler, the data hash and the package version, so that a saved fit can be
re-read and reported without the data.
"""

from __future__ import annotations

import json
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from fd_bayes.constants import ALL, DEFAULT_OUTCOME, HDI_PROB
from fd_bayes.errors import FdBayesError
from fd_bayes.inference import Round, history_from_attrs, log_likelihood_dataset, rounds_sentence
from fd_bayes.inference import idata as infd
from fd_bayes.modelling import (
    Design,
    ModelSpec,
    expected_counts,
    families,
    flat_draws,
    n_chain_draw,
    new_trial_counts,
    row_trials,
)
from fd_bayes.results.checking import plot_ppc as _plot_ppc
from fd_bayes.results.checking import ppc as _ppc
from fd_bayes.results.effects import effects_table, insert_published, published_rows
from fd_bayes.results.potential import PotentialOutcomes

#: The new-trial deviations of the effects table are drawn with the fit's seed plus this,
#: so the table of a fit is reproducible.
NEW_TRIAL_SEED_OFFSET = 7919


class Fit:
    """A fitted model: posterior draws plus everything needed to report them.

    Create with :func:`fd_bayes.fit` or :func:`fd_bayes.load`. A subclass for another
    kind of model (:class:`~fd_bayes.results.formula.FormulaFit`) overrides
    :meth:`compute_potential_outcomes`; the effects table, :meth:`potential_outcomes`
    and :meth:`effect_draws` then work unchanged.

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
            "compile_cache",
            "sampling_seconds",
            "adapt",
            "rounds",
            "library_versions",
        )
        return {k: a[k] for k in keys if k in a}

    @property
    def rounds(self) -> list[Round]:
        """The rounds of adaptive sampling (:mod:`fd_bayes.inference.adaptive`): one
        :class:`~fd_bayes.inference.adaptive.Round` each, the last the fit's posterior
        (empty for a fit saved before rounds were recorded)."""
        return history_from_attrs(self.idata.posterior.attrs)

    def sampling_note(self) -> str:
        """How many rounds the sampling took, in words ("" when the first passed)."""
        return rounds_sentence(self.rounds)

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
        sampled = self._sampled_diagnostics()
        return sampled if sampled is not None else infd.diagnostics(self.idata)

    def _sampled_diagnostics(self) -> dict | None:
        """The diagnostics the last sampling round computed, where they are those of this
        posterior (a catalogue model whose posterior is the sampled one: not ``negmult``,
        whose frailties are drawn after sampling and diagnosed with it); else None.

        The same numbers :func:`~fd_bayes.inference.idata.diagnostics` gives (tested),
        without computing them a second time.
        """
        if self.spec is None or families.get(self.spec.family).frailty:
            return None
        rounds, post = self.rounds, self.idata.posterior
        if not rounds or rounds[-1].draws != int(post.sizes["draw"]):
            return None
        last = rounds[-1]
        return {
            "max_rhat": last.max_rhat,
            "min_ess_bulk": last.min_ess_bulk,
            "min_ess_tail": last.min_ess_tail,
            "divergences": last.divergences,
            "chains": int(post.sizes["chain"]),
            "draws": int(post.sizes["draw"]),
        }

    def diagnostic_problems(self) -> list[str]:
        """Plain-language statements of every failed diagnostic (empty when all pass)."""
        return infd.diagnostic_problems(self._diagnostics)

    @cached_property
    def _potential_outcomes(self) -> PotentialOutcomes:
        # computed once per fit; subclasses say how (compute_potential_outcomes)
        return self.compute_potential_outcomes()

    def compute_potential_outcomes(self) -> PotentialOutcomes:
        """Compute what :meth:`potential_outcomes` returns (a catalogue model: the
        posterior algebra of :func:`fd_bayes.modelling.expected_counts`). Subclasses
        with another model (:class:`~fd_bayes.results.formula.FormulaFit`) override it."""
        d = self.design
        rows = np.flatnonzero(d.treated == 1)
        mu1, mu0 = expected_counts(self.idata.posterior, d, rows)
        n_chain, n_draw = n_chain_draw(self.idata.posterior)
        return PotentialOutcomes(mu1, mu0, self._row_labels(rows), n_chain, n_draw)

    @cached_property
    def _prior_potential_outcomes(self) -> tuple[np.ndarray, np.ndarray] | None:
        """The treated rows' expected counts under both arms per *prior* draw (the fit's
        ``prior`` group): what the effects table's ``sd_ratio`` compares against. None
        for a fit without prior draws (``predictive=False``) or without a catalogue
        model."""
        if self.spec is None or "prior" not in self.idata.groups():
            return None
        rows = np.flatnonzero(self.design.treated == 1)
        return expected_counts(self.idata.prior, self.design, rows)

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

    def joint_statements(self, threshold: float = 0.95) -> pd.DataFrame:
        """What the posterior says about the crime types together: P(a reduction in at
        least one, at least half, every crime type), the expected number reduced, and
        P(every crime type with P(reduction) > ``threshold`` is a reduction); see
        :func:`fd_bayes.results.joint.joint_statements`."""
        from fd_bayes.results.joint import joint_statements

        return joint_statements(self, threshold)

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
        harm_weights = self._harm_weights(harm_weights)
        po = self.potential_outcomes()
        counts = self._row_labels(np.arange(len(self.design.cell_idx)))
        mu1_new, trial_note = self._new_trial_draws()
        table = effects_table(
            po.treatment,
            po.control,
            po.rows,
            counts,
            prob=prob,
            harm_weights=harm_weights,
            mu_treat_new=mu1_new,
            trial_note=trial_note,
            prior=self._prior_potential_outcomes,
        )
        pub = self.design.published
        if pub is None:
            return table
        log_rr = flat_draws(self.idata.posterior["published_log_rr"])
        note = (
            f"published trial (aggregate data, one stage): the model's typical rate ratio of "
            f"{pub.estimand} times this trial's deviation, not g-computed; {trial_note}"
        )
        extra = published_rows(pub.labels, log_rr, pub.outcome, pub.crime_type, prob, note)
        return insert_published(table, extra)

    def _harm_weights(self, harm_weights) -> dict | None:
        """The harm weights of an effects table: the trial's by default; checked to
        cover every crime type."""
        if harm_weights is None:
            harm_weights = self.harm_weights
        if harm_weights:
            missing = sorted(set(self.design.cells["crime_type"]) - set(harm_weights))
            if missing:
                raise FdBayesError(f"harm weights missing for crime type(s) {missing}")
        return harm_weights

    def _new_trial_draws(self) -> tuple[np.ndarray | None, str]:
        """Expected counts of the treated under treatment in a new trial (several trials
        pooled, with a between-trial SD), and the note of the trial rows."""
        if self.design.n_trials <= 1:
            return None, ""
        # several IPD trials, or IPD + published trials
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
        return mu1_new, trial_note

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
        return _ppc(self, group=group)

    def plot_ppc(self, path: str | Path | None = None, group: str = "posterior"):
        """Histograms of replicated statistics with the observed values marked (see
        :func:`fd_bayes.results.checking.plot_ppc`)."""
        return _plot_ppc(self, path=path, group=group)

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


__all__ = ["NEW_TRIAL_SEED_OFFSET", "Fit"]
