"""The full report: every format a report writer needs, from one fit, without refitting.

:func:`report` writes ``report.html``, ``summary.md``/``effects.csv``/``forest.png``
(through :func:`fd_bayes.report.write_report`), ``forest.svg``, ``findings.xlsx`` and
``results.json``, plus ``frequentist.csv`` and ``side_by_side.csv`` when a frequentist
table is given. Every table passes through disclosure control; no file contains a person identifier.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from fd_bayes.constants import DISCLOSURE_THRESHOLD, HDI_PROB
from fd_bayes.errors import SettingsError
from fd_bayes.plan.claims import read_study
from fd_bayes.plots import (
    claims_study_plot,
    forest_plot,
    headline_draws,
    render_figure,
    trace_rank_plot,
)
from fd_bayes.report.exports import disclosed, write_results_json, write_xlsx
from fd_bayes.report.html import density_figure, write_html
from fd_bayes.report.markdown import write_report
from fd_bayes.report.side_by_side import side_by_side, with_shrinkage_notes
from fd_bayes.results.claims import assess

#: Formats :func:`report` knows, in the order they are written.
FORMATS = ("html", "md", "csv", "xlsx", "json")
#: Files each format writes (``csv`` adds frequentist/side-by-side tables when given).
FORMAT_FILES = {
    "html": ("report.html",),
    "md": ("summary.md", "forest.png", "forest.svg"),
    "csv": ("effects.csv",),
    "xlsx": ("findings.xlsx",),
    "json": ("results.json",),
}


def render_figures(
    fit,
    effects: pd.DataFrame,
    prob: float,
    frequentist: pd.DataFrame | None = None,
    study: tuple[pd.DataFrame, dict] | None = None,
) -> dict[str, dict[str, bytes]]:
    """Every figure of the report, drawn once: name -> {"png": bytes, "svg": bytes}.

    ``forest`` (with the frequentist intervals beside when there is a table),
    ``density``, ``posterior_predictive_check`` and ``prior_predictive_check`` (when the
    fit has the predictive groups) and ``trace_rank``. The files and the HTML page are
    written from these bytes: no figure is drawn twice.
    """
    figures = {
        "forest": lambda: forest_plot(effects, prob=prob, frequentist=frequentist),
        "density": lambda: density_figure(fit, effects, prob),
    }
    groups = fit.idata.groups()
    for group in ("posterior", "prior"):
        if f"{group}_predictive" in groups and "observed_data" in groups:
            figures[f"{group}_predictive_check"] = lambda g=group: fit.plot_ppc(group=g)
    draws = headline_draws(fit.idata.posterior)
    if draws:
        figures["trace_rank"] = lambda: trace_rank_plot(draws)
    if study is not None:  # a claims study (fd-bayes claims DIR) written into the folder
        figures["claims_study"] = lambda: claims_study_plot(study[0], study[1]["threshold"])
    return {name: render_figure(make()) for name, make in figures.items()}


def _write_figures(rendered: dict[str, dict[str, bytes]], out: Path) -> dict[str, Path]:
    """The rendered figures as PNG and SVG files."""
    paths = {}
    for name, formats in rendered.items():
        for fmt, data in formats.items():
            path = out / f"{name}.{fmt}"
            path.write_bytes(data)
            paths[path.name] = path
    return paths


def report(
    fit,
    out_dir: str | Path,
    formats: Iterable[str] = FORMATS,
    frequentist: pd.DataFrame | None = None,
    prob: float = HDI_PROB,
    threshold: int = DISCLOSURE_THRESHOLD,
    claims=None,
) -> dict[str, Path]:
    """Write the report of ``fit`` into ``out_dir`` in the chosen formats.

    Parameters
    ----------
    fit : Fit
        A fitted model, fresh or from :func:`fd_bayes.load` (nothing is refitted).
    out_dir : str or Path
        Folder for the files (created if missing; existing report files are replaced).
    formats : iterable of str
        Any of ``"html"``, ``"md"``, ``"csv"``, ``"xlsx"``, ``"json"``. ``md`` and
        ``csv`` both come from :func:`fd_bayes.report.write_report`, which also draws
        ``forest.png``; ``md`` adds the same forest plot as ``forest.svg``.
    frequentist : pandas.DataFrame, optional
        The table of :func:`fd_bayes.frequentist.compare` for the same trial. Adds NB GLM
        p-values to the HTML findings table, ``frequentist.csv`` and ``side_by_side.csv``
        (csv) and sheets of the same names (xlsx).
    prob : float
        Credible-interval probability (default 0.95).
    threshold : int
        Disclosure threshold: counts from fewer people per arm are suppressed.
    claims : str, Path or fd_bayes.results.claims.Claims, optional
        Claims stated before the data (a TOML file, see :mod:`fd_bayes.results.claims`):
        the HTML and Markdown reports lead with them, each met or not met, mark the rest
        as exploratory and record the file's SHA-256; ``claims.csv`` and a ``claims``
        sheet of the workbook list them.

    Returns
    -------
    dict of str -> Path
        Output file name -> path.

    Raises
    ------
    SettingsError
        For an unknown format.
    """
    formats = tuple(formats)
    unknown = sorted(set(formats) - set(FORMATS))
    if unknown:
        raise SettingsError(f"unknown report format(s) {unknown}; choose from {list(FORMATS)}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    effects = fit.effects(prob=prob)
    if frequentist is not None:  # crime types that partial pooling moved say so
        effects = with_shrinkage_notes(effects, frequentist)
    assessed = None if claims is None else assess(fit, claims, effects)
    paths: dict[str, Path] = {}
    tables: dict[str, pd.DataFrame] = {"effects": effects}
    if assessed is not None:
        tables["claims"] = assessed.table
    if frequentist is not None:
        tables["frequentist"] = frequentist
        tables["side_by_side"] = side_by_side(fit, frequentist, effects)

    study = read_study(out)
    rendered = {}
    if "md" in formats or "html" in formats:
        rendered = render_figures(fit, effects, prob, frequentist, study)
    if "md" in formats or "csv" in formats:
        forest = rendered["forest"]["png"] if "md" in formats else None
        written = write_report(
            fit, out, prob=prob, effects=effects, forest_png=forest, claims=assessed, study=study
        )
        if "md" not in formats:
            for name in FORMAT_FILES["md"]:
                if name in written:
                    written.pop(name).unlink()
        if "csv" not in formats:
            written.pop("effects.csv").unlink()
        paths.update({k: Path(v) for k, v in written.items()})
    if "md" in formats:
        paths.update(_write_figures(rendered, out))
    if "csv" in formats:
        # the same table as findings.xlsx, with complementary suppression added
        for name, table in tables.items():
            paths[f"{name}.csv"] = out / f"{name}.csv"
            disclosed(table, threshold).to_csv(paths[f"{name}.csv"], index=False)
    if "html" in formats:
        paths["report.html"] = write_html(
            fit,
            out / "report.html",
            effects=effects,
            frequentist=frequentist,
            prob=prob,
            threshold=threshold,
            rendered={name: f["png"] for name, f in rendered.items()},
            claims=assessed,
            study=study,
        )
    if "xlsx" in formats:
        info = fit.info
        about = [
            ("trial", info.get("trial_name", "")),
            ("model", info.get("model", fit.spec.name)),
            ("spec hash", info.get("spec_hash", "")),
            ("data hash", info.get("data_hash", "")),
            ("seed", info.get("seed", "")),
            ("credible interval", f"{100 * prob:.0f}% highest-density"),
            ("disclosure threshold", f"counts from fewer than {threshold} people are blank"),
        ]
        if assessed is not None:
            about.append(("pre-registered claims", f"{assessed.claims.source}"))
            about.append(("claims file SHA-256", assessed.claims.sha256))
        paths["findings.xlsx"] = write_xlsx(tables, out / "findings.xlsx", threshold, about)
    if "json" in formats:
        paths["results.json"] = write_results_json(
            fit, effects, out / "results.json", prob, threshold
        )
    return paths


__all__ = ["FORMATS", "report"]
