"""The report layer: everything a report writer opens, from one fit, without refitting.

:func:`write_report` (``effects.csv``, ``summary.md``, ``forest.png``), :func:`report`
(every format: HTML, Markdown, CSV, Excel, JSON, and every figure as PNG and SVG),
:func:`side_by_side` (posterior beside the frequentist table) and :func:`pool_aggregate`
(what ``fd-bayes pool`` writes). Tables pass through disclosure control first; no export
contains a person identifier.
"""

from __future__ import annotations

from fd_bayes.report.exports import disclosed
from fd_bayes.report.full import FORMATS, report
from fd_bayes.report.markdown import OUTPUT_FILES, write_report
from fd_bayes.report.pooled import pool_aggregate
from fd_bayes.report.side_by_side import side_by_side

__all__ = [
    "FORMATS",
    "OUTPUT_FILES",
    "disclosed",
    "pool_aggregate",
    "report",
    "side_by_side",
    "write_report",
]
