"""Plain-language sentences for effects, for report writers.

Every sentence states an estimate with its credible interval and probabilities, and
never claims certainty: probabilities above 99% read "more than 99%".

Probabilities can also be put into words with a fixed verbal scale
(:data:`VERBAL_SCALE`), modelled on the calibrated language of the IPCC's uncertainty
guidance (Mastrandrea et al. 2010): "virtually certain" means a probability of more
than 99%, "very likely" 90% to 94%, "about as likely as not" 33% to 65%, and so on; the
band follows the percentage as printed, so a printed number always gets the same words. The
scale is symmetric, never says "certain" or "impossible", and is shown as a key
wherever it is used (:func:`verbal_scale_rows`).
"""

from __future__ import annotations

import pandas as pd

from fd_bayes.constants import HDI_PROB
from fd_bayes.results import estimate_words


def percent(p: float) -> str:
    """A probability as a percentage that never reads as certainty."""
    if p > 0.99:
        return "more than 99%"
    if p < 0.01:
        return "less than 1%"
    return f"{100 * p:.0f}%"


#: The verbal probability scale: ``(lower, upper, words)``, lower bound inclusive, upper
#: bound exclusive (the top band includes 1). Symmetric about one half.
VERBAL_SCALE: tuple[tuple[float, float, str], ...] = (
    (0.99, 1.00, "virtually certain"),
    (0.95, 0.99, "extremely likely"),
    (0.90, 0.95, "very likely"),
    (0.66, 0.90, "likely"),
    (0.33, 0.66, "about as likely as not"),
    (0.10, 0.33, "unlikely"),
    (0.05, 0.10, "very unlikely"),
    (0.01, 0.05, "extremely unlikely"),
    (0.00, 0.01, "exceptionally unlikely"),
)

#: An interval is called "very uncertain" when it runs from below this rate ratio ...
UNCERTAIN_LOWER: float = 0.5
#: ... to above this one (consistent with both halving and doubling).
UNCERTAIN_UPPER: float = 2.0


def verbal_probability(p: float) -> str:
    """The words of :data:`VERBAL_SCALE` for probability ``p``, as :func:`percent` shows it.

    The band is chosen from the *displayed* percentage, so one printed number always
    gets the same words: "more than 99%" is virtually certain, "99%" (0.985 to 0.99) is
    extremely likely, "90%" is very likely, "89%" likely.

    Examples
    --------
    >>> verbal_probability(0.995), verbal_probability(0.99), verbal_probability(0.9)
    ('virtually certain', 'extremely likely', 'very likely')
    >>> verbal_probability(0.5), verbal_probability(0.0)
    ('about as likely as not', 'exceptionally unlikely')
    """
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"a probability must lie in [0, 1], got {p}")
    top, *middle, bottom = VERBAL_SCALE
    if p > top[0]:
        return top[2]
    if p < bottom[1]:
        return bottom[2]
    shown = int(f"{100 * p:.0f}") / 100  # exactly what percent() prints
    for lower, _upper, words in middle:
        if shown >= lower:
            return words
    return bottom[2]  # pragma: no cover - p >= 0.01 always meets the last middle band


def verbal_scale_rows() -> list[tuple[str, str]]:
    """The scale as ``(words, range)`` rows for a key, e.g. ``("likely", "66% to 89%")``.

    Ranges are in displayed (rounded) percentages, matching :func:`verbal_probability`.
    """
    top, *middle, bottom = VERBAL_SCALE
    rows = [(top[2], f"more than {100 * top[0]:.0f}%")]
    for lower, upper, words in middle:
        last = 100 * upper if upper == top[0] else 100 * upper - 1
        rows.append((words, f"{100 * lower:.0f}% to {last:.0f}%"))
    rows.append((bottom[2], f"less than {100 * bottom[1]:.0f}%"))
    return rows


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


def _with_words(p: float, verbal: bool) -> str:
    return f"{percent(p)} ({verbal_probability(p)})" if verbal else percent(p)


