"""Formula fits: Bambi models reported like the catalogue models.

``fdb.fit(trial, formula="post_count ~ arm * crime_type + (1|person_id)
+ offset(log_exposure_years)", family="negativebinomial")`` (or
:func:`fd_bayes.results.api.fit_formula`) returns a :class:`FormulaFit`. The Bambi path
itself (the frame handed to Bambi, the formula checks, the families' means and
log-likelihoods, sampling) is :mod:`fd_bayes.inference.formula`; this module holds the
result. Its effects table has the same columns as every other fit's: the treatment
effect is g-computation from Bambi's predictions (see :meth:`FormulaFit.effects`).

Limits: a formula fit lives in memory only (:meth:`FormulaFit.save` raises, save
``fit.idata`` with ArviZ instead), and the report functions, which describe a catalogue
spec and its priors, do not take formula fits yet.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from fd_bayes.constants import HDI_PROB
from fd_bayes.errors import FdBayesError
from fd_bayes.inference import (
    counterfactual_frame,
    family_mean,
    formula_loglik_dataset,
)
from fd_bayes.inference import idata as infd
from fd_bayes.inference import response_params as bambi_response_params
from fd_bayes.modelling import Design, n_chain_draw
from fd_bayes.results.fit import Fit
from fd_bayes.results.potential import PotentialOutcomes


class FormulaFit(Fit):
    """A fitted Bambi formula model, reported like a catalogue fit.

    Create with ``fdb.fit(trial, formula=..., family=...)``. :meth:`effects`,
    :meth:`potential_outcomes`, :meth:`effect_draws`, :meth:`diagnostics`,
    :meth:`diagnostic_problems`, :attr:`info`, :attr:`notes`, :meth:`ppc` and
    :meth:`log_likelihood` work as for a catalogue fit; :meth:`save` does not (yet).

    Attributes
    ----------
    idata : arviz.InferenceData
        Bambi's posterior and sample stats, plus ``posterior_predictive``,
        ``log_likelihood``, ``observed_data`` (each a variable ``y`` over ``obs``, as in
        catalogue fits) and ``constant_data`` (the design, integer person index only).
    model : bambi.Model
        The fitted Bambi model; its data are :attr:`frame`.
    frame : pandas.DataFrame
        The data the formula was evaluated on (see
        :func:`fd_bayes.inference.bambi_frame`): person codes, never identifiers.
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
        return bambi_response_params(self.model, self.idata.posterior, data)

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
        return super().effects(prob=prob, harm_weights=harm_weights)

    def compute_potential_outcomes(self) -> PotentialOutcomes:
        """Bambi's expected yearly counts of every treated person-row with ``arm`` set to
        ``treatment`` and to ``control`` (:func:`~fd_bayes.inference.counterfactual_frame`),
        per draw; what :meth:`potential_outcomes` returns."""
        rows = np.flatnonzero(self.design.treated == 1)
        mu1 = self.expected_counts(counterfactual_frame(self.frame, rows, "treatment"))
        mu0 = self.expected_counts(counterfactual_frame(self.frame, rows, "control"))
        n_chain, n_draw = n_chain_draw(self.idata.posterior)
        return PotentialOutcomes(mu1, mu0, self._row_labels(rows), n_chain, n_draw)

    def _new_trial_draws(self) -> tuple[None, str]:
        # a formula model has no declared between-trial distribution: no new-site rows
        return None, ""

    def log_likelihood(self) -> xr.Dataset:
        """Pointwise log-likelihood ``y`` (chain, draw, obs) of the observed counts.

        Stored at fit time (unless ``predictive=False``, then computed now and stored).
        """
        if "log_likelihood" not in self.idata.groups():
            loglik = formula_loglik_dataset(self.model, self.idata.posterior, self.family)
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


__all__ = ["FormulaFit"]
