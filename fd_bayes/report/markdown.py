"""``write_report``: the effects table, the Markdown summary and the forest plot of a fit."""

from __future__ import annotations

from pathlib import Path

from fd_bayes.constants import HDI_PROB
from fd_bayes.plots import forest_plot
from fd_bayes.report.exports import disclosed
from fd_bayes.report.summary import summary_markdown

OUTPUT_FILES = ("effects.csv", "summary.md", "forest.png")


def write_report(
    fit,
    out_dir: str | Path,
    prob: float = HDI_PROB,
    harm_weights=None,
    sensitivity=None,
    effects=None,
    forest_png: bytes | None = None,
    claims=None,
    study=None,
) -> dict:
    """Write ``effects.csv``, ``summary.md`` and ``forest.png`` for ``fit`` into ``out_dir``.

    ``sensitivity``, the result of :func:`fd_bayes.results.sensitivity.sensitivity` on the same
    trial, adds a section on prior sensitivity to ``summary.md``. ``effects`` (the fit's
    effects table, when the caller has it) and ``forest_png`` (the forest plot already
    rendered, see :func:`fd_bayes.report.full.render_figures`) save computing them again.
    ``claims`` (:class:`fd_bayes.results.claims.Assessed`) puts the pre-registered claims
    first and marks the key findings exploratory; ``study`` (a claims study's table and
    settings, :func:`fd_bayes.plan.claims.read_study`) adds how often claims like the
    report's appear by chance.

    Returns a dict of output name -> path.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if effects is None:
        effects = fit.effects(prob=prob, harm_weights=harm_weights)
    paths = {name: out / name for name in OUTPUT_FILES}
    disclosed(effects).to_csv(paths["effects.csv"], index=False)
    paths["summary.md"].write_text(
        summary_markdown(fit, effects, prob, sensitivity=sensitivity, claims=claims, study=study),
        encoding="utf-8",
    )
    if forest_png is None:
        forest_plot(effects, paths["forest.png"], prob=prob)
    else:
        paths["forest.png"].write_bytes(forest_png)
    return paths


__all__ = ["OUTPUT_FILES", "write_report"]
