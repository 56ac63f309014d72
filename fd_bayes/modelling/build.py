"""From (spec + Trial) to a PyMC model, and back from posterior draws to expected counts.

This is the only module that knows the model's algebra. :class:`Design` turns the
canonical data into index arrays (the only person key it keeps is an integer index);
:func:`build_model` states the model of ``models/negbin_hier.toml`` in PyMC;
:func:`expected_counts` recomputes per-person expected yearly counts under treatment
and under control from posterior draws, which is all the effects layer needs.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pymc as pm
import pytensor.tensor as pt
import xarray as xr
from scipy.special import gammaln

from fd_bayes.constants import DAYS_PER_YEAR
from fd_bayes.data.published import Published
from fd_bayes.data.trial import DEFAULT_NAME, Trial
from fd_bayes.errors import SettingsError
from fd_bayes.modelling import families
from fd_bayes.modelling.spec import NB_FAMILIES, ModelSpec, Prior

SEP = " / "
#: The label of a single trial with individual data pooled with published trials, when
#: it has neither a trial label nor a name.
INDIVIDUAL_DATA = "individual data"


@dataclass
class Design:
    """Index arrays and labels for one trial (no person identifiers).

    Row-level arrays have length ``n_obs``; ``cells`` has one row per outcome x crime
    type x age band with the indices of its crime-type x outcome and age band.
    """

    cell_idx: np.ndarray
    co_idx: np.ndarray
    person_idx: np.ndarray
    x_pre: np.ndarray
    treated: np.ndarray
    log_exposure: np.ndarray
    post_count: np.ndarray
    cells: pd.DataFrame
    crime_outcomes: pd.DataFrame
    age_bands: list[str]
    outcomes: list[str]
    n_people: int
    notes: list[str] = field(default_factory=list)
    #: Trial labels; ``[""]`` for a single trial. With several trials every cell belongs
    #: to one trial (``cells["trial_idx"]``): intercepts are per trial x cell.
    trials: list[str] = field(default_factory=lambda: [""])
    #: Published trials that enter the model by their log rate ratios (one-stage IPD +
    #: aggregate data), or None.
    published: Published | None = None

    @property
    def multi_trial(self) -> bool:
        return len(self.trials) > 1

    @property
    def cell_trial_idx(self) -> np.ndarray:
        """The trial of each cell (all 0 for a single trial)."""
        if "trial_idx" in self.cells:
            return self.cells["trial_idx"].to_numpy().astype("int64")
        return np.zeros(len(self.cells), dtype="int64")

    def base_cells(self) -> tuple[np.ndarray, list[str]]:
        """Each cell's treatment cell (outcome x crime type x age band, over trials).

        Returns ``(index per cell, labels)``; with one trial the identity on ``cells``.
        """
        labels = (
            self.cells["outcome"].astype(str)
            + SEP
            + self.cells["crime_type"].astype(str)
            + SEP
            + self.cells["age_band"].astype(str)
        )
        codes, uniques = pd.factorize(labels)
        return codes.astype("int64"), [str(u) for u in uniques]

    @property
    def coords(self) -> dict[str, list]:
        out = {
            "obs": list(range(len(self.cell_idx))),
            "person": list(range(self.n_people)),
            "cell": list(self.cells["label"]),
            "crime_outcome": list(self.crime_outcomes["label"]),
            "age_band": list(self.age_bands),
            "outcome": list(self.outcomes),
        }
        if self.multi_trial or self.published is not None:
            out["trial"] = list(self.trials)
        if self.multi_trial:
            out["treatment_cell"] = self.base_cells()[1]
        if self.published is not None:
            out["published"] = list(self.published.labels)
        return out

    @property
    def n_trials(self) -> int:
        """Trials in the model: with individual data and published."""
        return len(self.trials) + (0 if self.published is None else len(self.published.labels))

    @classmethod
    def from_trial(cls, trial: Trial, published: Published | None = None) -> Design:
        d = trial.data
        outcome = d["outcome"].astype(str)
        crime = d["crime_type"].astype(str)
        age = d["age_band"].astype(str)
        trial_label = d["trial"].astype(str)
        trials = [str(x) for x in trial.trials]
        multi = len(trials) > 1
        co_key = outcome + SEP + crime
        cell_key = co_key + SEP + age
        if multi:
            # a cell is outcome x crime type x age band within one trial: intercepts (and
            # so control rates) are never shared between trials
            cell_key = cell_key + SEP + trial_label
        co_labels = list(pd.unique(co_key))
        cell_labels = list(pd.unique(cell_key))
        co_idx = pd.Categorical(co_key, categories=co_labels).codes.astype("int64")
        cell_idx = pd.Categorical(cell_key, categories=cell_labels).codes.astype("int64")
        # log1p(pre) centred within crime type x outcome: alpha is then the log rate of a
        # person with a typical baseline, and alpha and beta are nearly uncorrelated.
        # With several trials the centring is within trial too (record keeping differs).
        lp = np.log1p(d["pre_count"].to_numpy(float))
        centre_key = co_idx if not multi else co_key + SEP + trial_label
        x_pre = lp - pd.Series(lp).groupby(np.asarray(centre_key)).transform("mean").to_numpy()
        first = pd.DataFrame(
            {"cell": cell_idx, "co": co_idx, "o": outcome, "c": crime, "a": age, "t": trial_label}
        )
        first = first.drop_duplicates("cell").sort_values("cell")
        age_bands = list(trial.age_bands)
        outcomes = list(trial.outcomes)
        cells = pd.DataFrame(
            {
                "label": cell_labels,
                "outcome": first["o"].to_numpy(),
                "crime_type": first["c"].to_numpy(),
                "age_band": first["a"].to_numpy(),
                "co_idx": first["co"].to_numpy(),
                "age_idx": [age_bands.index(a) for a in first["a"]],
                "outcome_idx": [outcomes.index(o) for o in first["o"]],
            }
        )
        if multi:
            cells["trial"] = first["t"].to_numpy()
            cells["trial_idx"] = [trials.index(t) for t in first["t"]]
        co_first = cells.drop_duplicates("co_idx").sort_values("co_idx")
        crime_outcomes = pd.DataFrame(
            {
                "label": co_labels,
                "outcome": co_first["outcome"].to_numpy(),
                "crime_type": co_first["crime_type"].to_numpy(),
            }
        )
        if not multi:
            # one trial: unnamed, unless published trials need it told apart from them
            # (then its trial label, or the Trial's name)
            named = trial.name if trial.name != DEFAULT_NAME else ""
            label = trials[0] or named or INDIVIDUAL_DATA
            trials = [label] if published is not None else [""]
        if published is not None:
            published.check_against(trials, crime_outcomes)
        return cls(
            cell_idx=cell_idx,
            co_idx=co_idx,
            person_idx=trial.person_index(),
            x_pre=x_pre,
            treated=(d["arm"] == "treatment").to_numpy().astype("int64"),
            log_exposure=np.log(d["exposure_days"].to_numpy(float) / DAYS_PER_YEAR),
            post_count=d["post_count"].to_numpy().astype("int64"),
            cells=cells,
            crime_outcomes=crime_outcomes,
            age_bands=age_bands,
            outcomes=outcomes,
            n_people=trial.n_people,
            trials=trials,
            published=published,
        )

    # -- round trip through InferenceData.constant_data --------------------------------
    def to_dataset(self) -> xr.Dataset:
        """The design as an xarray Dataset (stored in ``idata.constant_data``)."""
        obs = {"obs": np.arange(len(self.cell_idx))}
        cell = {"cell": list(self.cells["label"])}
        co = {"crime_outcome": list(self.crime_outcomes["label"])}
        ds = xr.Dataset(
            {
                "cell_idx": ("obs", self.cell_idx),
                "co_idx": ("obs", self.co_idx),
                "person_idx": ("obs", self.person_idx),
                "x_pre": ("obs", self.x_pre),
                "treated": ("obs", self.treated),
                "log_exposure": ("obs", self.log_exposure),
                "post_count": ("obs", self.post_count),
                "cell_outcome": ("cell", self.cells["outcome"].astype(str).to_numpy()),
                "cell_crime_type": ("cell", self.cells["crime_type"].astype(str).to_numpy()),
                "cell_age_band": ("cell", self.cells["age_band"].astype(str).to_numpy()),
                "cell_co_idx": ("cell", self.cells["co_idx"].to_numpy().astype("int64")),
                "co_outcome": ("crime_outcome", self.crime_outcomes["outcome"].to_numpy()),
                "co_crime_type": ("crime_outcome", self.crime_outcomes["crime_type"].to_numpy()),
            },
            coords={**obs, **cell, **co, "age_band": self.age_bands, "outcome": self.outcomes},
            attrs={"n_people": int(self.n_people)},
        )
        if self.multi_trial or self.published is not None:
            ds = ds.assign_coords(trial=list(self.trials))
        if self.multi_trial:
            ds["cell_trial_idx"] = ("cell", self.cell_trial_idx)
        if self.published is not None:
            pub = self.published
            ds = ds.assign_coords(published=list(pub.labels))
            ds["published_yi"] = ("published", pub.yi)
            ds["published_sei"] = ("published", pub.sei)
            ds.attrs.update(published_outcome=pub.outcome, published_crime_type=pub.crime_type)
        return ds

    @classmethod
    def from_dataset(cls, ds: xr.Dataset) -> Design:
        age_bands = [str(a) for a in ds["age_band"].values]
        outcomes = [str(o) for o in ds["outcome"].values]
        cell_age = [str(a) for a in ds["cell_age_band"].values]
        cell_out = [str(o) for o in ds["cell_outcome"].values]
        cells = pd.DataFrame(
            {
                "label": [str(c) for c in ds["cell"].values],
                "outcome": cell_out,
                "crime_type": [str(c) for c in ds["cell_crime_type"].values],
                "age_band": cell_age,
                "co_idx": ds["cell_co_idx"].values.astype("int64"),
                "age_idx": [age_bands.index(a) for a in cell_age],
                "outcome_idx": [outcomes.index(o) for o in cell_out],
            }
        )
        crime_outcomes = pd.DataFrame(
            {
                "label": [str(c) for c in ds["crime_outcome"].values],
                "outcome": [str(o) for o in ds["co_outcome"].values],
                "crime_type": [str(c) for c in ds["co_crime_type"].values],
            }
        )
        trials = [str(t) for t in ds["trial"].values] if "trial" in ds.coords else [""]
        if "cell_trial_idx" in ds:
            cells["trial_idx"] = ds["cell_trial_idx"].values.astype("int64")
            cells["trial"] = [trials[i] for i in cells["trial_idx"]]
        published = None
        if "published_yi" in ds:
            published = Published(
                tuple(str(x) for x in ds["published"].values),
                ds["published_yi"].values,
                ds["published_sei"].values,
                str(ds.attrs["published_outcome"]),
                str(ds.attrs["published_crime_type"]),
            )
        return cls(
            cell_idx=ds["cell_idx"].values.astype("int64"),
            co_idx=ds["co_idx"].values.astype("int64"),
            person_idx=ds["person_idx"].values.astype("int64"),
            x_pre=ds["x_pre"].values.astype(float),
            treated=ds["treated"].values.astype("int64"),
            log_exposure=ds["log_exposure"].values.astype(float),
            post_count=ds["post_count"].values.astype("int64"),
            cells=cells,
            crime_outcomes=crime_outcomes,
            age_bands=age_bands,
            outcomes=outcomes,
            n_people=int(ds.attrs["n_people"]),
            trials=trials,
            published=published,
        )


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


def excess_counts(y: np.ndarray, group: np.ndarray, n_groups: int) -> np.ndarray:
    """Sufficient statistic of the NB2 normalising term: ``N[g, k-1] = #{rows of g: y > k}``.

    ``sum_rows sum_{k<y} log1p(k / phi_g) = sum_g sum_k N[g, k-1] log1p(k / phi_g)``, so the
    likelihood needs these counts instead of one term per event. The width is rounded up
    to a power of two (at least 8) so that data sets of the same design usually share a
    shape, and a compiled model can be reused with new data (:mod:`fd_bayes.inference.sampling`).
    """
    y = np.asarray(y).astype("int64")
    group = np.asarray(group).astype("int64")
    top = max(int(y.max(initial=0)) - 1, 1)
    width = max(8, 1 << (top - 1).bit_length())
    out = np.zeros((n_groups, width), dtype="int64")
    for k in range(1, top + 1):
        out[:, k - 1] = np.bincount(group[y > k], minlength=n_groups)
    return out


def negbin_loglik(y, eta, log_phi, group, excess, log_y_factorial=None):
    """Sum of NB2 log-probabilities of counts ``y`` with log mean ``eta``.

    ``log_phi`` is the log shape per group and ``group`` each row's group; ``excess`` is
    :func:`excess_counts` of ``(y, group)``. All data may be symbolic (``pm.Data``), so
    one compiled model serves any data set of the same shape.

    Written out instead of ``pm.NegativeBinomial`` for speed and for stability as the
    shape phi grows (the Poisson limit), where differences of ``gammaln`` lose all
    precision. With ``s = log(1 + mu / phi) = softplus(eta - log phi)``:

        log p(y) = sum_{k<y} log1p(k / phi) - log(y!) - phi * s + y * (eta - s)

    Equal to scipy's ``nbinom.logpmf`` (tested), also for phi = 1e12.
    ``log_y_factorial`` is ``sum(log(y!))`` when the caller has it (a constant: the model
    passes it as data so that no gradient evaluation recomputes it).
    """
    y = pt.as_tensor(y)
    lp = log_phi[group]
    s = pt.softplus(eta - lp)
    ll = (y * (eta - s) - pt.exp(lp) * s).sum()
    k = pt.arange(1, excess.shape[1] + 1, dtype="float64")
    ll = ll + (excess * pt.log1p(k[None, :] / pt.exp(log_phi)[:, None])).sum()
    if log_y_factorial is None:
        log_y_factorial = pt.gammaln(y + 1.0).sum()
    return ll - log_y_factorial


def poisson_loglik(y, eta, log_y_factorial=None):
    """Sum of Poisson log-probabilities of counts ``y`` with log mean ``eta``."""
    y = pt.as_tensor(y)
    if log_y_factorial is None:
        log_y_factorial = pt.gammaln(y + 1.0).sum()
    return (y * eta - pt.exp(eta)).sum() - log_y_factorial


def negmult_loglik(y, eta, person_idx, person_total, excess_person, cv, log_y_factorial):
    """Sum over people of negative-multinomial log-probabilities (gamma frailty integrated out).

    Given a frailty ``g ~ Gamma(k, k)`` per person (``k = 1 / cv^2``) the counts ``y``
    (rows, log means ``eta``) are Poisson(g mu); integrating ``g`` out, a person with
    total ``S`` and summed mean ``M`` contributes::

        sum_rows [y eta - log y!] + log Gamma(k + S) - log Gamma(k) + k log k - (k + S) log(k + M)

    With ``log Gamma(k + S) - log Gamma(k) = S log k + sum_{j<S} log1p(j / k)`` the
    ``log k`` terms cancel::

        sum_rows [y eta] - sum log y! + sum_{j>=1} N[j-1] log1p(j cv^2)
            - sum_people (k + S) log1p(M cv^2)

    where ``N = excess_counts(person_total, 0, 1)[0]`` counts the people with ``S > j``
    (the sufficient statistic, as in :func:`negbin_loglik`). Stable as ``cv -> 0`` (the
    Poisson limit: ``(k + S) log1p(M / k) -> M``). ``person_total`` (people) and
    ``excess_person`` (1, width) are data; ``cv`` the frailty's coefficient of variation.
    """
    y = pt.as_tensor(y)
    mu = pt.exp(eta)
    summed = pt.inc_subtensor(pt.zeros_like(person_total)[person_idx], mu)
    c2 = cv**2
    log1p_m = pt.log1p(summed * c2)
    ll = (y * eta).sum() - log_y_factorial - (log1p_m / c2 + person_total * log1p_m).sum()
    j = pt.arange(1, excess_person.shape[1] + 1, dtype="float64")
    return ll + (excess_person[0] * pt.log1p(j * c2)).sum()


def _rv(name: str, prior: Prior, **kwargs):
    dist = getattr(pm, prior.dist)
    return dist(name, **prior.params, **kwargs)


#: Positive priors with a density > 0 at zero, and the symmetric prior they fold from.
_FOLDED = {
    "HalfNormal": lambda pr: ("Normal", {"mu": 0.0, "sigma": pr["sigma"]}),
    "HalfStudentT": lambda pr: ("StudentT", {"nu": pr["nu"], "mu": 0.0, "sigma": pr["sigma"]}),
    "Exponential": lambda pr: ("Laplace", {"mu": 0.0, "b": 1.0 / pr["lam"]}),
}
#: Suffix of the unconstrained sampling variables of folded parameters.
FOLDED_SUFFIX = "_signed"


def _folded_rv(name: str, prior: Prior, dims: str):
    """A positive parameter x = |s| with s from the symmetric parent of its prior.

    |s| has exactly the half-distribution as its prior. This removes the boundary at
    zero that the log transform turns into a long tail in which NUTS mixes slowly: the
    NB dispersion parameter 1/sqrt(phi) of a sparse crime type often has posterior mass
    near zero (the Poisson limit). The likelihood depends on 1/phi = x^2, so it is smooth
    in s. Diagnostics are computed on x, not on the sign-symmetric s.
    """
    if prior.dist not in _FOLDED:
        return _rv(name, prior, dims=dims)
    dist, params = _FOLDED[prior.dist](prior.params)
    signed = getattr(pm, dist)(name + FOLDED_SUFFIX, **params, dims=dims)
    return pm.Deterministic(name, pt.abs(signed), dims=dims)


def model_data(design: Design, family: str = "negbin") -> dict[str, np.ndarray]:
    """Every data array of the PyMC model of ``family``, by its ``pm.Data`` name.

    A compiled model is reused for a new data set of the same design by swapping these
    arrays (``nutpie``'s ``with_data``); nothing else in the model depends on the data.
    """
    out = {
        "cell_idx": design.cell_idx,
        "co_idx": design.co_idx,
        "person_idx": design.person_idx,
        "x_pre": design.x_pre,
        "treated": design.treated,
        "log_exposure": design.log_exposure,
        "post_count": design.post_count,
        "excess_counts": excess_counts(
            design.post_count, design.co_idx, len(design.crime_outcomes)
        ),
        # sum of log(y!): constant in the parameters, computed once here instead of one
        # gammaln per row in every gradient evaluation (a third of its cost)
        "log_y_factorial": np.asarray(gammaln(design.post_count + 1.0).sum()),
    }
    if design.published is not None:
        out["published_yi"] = design.published.yi
        out["published_sei"] = design.published.sei
    if families.get(family).frailty:
        total = person_totals(design)
        out["person_total"] = total.astype(float)
        out["excess_person"] = excess_counts(total, np.zeros(len(total)), 1)
    return out


def person_totals(design: Design) -> np.ndarray:
    """Each person's total follow-up count over all their rows."""
    return np.bincount(design.person_idx, weights=design.post_count, minlength=design.n_people)


def model_key(spec: ModelSpec, design: Design, structure: Structure) -> str:
    """What identifies a compiled model: spec, resolved structure, labels and data shapes.

    Two fits with the same key differ only in the values of :func:`model_data`, so the
    second may reuse the first's compiled model.
    """
    # The width of the NB normaliser's matrix (the largest count) is left out: the
    # compiled model takes any width (its shape is not static), so data sets of one
    # design share a model whatever their largest count.
    data = model_data(design, spec.family)
    shapes = {k: v.shape for k, v in data.items() if not k.startswith("excess_")}
    parts = [
        spec.content_hash,
        repr((structure.person_effect, structure.baseline, sorted(structure.treatment.items()))),
        repr(
            sorted(
                (k, p.dist, sorted(p.params.items())) for k, p in structure.derived_priors.items()
            )
        ),
        repr(sorted(shapes.items())),
        repr({k: v for k, v in design.coords.items() if k != "obs"}),
        design.cells[
            [c for c in ("co_idx", "age_idx", "outcome_idx", "trial_idx") if c in design.cells]
        ].to_csv(index=False),
    ]
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def build_model(
    spec: ModelSpec, design: Design, structure: Structure | None = None
) -> tuple[pm.Model, Structure]:
    """State the spec's model for this design in PyMC (nothing is compiled or sampled).

    Every data array is a ``pm.Data`` (see :func:`model_data`); the structure
    (:func:`resolve_structure`) and the labels are fixed at build time.
    """
    if structure is None:
        structure = resolve_structure(spec, design)
    p = {**structure.derived_priors, **spec.priors}
    data = model_data(design, spec.family)
    with pm.Model(coords=design.coords) as model:
        cell_idx = pm.Data("cell_idx", data["cell_idx"], dims="obs")
        co_idx = pm.Data("co_idx", data["co_idx"], dims="obs")
        person_idx = pm.Data("person_idx", data["person_idx"], dims="obs")
        x_pre = pm.Data("x_pre", data["x_pre"], dims="obs")
        treated = pm.Data("treated", data["treated"], dims="obs")
        log_exposure = pm.Data("log_exposure", data["log_exposure"], dims="obs")
        y = pm.Data("post_count", data["post_count"], dims="obs")

        cell_co = design.cells["co_idx"].to_numpy()
        cell_age = design.cells["age_idx"].to_numpy()
        cell_out = design.cells["outcome_idx"].to_numpy()

        theta0 = _rv("effect_overall", p["effect_overall"])
        theta = theta0
        t = structure.treatment
        crime, outcome = None, None  # the terms' vectors (published trials link to them)
        if t["crime"] == "pooled":
            sd = _rv("crime_sd", p["crime_sd"])
            crime = sd * pm.Normal("z_crime", 0.0, 1.0, dims="crime_outcome")
        elif t["crime"] == "fixed":
            crime = _rv("crime_effect", p["crime_effect"], dims="crime_outcome")
        if crime is not None:
            theta = theta + crime[cell_co]
        if t["outcome"] == "fixed":
            outcome = _rv("outcome_effect", p["outcome_effect"], dims="outcome")
        elif t["outcome"] == "pooled":
            sd = _rv("outcome_sd", p["outcome_sd"])
            outcome = sd * pm.Normal("z_outcome", 0.0, 1.0, dims="outcome")
        if outcome is not None:
            theta = theta + outcome[cell_out]
        if t["age"] == "fixed":
            theta = theta + _rv("age_effect", p["age_effect"], dims="age_band")[cell_age]
        elif t["age"] == "pooled":
            sd = _rv("age_sd", p["age_sd"])
            theta = theta + (sd * pm.Normal("z_age", 0.0, 1.0, dims="age_band"))[cell_age]
        # with several trials the cell deviation is shared by a cell's trials
        base_idx, _ = design.base_cells()
        cell_dim = "treatment_cell" if design.multi_trial else "cell"
        if t["cell"] == "pooled":
            sd = _rv("cell_sd", p["cell_sd"])
            theta = theta + (sd * pm.Normal("z_cell", 0.0, 1.0, dims=cell_dim))[base_idx]
        elif t["cell"] == "fixed":
            theta = theta + _rv("cell_effect", p["cell_effect"], dims=cell_dim)[base_idx]
        if t.get("trial", "none") != "none":
            # theta[c,o,a,t] = theta[c,o,a] + eta[t], eta ~ Normal(0, trial_sd), non-centred
            if t["trial"] == "pooled":
                sd = _rv("trial_sd", p["trial_sd"])
                z = pm.Normal("z_trial", 0.0, 1.0, dims="trial")
                trial_effect = pm.Deterministic("trial_effect", sd * z, dims="trial")
            else:
                trial_effect = _rv("trial_effect", p["trial_effect"], dims="trial")
            theta = theta + trial_effect[design.cell_trial_idx]
            if design.published is not None:
                _published_likelihood(design, data, theta0, crime, outcome, sd)
        theta = pm.Deterministic("theta", theta * np.ones(len(design.cells)), dims="cell")

        alpha = _rv("intercept", p["intercept"], dims="cell")
        # one gather instead of two (alpha[cell] + theta[cell] * treated): per row, the
        # log rate of its cell under its own arm (a third less work per gradient)
        by_arm = pt.concatenate([alpha, alpha + theta])
        eta = by_arm[cell_idx + len(design.cells) * treated] + log_exposure
        if structure.baseline:
            beta = _rv("baseline_slope", p["baseline_slope"], dims="crime_outcome")
            eta = eta + beta[co_idx] * x_pre
        if spec.family == "negmult":
            pass  # the person frailty is integrated out in negmult_loglik below
        elif structure.person_effect == "correlated":
            u = _correlated_person_effect(p, design)
            eta = eta + u[person_idx, pt.as_tensor(cell_out)[cell_idx]]
        elif structure.person_effect:
            sd = _rv("person_sd", p["person_sd"])
            z = pm.Normal("z_person", 0.0, 1.0, dims="person")
            eta = eta + (sd * z)[person_idx]
        if spec.family in NB_FAMILIES:
            inv = _folded_rv("inv_sqrt_dispersion", p["inv_sqrt_dispersion"], dims="crime_outcome")
            pm.Deterministic("dispersion", 1.0 / inv**2, dims="crime_outcome")
            excess = pm.Data("excess_counts", data["excess_counts"])
            log_phi = -2.0 * pt.log(inv)
            log_y_factorial = pm.Data("log_y_factorial", data["log_y_factorial"])
            loglik = negbin_loglik(y, eta, log_phi, co_idx, excess, log_y_factorial)
            family = families.get(spec.family)
            if family.zero is not None:
                # logit of P(structural zero) (zinb) or shift of logit P(zero) (hurdle)
                name_c, name_t = family.zero_priors
                zero = _rv(name_c, p[name_c], dims="crime_outcome")[co_idx]
                zero = zero + _rv(name_t, p[name_t]) * treated
                loglik = loglik + families.zero_part_loglik(
                    spec.family, y, eta, log_phi[co_idx], zero
                )
        elif spec.family == "negmult":
            cv = _folded_rv("person_cv", p["person_cv"], dims=None)
            loglik = negmult_loglik(
                y,
                eta,
                person_idx,
                pm.Data("person_total", data["person_total"], dims="person"),
                pm.Data("excess_person", data["excess_person"]),
                cv,
                pm.Data("log_y_factorial", data["log_y_factorial"]),
            )
        else:
            log_y_factorial = pm.Data("log_y_factorial", data["log_y_factorial"])
            loglik = poisson_loglik(y, eta, log_y_factorial)
        pm.Potential("loglik", loglik)
    return model, structure


def _published_likelihood(design: Design, data: dict, theta0, crime, outcome, trial_sd) -> None:
    """Published trials' log rate ratios in the model (one-stage IPD + aggregate data).

    ``y_j ~ Normal(theta_link + eta_j, s_j)`` with ``eta_j = trial_sd * z_j`` (the
    between-trial distribution of the individual-data trials) and ``theta_link`` the
    typical log rate ratio of the published estimand: ``effect_overall`` plus the
    outcome term, plus the crime-type term when the estimand is one crime type (see
    :class:`fd_bayes.data.published.Published`). Adds ``published_effect`` (eta_j) and
    ``published_log_rr`` (theta_link + eta_j) to the posterior.
    """
    pub = design.published
    link = theta0
    if outcome is not None:
        link = link + outcome[design.outcomes.index(pub.outcome)]
    if crime is not None and pub.crime_type != "all":
        co = design.crime_outcomes
        row = np.flatnonzero((co["outcome"] == pub.outcome) & (co["crime_type"] == pub.crime_type))
        link = link + crime[int(row[0])]
    z = pm.Normal("z_published", 0.0, 1.0, dims="published")
    effect = pm.Deterministic("published_effect", trial_sd * z, dims="published")
    log_rr = pm.Deterministic("published_log_rr", link + effect, dims="published")
    yi = pm.Data("published_yi", data["published_yi"], dims="published")
    sei = pm.Data("published_sei", data["published_sei"], dims="published")
    resid = (yi - log_rr) / sei
    pm.Potential(
        "published_loglik", (-0.5 * resid**2 - pt.log(sei) - 0.5 * np.log(2 * np.pi)).sum()
    )


def _correlated_person_effect(p: dict[str, Prior], design: Design):
    """u[i, o] ~ MVN(0, diag(sd) R diag(sd)) over outcomes, R ~ LKJ(eta), non-centred.

    ``u = z @ chol.T`` with ``z[i, o] ~ Normal(0, 1)`` and ``chol`` the Cholesky factor
    of the covariance (PyMC's ``LKJCholeskyCov``, whose sds take the ``person_sd`` prior).
    The posterior keeps ``person_sd`` (per outcome) and ``person_corr`` (the matrix).
    """
    k = len(design.outcomes)
    sd_prior = p["person_sd"]
    sd_dist = getattr(pm, sd_prior.dist).dist(**sd_prior.params, shape=k)
    model = pm.modelcontext(None)
    model.add_coord(CORR_DIM, design.outcomes)
    chol, corr, sds = pm.LKJCholeskyCov(
        "person_chol",
        n=k,
        eta=p["person_corr"].params["eta"],
        sd_dist=sd_dist,
        compute_corr=True,
        store_in_trace=False,
    )
    pm.Deterministic("person_sd", sds, dims="outcome")
    pm.Deterministic("person_corr", corr, dims=("outcome", CORR_DIM))
    z = pm.Normal("z_person", 0.0, 1.0, dims=("person", "outcome"))
    return pt.dot(z, chol.T)


#: Second dimension of the person-effect correlation matrix (its rows are ``outcome``).
CORR_DIM = "outcome_"


def baseline_log_rate(posterior: xr.Dataset, design: Design, rows: np.ndarray) -> np.ndarray:
    """Log expected yearly count under control for the given rows, per draw.

    Returns an array (draws, len(rows)): alpha + beta * x + u, without the treatment
    term and without the exposure offset (rates are per person-year).
    """
    stack = {"draw_all": ("chain", "draw")}

    def draws(name: str) -> np.ndarray:
        return posterior[name].stack(stack).transpose("draw_all", ...).values

    eta = draws("intercept")[:, design.cell_idx[rows]]
    if "baseline_slope" in posterior:
        eta = eta + draws("baseline_slope")[:, design.co_idx[rows]] * design.x_pre[rows]
    if "person_corr" in posterior:  # u = z @ (diag(sd) L)^T, L L^T = person_corr
        chol = np.linalg.cholesky(draws("person_corr")) * draws("person_sd")[:, :, None]
        u = np.einsum("spk,sok->spo", draws("z_person"), chol)
        outcome = design.cells["outcome_idx"].to_numpy()[design.cell_idx[rows]]
        eta = eta + u[:, design.person_idx[rows], outcome]
    elif "z_person" in posterior:
        u = draws("person_sd")[:, None] * draws("z_person")
        eta = eta + u[:, design.person_idx[rows]]
    elif "log_frailty" in posterior:  # negmult: frailties drawn by frailty_draws
        eta = eta + draws("log_frailty")[:, design.person_idx[rows]]
    return eta


def _log_gamma(rng: np.random.Generator, shape: np.ndarray, rate: np.ndarray) -> np.ndarray:
    """log of Gamma(shape, rate) draws, without underflow for small shapes.

    For shape < 1: ``G(a) = G(a + 1) U^(1/a)`` (Marsaglia and Tsang 2000), taken in logs.
    """
    small = shape < 1.0
    g = rng.gamma(np.where(small, shape + 1.0, shape))
    u = rng.random(shape.shape)
    with np.errstate(divide="ignore"):
        boost = np.where(small, np.log(u) / shape, 0.0)
    return np.log(g) + boost - np.log(rate)


def frailty_draws(
    posterior: xr.Dataset, design: Design, seed, conditional: bool = True, chunk: int = 200
) -> xr.DataArray:
    """Per draw, the log frailty of every person of a ``negmult`` model.

    ``conditional=True`` (posterior draws): from each person's exact conditional
    posterior given the draw's parameters, ``g | y ~ Gamma(k + S, k + M)`` (``S`` the
    person's total count, ``M`` the sum of their rows' means without the frailty, each
    under its own arm and exposure; ``k = 1 / person_cv^2``). The pairs (parameters,
    frailties) are then draws from the joint posterior, which is what g-computation and
    predictive checks need. ``conditional=False`` (prior draws): ``g ~ Gamma(k, k)``.
    Computed ``chunk`` draws at a time (the rows' means of all draws at once can be
    gigabytes for large pooled trials). Returns a DataArray (chain, draw, person).
    """
    rng = np.random.default_rng(seed)
    n_chain, n_draw = posterior.sizes["chain"], posterior.sizes["draw"]
    n = design.n_people
    k = 1.0 / posterior["person_cv"].values ** 2  # (chain, draw)
    out = np.empty((n_chain, n_draw, n))
    if not conditional:
        kk = np.broadcast_to(k[:, :, None], out.shape)
        out[:] = _log_gamma(rng, kk, kk)
    else:
        total = person_totals(design)
        posterior = posterior.drop_vars([v for v in ("log_frailty",) if v in posterior])
        for c in range(n_chain):
            for start in range(0, n_draw, chunk):
                part = posterior.isel(chain=[c], draw=slice(start, start + chunk))
                mu = observed_parameters(part, design).mu  # (draws, rows)
                summed = np.stack(
                    [np.bincount(design.person_idx, weights=m, minlength=n) for m in mu]
                )
                kk = k[c, start : start + chunk, None]
                out[c, start : start + chunk] = _log_gamma(rng, kk + total, kk + summed)
    return xr.DataArray(
        out,
        dims=("chain", "draw", "person"),
        coords={
            "chain": posterior["chain"].values,
            "draw": posterior["draw"].values,
            "person": np.arange(n),
        },
        name="log_frailty",
    )


def row_parameters(
    posterior: xr.Dataset,
    design: Design,
    rows: np.ndarray,
    treated: np.ndarray | int,
    log_exposure: np.ndarray | float = 0.0,
) -> families.RowParams:
    """Per draw, the likelihood's parameters of ``rows`` in the given arm(s).

    ``treated`` (1 or 0, per row or for all) selects the arm; ``log_exposure`` is added
    to the log count-part mean (0: per person-year). Returns the count-part mean ``mu``,
    the NB shape of each row's crime type x outcome and the zero part's linear
    predictor (:class:`fd_bayes.modelling.families.RowParams`), arrays (draws, len(rows)).
    """
    stack = {"draw_all": ("chain", "draw")}

    def draws(name: str) -> np.ndarray:
        return posterior[name].stack(stack).transpose("draw_all", ...).values

    eta = baseline_log_rate(posterior, design, rows) + log_exposure
    eta = eta + draws("theta")[:, design.cell_idx[rows]] * treated
    co = design.co_idx[rows]
    phi = draws("dispersion")[:, co] if "dispersion" in posterior else None
    zero = None
    family = families.get(families.of_posterior(posterior))
    if family.zero is not None:
        name_c, name_t = family.zero_priors
        zero = draws(name_c)[:, co] + draws(name_t)[:, None] * treated
    return families.RowParams(np.exp(eta), phi, zero)


def observed_parameters(posterior: xr.Dataset, design: Design) -> families.RowParams:
    """:func:`row_parameters` of every observed row in its own arm, with its exposure."""
    rows = np.arange(len(design.cell_idx))
    return row_parameters(posterior, design, rows, design.treated, design.log_exposure)


def expected_counts(
    posterior: xr.Dataset, design: Design, rows: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Expected yearly counts of ``rows`` under treatment and under control, per draw.

    Returns ``(mu_treat, mu_control)``, each an array (draws, len(rows)). These are the
    potential outcomes that g-computation sums: the family's mean ``E[y]``
    (:func:`fd_bayes.modelling.families.mean`: ``mu`` for the NB and Poisson, ``(1 - pi) mu`` for
    the zero-inflated NB, ``(1 - p0) mu / (1 - NB0)`` for the hurdle), each arm with its
    own zero part, so rate ratios mean the same for every family.
    """
    family = families.of_posterior(posterior)
    mu1 = families.mean(family, row_parameters(posterior, design, rows, 1))
    mu0 = families.mean(family, row_parameters(posterior, design, rows, 0))
    return mu1, mu0


def row_trials(design: Design, rows: np.ndarray) -> np.ndarray:
    """The trial index of each of ``rows`` (all 0 for a single trial)."""
    return design.cell_trial_idx[design.cell_idx[rows]]


def new_trial_counts(
    posterior: xr.Dataset, design: Design, rows: np.ndarray, seed: int
) -> np.ndarray | None:
    """Expected counts of ``rows`` under treatment in a *new* trial, per draw.

    Per draw, each row's trial deviation ``eta[t]`` is replaced by one fresh
    ``eta_new ~ Normal(0, trial_sd)`` shared by all rows (a new site shifts every cell
    alike): the count part's mean under treatment becomes ``mu * exp(eta_new - eta[t])``,
    and the family's ``E[y]`` is computed from it (for the hurdle NB, ``E[y]`` is not
    proportional to ``mu``, so the shift is applied before the mean, not after). Control
    rates stay those of the observed trials (the g-computation is over the pooled
    treated cohort). ``None`` when the fit has no between-trial SD (no trial term, or a
    fixed one).
    """
    if "trial_sd" not in posterior or "trial_effect" not in posterior:
        return None
    stack = {"draw_all": ("chain", "draw")}
    tau = posterior["trial_sd"].stack(stack).values
    eta = posterior["trial_effect"].stack(stack).transpose("draw_all", ...).values
    eta_new = tau * np.random.default_rng(seed).standard_normal(tau.shape[0])
    params = row_parameters(posterior, design, rows, 1)
    shift = np.exp(eta_new[:, None] - eta[:, row_trials(design, rows)])
    params = families.RowParams(params.mu * shift, params.phi, params.zero)
    return families.mean(families.of_posterior(posterior), params)


def observed_means(posterior: xr.Dataset, design: Design) -> tuple[np.ndarray, np.ndarray]:
    """Per draw, the expected count of every observed row and its NB shape.

    Each row takes the mean E[y] of its family under its own arm and exposure; the
    shape is the ``dispersion`` of its crime type x outcome (``None`` for a Poisson
    model). Arrays are (draws, obs), draws chain-major. Predictive draws and the
    log-likelihood use the full :func:`observed_parameters`.
    """
    params = observed_parameters(posterior, design)
    return families.mean(families.of_posterior(posterior), params), params.phi


def pointwise_loglik(posterior: xr.Dataset, design: Design, family: str) -> np.ndarray:
    """Log-likelihood of every observed row under every posterior draw.

    Treated rows use the expected count under treatment, the others under control, both
    times the row's exposure; the likelihood is the family's
    (:func:`fd_bayes.modelling.families.logpmf`:
    NB2 with shape ``dispersion`` per crime type x outcome, Poisson, or a zero-inflated
    or hurdle NB), as in :func:`build_model`.

    Returns an array (chain, draw, obs), the input of PSIS-LOO.
    """
    params = observed_parameters(posterior, design)
    if not families.get(family).negbin:
        params = families.RowParams(params.mu)
    ll = families.logpmf(family, design.post_count, params)
    return ll.reshape(posterior.sizes["chain"], posterior.sizes["draw"], -1)
