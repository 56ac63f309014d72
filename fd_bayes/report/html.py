"""The self-contained HTML report (``report.html``).

One file with inline CSS and figures embedded as base64 PNG: it opens offline, loads
nothing from the network and prints on A4. The page is rendered from the Jinja2
template ``templates/report.html.j2`` shipped inside the package. Every table passes
through disclosure control (:func:`fd_bayes.report.exports.disclosed`) first.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from fd_bayes._version import __version__
from fd_bayes.constants import (
    DISCLOSURE_THRESHOLD,
    ESS_MIN,
    HDI_PROB,
    RHAT_MAX,
)
from fd_bayes.inference.idata import array_diagnostics
from fd_bayes.modelling import by_chain
from fd_bayes.plan.claims import study_sentences
from fd_bayes.plots import (
    claims_study_plot,
    forest_plot,
    headline_draws,
    render_figure,
    subplots,
    trace_rank_plot,
)
from fd_bayes.report.exports import disclosed
from fd_bayes.report.sentences import (
    finding_sentence,
    is_informed,
    joint_paragraph,
    percent,
    verbal_scale_rows,
)
from fd_bayes.report.trials import trial_table
from fd_bayes.results.effects import estimate_groups, g_computation

#: Significance key for frequentist p-values: (upper bound, stars).
SIGNIFICANCE = ((0.001, "***"), (0.01, "**"), (0.05, "*"))


def stars(p: float | None) -> str:
    """Significance stars for a p-value (empty when not significant or missing)."""
    if p is None or pd.isna(p):
        return ""
    for bound, mark in SIGNIFICANCE:
        if p < bound:
            return mark
    return ""


def _p_text(p) -> str:
    if p is None or pd.isna(p):
        return "–"
    text = "<0.001" if p < 0.001 else f"{p:.3f}"
    return text + stars(p)


def _pct_change(rr: float) -> str:
    value = (rr - 1.0) * 100
    if round(value) == 0:
        return "0%"
    return f"{value:+.0f}%".replace("-", "−")


def _label(level: str, crime: str, band: str, trial: str = "all") -> str:
    if level == "trial":
        return f"{trial}: {'all crime types' if crime == 'all' else crime}"
    if level == "overall":
        return "All crime types"
    if level == "harm":
        return "Harm-weighted" if band == "all" else f"Harm-weighted, aged {band}"
    if level == "age_band":
        return f"All crime types, aged {band}"
    if level == "cell":
        return f"{str(crime).capitalize()}, aged {band}"
    return str(crime).capitalize()


def figure_data_uri(fig) -> str:
    """A matplotlib figure as a ``data:image/png;base64,...`` URI."""
    return png_data_uri(render_figure(fig, ("png",), dpi=130)["png"])


def png_data_uri(png: bytes) -> str:
    """PNG bytes as a ``data:image/png;base64,...`` URI."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _uri(rendered: Mapping[str, bytes] | None, name: str, draw) -> str:
    """The data URI of figure ``name``: from its rendered PNG when given, else drawn."""
    if rendered and name in rendered:
        return png_data_uri(rendered[name])
    return figure_data_uri(draw())


def _headline_rows(effects: pd.DataFrame) -> pd.DataFrame:
    """Rows reported in the key findings and the findings table, in reading order."""
    parts = [
        effects[effects["level"] == "overall"],
        effects[(effects["level"] == "harm") & (effects["age_band"] == "all")],
        effects[effects["level"] == "crime_type"],
        effects[effects["level"] == "age_band"],
    ]
    return pd.concat(parts)


def _finding_item(row: pd.Series, prob: float) -> dict:
    note = row.get("note")
    return {
        "text": finding_sentence(row, prob),
        "note": "" if note is None or pd.isna(note) else str(note),
    }


def key_findings(effects: pd.DataFrame, prob: float = HDI_PROB) -> list[dict]:
    """Per outcome, the plain-language finding sentences (with any notes).

    A pooled multi-trial fit adds, after the overall finding, what a new site should
    expect (its ``new_trial`` row over all crime types); per-trial rows are left to the
    pooled-trials table.
    """
    out = []
    rows = _headline_rows(effects)
    new_site = effects[(effects["level"] == "new_trial") & (effects["crime_type"] == "all")]
    for outcome in pd.unique(rows["outcome"]):
        items = []
        for _, row in rows[rows["outcome"] == outcome].iterrows():
            items.append(_finding_item(row, prob))
            if row["level"] == "overall":
                site = new_site[new_site["outcome"] == outcome]
                items += [_finding_item(r, prob) for _, r in site.iterrows()]
        out.append({"outcome": str(outcome).capitalize(), "items": items})
    return out