def _estimate(verb: str, rr: float, noun: str, reference: str) -> str:
    """ "were suspects in an estimated 58% fewer knife offences than <reference>"."""
    change = _change(rr)
    if change.startswith("about the same"):
        return f"{verb} {change} {noun} as {reference}"
    return f"{verb} an estimated {change} {noun} than {reference}"


def _new_site_sentence(row: pd.Series, prob: float, verbal: bool) -> str:
    """A ``new_trial`` row: the predictive effect in a site not among the pooled trials."""
    _, noun, activity = estimate_words(row)
    estimate = _estimate("have", row["rr_median"], noun, "without it")
    return (
        "At a new site (one not among the pooled trials), young people offered the "
        f"intervention would be expected to {estimate} ({100 * prob:.0f}% credible interval: "
        f"{_interval(row['rr_lower'], row['rr_upper'])}). The probability that a new site "
        f"sees a reduction in {activity} is {_with_words(row['p_reduction'], verbal)}."
    )


def effect_sentence(row: pd.Series, prob: float = HDI_PROB, verbal: bool = False) -> str:
    """One effects-table row as two sentences a commissioner can read.

    A ``new_trial`` row of a pooled fit (the predictive effect in a new site) reads as
    what a new site should expect, with P(a new site sees a reduction).

    Parameters
    ----------
    row : pandas.Series
        A row of :meth:`fd_bayes.Fit.effects`.
    prob : float
        The probability of the row's credible interval (for the wording only).
    verbal : bool
        Follow each probability with its words from :data:`VERBAL_SCALE`.

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
    >>> site = row.copy()
    >>> site[["level", "crime_type", "rr_median", "rr_lower", "rr_upper", "p_reduction"]] = [
    ...     "new_trial", "all", 0.7, 0.3, 1.6, 0.83]
    >>> print(effect_sentence(site, verbal=True))  # doctest: +NORMALIZE_WHITESPACE
    At a new site (one not among the pooled trials), young people offered the intervention
    would be expected to have an estimated 30% fewer offences than without it (95% credible
    interval: from 70% fewer to 60% more). The probability that a new site sees a reduction
    in offending is 83% (likely).
    """
    if row["level"] == "new_trial":
        return _new_site_sentence(row, prob, verbal)
    if not is_informed(row):
        return uninformed_sentence(row)
    verb, noun, activity = estimate_words(row)
    who = "Young people" if row["age_band"] == "all" else f"Young people aged {row['age_band']}"
    estimate = _estimate(verb, row["rr_median"], noun, "the control group")
    return (
        f"{who} offered the intervention {estimate} ({100 * prob:.0f}% credible interval: "
        f"{_interval(row['rr_lower'], row['rr_upper'])}). The probability that the "
        f"intervention reduced {activity} is {_with_words(row['p_reduction'], verbal)}; the "
        f"probability that it reduced it by at least half is "
        f"{_with_words(row['p_reduction_50'], verbal)}."
    )


def is_informed(row) -> bool:
    """Whether the data informed an effects-table row enough for a claim (its
    ``informed`` column; rows of tables from before the column count as informed)."""
    value = row.get("informed", True)
    return True if value is None or pd.isna(value) else bool(value)


def uninformed_sentence(row: pd.Series) -> str:
    """What the report says of a row the data barely informed: no estimate, no
    probability of reduction, and why.

    Examples
    --------
    >>> import pandas as pd
    >>> row = pd.Series({"level": "crime_type", "outcome": "offending", "crime_type": "knife",
    ...     "age_band": "all", "events_treatment": 0, "events_control": 0, "informed": False})
    >>> print(uninformed_sentence(row))  # doctest: +NORMALIZE_WHITESPACE
    The data say too little about knife offending for a claim (0 events among the
    treated, 0 among the controls): its estimate reflects the model's prior more than
    the data, so no reduction or increase is claimed.
    """
    _, _, activity = estimate_words(row)
    who = "" if row.get("age_band", "all") == "all" else f" among those aged {row['age_band']}"
    t, c = row.get("events_treatment"), row.get("events_control")
    counts = (
        f" ({int(t)} events among the treated, {int(c)} among the controls)"
        if t is not None and c is not None and not (pd.isna(t) or pd.isna(c))
        else ""
    )
    return (
        f"The data say too little about {activity}{who} for a claim{counts}: its estimate "
        "reflects the model's prior more than the data, so no reduction or increase is "
        "claimed."
    )


