"""The readable Markdown summary of a fit: key findings, effects, diagnostics, provenance."""

from __future__ import annotations

import pandas as pd

from fd_bayes.constants import DISCLOSURE_THRESHOLD, ESS_MIN, HDI_PROB, RHAT_MAX
from fd_bayes.report.sentences import effect_sentence, percent


def _md_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def _findings(effects: pd.DataFrame, prob: float) -> list[str]:
    out = []
    for outcome in pd.unique(effects["outcome"]):
        e = effects[effects["outcome"] == outcome]
        picks = [
            e[e["level"] == "overall"],
            e[(e["level"] == "harm") & (e["age_band"] == "all")],
            e[e["level"] == "crime_type"],
            e[e["level"] == "age_band"],
        ]
        out.append(f"### {str(outcome).capitalize()}\n")
        for part in picks:
            for _, row in part.iterrows():
                note = f" *({row['note']})*" if row.get("note") else ""
                out.append(f"- {effect_sentence(row, prob)}{note}")
        out.append("")
    return out


def _effects_rows(effects: pd.DataFrame) -> list[list[str]]:
    rows = []
    e = effects[effects["level"].isin(["crime_type", "overall", "harm"])]
    e = e[(e["level"] != "harm") | (e["age_band"] == "all")]
    for _, r in e.iterrows():
        label = "harm-weighted" if r["level"] == "harm" else r["crime_type"]
        prevented = (
            ""
            if pd.isna(r["offences_prevented_per_100"])
            else f"{r['offences_prevented_per_100']:.1f}"
        )
        rows.append(
            [
                str(r["outcome"]),
                str(label),
                f"{r['rr_median']:.2f} [{r['rr_lower']:.2f}, {r['rr_upper']:.2f}]",
                percent(r["p_reduction"]),
                percent(r["p_reduction_25"]),
                percent(r["p_reduction_50"]),
                prevented,
            ]
        )
    return rows


def summary_markdown(fit, effects: pd.DataFrame, prob: float = HDI_PROB) -> str:
    """Render the summary as Markdown text."""
    info = fit.info
    diag = fit.diagnostics()
    problems = fit.diagnostic_problems()
    pct = f"{100 * prob:.0f}%"
    lines = [f"# fd_bayes results: {info.get('trial_name', 'trial')}", ""]
    if "synthetic" in str(info.get("trial_name", "")):
        lines += [
            "> **These data are synthetic** (the embedded example trial). They illustrate the "
            "analysis; they are not findings about any real young people.",
            "",
        ]
    if problems:
        lines += [
            "> **Warning: the sampler's diagnostics failed. Do not report these results "
            "until the model has been refitted.**",
            "",
        ]
    lines += [
        "## Key findings",
        "",
        f"Rate ratios compare the treated cohort's expected counts with what the same young "
        f"people would be expected to have without the intervention (g-computation from the "
        f"posterior). Intervals are {pct} highest-density credible intervals.",
        "",
        *_findings(effects, prob),
        "## Effects by crime type",
        "",
        _md_table(
            [
                "outcome",
                "crime type",
                f"rate ratio [{pct} HDI]",
                "P(any reduction)",
                "P(reduction >= 25%)",
                "P(reduction >= 50%)",
                "prevented per 100 per year",
            ],
            _effects_rows(effects),
        ),
        "",
        "The full table, including each age band and cell, is in `effects.csv`; counts from "
        f"cells with fewer than {DISCLOSURE_THRESHOLD} people in an arm are suppressed there.",
        "",
        "## Diagnostics",
        "",
        _md_table(
            ["check", "value", "threshold", "status"],
            [
                [
                    "max R-hat",
                    f"{diag['max_rhat']:.3f}",
                    f"<= {RHAT_MAX}",
                    "ok" if diag["max_rhat"] <= RHAT_MAX else "FAILED",
                ],
                [
                    "min bulk ESS",
                    f"{diag['min_ess_bulk']:.0f}",
                    f">= {ESS_MIN:.0f}",
                    "ok" if diag["min_ess_bulk"] >= ESS_MIN else "FAILED",
                ],
                [
                    "min tail ESS",
                    f"{diag['min_ess_tail']:.0f}",
                    f">= {ESS_MIN:.0f}",
                    "ok" if diag["min_ess_tail"] >= ESS_MIN else "FAILED",
                ],
                [
                    "divergences",
                    str(diag["divergences"]),
                    "0",
                    "ok" if diag["divergences"] == 0 else "FAILED",
                ],
            ],
        ),
        "",
    ]
    lines += [f"- {p}" for p in problems]
    lines += [
        "",
        "## Model",
        "",
        f"`{fit.spec.name}` ({fit.spec.family} likelihood): {fit.spec.description}",
        "",
        _md_table(["prior", "distribution"], [[k, v] for k, v in fit.spec.prior_table()]),
        "",
    ]
    notes = fit.notes
    if notes:
        lines += ["Adaptations to these data:", "", *[f"- {n}" for n in notes], ""]
    lines += [
        "## Provenance",
        "",
        _md_table(
            ["item", "value"],
            [
                ["fd_bayes version", str(info.get("fd_bayes_version"))],
                ["model spec hash (SHA-256)", f"`{info.get('spec_hash')}`"],
                ["data hash (SHA-256)", f"`{info.get('data_hash')}`"],
                ["sampler", str(info.get("sampler"))],
                [
                    "chains x draws (tuning)",
                    f"{info.get('chains')} x {info.get('draws')} ({info.get('tune')})",
                ],
                ["seed", str(info.get("seed"))],
            ],
        ),
        "",
    ]
    return "\n".join(lines)