def _study_context(study, rendered) -> dict | None:
    if study is None:
        return None
    table, meta = study
    return {
        "n_sims": int(meta["n_sims"]),
        "seed": meta["seed"],
        "sentences": study_sentences(table, int(meta["n_sims"]), meta["threshold"]),
        "uri": _uri(rendered, "claims_study", lambda: claims_study_plot(table, meta["threshold"])),
    }


def joint_items(fit) -> list[dict]:
    """Per outcome, the joint statements as one paragraph (``outcome``, ``text``)."""
    table = fit.joint_statements()
    return [
        {"outcome": str(outcome).capitalize(), "text": joint_paragraph(part)}
        for outcome, part in table.groupby("outcome", sort=False)
    ]


def findings_table(effects: pd.DataFrame, frequentist: pd.DataFrame | None = None) -> dict:
    """Crime-type rows x outcome columns: % change, credible interval, P(reduction), NB p.

    Returns
    -------
    dict
        ``outcomes`` (column groups), ``rows`` (each ``label`` and per-outcome ``cells``)
        and ``has_p`` (whether a frequentist p-value column is shown).
    """
    rows = _headline_rows(effects)
    outcomes = list(pd.unique(rows["outcome"]))
    nb = None
    if frequentist is not None:
        nb = frequentist[
            (frequentist["method"] == "negbin_glm") & (frequentist["measure"] == "rate_ratio")
        ].set_index(["outcome", "crime_type", "age_band"])["p_value"]
    order = []
    for r in rows.itertuples():
        key = (r.level, r.crime_type, r.age_band)
        if key not in order:
            order.append(key)
    table_rows = []
    for level, crime, band in order:
        cells = []
        for outcome in outcomes:
            hit = rows[
                (rows["level"] == level)
                & (rows["crime_type"] == crime)
                & (rows["age_band"] == band)
                & (rows["outcome"] == outcome)
            ]
            if hit.empty:
                cells.append(None)
                continue
            r = hit.iloc[0]
            p = None
            if nb is not None and level != "harm":
                p = nb.get((outcome, crime, band))
            informed = is_informed(r)  # no estimate is read off a row the data barely moved
            cells.append(
                {
                    "change": _pct_change(r["rr_median"]) if informed else "–",
                    "interval": (
                        f"{_pct_change(r['rr_lower'])} to {_pct_change(r['rr_upper'])}"
                        if informed
                        else "–"
                    ),
                    "p_reduction": percent(r["p_reduction"]) if informed else "weakly informed",
                    "p_value": _p_text(p),
                    "summary": level != "crime_type",
                }
            )
        table_rows.append(
            {"label": _label(level, crime, band), "cells": cells, "summary": level != "crime_type"}
        )
    return {
        "outcomes": [str(o).capitalize() for o in outcomes],
        "rows": table_rows,
        "has_p": nb is not None,
    }


def data_description(effects: pd.DataFrame, threshold: int = DISCLOSURE_THRESHOLD) -> list[dict]:
    """People and follow-up events by outcome, arm and age band (after disclosure control)."""
    keep = effects[effects["level"].isin(["age_band", "overall"])]
    keep = disclosed(keep, threshold)

    def fmt(v) -> str:
        return f"<{threshold}" if pd.isna(v) else f"{int(v)}"

    out = []
    for r in keep.itertuples():
        out.append(
            {
                "outcome": str(r.outcome),
                "age_band": "all ages" if r.age_band == "all" else str(r.age_band),
                "n_treatment": fmt(r.n_treatment),
                "n_control": fmt(r.n_control),
                "events_treatment": fmt(r.events_treatment),
                "events_control": fmt(r.events_control),
                "summary": r.level == "overall",
            }
        )
    return out


