"""How often would claims like these appear by chance? The design's operating characteristics.

A report lists a P(reduction) per crime type x outcome and flags those above 0.95. How
often a row crosses 0.95 when the intervention does nothing, and how often at least one
of the ten rows does, depends on the design: the arm and age-band sizes, the crime
types, the exposure, the baseline counts, the rates and the dispersion. :func:`claims`
simulates trials of the fitted trial's own design (:func:`~fd_bayes.plan.design_from`:
everything from the fit's posterior means and its data) twice over, with no effect and
with the estimated effects (each crime type x outcome's posterior median rate ratio),
refits the same model (its spec and priors, the planning sampler settings) and counts,
per estimand and family-wise:

- the rate at which the report's claim (P(reduction) above ``threshold`` on a row the
  data informed) appears with no effect (a false-positive rate) and with the estimated
  effects;
- the coverage of the 95% intervals of the true rate ratio;

each with its Monte Carlo error. Simulations run on :mod:`fd_bayes.plan.simstudy`'s
runner (compile once per process, local processes or Dask, seeds per simulation).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from fd_bayes.constants import ALL, HDI_PROB
from fd_bayes.errors import SettingsError
from fd_bayes.inference import child_seed, resolve_seed
from fd_bayes.plan.decision import Estimand
from fd_bayes.plan.design import PlanDesign
from fd_bayes.plan.settings import FitSettings, plan_sampler_settings
from fd_bayes.plan.simstudy import int_seed, mc_se, run_study
from fd_bayes.plan.simulation import simulate
from fd_bayes.plan.sources import design_from

#: The claim the report flags: P(reduction) above this on an informed row.
CLAIM_PROBABILITY = 0.95
#: The two simulated worlds.
SCENARIOS = ("no effect", "estimated effect")
#: File names a study writes (:meth:`ClaimsStudy.write`) and the report reads.
STUDY_FILES = ("claims_study.csv", "claims_study.json")


def _key(e: Estimand) -> str:
    return f"{e.outcome}|{e.level}|{e.crime_type}"


def study_estimands(effects: pd.DataFrame) -> tuple[Estimand, ...]:
    """The report's crime type x outcome rows and each outcome's overall row."""
    rows = effects[effects["level"].isin(["crime_type", "overall"]) & (effects["trial"] == ALL)]
    return tuple(
        Estimand(level=str(r.level), outcome=str(r.outcome), crime_type=str(r.crime_type))
        for r in rows.itertuples()
    )


@dataclass
class ClaimsJob:
    """One simulated trial of a claims study (picklable: runs in any worker)."""

    design: PlanDesign
    effect: object
    settings: FitSettings
    estimands: tuple[Estimand, ...]
    threshold: float

    def __call__(self, index: int, seq: np.random.SeedSequence) -> dict:
        trial, truth = simulate(self.design, self.effect, child_seed(seq, 0))
        fit = self.settings.fit(trial, int_seed(child_seed(seq, 2)))
        effects = fit.effects(prob=HDI_PROB, harm_weights={}).set_index(
            ["outcome", "level", "crime_type", "age_band"]
        )
        diag = fit.diagnostics()
        record = {
            "max_rhat": float(diag["max_rhat"]),
            "min_ess_bulk": float(diag["min_ess_bulk"]),
            "divergences": int(diag["divergences"]),
        }
        for e in self.estimands:
            row = effects.loc[(e.outcome, e.level, e.crime_type, ALL)]
            if isinstance(row, pd.DataFrame):
                row = row.iloc[0]
            true_rr = truth.rr(e)
            key = _key(e)
            record[f"p|{key}"] = float(row["p_reduction"])
            record[f"claim|{key}"] = bool(row["informed"]) and row["p_reduction"] > self.threshold
            record[f"covered|{key}"] = bool(row["rr_lower"] <= true_rr <= row["rr_upper"])
        return record


@dataclass
class ClaimsStudy:
    """The records of a claims study and their summaries (:func:`claims`)."""

    records: pd.DataFrame
    estimands: tuple[Estimand, ...]
    threshold: float
    n_sims: int
    seed: int
    where: str
    seconds: float

    def table(self) -> pd.DataFrame:
        """One row per estimand, then the family-wise rows: ``estimand``, ``outcome``,
        ``crime_type``, and per scenario the claim rate and (estimands) the coverage of
        the 95% intervals, each with its Monte Carlo error."""
        rows = []
        by = {s: self.records[self.records["scenario"] == s] for s in SCENARIOS}
        for e in self.estimands:
            key = _key(e)
            row = {"estimand": e.level, "outcome": e.outcome, "crime_type": e.crime_type}
            for s, part in by.items():
                tag = s.replace(" ", "_")
                rate, cover = part[f"claim|{key}"].mean(), part[f"covered|{key}"].mean()
                row[f"claim_rate_{tag}"] = float(rate)
                row[f"claim_rate_{tag}_mc_se"] = mc_se(float(rate), len(part))
                row[f"coverage_{tag}"] = float(cover)
                row[f"coverage_{tag}_mc_se"] = mc_se(float(cover), len(part))
            rows.append(row)
        outcomes = list(dict.fromkeys(e.outcome for e in self.estimands))
        crimes = [e for e in self.estimands if e.level == "crime_type"]
        families = [
            (f"at least one {o} crime type", [e for e in crimes if e.outcome == o])
            for o in outcomes
        ]
        families.append(("at least one crime type x outcome row", crimes))
        for name, members in families:
            if not members:
                continue
            row = {"estimand": "family", "outcome": name, "crime_type": ALL}
            for s, part in by.items():
                tag = s.replace(" ", "_")
                hit = part[[f"claim|{_key(e)}" for e in members]].any(axis=1).mean()
                row[f"claim_rate_{tag}"] = float(hit)
                row[f"claim_rate_{tag}_mc_se"] = mc_se(float(hit), len(part))
                row[f"coverage_{tag}"] = np.nan
                row[f"coverage_{tag}_mc_se"] = np.nan
            rows.append(row)
        return pd.DataFrame(rows)

    def sentences(self) -> list[str]:
        """The study in plain words (the report's section)."""
        return study_sentences(self.table(), self.n_sims, self.threshold)

    def write(self, folder: str | Path) -> dict[str, Path]:
        """``claims_study.csv`` (the table) and ``claims_study.json`` (how it was run)."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        csv, meta = (folder / n for n in STUDY_FILES)
        self.table().to_csv(csv, index=False)
        meta.write_text(
            json.dumps(
                {
                    "n_sims": self.n_sims,
                    "seed": self.seed,
                    "threshold": self.threshold,
                    "where": self.where,
                    "seconds": self.seconds,
                    "scenarios": list(SCENARIOS),
                },
                indent=1,
            )
        )
        return {csv.name: csv, meta.name: meta}


def _pct(p: float, se: float) -> str:
    return f"{p:.0%} (Monte Carlo error {se:.0%})"


def study_sentences(table: pd.DataFrame, n_sims: int, threshold: float) -> list[str]:
    """A claims-study table (:meth:`ClaimsStudy.table`, or its CSV) in plain words."""
    out = []
    fam = table[table["estimand"] == "family"]
    for r in fam.itertuples():
        out.append(
            f"In {n_sims} simulated trials of this design in which the intervention did "
            f"nothing, {r.outcome} had P(reduction) above {threshold:.0%} in "
            f"{_pct(r.claim_rate_no_effect, r.claim_rate_no_effect_mc_se)} of trials; with "
            f"the estimated effects, in "
            f"{_pct(r.claim_rate_estimated_effect, r.claim_rate_estimated_effect_mc_se)}."
        )
    rows = table[table["estimand"] != "family"]
    if len(rows):
        worst = rows.loc[rows["claim_rate_no_effect"].idxmax()]
        label = "overall" if worst["estimand"] == "overall" else worst["crime_type"]
        out.append(
            f"Row by row, with no effect the claim appeared in at most "
            f"{_pct(worst['claim_rate_no_effect'], worst['claim_rate_no_effect_mc_se'])} of "
            f"trials ({label} {worst['outcome']}). The 95% intervals covered the true rate "
            f"ratio in {rows['coverage_no_effect'].min():.0%} to "
            f"{rows['coverage_no_effect'].max():.0%} of trials with no effect and "
            f"{rows['coverage_estimated_effect'].min():.0%} to "
            f"{rows['coverage_estimated_effect'].max():.0%} with the estimated effects."
        )
    return out


def estimated_effect(effects: pd.DataFrame) -> dict:
    """Each crime type x outcome's posterior median rate ratio, as a true effect."""
    rows = effects[(effects["level"] == "crime_type") & (effects["trial"] == ALL)]
    return {(str(r.outcome), str(r.crime_type)): float(r.rr_median) for r in rows.itertuples()}


def claims(
    fit,
    n_sims: int = 200,
    seed: int | None = None,
    *,
    threshold: float = CLAIM_PROBABILITY,
    client=None,
    workers: int | None = None,
    settings=None,
    draws: int | None = None,
    tune: int | None = None,
    chains: int | None = None,
) -> ClaimsStudy:
    """Simulate the fitted trial's design with no effect and with the estimated effects,
    refit the same model, and count how often the report's claims appear (see the
    module's docstring).

    Parameters
    ----------
    fit : Fit
        A catalogue fit (fresh or loaded): its design, spec and priors are simulated.
    n_sims : int
        Simulated trials per scenario (default 200: Monte Carlo error of a 5% rate 1.5%).
    seed : int, optional
        The study seed (drawn and recorded when omitted).
    threshold : float
        The claim: P(reduction) above this (default 0.95).
    client, workers
        Where the simulations run (:func:`fd_bayes.plan.simstudy.run_study`). Local
        workers import the calling script again: guard it with
        ``if __name__ == "__main__":``.
    settings, draws, tune, chains
        The sampler settings of every simulated fit (default: the planning settings).
    """
    if fit.spec is None:
        raise SettingsError("claims() needs a catalogue fit (fit(trial, model=...))")
    if not 0.5 <= threshold < 1:
        raise SettingsError(f"threshold must be in [0.5, 1), got {threshold!r}")
    seed = resolve_seed(seed)
    effects = fit.effects(harm_weights={})
    estimands = study_estimands(effects)
    design = design_from(fit)
    # one round per simulated fit, as in planning: the study counts what a fit gives
    sampling = plan_sampler_settings(settings, draws=draws, tune=tune, chains=chains)
    sampling = sampling.replace(adapt=False)
    fit_settings = FitSettings(fit.spec, sampling=sampling)
    frames, where, seconds = [], "", 0.0
    worlds = (1.0, estimated_effect(effects))
    for i, (scenario, effect) in enumerate(zip(SCENARIOS, worlds, strict=True)):
        job = ClaimsJob(design, effect, fit_settings, estimands, threshold)
        study_seed = int_seed(child_seed(np.random.SeedSequence(seed), i))
        run = run_study(job, n_sims, study_seed, client=client, workers=workers)
        frame = pd.DataFrame(run.records)
        frame["scenario"] = scenario
        frames.append(frame)
        where, seconds = run.where, seconds + run.seconds
    records = pd.concat(frames, ignore_index=True)
    return ClaimsStudy(records, estimands, threshold, n_sims, seed, where, seconds)


def read_study(folder: str | Path) -> tuple[pd.DataFrame, dict] | None:
    """The claims study written into ``folder`` (its table and how it was run), if any."""
    folder = Path(folder)
    csv, meta = (folder / n for n in STUDY_FILES)
    if not (csv.exists() and meta.exists()):
        return None
    return pd.read_csv(csv), json.loads(meta.read_text())


__all__ = [
    "CLAIM_PROBABILITY",
    "SCENARIOS",
    "STUDY_FILES",
    "ClaimsJob",
    "ClaimsStudy",
    "claims",
    "estimated_effect",
    "read_study",
    "study_estimands",
    "study_sentences",
]