def joint_paragraph(part: pd.DataFrame, threshold: float = 0.95) -> str:
    """The joint statements of one outcome (rows of
    :func:`fd_bayes.results.joint.joint_statements`) as a paragraph.

    Examples
    --------
    >>> import pandas as pd
    >>> part = pd.DataFrame({"outcome": "offending", "statement": [
    ...     "P(reduced in at least one crime type)", "P(reduced in at least half: 2 of 3)",
    ...     "P(reduced in every crime type)", "expected number of crime types reduced",
    ...     "P(every flagged crime type is a reduction)"],
    ...     "value": [0.999, 0.97, 0.81, 2.8, 0.86], "n_rows": [3, 3, 3, 3, 2],
    ...     "rows": ["knife, violence, drugs"] * 4 + ["knife, violence"]})
    >>> print(joint_paragraph(part))  # doctest: +NORMALIZE_WHITESPACE
    Read together (3 crime types: knife, violence, drugs): the probability that the
    intervention reduced offending in at least one of them is more than 99%, in at least
    half (2 of 3) 97%, and in every one 81%; the expected number with a reduction is 2.80 of
    3. 2 crime types have P(reduction) above 95% (knife, violence): the probability that
    every one of them is a reduction is 86%.
    """
    v = dict(zip(part["statement"], part["value"], strict=True))
    first = part.iloc[0]
    k = int(first["n_rows"])
    half = next(s for s in v if s.startswith("P(reduced in at least half"))
    activity = str(first["outcome"])
    text = (
        f"Read together ({k} crime types: {first['rows']}): the probability that the "
        f"intervention reduced {activity} in at least one of them is "
        f"{percent(v['P(reduced in at least one crime type)'])}, in at least half "
        f"({half.split(': ')[1].rstrip(')')}) {percent(v[half])}, and in every one "
        f"{percent(v['P(reduced in every crime type)'])}; the expected number with a "
        f"reduction is {v['expected number of crime types reduced']:.2f} of {k}."
    )
    flagged = part[part["statement"] == "P(every flagged crime type is a reduction)"]
    if len(flagged):
        f = flagged.iloc[0]
        text += (
            f" {int(f['n_rows'])} crime types have P(reduction) above {percent(threshold)} "
            f"({f['rows']}): the probability that every one of them is a reduction is "
            f"{percent(f['value'])}."
        )
    return text


def finding_sentence(row: pd.Series, prob: float = HDI_PROB) -> str:
    """A key-findings sentence: :func:`effect_sentence` with the verbal scale, and a
    warning when the interval is consistent with both halving and doubling.

    Examples
    --------
    >>> import pandas as pd
    >>> row = pd.Series({"level": "overall", "outcome": "victimisation", "crime_type": "all",
    ...     "age_band": "all", "rr_median": 1.0, "rr_lower": 0.3, "rr_upper": 3.2,
    ...     "p_reduction": 0.5, "p_reduction_50": 0.08})
    >>> print(finding_sentence(row))  # doctest: +NORMALIZE_WHITESPACE
    Young people offered the intervention were victims of about the same number of
    victimisations as the control group (95% credible interval: from 70% fewer
    to 220% more). The probability that the intervention reduced victimisation is 50%
    (about as likely as not); the probability that it reduced it by at least half is 8%
    (very unlikely). This estimate is very uncertain: the data are consistent with both
    halving and more than doubling.
    """
    text = effect_sentence(row, prob, verbal=True)
    if not is_informed(row):
        return text
    if row["rr_lower"] < UNCERTAIN_LOWER and row["rr_upper"] > UNCERTAIN_UPPER:
        text += (
            " This estimate is very uncertain: the data are consistent with both halving "
            "and more than doubling."
        )
    return text