def density_figure(fit, effects: pd.DataFrame, prob: float = HDI_PROB):
    """Posterior densities of the overall rate ratio per outcome, reduction region shaded.

    The draws are the g-computed ratios sum(mu under treatment) / sum(mu under control)
    over the treated cohort, as in the ``overall`` rows of the effects table.
    """
    from scipy.stats import gaussian_kde

    outcomes = list(pd.unique(effects.loc[effects["level"] == "overall", "outcome"]))
    fig, axes = subplots(
        1, len(outcomes), figsize=(3.8 * len(outcomes), 2.8), squeeze=False, sharey=False
    )
    for ax, outcome in zip(axes[0], outcomes, strict=True):
        rr = fit.effect_draws(outcome, "overall").ravel()
        log_rr = np.log(rr)
        grid = np.linspace(log_rr.min() - 0.3, log_rr.max() + 0.3, 400)
        dens = gaussian_kde(log_rr)(grid)
        x = np.exp(grid)
        ax.plot(x, dens, color="#1b4f72", lw=1.5)
        below = x < 1
        ax.fill_between(x[below], dens[below], color="#2e86c1", alpha=0.35, lw=0)
        ax.axvline(1.0, color="grey", ls="--", lw=1)
        ax.set_xscale("log")
        ticks = [t for t in (0.25, 0.5, 1, 2, 4) if x.min() <= t <= x.max()]
        ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
        ax.minorticks_off()
        ax.set_yticks([])
        p = float(np.mean(rr < 1))
        row = effects[(effects["level"] == "overall") & (effects["outcome"] == outcome)]
        claim = f"P(reduction) {percent(p)}" if is_informed(row.iloc[0]) else "weakly informed"
        ax.set_title(f"{str(outcome).capitalize()}: {claim}", fontsize=10)
        ax.set_xlabel("Rate ratio, all crime types (< 1 = fewer)", fontsize=9)
        for side in ("top", "right", "left"):
            ax.spines[side].set_visible(False)
    fig.tight_layout()
    return fig


#: The Kruschke (2021) reporting checklist: a data file beside the HTML template.
CHECKLIST_FILE = "kruschke_checklist.toml"


def checklist(fit, has_frequentist: bool) -> list[dict]:
    """The Bayesian Analysis Reporting Guidelines (Kruschke 2021) and what this report
    covers: ``templates/kruschke_checklist.toml``, with the fit-dependent items resolved.
    """
    import tomllib
    from importlib.resources import files

    raw = files("fd_bayes.report").joinpath("templates", CHECKLIST_FILE).read_text("utf-8")
    groups = fit.idata.groups()
    conditions = {
        "prior_predictive": "prior_predictive" in groups,
        "posterior_predictive": "posterior_predictive" in groups,
        "frequentist": bool(has_frequentist),
        "commented_spec": "#" in (getattr(fit.spec, "source", "") or ""),
    }
    out = []
    for item in tomllib.loads(raw)["item"]:
        holds = conditions[item["when"]] if "when" in item else True
        out.append(
            {
                "step": item["step"],
                "item": item["item"],
                "status": item["status"] if holds else item.get("otherwise", "not in this report"),
                "where": item["where"] if holds else item.get("where_otherwise", "–"),
            }
        )
    return out


def quantity_diagnostics(fit, effects: pd.DataFrame) -> list[dict]:
    """Bulk/tail ESS and R-hat of every reported rate ratio (each row of the effects table).

    The ratios are g-computed per draw (:func:`fd_bayes.results.effects.g_computation`) from the
    fit's potential outcomes, whose draws are chain-major, and diagnosed per chain.
    ``effects`` only decides whether harm rows are included (as in the table shown).
    A pooled fit's ``trial`` rows are labelled with their trial; its ``new_trial`` rows
    are not diagnosed (their draws add a fresh site effect that the fit does not keep).
    """
    po = fit.potential_outcomes()
    harm = fit.harm_weights if (effects["level"] == "harm").any() else None
    groups = estimate_groups(po.rows, harm)
    weights = np.column_stack([g["weights"] for g in groups])
    rr, _ = g_computation(po.treatment, po.control, weights)
    out = []
    for g, draws in zip(groups, rr.T, strict=True):
        rhat, ess_bulk, ess_tail = array_diagnostics(by_chain(draws, po.chains, po.draws))
        out.append(
            {
                "outcome": str(g["outcome"]),
                "label": _label(g["level"], g["crime_type"], g["age_band"], g["trial"]),
                "rhat": f"{rhat:.3f}",
                "ess_bulk": f"{ess_bulk:.0f}",
                "ess_tail": f"{ess_tail:.0f}",
                "ok": bool(rhat <= RHAT_MAX and min(ess_bulk, ess_tail) >= ESS_MIN),
                "summary": g["level"] not in ("crime_type", "cell", "trial"),
            }
        )
    return out


