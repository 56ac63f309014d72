"""The words for an estimate of the effects table: who did what, and to what.

Shared by the sensitivity summary (:mod:`fd_bayes.results.sensitivity`) and the report's
sentences (:mod:`fd_bayes.report.sentences`), which sits above the results layer.
"""

from __future__ import annotations

from collections.abc import Mapping

#: Per outcome: (verb, noun, activity) of a sentence about it.
SUBJECTS: dict[str, tuple[str, str, str]] = {
    "offending": ("were suspects in", "offences", "offending"),
    "victimisation": ("were victims of", "victimisations", "victimisation"),
}


def estimate_words(row: Mapping) -> tuple[str, str, str]:
    """``(verb, noun, activity)`` of an effects-table row (``outcome``, ``crime_type``,
    ``level``).

    >>> estimate_words({"outcome": "offending", "crime_type": "knife", "level": "cell"})
    ('were suspects in', 'knife offences', 'knife offending')
    >>> estimate_words({"outcome": "offending", "crime_type": "all", "level": "harm"})[2]
    'the harm of offending'
    """
    verb, noun, activity = SUBJECTS.get(
        row["outcome"], ("had", f"{row['outcome']} events", row["outcome"])
    )
    crime = row["crime_type"]
    if row["level"] == "harm":
        return verb, f"harm-weighted {noun}", f"the harm of {activity}"
    if crime == "all":
        return verb, noun, activity
    return verb, f"{crime} {noun}", f"{crime} {activity}"


__all__ = ["SUBJECTS", "estimate_words"]
