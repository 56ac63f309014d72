"""Pooling trials for reports: aggregate tables in, meta-analysis files out (issue 7).

Used by ``fd-bayes pool``. :func:`read_aggregate` reads a table of published trial
results (``trial`` + ``yi``/``vi``, ``yi``/``sei``, or arm-level counts and exposure);
:func:`pool_aggregate` runs :func:`fd_bayes.meta.frequentist` and
:func:`fd_bayes.meta.bayes` on it and writes tables, forest plots and a short Markdown
report. :func:`trial_rows_markdown` (from :mod:`fd_bayes.report.trials`, where
``report.html`` and ``summary.md`` get the same table) renders the ``trial`` and
``new_trial`` rows of a pooled individual-data fit.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from fd_bayes import meta
from fd_bayes.constants import HDI_PROB, META_TARGET_ACCEPT
from fd_bayes.errors import DataError
from fd_bayes.report.trials import trial_rows_markdown

#: Arm-level count columns accepted instead of ``yi``/``vi``.
COUNT_COLUMNS = ("events_t", "exposure_t", "events_c", "exposure_c")
#: Files :func:`pool_aggregate` writes.
AGGREGATE_FILES = (
    "meta_frequentist.csv",
    "meta_bayes.csv",
    "forest.png",
    "forest_bayes.png",
    "pooled.md",
)


def read_aggregate(table: pd.DataFrame | str | Path) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Labels, log rate ratios and variances from a table of published trial results.

    The table has a ``trial`` column and either ``yi`` with ``vi`` (or ``sei``), or
    arm-level counts ``events_t``, ``exposure_t``, ``events_c``, ``exposure_c``
    (converted by :func:`fd_bayes.meta.log_rate_ratio`, zero cells with its default
    rule, 0.5 added to both arms).
    """
    if not isinstance(table, pd.DataFrame):
        from fd_bayes.data.trial import read_table

        table = read_table(table, "trials")
    if "trial" not in table.columns:
        raise DataError(
            f"column 'trial': missing; columns present: {', '.join(map(str, table.columns))}"
            "\nFix: add a column 'trial' with one label per published trial",
            column="trial",
        )
    labels = table["trial"].astype(str).str.strip().tolist()
    if len(set(labels)) != len(labels):
        raise DataError("column 'trial': duplicate labels\nFix: one row per trial", column="trial")
    if "yi" in table.columns and ("vi" in table.columns or "sei" in table.columns):
        yi = pd.to_numeric(table["yi"], errors="coerce").to_numpy(float)
        if "vi" in table.columns:
            vi = pd.to_numeric(table["vi"], errors="coerce").to_numpy(float)
        else:
            vi = pd.to_numeric(table["sei"], errors="coerce").to_numpy(float) ** 2
        return labels, yi, vi
    if all(c in table.columns for c in COUNT_COLUMNS):
        args = [pd.to_numeric(table[c], errors="coerce").to_numpy(float) for c in COUNT_COLUMNS]
        for name, arr in zip(COUNT_COLUMNS, args, strict=True):
            if np.isnan(arr).any():
                raise DataError(
                    f"column '{name}': missing or non-numeric values\nFix: fill them in",
                    column=name,
                )
        yi, vi = meta.log_rate_ratio(*args)
        return labels, yi, vi
    raise DataError(
        "the trials table needs columns yi and vi (or sei), or arm-level counts "
        f"{', '.join(COUNT_COLUMNS)}; columns present: {', '.join(map(str, table.columns))}"
        "\nFix: add the log rate ratios and their variances, or the counts and exposure",
        column="yi",
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
) -> dict[str, Path]:
    """Frequentist and Bayesian random-effects meta-analysis of log rate ratios, to files.

    Writes :data:`AGGREGATE_FILES` into ``out`` and returns name -> path.
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


__all__ = ["pool_aggregate", "read_aggregate", "trial_rows_markdown"]
