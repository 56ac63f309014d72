"""The canonical long format's columns, keys and defaults (see ``docs/data.md``).

Plain constants, imported by :mod:`fd_bayes.data.trial` (which validates a table against
them) and :mod:`fd_bayes.data.outcomes` (which builds such a table from police records).
"""

from __future__ import annotations

from fd_bayes.constants import DEFAULT_EXPOSURE_DAYS, DEFAULT_OUTCOME

#: Columns every table of counts must have.
REQUIRED = ("person_id", "arm", "crime_type", "pre_count", "post_count")
#: Optional columns and their defaults (``None``: the empty label).
OPTIONAL_DEFAULTS: dict[str, object] = {
    "age_band": "all",
    "outcome": DEFAULT_OUTCOME,
    "exposure_days": DEFAULT_EXPOSURE_DAYS,
    "trial": None,
}
#: The canonical columns, in order.
CANONICAL = (
    "person_id",
    "arm",
    "age_band",
    "crime_type",
    "outcome",
    "pre_count",
    "post_count",
    "exposure_days",
    "trial",
)
#: Short names accepted by :meth:`Trial.from_counts` for the canonical columns.
ALIASES = {
    "person": "person_id",
    "id": "person_id",
    "age": "age_band",
    "crime": "crime_type",
    "pre": "pre_count",
    "post": "post_count",
    "exposure": "exposure_days",
    "site": "trial",
}
#: The keys that identify one row.
KEY = ("trial", "person_id", "crime_type", "outcome")
#: The name of a Trial that was given none.
DEFAULT_NAME = "trial"
#: The dimensions of a treatment-effect cell.
CELL = ("outcome", "crime_type", "age_band")

__all__ = ["ALIASES", "CANONICAL", "CELL", "DEFAULT_NAME", "KEY", "OPTIONAL_DEFAULTS", "REQUIRED"]