def _diagnostics_rows(fit) -> list[list[str]]:
    d = fit.diagnostics()
    return [
        ["max R-hat", f"{d['max_rhat']:.3f}", f"≤ {RHAT_MAX}", d["max_rhat"] <= RHAT_MAX],
        ["min bulk ESS", f"{d['min_ess_bulk']:.0f}", f"≥ {ESS_MIN:.0f}",
         d["min_ess_bulk"] >= ESS_MIN],
        ["min tail ESS", f"{d['min_ess_tail']:.0f}", f"≥ {ESS_MIN:.0f}",
         d["min_ess_tail"] >= ESS_MIN],
        ["divergences", str(d["divergences"]), "0", d["divergences"] == 0],
    ]  # fmt: skip


def _provenance_rows(fit, claims=None) -> list[tuple[str, str]]:
    import platform

    info = fit.info
    rows = [
        ("trial", str(info.get("trial_name", "–"))),
        ("fd_bayes version (fit)", str(info.get("fd_bayes_version", "–"))),
        ("fd_bayes version (report)", __version__),
        ("Python", platform.python_version()),
        ("model", str(info.get("model", fit.spec.name))),
        ("model spec hash (SHA-256)", str(info.get("spec_hash", "–"))),
        ("data hash (SHA-256)", str(info.get("data_hash", "–"))),
        ("sampler", str(info.get("sampler", "–"))),
        (
            "chains × draws (tuning)",
            f"{info.get('chains', '–')} × {info.get('draws', '–')} ({info.get('tune', '–')})",
        ),
        ("target acceptance", str(info.get("target_accept", "–"))),
        ("seed", str(info.get("seed", "–"))),
    ]
    if claims is not None:
        rows.append(
            ("pre-registered claims", f"{claims.claims.source} (SHA-256 {claims.claims.sha256})")
        )
    if "rounds" in info:
        adapt = "adaptive" if int(info.get("adapt", 1)) else "single run (adapt off)"
        rows.append(("sampling rounds", f"{info['rounds']} ({adapt})"))
    if info.get("library_versions"):
        sampled = json.loads(info["library_versions"])
        rows.append(("libraries (fit)", ", ".join(f"{k} {v}" for k, v in sampled.items())))
    for mod in ("pymc", "arviz", "numpy", "pandas"):
        try:
            version = __import__(mod).__version__
        except ImportError:  # pragma: no cover - optional at report time
            continue
        rows.append((f"{mod} version (report)", version))
    return rows


