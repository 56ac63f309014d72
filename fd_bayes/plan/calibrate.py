"""Simulation-based calibration (SBC) of a model on a given trial design.

For each simulation: take the design's people (arms, age bands, baseline counts and
exposures, simulated from a :class:`~fd_bayes.plan.PlanDesign`), draw every parameter
from the model's prior, draw follow-up counts from the model given those parameters,
refit (``predictive=False``) and record, for each key parameter, the rank of the true
value among thinned posterior draws and whether the central 50% and 95% intervals
contain it. If the model and sampler are right, the ranks are uniform and the coverages
are 50% and 95% (Talts et al. 2018).

Prior draws with wide default priors can give absurd counts (thousands of offences a
year). A simulation whose largest count exceeds ``max_count`` is not fitted; it is
counted as ``rejected`` and reported. Rejecting on the data alone keeps SBC valid: given
the data, the posterior is unchanged by the rejection event, so the ranks of the
accepted simulations are still uniform. Counts that change the width of the likelihood's
count matrix change the compiled model's shape: those recompile, and the compilations
are counted and reported.

Under the null, the design is simulated with no effect (``effect=1``) and analysed with
the decision rule "P(reduction) > 0.95" (:func:`fd_bayes.plan.assurance`): the share of
successes is the false-positive rate.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from fd_bayes.constants import DEFAULT_MODEL
from fd_bayes.data import Trial
from fd_bayes.errors import SettingsError
from fd_bayes.inference import SamplerSettings, child_seed, posterior_predictive, sample_prior
from fd_bayes.modelling import (
    Design,
    build_model,
    excess_counts,
    flat_draws,
    load_spec,
    model_key,
    resolve_structure,
)
from fd_bayes.plan.design import PlanDesign
from fd_bayes.plan.result import Assurance, diagnostic_tallies
from fd_bayes.plan.settings import FitSettings, plan_sampler_settings
from fd_bayes.plan.simstudy import int_seed, run_study, study_seed
from fd_bayes.plan.simulation import simulate
from fd_bayes.plan.sources import design_from
from fd_bayes.plan.study import assurance
from fd_bayes.plots import save_figure, subplots

#: Parameters ranked by default (those present in the fitted model; vector parameters
#: are ranked element by element).
KEY_PARAMETERS = (
    "effect_overall",
    "theta",
    "crime_sd",
    "cell_sd",
    "person_sd",
    "person_cv",
    "baseline_slope",
    "dispersion",
)
#: Posterior draws kept (evenly spaced) for the rank statistic: ranks run 0..RANK_DRAWS.
RANK_DRAWS = 99
#: Simulations with a count above this are not fitted (reported as rejected).
MAX_COUNT = 100

_prior_cache: dict = {}


def _prior_draws(spec, design, structure, n: int, seed: int):
    """``n`` joint prior draws for this spec and design shape, drawn once per process.

    The same (spec, structure, labels, n, seed) gives the same draws in every process,
    so simulation ``i`` takes draw ``i`` wherever it runs.
    """
    key = (model_key(spec, design, structure), n, seed)
    if key not in _prior_cache:
        pm_model, _ = build_model(spec, design, structure)
        _prior_cache.clear()
        _prior_cache[key] = sample_prior(pm_model, n, seed)
    return _prior_cache[key]


def _scalars(ds, names: Sequence[str]) -> dict[str, np.ndarray]:
    """Every element of the named variables as ``name[label]`` -> draws (flattened)."""
    out = {}
    for name in names:
        if name not in ds:
            continue
        da = ds[name]
        extra = [d for d in da.dims if d not in ("chain", "draw")]
        flat = flat_draws(da)
        if not extra:
            out[name] = flat
            continue
        labels = [str(v) for v in da[extra[0]].values]
        for j, lab in enumerate(labels):
            out[f"{name}[{lab}]"] = flat[:, j]
    return out


@dataclass
class CalibrationJob:
    """One SBC simulation (picklable)."""

    design: PlanDesign
    settings: FitSettings
    n_sims: int
    prior_seed: int
    parameters: tuple[str, ...] = KEY_PARAMETERS
    max_count: int = MAX_COUNT
    rank_draws: int = RANK_DRAWS

    def __call__(self, index: int, seq: np.random.SeedSequence) -> dict:
        spec = load_spec(self.settings.model).with_priors(self.settings.priors)
        people, _ = simulate(self.design, 1.0, child_seed(seq, 0))
        design = Design.from_trial(people)
        structure = resolve_structure(spec, design)
        prior = _prior_draws(spec, design, structure, self.n_sims, self.prior_seed)
        truth = prior.isel(draw=[index])
        y = posterior_predictive(truth, design, spec.family, int_seed(child_seed(seq, 1)))
        y = y["y"].values.reshape(-1).astype("int64")
        record = {
            "max_count": int(y.max(initial=0)),
            "events": int(y.sum()),
            "excess_width": int(excess_counts(y, np.zeros(y.size, dtype="int64"), 1).shape[1]),
        }
        true = {k: float(v[0]) for k, v in _scalars(truth, self.parameters).items()}
        if record["max_count"] > self.max_count:
            record["rejected"] = True
            return record
        data = people.data.copy()
        data["post_count"] = y
        fit = self.settings.fit(Trial(data, name="prior predictive"), int_seed(child_seed(seq, 2)))
        diag = fit.diagnostics()
        record.update(
            {
                "rejected": False,
                "max_rhat": float(diag["max_rhat"]),
                "min_ess_bulk": float(diag["min_ess_bulk"]),
                "min_ess_tail": float(diag["min_ess_tail"]),
                "divergences": int(diag["divergences"]),
                "sampling_seconds": float(fit.info.get("sampling_seconds", float("nan"))),
            }
        )
        post = _scalars(fit.idata.posterior, self.parameters)
        params = {}
        for name, value in true.items():
            draws = post.get(name)
            if draws is None:
                continue
            keep = draws[np.linspace(0, draws.size - 1, self.rank_draws).round().astype(int)]
            q = np.quantile(draws, [0.025, 0.25, 0.75, 0.975])
            params[name] = {
                "true": value,
                "rank": int((keep < value).sum()),
                "in_50": bool(q[1] <= value <= q[2]),
                "in_95": bool(q[0] <= value <= q[3]),
            }
        record["parameters"] = params
        return record


@dataclass
class Calibration:
    """The result of :func:`calibrate`.

    ``sims`` has one row per simulation (rejections, diagnostics, errors);
    ``ranks`` one row per simulation x parameter (``rank`` in 0..``rank_draws``,
    ``in_50``, ``in_95``). ``null`` is the no-effect study (its success rate is the
    false-positive rate of the decision).
    """

    sims: pd.DataFrame
    ranks: pd.DataFrame
    settings: FitSettings
    design: PlanDesign
    seed: int
    rank_draws: int
    max_count: int
    where: str = ""
    seconds: float = float("nan")
    compilations: int = 0
    compilations_per_process: dict = field(default_factory=dict)
    null: Assurance | None = None

    @property
    def rejected(self) -> int:
        """Simulations not fitted because a prior draw gave a count above ``max_count``."""
        return int(self.sims.get("rejected", pd.Series(dtype=bool)).fillna(False).sum())

    def diagnostics(self) -> dict[str, int]:
        rejected = self.sims["rejected"] if "rejected" in self.sims else False
        fitted = self.sims[~pd.Series(rejected, index=self.sims.index).fillna(False).astype(bool)]
        if "max_rhat" not in fitted:
            return {"fits": 0, "errors": int((self.sims["error"] != "").sum())}
        fitted = fitted.assign(headline_rhat=1.0, headline_ess_bulk=1e9, headline_ess_tail=1e9)
        out = diagnostic_tallies(fitted)
        for k in ("headline_rhat_over_1.01", "headline_ess_under_400"):
            out.pop(k, None)
        return out

    def table(self, bins: int = 10) -> pd.DataFrame:
        """Per parameter: n, coverage of the 50%/95% intervals, mean scaled rank and a
        chi-square test of uniform ranks over ``bins`` bins (small p: miscalibration)."""
        rows = []
        if self.ranks.empty:
            return pd.DataFrame(
                columns=["parameter", "n", "coverage_50", "coverage_95", "mean_rank", "p_uniform"]
            )
        for name, g in self.ranks.groupby("parameter", sort=False):
            r = g["rank"].to_numpy()
            counts = np.histogram(r, bins=bins, range=(0, self.rank_draws + 1))[0]
            p = float(stats.chisquare(counts).pvalue) if len(r) >= bins else float("nan")
            rows.append(
                {
                    "parameter": name,
                    "n": len(r),
                    "coverage_50": float(g["in_50"].mean()),
                    "coverage_95": float(g["in_95"].mean()),
                    "mean_rank": float(r.mean() / self.rank_draws),
                    "p_uniform": p,
                }
            )
        return pd.DataFrame(rows)

    @property
    def false_positive_rate(self) -> float:
        return self.null.probability if self.null is not None else float("nan")

    def summary(self) -> str:
        t = self.table()
        n = len(self.sims)
        fitted = n - self.rejected - int((self.sims["error"] != "").sum())
        text = (
            f"Simulation-based calibration: {n} prior draws, {fitted} fitted, "
            f"{self.rejected} rejected (a count above {self.max_count}), "
            f"{self.compilations} model compilation(s)."
        )
        if not t.empty:
            text += (
                f" Coverage of the 50% intervals {t['coverage_50'].mean():.0%} and of the 95% "
                f"intervals {t['coverage_95'].mean():.0%} (averaged over {len(t)} parameters)."
            )
        if self.null is not None:
            text += (
                f" Under no effect, 'P(reduction) > {self.null.decision.prob:.0%}' "
                f"for {self.null.decision.estimand.describe()} was met in "
                f"{self.false_positive_rate:.1%} of {self.null.n_sims} simulations "
                f"(Monte Carlo error {self.null.mc_error:.1%})."
            )
        d = self.diagnostics()
        if d.get("fits"):
            text += f" {d['any_failure']} of {d['fits']} fits failed a sampler diagnostic."
        return text

    def plot(self, path=None, parameters: Sequence[str] | None = None, bins: int = 10):
        """Rank histograms with the 99% band of a uniform histogram."""
        names = list(parameters or pd.unique(self.ranks["parameter"]))[:12]
        ncol = min(4, max(1, len(names)))
        nrow = int(np.ceil(len(names) / ncol)) or 1
        fig, axes = subplots(
            nrow, ncol, figsize=(3 * ncol, 2.2 * nrow), squeeze=False, layout="constrained"
        )
        for ax in axes.ravel()[len(names) :]:
            ax.set_visible(False)
        for ax, name in zip(axes.ravel(), names, strict=False):
            r = self.ranks.loc[self.ranks["parameter"] == name, "rank"].to_numpy()
            ax.hist(r, bins=bins, range=(0, self.rank_draws + 1), color="#4c72b0")
            n = len(r)
            lo, hi = stats.binom.ppf([0.005, 0.995], n, 1 / bins)
            ax.axhspan(lo, hi, color="grey", alpha=0.2)
            ax.set_title(name, fontsize=7)
            ax.set_yticks([])
            ax.tick_params(axis="x", labelsize=7)
        fig.suptitle("SBC rank histograms (grey: 99% band if uniform)", fontsize=9)
        if path is not None:
            save_figure(fig, path)
        return fig


def calibrate(
    model: str = DEFAULT_MODEL,
    design=None,
    n_sims: int = 100,
    seed: int | None = None,
    client=None,
    *,
    draws: int | None = None,
    tune: int | None = None,
    chains: int | None = None,
    target_accept: float | None = None,
    sampler: str | None = None,
    priors: dict | None = None,
    parameters: Sequence[str] = KEY_PARAMETERS,
    max_count: int = MAX_COUNT,
    rank_draws: int = RANK_DRAWS,
    null_sims: int | None = None,
    decision=None,
    workers: int | None = None,
    batch_size: int | None = None,
    settings: SamplerSettings | None = None,
) -> Calibration:
    """Simulation-based calibration of ``model`` on ``design``.

    Parameters
    ----------
    model : str or path
    design : PlanDesign, Fit or Trial
        The trial design (arms, strata, crime types, outcomes, sizes); a Fit or Trial is
        turned into one with :func:`fd_bayes.plan.design_from`.
    n_sims : int
        Prior draws (each one a simulated trial and a fit).
    seed : int, optional
    client : dask.distributed.Client, optional
        Default: local processes (``workers``; 1 runs here).
    draws, tune, chains, target_accept, sampler
        Sampler settings of every fit (default: the planning settings ``PLAN_DRAWS``,
        ``PLAN_TUNE``, ``PLAN_CHAINS``).
    priors : dict, optional
        Prior overrides of ``model``.
    parameters : names
        Parameters to rank (each element of a vector parameter separately).
    max_count : int
        Prior draws that give a larger count are not fitted (counted as rejected).
    rank_draws : int
        Evenly spaced posterior draws the true value is ranked among (ranks 0..this);
        at most ``draws * chains``.
    null_sims : int, optional
        Simulations under no effect for the false-positive rate of ``decision`` (default
        ``n_sims``; 0 skips it).
    decision : optional
        The decision rule (default P(reduction) > 0.95 for overall offending).
    workers, batch_size
        Local worker processes and simulations per task (:func:`~fd_bayes.plan.simstudy.run_study`).
    settings : SamplerSettings, optional
        The sampler settings of every fit as one object (what the CLI passes), instead of
        ``draws`` ... ``sampler``; giving both is a :class:`~fd_bayes.errors.SettingsError`.
        Its ``cores`` and ``progress`` are not used: each fit runs on one core without a
        progress bar.
    """
    sampling = plan_sampler_settings(
        settings,
        draws=draws,
        tune=tune,
        chains=chains,
        target_accept=target_accept,
        sampler=sampler,
    )
    if design is None:
        raise SettingsError("calibrate needs a design (a PlanDesign, Fit or Trial)")
    if not isinstance(design, PlanDesign):
        design = design_from(design)
    if rank_draws > sampling.draws * sampling.chains:
        raise SettingsError(f"rank_draws ({rank_draws}) must be <= draws x chains")
    load_spec(model).with_priors(priors)  # fail here, not in every worker
    seed = study_seed(seed)
    fit_settings = FitSettings(model, priors=priors, sampling=sampling)
    prior_seed = int_seed(np.random.SeedSequence(seed, spawn_key=(2**31 + 1,)))
    job = CalibrationJob(
        design, fit_settings, n_sims, prior_seed, tuple(parameters), max_count, rank_draws
    )
    run = run_study(job, n_sims, seed, client=client, workers=workers, batch_size=batch_size)
    rank_rows = []
    for r in run.records:
        for name, v in (r.get("parameters") or {}).items():
            rank_rows.append({"sim": r["sim"], "parameter": name, **v})
    sims = pd.DataFrame.from_records(
        [{k: v for k, v in r.items() if k != "parameters"} for r in run.records]
    )
    if "rejected" in sims:
        sims["rejected"] = sims["rejected"].astype("boolean").fillna(False).astype(bool)
    result = Calibration(
        sims=sims,
        ranks=pd.DataFrame(rank_rows),
        settings=fit_settings,
        design=design,
        seed=seed,
        rank_draws=rank_draws,
        max_count=max_count,
        where=run.where,
        seconds=run.seconds,
        compilations=run.compilations,
        compilations_per_process=run.compilations_per_process(),
    )
    n_null = n_sims if null_sims is None else int(null_sims)
    if n_null > 0:
        result.null = assurance(
            design,
            1.0,
            model,
            decision,
            n_null,
            int_seed(np.random.SeedSequence(seed, spawn_key=(2**31 + 2,))),
            client,
            priors=priors,
            frequentist=False,
            workers=workers,
            batch_size=batch_size,
            settings=sampling,
        )
        result.null.effect_label = "no effect (RR 1)"
    return result


__all__ = ["Calibration", "CalibrationJob", "calibrate"]
