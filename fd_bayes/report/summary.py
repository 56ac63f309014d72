"""The readable Markdown summary of a fit: key findings, effects, diagnostics, provenance."""

from __future__ import annotations

import pandas as pd

from fd_bayes.constants import DISCLOSURE_THRESHOLD, ESS_MIN, HDI_PROB, RHAT_MAX
from fd_bayes.errors import SettingsError
from fd_bayes.plan.claims import study_sentences
from fd_bayes.report.sentences import effect_sentence, is_informed, joint_paragraph, percent
from fd_bayes.report.trials import trial_rows_markdown
from fd_bayes.results.sensitivity import STATS, p_text, summary_lines, wide_table


def _md_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def _findings(effects: pd.DataFrame, prob: float) -> list[str]:
    """Per outcome, the finding sentences: overall, a new site's (pooled fits), harm,
    crime types, age bands."""
    out = []
    for outcome in pd.unique(effects["outcome"]):
        e = effects[effects["outcome"] == outcome]
        picks = [
            e[e["level"] == "overall"],
            e[(e["level"] == "new_trial") & (e["crime_type"] == "all")],
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
        probabilities = [percent(r[k]) for k in ("p_reduction", "p_reduction_25", "p_reduction_50")]
        ratio = f"{r['rr_median']:.2f} [{r['rr_lower']:.2f}, {r['rr_upper']:.2f}]"
        if not is_informed(r):  # nothing is read off a row the data barely informed
            ratio, probabilities = "–", ["weakly informed: no claim", "", ""]
        rows.append(
            [
                str(r["outcome"]),
                str(label),
                ratio,
                *probabilities,
                prevented,
            ]
        )
    return rows


def _pooled_section(effects: pd.DataFrame, prob: float) -> list[str]:
    """The section on pooled trials (each trial's and a new site's effect); empty for a
    single-trial fit."""
    text = trial_rows_markdown(effects, prob, heading="## Pooled trials")
    return [text] if text else []


def _sensitivity_section(fit, sensitivity) -> list[str]:
    """The section on prior sensitivity: the priors that differ, the headline estimates
    under each prior, and the plain-language summary of threshold crossings."""
    own = fit.info.get("data_hash")
    for name, other in sensitivity.fits.items():
        theirs = other.info.get("data_hash")
        if own and theirs and own != theirs:
            raise SettingsError(
                f"the sensitivity analysis (prior '{name}') was fitted to other data than "
                "this fit; run it on the same trial"
            )
    priors = sensitivity.priors
    models = {n: f.spec.name for n, f in sensitivity.fits.items()}
    which = ", ".join(f"{n} (`{models[n]}`)" if n in models else n for n in priors)
    lines = [
        "## Sensitivity to the priors",
        "",
        f"The model was fitted again under {len(priors)} priors with the same data"
        + (f" and seed ({sensitivity.seed})" if sensitivity.seed is not None else "")
        + f": {which}.",
    ]
    same = [n for n, f in sensitivity.fits.items() if f.spec.content_hash == fit.spec.content_hash]
    if same:
        lines[-1] += f" The results above use the priors of '{same[0]}'."
    differ = sensitivity.prior_differences()
    if not differ.empty:
        lines += [
            "",
            _md_table(
                ["prior", *differ.columns],
                [[f"`{k}`", *[f"`{v}`" for v in r]] for k, r in differ.iterrows()],
            ),
        ]
    wide = wide_table(sensitivity.table, STATS)
    wide = wide[wide["level"].isin(["overall", "harm", "crime_type"])]
    wide = wide[(wide["level"] != "harm") | (wide["age_band"] == "all")]
    if "trial" in wide.columns:  # pooled fits: the pooled rows only
        wide = wide[wide["trial"] == "all"]
    rows = []
    for _, r in wide.iterrows():
        label = {"overall": "all", "harm": "harm-weighted"}.get(r["level"], r["crime_type"])
        rows.append(
            [
                str(r["outcome"]),
                str(label),
                *[f"{r[f'rr_median_{n}']:.2f}" for n in priors],
                *[p_text(r[f"p_reduction_{n}"], sensitivity.thresholds) for n in priors],
            ]
        )
    lines += [
        "",
        _md_table(
            [
                "outcome",
                "crime type",
                *[f"rate ratio ({n})" for n in priors],
                *[f"P(reduction) ({n})" for n in priors],
            ],
            rows,
        ),
        "",
        *[
            f"- {line}"
            for line in summary_lines(sensitivity.table, sensitivity.flags, sensitivity.thresholds)
        ],
    ]
    failed = [n for n, f in sensitivity.fits.items() if f.diagnostic_problems()]
    if failed:
        lines.append(
            f"- Warning: the sampler's diagnostics failed for {', '.join(failed)}; do not "
            "report those results yet."
        )
    return [*lines, ""]


def _joint_section(fit) -> list[str]:
    """ "Read together": the joint statements of each outcome (none without crime types
    the data informed)."""
    table = fit.joint_statements()
    if table.empty:
        return []
    out = [
        "## Read together",
        "",
        "Each row above has its own probability. With many rows, some cross a threshold by "
        "chance; these are the posterior's statements about the crime types together.",
        "",
    ]
    for outcome, part in table.groupby("outcome", sort=False):
        out += [f"- **{str(outcome).capitalize()}.** {joint_paragraph(part)}"]
    return [*out, ""]


def _claims_section(claims) -> list[str]:
    """The pre-registered claims, each met or not (first in the summary)."""
    if claims is None:
        return []
    return [
        "## Pre-registered claims",
        "",
        f"Stated before the data were seen, in `{claims.claims.source}` (SHA-256 "
        f"`{claims.claims.sha256}`). Everything after this section is exploratory.",
        "",
        *[f"- {statement}." for statement in claims.table["statement"]],
        "",
    ]


def _study_section(study) -> list[str]:
    """How often claims like these appear by chance (a claims study of this design)."""
    if study is None:
        return []
    table, meta = study
    return [
        "## How often would claims like these appear by chance?",
        "",
        f"Trials of this design were simulated {meta['n_sims']} times with no effect and "
        f"{meta['n_sims']} times with the estimated effects, and each was refitted with the "
        f"same model (`fd-bayes claims`, seed {meta['seed']}; `claims_study.csv`).",
        "",
        *[f"- {s}" for s in study_sentences(table, int(meta["n_sims"]), meta["threshold"])],
        "",
        "![How often each claim appeared in the simulated trials](claims_study.png)",
        "",
    ]


def summary_markdown(
    fit,
    effects: pd.DataFrame,
    prob: float = HDI_PROB,
    sensitivity=None,
    claims=None,
    study=None,
) -> str:
    """Render the summary as Markdown text.

    With ``sensitivity`` (a :class:`~fd_bayes.results.sensitivity.Sensitivity` of the same
    trial) a section on the sensitivity of the findings to the priors follows the
    diagnostics. A pooled multi-trial fit adds a section on the pooled trials (each
    trial's effect and a new site's, :func:`fd_bayes.report.trials.trial_rows_markdown`)
    after the effects by crime type, and a new site's finding to the key findings.
    """
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
        *_claims_section(claims),
        "## Key findings" + (" (exploratory)" if claims is not None else ""),
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
        *_joint_section(fit),
        *_study_section(study),
        *_pooled_section(effects, prob),
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
    lines += [""]
    if fit.sampling_note():
        lines += [fit.sampling_note(), ""]
    if sensitivity is not None:
        lines += _sensitivity_section(fit, sensitivity)
    lines += [
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