def render_html(
    fit,
    effects: pd.DataFrame | None = None,
    frequentist: pd.DataFrame | None = None,
    prob: float = HDI_PROB,
    threshold: int = DISCLOSURE_THRESHOLD,
    densities: bool = True,
    rendered: Mapping[str, bytes] | None = None,
    claims=None,
    study=None,
) -> str:
    """The report as one self-contained HTML page.

    Parameters
    ----------
    fit : Fit
        A fitted model (fresh or loaded).
    effects : pandas.DataFrame, optional
        ``fit.effects(prob)``; computed when not given.
    frequentist : pandas.DataFrame, optional
        A table from :func:`fd_bayes.frequentist.compare`; adds NB GLM p-values.
    prob : float
        Credible-interval probability.
    threshold : int
        Disclosure threshold (people per arm below which counts are suppressed).
    densities : bool
        Draw the posterior density figure of the overall effects.
    rendered : mapping, optional
        Figures already rendered as PNG bytes, by name (``forest``, ``density``,
        ``posterior_predictive_check``, ``prior_predictive_check``, ``trace_rank``: see
        :func:`fd_bayes.report.full.render_figures`); they are embedded as they are
        instead of being drawn again.
    claims : fd_bayes.results.claims.Assessed, optional
        Pre-registered claims assessed against the fit: the page leads with them, the
        key findings are marked exploratory, and the provenance records the file's hash.
    study : (DataFrame, dict), optional
        A claims study of this design (:func:`fd_bayes.plan.claims.read_study`): adds the
        section on how often claims like these appear by chance, with its figure.

    Returns
    -------
    str
        The HTML text.
    """
    from jinja2 import Environment, PackageLoader, select_autoescape

    if effects is None:
        effects = fit.effects(prob=prob)
    env = Environment(
        loader=PackageLoader("fd_bayes.report", "templates"),
        autoescape=select_autoescape(["html", "j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    template = env.get_template("report.html.j2")
    suppressed = disclosed(effects, threshold)
    n_suppressed = int(suppressed["note"].fillna("").str.contains("suppressed").sum())
    figures = [
        {
            "title": (
                f"Rate ratios by crime type and age band ({100 * prob:.0f}% credible "
                "intervals"
                + ("; NB GLM 95% confidence intervals in grey)" if frequentist is not None else ")")
            ),
            "uri": _uri(
                rendered, "forest", lambda: forest_plot(effects, prob=prob, frequentist=frequentist)
            ),
            "alt": "Forest plot of rate ratios by crime type and outcome",
        }
    ]
    if densities:
        figures.append(
            {
                "title": "Posterior density of the overall rate ratio (reduction shaded)",
                "uri": _uri(rendered, "density", lambda: density_figure(fit, effects, prob)),
                "alt": "Posterior densities of the overall rate ratio, reduction region shaded",
            }
        )
    for group, title in (
        (
            "posterior",
            "Posterior predictive check: observed statistics (lines) against data "
            "replicated from the fitted model",
        ),
        (
            "prior",
            "Prior predictive check: observed statistics (lines) against data replicated "
            "from the priors alone",
        ),
    ):
        if f"{group}_predictive" in fit.idata.groups() and "observed_data" in fit.idata.groups():
            figures.append(
                {
                    "title": title,
                    "uri": _uri(
                        rendered, f"{group}_predictive_check", lambda g=group: fit.plot_ppc(group=g)
                    ),
                    "alt": f"{group.capitalize()} predictive check histograms",
                }
            )

    appendix = []
    draws = headline_draws(fit.idata.posterior)
    if draws:
        appendix.append(
            {
                "title": "Trace plots (left, one colour per chain) and rank plots (right) "
                "of the headline parameters: " + ", ".join(draws),
                "uri": _uri(rendered, "trace_rank", lambda: trace_rank_plot(draws)),
                "alt": "Trace and rank plots of the headline model parameters",
            }
        )
    info = fit.info
    return template.render(
        title=f"fd_bayes results: {info.get('trial_name', 'trial')}",
        synthetic="synthetic" in str(info.get("trial_name", "")),
        pct=f"{100 * prob:.0f}%",
        problems=fit.diagnostic_problems(),
        findings=key_findings(effects, prob),
        table=findings_table(effects, frequentist),
        joint=joint_items(fit),
        study=_study_context(study, rendered),
        pooled=trial_table(effects, prob),
        significance=[(mark, f"p < {bound:g}") for bound, mark in SIGNIFICANCE][::-1],
        verbal_scale=verbal_scale_rows(),
        figures=figures,
        data_rows=data_description(effects, threshold),
        threshold=threshold,
        n_suppressed=n_suppressed,
        spec=fit.spec,
        priors=fit.spec.prior_table(),
        notes=fit.notes,
        diagnostics=_diagnostics_rows(fit),
        sampling_note=fit.sampling_note(),
        quantity_diagnostics=quantity_diagnostics(fit, effects),
        appendix=appendix,
        rhat_max=RHAT_MAX,
        ess_min=f"{ESS_MIN:.0f}",
        provenance=_provenance_rows(fit, claims),
        claims=[] if claims is None else claims.table.to_dict("records"),
        checklist=checklist(fit, frequentist is not None),
    )


def write_html(fit, path: str | Path, **kwargs) -> Path:
    """Write :func:`render_html` to ``path`` (UTF-8) and return the path."""
    path = Path(path)
    path.write_text(render_html(fit, **kwargs), encoding="utf-8")
    return path


__all__ = ["SIGNIFICANCE", "quantity_diagnostics", "render_html", "write_html"]
