"""What a planning study returns: :class:`Assurance` (one design) and
:class:`SampleSize` (several sizes), with their tables, sentences and figure.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from fd_bayes.constants import DIVERGENCES_MAX, ESS_MIN, RHAT_MAX
from fd_bayes.plan.decision import ALPHA, Decision
from fd_bayes.plan.design import PlanDesign
from fd_bayes.plan.settings import FitSettings
from fd_bayes.plan.simstudy import mc_se
from fd_bayes.plots import save_figure, subplots


def diagnostic_tallies(sims: pd.DataFrame) -> dict[str, int]:
    """How many simulated fits failed each diagnostic (of those that ran)."""
    ran = sims[sims["error"] == ""] if "error" in sims else sims
    if ran.empty or "max_rhat" not in ran:
        return {"fits": 0, "errors": int(len(sims) - len(ran))}
    rhat = ran["max_rhat"] > RHAT_MAX
    ess = np.minimum(ran["min_ess_bulk"], ran["min_ess_tail"]) < ESS_MIN
    div = ran["divergences"] > DIVERGENCES_MAX
    h_rhat = ran["headline_rhat"] > RHAT_MAX
    h_ess = np.minimum(ran["headline_ess_bulk"], ran["headline_ess_tail"]) < ESS_MIN
    return {
        "fits": len(ran),
        "errors": int(len(sims) - len(ran)),
        "rhat_over_1.01": int(rhat.sum()),
        "ess_under_400": int(ess.sum()),
        "divergent": int(div.sum()),
        "any_failure": int((rhat | ess | div).sum()),
        "headline_rhat_over_1.01": int(h_rhat.sum()),
        "headline_ess_under_400": int(h_ess.sum()),
        "diagnostics_warnings": int(
            sum(any(w[0] == "DiagnosticsWarning" for w in ws) for ws in ran["warnings"])
        ),
        # the model was adapted to a simulated data set (e.g. person effect left out)
        "model_notes": int(sum(any(w[0] == "ModelNote" for w in ws) for ws in ran["warnings"])),
    }


@dataclass
class Assurance:
    """The result of :func:`assurance`.

    Attributes
    ----------
    sims : DataFrame
        One row per simulation: the true and estimated rate ratio of the headline
        estimand, its HDI, P(reduction), success under the decision and under the
        frequentist rule, the fit's diagnostics, timings and any error.
    design, decision, settings, effect_label, seed, n_sims
    null : Assurance or None
        The same study with no effect (``effect=1``): its success rate is the
        false-positive rate.
    where, seconds, compilations, compilations_per_process
        Where it ran, wall time, and model compilations (1 per worker process and bucket
        of the likelihood's data shape; see ``docs/planning.md``).
    """

    sims: pd.DataFrame
    design: PlanDesign
    decision: Decision
    settings: FitSettings
    effect_label: str
    seed: int
    n_sims: int
    where: str = ""
    seconds: float = float("nan")
    compilations: int = 0
    compilations_per_process: dict = field(default_factory=dict)
    null: Assurance | None = None

    @property
    def _ran(self) -> pd.DataFrame:
        return self.sims[self.sims["error"] == ""]

    def _rate(self, column: str) -> tuple[float, float, int]:
        ran = self._ran
        if column not in ran or ran.empty:
            return float("nan"), float("nan"), 0
        p = float(ran[column].astype(bool).mean())
        return p, mc_se(p, len(ran)), len(ran)

    @property
    def probability(self) -> float:
        """Assurance: share of simulations meeting the decision rule."""
        return self._rate("success")[0]

    @property
    def mc_error(self) -> float:
        """Monte Carlo standard error of :attr:`probability`."""
        return self._rate("success")[1]

    @property
    def frequentist_probability(self) -> float:
        """Share of simulations with NB GLM p < 0.05 and an estimated reduction."""
        return self._rate("freq_success")[0]

    @property
    def coverage(self) -> float:
        """Share of 95% HDIs of the headline estimand that contain its true value."""
        return self._rate("covered")[0]

    @property
    def false_positive_rate(self) -> float:
        return self.null.probability if self.null is not None else float("nan")

    def diagnostics(self) -> dict[str, int]:
        """Tallies of failed diagnostics across the simulated fits (never hidden)."""
        return diagnostic_tallies(self.sims)

    def rr_quantiles(self, q=(0.05, 0.25, 0.5, 0.75, 0.95)) -> pd.Series:
        """Quantiles of the posterior median rate ratio across simulations."""
        return self._ran["rr_median"].quantile(list(q))

    def table(self) -> pd.DataFrame:
        """One row per rule (and for the null study, when run)."""
        rows = []
        for scenario, res in (("effect", self), ("no effect", self.null)):
            if res is None:
                continue
            for rule, col in (
                (
                    f"Bayes: P(RR < {1 - res.decision.reduction:g}) > {res.decision.prob:g}",
                    "success",
                ),
                (f"NB GLM: p < {ALPHA:g} and RR < 1", "freq_success"),
            ):
                p, se, n = res._rate(col)
                if n == 0:
                    continue
                rows.append(
                    {
                        "scenario": scenario,
                        "rule": rule,
                        "estimand": res.decision.estimand.describe(),
                        "treated": res.design.size_label(),
                        "n_treated": res.design.n_treated,
                        "n_control": res.design.n_control,
                        "probability": p,
                        "mc_error": se,
                        "n_sims": n,
                        "coverage_95": res.coverage,
                        "median_rr": float(res._ran["rr_median"].median()),
                        "fits_failing_diagnostics": res.diagnostics().get("any_failure", 0),
                        "errors": res.diagnostics().get("errors", 0),
                    }
                )
        return pd.DataFrame(rows)

    def summary(self) -> str:
        """A plain-language sentence, like "With 40 and 50 young people treated, ..."."""
        sizes = list(self.design.treated.values())
        who = " and ".join(
            [", ".join(map(str, sizes[:-1])), str(sizes[-1])] if len(sizes) > 1 else [str(sizes[0])]
        )
        text = (
            f"With {who} young people treated, a replication has an estimated "
            f"{self.probability:.0%} chance (Monte Carlo error {self.mc_error:.0%}) of showing "
            f"{self.decision.describe()}, if the true effect is {self.effect_label}"
        )
        if self.null is not None:
            text += (
                f"; if the intervention had no effect, it would wrongly show one "
                f"{self.false_positive_rate:.0%} of the time (Monte Carlo error "
                f"{self.null.mc_error:.0%})"
            )
        text += "."
        d = self.diagnostics()
        if d.get("fits"):
            text += (
                f" {d['any_failure']} of {d['fits']} simulated fits failed a sampler "
                f"diagnostic (R-hat, ESS or divergences)"
            )
            if d.get("errors"):
                text += f" and {d['errors']} simulations failed to run"
            text += "."
        return text

    def markdown(self) -> str:
        """A short report section (Markdown)."""
        lines = [
            "## Planning: assurance of the replication",
            "",
            self.summary(),
            "",
            f"- Design: treated/control per age band {self.design.size_label()}; "
            f"{len(self.design.crime_types)} crime type(s) x {len(self.design.outcomes)} "
            f"outcome(s); values from {self.design.source}.",
            f"- Decision: {self.decision.describe()}; frequentist comparison: NB GLM "
            f"p < {ALPHA:g} with an estimated reduction.",
            f"- True effect: {self.effect_label}.",
            f"- {self.n_sims} simulations (seed {self.seed}), each analysed with "
            f"{self.settings.describe()}; {self.where}, {self.seconds:.0f} s, "
            f"{self.compilations} model compilation(s).",
            f"- Coverage of the 95% intervals of the true rate ratio: {self.coverage:.0%}.",
            f"- Diagnostics: {json.dumps(self.diagnostics())}.",
            "",
            markdown_table(self.table()),
        ]
        return "\n".join(lines) + "\n"


def markdown_table(df: pd.DataFrame) -> str:
    """A table as Markdown (floats to 3 decimals); ``""`` when empty."""
    if df.empty:
        return ""
    cols = list(df.columns)
    out = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for _, r in df.iterrows():
        cells = [f"{v:.3f}" if isinstance(v, float) else str(v) for v in r]
        out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out)


@dataclass
class SampleSize:
    """The result of :func:`sample_size`: assurance per size and the smallest that reaches
    the target."""

    results: list[Assurance]
    target: float

    def table(self) -> pd.DataFrame:
        rows = []
        for res in self.results:
            fq = res._rate("freq_success")
            rows.append(
                {
                    "treated": res.design.size_label(),
                    "n_treated": res.design.n_treated,
                    "n_control": res.design.n_control,
                    **{f"treated_{b}": n for b, n in res.design.treated.items()},
                    "assurance": res.probability,
                    "mc_error": res.mc_error,
                    "frequentist": fq[0],
                    "frequentist_mc_error": fq[1],
                    "false_positive_rate": res.false_positive_rate,
                    "coverage_95": res.coverage,
                    "n_sims": res._rate("success")[2],
                    "fits_failing_diagnostics": res.diagnostics().get("any_failure", 0),
                    "errors": res.diagnostics().get("errors", 0),
                }
            )
        return pd.DataFrame(rows)

    @property
    def smallest(self) -> Assurance | None:
        """The smallest size whose assurance reaches the target (None if none does)."""
        for res in sorted(self.results, key=lambda r: r.design.n_treated):
            if res.probability >= self.target:
                return res
        return None

    def summary(self) -> str:
        best = self.smallest
        sizes = ", ".join(str(r.design.n_treated) for r in self.results)
        if best is None:
            return (
                f"None of the sizes tried ({sizes} treated) reaches an assurance of "
                f"{self.target:.0%}; the largest gives {self.results[-1].probability:.0%}."
            )
        return (
            f"The smallest size tried ({sizes} treated) that reaches an assurance of "
            f"{self.target:.0%} is {best.design.n_treated} treated ({best.design.size_label()}): "
            + best.summary()
        )

    def plot(self, path=None):
        """Assurance (and the NB GLM rule) against the number treated, with +-2 MC SE."""
        t = self.table().sort_values("n_treated")
        fig, ax = subplots(figsize=(6, 4))
        x = t["n_treated"].to_numpy()

        def bars(p, se):  # +-2 SE, clipped to [0, 1]
            p, se = p.to_numpy(float), se.to_numpy(float)
            return np.vstack([p - np.clip(p - 2 * se, 0, 1), np.clip(p + 2 * se, 0, 1) - p])

        ax.errorbar(
            x,
            t["assurance"],
            yerr=bars(t["assurance"], t["mc_error"]),
            marker="o",
            capsize=3,
            label="Bayes: " + self.results[0].decision.describe(),
        )
        if t["frequentist"].notna().any():
            ax.errorbar(
                x,
                t["frequentist"],
                yerr=bars(t["frequentist"], t["frequentist_mc_error"]),
                marker="s",
                capsize=3,
                linestyle="--",
                label=f"NB GLM p < {ALPHA:g}",
            )
        if t["false_positive_rate"].notna().any():
            ax.plot(
                x,
                t["false_positive_rate"],
                marker="x",
                linestyle=":",
                label="false positives (no effect)",
            )
        ax.axhline(self.target, color="grey", linewidth=0.8)
        ax.set_ylim(0, 1)
        ax.set_xlabel("young people treated (all age bands)")
        ax.set_ylabel("probability of success")
        ax.set_title("Assurance by size (bars: ±2 Monte Carlo SE)", fontsize=10)
        ax.legend(fontsize=7, loc="lower right")
        if path is not None:
            save_figure(fig, path)
        return fig

    def markdown(self) -> str:
        lines = ["## Planning: size of the replication", "", self.summary(), ""]
        lines.append(markdown_table(self.table()))
        return "\n".join(lines) + "\n"


__all__ = ["Assurance", "SampleSize", "diagnostic_tallies", "markdown_table"]
