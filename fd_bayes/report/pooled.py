"""What ``fd-bayes pool`` writes for a table of published trials: a frequentist and a
Bayesian random-effects meta-analysis, to files (issue 7).

:func:`pool_aggregate` runs :func:`fd_bayes.meta.frequentist` and
:func:`fd_bayes.meta.bayes` on labels, log rate ratios and variances (read by
:func:`fd_bayes.data.aggregate.read_aggregate`) and writes tables, forest plots and a short
Markdown report (:func:`aggregate_markdown`). A pooled individual-data fit's ``pooled.md``
is :func:`fd_bayes.report.trials.trial_rows_markdown`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from fd_bayes import meta
from fd_bayes.constants import HDI_PROB, META_TARGET_ACCEPT
from fd_bayes.inference import SamplerSettings

#: Files :func:`pool_aggregate` writes.
AGGREGATE_FILES = (
    "meta_frequentist.csv",
    "meta_bayes.csv",
    "forest.png",
    "forest_bayes.png",
    "pooled.md",
)


def pool_aggregate(
    labels: list[str],
    yi: np.ndarray,
    vi: np.ndarray,
    out: str | Path,
    *,
    method: str = "REML",
    test: str = "z",
    prior_tau: str = "halfnormal",
    prior_tau_scale: float = 0.5,
    draws: int = 2000,
    tune: int = 1000,
    chains: int = 4,
    seed: int | None = None,
    prob: float = HDI_PROB,
    target_accept: float = META_TARGET_ACCEPT,
    settings: SamplerSettings | None = None,
) -> dict[str, Path]:
    """Frequentist and Bayesian random-effects meta-analysis of log rate ratios, to files.

    Writes :data:`AGGREGATE_FILES` into ``out`` and returns name -> path. ``draws``,
    ``tune``, ``chains``, ``target_accept`` (or one ``settings`` object instead of them)
    and ``seed`` go to :func:`fd_bayes.meta.bayes`.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    freq = meta.frequentist(yi, vi, method=method, test=test, labels=labels)
    sei = np.sqrt(np.asarray(vi, dtype=float))
    bayes = meta.bayes(
        yi,
        sei,
        prior_tau=prior_tau,
        prior_tau_scale=prior_tau_scale,
        labels=labels,
        draws=draws,
        tune=tune,
        chains=chains,
        seed=seed,
        target_accept=target_accept,
        settings=settings,
    )
    paths = {name: out / name for name in AGGREGATE_FILES}
    frame = freq.summary_frame()
    pooled = pd.DataFrame(
        {
            "yi": [freq.estimate],
            "sei": [freq.se],
            "ci_lower": [freq.ci_lower],
            "ci_upper": [freq.ci_upper],
            "weight": [100.0],
        },
        index=pd.Index([f"pooled ({method})"], name="study"),
    )
    table = pd.concat([frame, pooled])
    for col in ("yi", "ci_lower", "ci_upper"):
        table[col.replace("yi", "rr").replace("ci_", "rr_")] = np.exp(table[col])
    table.to_csv(paths["meta_frequentist.csv"])
    summary = bayes.summary(prob)
    summary.to_csv(paths["meta_bayes.csv"])
    freq.plot_forest(paths["forest.png"], xlabel="log rate ratio (treatment / control)")
    bayes.plot_forest(paths["forest_bayes.png"], xlabel="log rate ratio (treatment / control)")
    paths["pooled.md"].write_text(
        aggregate_markdown(freq, bayes, prob, method, test), encoding="utf-8"
    )
    return paths


def _rr(x: float) -> str:
    return f"{np.exp(x):.2f}"


def aggregate_markdown(freq, bayes, prob: float, method: str, test: str) -> str:
    """A short Markdown report of a frequentist and a Bayesian meta-analysis."""
    s = bayes.summary(prob)
    mu, new, tau = s.loc["mu"], s.loc["new_study"], s.loc["tau"]
    p_new = float((bayes.predictive() < 0).mean())
    pct = round(100 * prob)
    lines = [
        "# Pooled trials",
        "",
        f"{freq.k} trials; effects are log rate ratios (treatment / control), shown here as "
        "rate ratios (RR < 1: fewer offences with the intervention).",
        "",
        "## Bayesian random-effects meta-analysis",
        "",
        f"- Pooled rate ratio exp(mu): {_rr(mu['mean'])} ({pct}% HDI {_rr(mu['lower'])} to "
        f"{_rr(mu['upper'])}); P(mean RR < 1) = {bayes.p_mu_negative:.2f}.",
        f"- A new site: rate ratio {_rr(new['mean'])} ({pct}% HDI {_rr(new['lower'])} to "
        f"{_rr(new['upper'])}); P(a new site sees a reduction) = {p_new:.2f}.",
        f"- Between-trial SD (tau, log scale): {tau['mean']:.2f} ({pct}% HDI "
        f"{tau['lower']:.2f} to {tau['upper']:.2f}).",
        f"- Priors: mean {bayes.prior['mu']}; tau {bayes.prior['tau']}. With few trials the "
        "tau prior matters: report it, and check a tighter and a wider one.",
    ]
    d = bayes.diagnostics()
    lines.append(
        f"- Diagnostics: max R-hat {d['max_rhat']:.3f}, min bulk ESS {d['min_ess_bulk']:.0f}, "
        f"divergences {d['divergences']}."
    )
    lines += [
        "",
        f"## Frequentist random-effects meta-analysis ({method}, test {test})",
        "",
        f"- Pooled rate ratio {_rr(freq.estimate)} (95% CI {_rr(freq.ci_lower)} to "
        f"{_rr(freq.ci_upper)}), p = {freq.p_value:.3g}.",
        f"- tau^2 = {freq.tau2:.3f}, I^2 = {freq.i2:.0f}%, Q = {freq.q:.2f} (p = "
        f"{freq.q_pvalue:.3g}); 95% prediction interval for a new trial: RR "
        f"{_rr(freq.pi_lower)} to {_rr(freq.pi_upper)}.",
        "",
        "## Trials",
        "",
        "| trial | RR | 95% CI | weight (%) | Bayesian shrunken RR |",
        "|---|---|---|---|---|",
    ]
    frame = freq.summary_frame()
    for label, r in frame.iterrows():
        lines.append(
            f"| {label} | {_rr(r['yi'])} | {_rr(r['ci_lower'])} to {_rr(r['ci_upper'])} | "
            f"{r['weight']:.1f} | {_rr(s.loc[label, 'mean'])} |"
        )
    lines += ["", "Figures: forest.png (frequentist), forest_bayes.png (Bayesian).", ""]
    return "\n".join(lines)


__all__ = ["AGGREGATE_FILES", "aggregate_markdown", "pool_aggregate"]
