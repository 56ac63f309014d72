"""One simulation of an assurance study (:class:`AssuranceJob`): simulate a trial, fit
it, summarise the fit's headline estimand (:func:`summarise_fit`) and apply the
frequentist rule.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fd_bayes.constants import ALL, HDI_PROB
from fd_bayes.data import Trial
from fd_bayes.frequentist import glm_estimate, pool_cells, trial_cells
from fd_bayes.inference import child_seed
from fd_bayes.inference import idata as infd
from fd_bayes.modelling import excess_counts
from fd_bayes.plan.decision import ALPHA, Decision, Estimand
from fd_bayes.plan.design import PlanDesign
from fd_bayes.plan.settings import FitSettings
from fd_bayes.plan.simstudy import int_seed
from fd_bayes.plan.simulation import simulate
from fd_bayes.results import Fit, hdi


def _frequentist_rr(trial: Trial, estimand: Estimand) -> tuple[float, float, str]:
    """NB GLM rate ratio and two-sided p for ``estimand`` (as in frequentist.compare)."""
    cells = trial_cells(trial)
    parts = [
        cl
        for (o, c), cl in cells.items()
        if o == estimand.outcome and estimand.crime_type in (ALL, c)
    ]
    if not parts:
        return float("nan"), float("nan"), "no cells"
    cell = pool_cells(parts) if len(parts) > 1 else parts[0]
    if estimand.age_band != ALL:
        band = trial.data.groupby(trial.person_index())["age_band"].first().astype(str).to_numpy()
        cell = cell.subset(band[cell.person] == estimand.age_band)
    est = glm_estimate(cell, "negbin_glm", HDI_PROB, overall=len(parts) > 1)
    return float(est.estimate), float(est.p_value), est.reason


def estimand_draws(fit: Fit, estimand: Estimand) -> np.ndarray:
    """Draws (chain, draw) of the g-computed rate ratio of ``estimand`` from a fit
    (:meth:`fd_bayes.Fit.effect_draws`, the effects table's ratio)."""
    level, age_band = estimand.level, estimand.age_band
    if level == "age_band" and fit.design.cells["age_band"].nunique() == 1:
        # the effects table has no age-band rows for one age band: its ratio is the overall
        level, age_band = "overall", ALL
    return fit.effect_draws(estimand.outcome, level, estimand.crime_type, age_band)


def summarise_fit(fit: Fit, estimand: Estimand, decision: Decision, true_rr: float) -> dict:
    """The per-simulation record of a fitted replication."""
    rr = estimand_draws(fit, estimand)
    flat = rr.ravel()
    lower, upper = hdi(flat[:, None], HDI_PROB)
    rhat, ess_bulk, ess_tail = infd.array_diagnostics(rr)
    diag = fit.diagnostics()
    p = float((flat < 1.0 - decision.reduction).mean())
    return {
        "true_rr": float(true_rr),
        "rr_median": float(np.median(flat)),
        "rr_lower": float(lower[0]),
        "rr_upper": float(upper[0]),
        "p_reduction": float((flat < 1.0).mean()),
        "p_decision": p,
        "success": bool(p > decision.prob),
        "covered": bool(lower[0] <= true_rr <= upper[0]),
        "max_rhat": float(diag["max_rhat"]),
        "min_ess_bulk": float(diag["min_ess_bulk"]),
        "min_ess_tail": float(diag["min_ess_tail"]),
        "divergences": int(diag["divergences"]),
        "headline_rhat": rhat,
        "headline_ess_bulk": ess_bulk,
        "headline_ess_tail": ess_tail,
        "compile_seconds": float(fit.info.get("compile_seconds", float("nan"))),
        "sampling_seconds": float(fit.info.get("sampling_seconds", float("nan"))),
    }


@dataclass
class AssuranceJob:
    """One simulation of an assurance study (picklable: runs in any worker)."""

    design: PlanDesign
    effect: object
    decision: Decision
    settings: FitSettings
    frequentist: bool = True

    def __call__(self, index: int, seq: np.random.SeedSequence) -> dict:
        trial, truth = simulate(self.design, self.effect, child_seed(seq, 0))
        est = self.decision.estimand
        true_rr = truth.rr(est)
        y = trial.data["post_count"].to_numpy()
        record = {
            "max_count": int(y.max(initial=0)),
            "events": int(y.sum()),
            # the width of the likelihood's count matrix: a new width is a new compile
            "excess_width": int(excess_counts(y, np.zeros(y.size, dtype="int64"), 1).shape[1]),
        }
        fit = self.settings.fit(trial, int_seed(child_seed(seq, 2)))
        record.update(summarise_fit(fit, est, self.decision, true_rr))
        if self.frequentist:
            rr, p, reason = _frequentist_rr(trial, est)
            record.update(
                {
                    "freq_rr": rr,
                    "freq_p": p,
                    "freq_success": bool(rr < 1 and p < ALPHA),
                    "freq_reason": reason,
                }
            )
        return record


__all__ = ["AssuranceJob", "estimand_draws", "summarise_fit"]
