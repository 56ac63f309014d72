"""Which terms a spec gets on a given design: :func:`resolve_structure` drops or
simplifies the terms the data cannot identify, and says why in plain words."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from fd_bayes.errors import SettingsError
from fd_bayes.modelling.design import Design
from fd_bayes.modelling.spec import ModelSpec, Prior

#: A variance component needs at least this many levels; with fewer, a pooled term is
#: estimated as a regularised zero-sum fixed term instead (a variance from two levels is
#: what gave brms's ``(0 + treat | age_band)`` its divergences).
MIN_LEVELS_FOR_VARIANCE = 3


@dataclass(frozen=True)
class Structure:
    """Which terms a spec gets on a given design, after degrading gracefully.

    ``derived_priors`` holds the zero-sum priors of pooled terms turned fixed.
    ``person_effect`` is False, True (one effect per person) or ``"correlated"`` (one
    per person and outcome, correlated across outcomes).
    """

    person_effect: bool | str
    baseline: bool
    treatment: dict[str, str]
    notes: tuple[str, ...]
    derived_priors: dict[str, Prior] = field(default_factory=dict)


def _scale(prior: Prior) -> float:
    """A scale for a zero-sum term from the prior of a standard deviation."""
    params = prior.params
    if "sigma" in params:
        return params["sigma"]
    if "lam" in params:
        return 1.0 / params["lam"]
    return params["alpha"] / params["beta"]  # Gamma: its mean


def resolve_structure(spec: ModelSpec, design: Design) -> Structure:
    """Drop or simplify terms the data cannot identify, and say why in plain words."""
    notes = []
    person = spec.terms["person_effect"]
    # a negmult model's frailty is its only overdispersion: with one row per person it
    # is the NB shape of that row, so it is never left out
    if person and spec.family != "negmult":
        rows_per_person = np.bincount(design.person_idx, minlength=design.n_people)
        informative = np.unique(design.co_idx[design.post_count > 0])
        if rows_per_person.max() <= 1:
            person = False
            notes.append(
                "Person effect left out: every person has a single row (one crime type and "
                "one outcome), so a person effect cannot be told apart from the "
                "negative-binomial dispersion."
            )
        elif len(informative) < 2:
            person = False
            notes.append(
                "Person effect left out: follow-up events occur in only one crime type x "
                "outcome, so a person effect cannot be told apart from the negative-binomial "
                "dispersion."
            )
    if person == "correlated" and len(design.outcomes) < 2:
        person = True
        notes.append(
            "Person effects shared instead of correlated across outcomes: the data have a "
            "single outcome, so there is no correlation to estimate (person_corr unused)."
        )
    n_base = len(design.base_cells()[1])
    levels = {
        "crime": len(design.crime_outcomes),
        "outcome": len(design.outcomes),
        "age": len(design.age_bands),
        "cell": n_base,
        "trial": design.n_trials,
    }
    treatment = {"trial": "none", **spec.treatment}
    if design.published is not None and treatment["trial"] != "pooled":
        raise SettingsError(
            f"published trials need a model whose treatment effect varies between trials "
            f"(a pooled trial term: negbin_pooled or negmult_pooled); {spec.name} has none"
        )
    derived: dict[str, Prior] = {}
    what = {
        "crime": "crime-type x outcome",
        "outcome": "outcome",
        "age": "age-band",
        "cell": "cell",
        "trial": "trial",
    }
    if design.multi_trial and treatment["trial"] == "none":
        notes.append(
            f"{len(design.trials)} trials pooled with a common treatment effect: control rates "
            "(intercepts) are estimated per trial, but this model has no between-trial "
            "variation of the effect; use negbin_pooled to let the effect vary by trial."
        )
    if design.n_trials == 2 and treatment["trial"] == "pooled":
        notes.append(
            "Only 2 trials: the between-trial SD of the effect is informed "
            "mostly by its prior (trial_sd), and the new-trial prediction with it."
        )
    if design.published is not None:
        pub = design.published
        notes.append(
            f"{len(pub.labels)} published trial(s) pooled by their log rate ratios of "
            f"{pub.estimand} (one stage): each is taken to estimate the model's typical "
            f"log rate ratio of {pub.estimand} plus its own trial deviation."
        )
    for term, n in levels.items():
        if treatment[term] != "none" and n < 2:
            treatment[term] = "none"
            notes.append(f"Treatment {what[term]} term left out: there is only one level.")
    # The cell term adds nothing when cells coincide with another grouping.
    if treatment["cell"] != "none" and (
        n_base in (len(design.crime_outcomes), len(design.age_bands))
    ):
        treatment["cell"] = "none"
        notes.append(
            "Treatment cell term left out: cells coincide with the crime-type or age-band grouping."
        )
    for term, n in levels.items():
        # the trial term keeps its variance with two trials: a between-trial SD with an
        # informative heterogeneity prior is the standard random-effects meta-analysis,
        # and the new-trial prediction needs it
        if term != "trial" and treatment[term] == "pooled" and n < MIN_LEVELS_FOR_VARIANCE:
            treatment[term] = "fixed"
            sigma = _scale(spec.priors[f"{term}_sd"])
            derived[f"{term}_effect"] = Prior("ZeroSumNormal", {"sigma": sigma})
            notes.append(
                f"Treatment {what[term]} term estimated as a regularised fixed term "
                f"(zero-sum, sigma {sigma:g}) instead of a variance component: {n} levels are "
                "too few to estimate a variance."
            )
    return Structure(person, spec.terms["baseline"], treatment, tuple(notes), derived)


__all__ = ["MIN_LEVELS_FOR_VARIANCE", "Structure", "resolve_structure"]
