"""Plain-language sentences for effects, for report writers.

Every sentence states an estimate with its credible interval and probabilities, and
never claims certainty: probabilities above 99% read "more than 99%".
"""

from __future__ import annotations

import pandas as pd

from fd_bayes.constants import HDI_PROB

_SUBJECT = {
    "offending": ("were suspects in", "offences", "offending"),
    "victimisation": ("were victims of", "victimisations", "victimisation"),
}


def percent(p: float) -> str:
    """A probability as a percentage that never reads as certainty."""
    if p > 0.99:
        return "more than 99%"
    if p < 0.01:
        return "less than 1%"
    return f"{100 * p:.0f}%"


def _change(rr: float) -> str:
    pct = abs(1.0 - rr) * 100
    if round(pct) == 0:
        return "about the same number of"
    return f"{pct:.0f}% {'fewer' if rr < 1 else 'more'}"


def _interval(lower: float, upper: float) -> str:
    if upper < 1:
        return f"{(1 - upper) * 100:.0f}% to {(1 - lower) * 100:.0f}% fewer"
    if lower > 1:
        return f"{(lower - 1) * 100:.0f}% to {(upper - 1) * 100:.0f}% more"
    return f"from {(1 - lower) * 100:.0f}% fewer to {(upper - 1) * 100:.0f}% more"


def _what(row: pd.Series) -> tuple[str, str, str]:
    verb, noun, activity = _SUBJECT.get(
        row["outcome"], ("had", f"{row['outcome']} events", row["outcome"])
    )
    crime = row["crime_type"]
    if row["level"] == "harm":
        return verb, f"harm-weighted {noun}", f"the harm of {activity}"
    if crime == "all":
        return verb, noun, activity
    return verb, f"{crime} {noun}", f"{crime} {activity}"


def effect_sentence(row: pd.Series, prob: float = HDI_PROB) -> str:
    """One effects-table row as two sentences a commissioner can read.

    Examples
    --------
    >>> import pandas as pd
    >>> row = pd.Series({"level": "crime_type", "outcome": "offending", "crime_type": "knife",
    ...     "age_band": "all", "rr_median": 0.42, "rr_lower": 0.21, "rr_upper": 0.79,
    ...     "p_reduction": 0.995, "p_reduction_50": 0.62})
    >>> print(effect_sentence(row))  # doctest: +NORMALIZE_WHITESPACE
    Young people offered the intervention were suspects in an estimated 58% fewer knife
    offences than the control group (95% credible interval: 21% to 79% fewer). The
    probability that the intervention reduced knife offending is more than 99%; the
    probability that it reduced it by at least half is 62%.
    """
    verb, noun, activity = _what(row)
    who = "Young people" if row["age_band"] == "all" else f"Young people aged {row['age_band']}"
    return (
        f"{who} offered the intervention {verb} an estimated {_change(row['rr_median'])} "
        f"{noun} than the control group ({100 * prob:.0f}% credible interval: "
        f"{_interval(row['rr_lower'], row['rr_upper'])}). The probability that the "
        f"intervention reduced {activity} is {percent(row['p_reduction'])}; the probability "
        f"that it reduced it by at least half is {percent(row['p_reduction_50'])}."
    )
