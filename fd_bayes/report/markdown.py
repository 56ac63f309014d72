"""``write_report``: the effects table, the Markdown summary and the forest plot of a fit."""

from __future__ import annotations

from pathlib import Path

from fd_bayes.constants import HDI_PROB
from fd_bayes.plots import forest_plot
from fd_bayes.report.exports import disclosed
from fd_bayes.report.summary import summary_markdown

OUTPUT_FILES = ("effects.csv", "summary.md", "forest.png")


def write_report(
    fit, out_dir: str | Path, prob: float = HDI_PROB, harm_weights=None, sensitivity=None
) -> dict:
    """Write ``effects.csv``, ``summary.md`` and ``forest.png`` for ``fit`` into ``out_dir``.

    ``sensitivity``, the result of :func:`fd_bayes.results.sensitivity.sensitivity` on the same
    trial, adds a section on prior sensitivity to ``summary.md``.

    Returns a dict of output name -> path.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    effects = fit.effects(prob=prob, harm_weights=harm_weights)
    paths = {name: out / name for name in OUTPUT_FILES}
    disclosed(effects).to_csv(paths["effects.csv"], index=False)
    paths["summary.md"].write_text(
        summary_markdown(fit, effects, prob, sensitivity=sensitivity), encoding="utf-8"
    )
    forest_plot(effects, paths["forest.png"], prob=prob)
    return paths


__all__ = ["OUTPUT_FILES", "write_report"]
