"""From (spec + design) to a PyMC model: the model of ``models/*.toml`` in PyMC.

:func:`build_model` states the model (nothing is compiled or sampled); :func:`model_data`
holds every data array of the graph, so a compiled model is reused with new data;
:func:`model_key` identifies a compiled model.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pymc as pm
import pytensor.tensor as pt
from scipy.special import gammaln

from fd_bayes.modelling import families
from fd_bayes.modelling.design import Design
from fd_bayes.modelling.likelihood import (
    excess_counts,
    negbin_loglik,
    negmult_loglik,
    person_totals,
    poisson_loglik,
    zero_part_loglik,
)
from fd_bayes.modelling.spec import NB_FAMILIES, ModelSpec, Prior
from fd_bayes.modelling.structure import Structure, resolve_structure


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
    zero that the log transform turns into a long tail in which NUTS mixes slowly. Every
    scale parameter of the models is folded: the NB dispersion parameter 1/sqrt(phi) of
    a sparse crime type, whose posterior often has mass near zero (the Poisson limit),
    and the SDs of the variance components (``person_sd``, ``crime_sd``, ``cell_sd``,
    ...), whose posterior reaches zero when the data show little variation (a trial
    with no effect anywhere, a small person effect). With the log transform, those SDs
    were what failed the diagnostics of default fits of seed-sized trials (0 of 5 passed
    with a person SD of 0.3 and near-Poisson counts; folded, with the count-scale priors,
    20 of 20: ``benchmarks/bench_convergence.py``). The likelihood depends on
    |s| only (and on 1/phi = x^2), so it is smooth in s; the non-centred terms use
    ``|s| * z``. Diagnostics are computed on x, not on the sign-symmetric s.
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
        cell_out = design.cells["outcome_idx"].to_numpy()

        theta = _treatment_effect(p, structure, design, data)
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
            sd = _folded_rv("person_sd", p["person_sd"], dims=None)
            z = pm.Normal("z_person", 0.0, 1.0, dims="person")
            eta = eta + (sd * z)[person_idx]
        loglik = _count_loglik(spec.family, p, data, y, eta, co_idx, person_idx, treated)
        pm.Potential("loglik", loglik)
    return model, structure


def _treatment_effect(p: dict[str, Prior], structure: Structure, design: Design, data: dict):
    """The log rate ratio of every cell, ``theta`` (a Deterministic over ``cell``): the
    overall effect plus the crime-type x outcome, outcome, age-band, cell and trial
    terms the structure keeps (and the published trials' likelihood, linked to them)."""
    cell_co = design.cells["co_idx"].to_numpy()
    cell_age = design.cells["age_idx"].to_numpy()
    cell_out = design.cells["outcome_idx"].to_numpy()

    theta0 = _rv("effect_overall", p["effect_overall"])
    theta = theta0
    t = structure.treatment
    crime, outcome = None, None  # the terms' vectors (published trials link to them)
    if t["crime"] == "pooled":
        sd = _folded_rv("crime_sd", p["crime_sd"], dims=None)
        crime = sd * pm.Normal("z_crime", 0.0, 1.0, dims="crime_outcome")
    elif t["crime"] == "fixed":
        crime = _rv("crime_effect", p["crime_effect"], dims="crime_outcome")
    if crime is not None:
        theta = theta + crime[cell_co]
    if t["outcome"] == "fixed":
        outcome = _rv("outcome_effect", p["outcome_effect"], dims="outcome")
    elif t["outcome"] == "pooled":
        sd = _folded_rv("outcome_sd", p["outcome_sd"], dims=None)
        outcome = sd * pm.Normal("z_outcome", 0.0, 1.0, dims="outcome")
    if outcome is not None:
        theta = theta + outcome[cell_out]
    if t["age"] == "fixed":
        theta = theta + _rv("age_effect", p["age_effect"], dims="age_band")[cell_age]
    elif t["age"] == "pooled":
        sd = _folded_rv("age_sd", p["age_sd"], dims=None)
        theta = theta + (sd * pm.Normal("z_age", 0.0, 1.0, dims="age_band"))[cell_age]
    # with several trials the cell deviation is shared by a cell's trials
    base_idx, _ = design.base_cells()
    cell_dim = "treatment_cell" if design.multi_trial else "cell"
    if t["cell"] == "pooled":
        sd = _folded_rv("cell_sd", p["cell_sd"], dims=None)
        theta = theta + (sd * pm.Normal("z_cell", 0.0, 1.0, dims=cell_dim))[base_idx]
    elif t["cell"] == "fixed":
        theta = theta + _rv("cell_effect", p["cell_effect"], dims=cell_dim)[base_idx]
    if t.get("trial", "none") != "none":
        # theta[c,o,a,t] = theta[c,o,a] + eta[t], eta ~ Normal(0, trial_sd), non-centred
        if t["trial"] == "pooled":
            sd = _folded_rv("trial_sd", p["trial_sd"], dims=None)
            z = pm.Normal("z_trial", 0.0, 1.0, dims="trial")
            trial_effect = pm.Deterministic("trial_effect", sd * z, dims="trial")
        else:
            trial_effect = _rv("trial_effect", p["trial_effect"], dims="trial")
        theta = theta + trial_effect[design.cell_trial_idx]
        if design.published is not None:
            _published_likelihood(design, data, theta0, crime, outcome, sd)
    return pm.Deterministic("theta", theta * np.ones(len(design.cells)), dims="cell")


def _count_loglik(
    family: str, p: dict[str, Prior], data: dict, y, eta, co_idx, person_idx, treated
):
    """The log-likelihood of the follow-up counts ``y`` with log means ``eta`` under
    ``family`` (with its dispersion, zero part or frailty parameters)."""
    if family in NB_FAMILIES:
        inv = _folded_rv("inv_sqrt_dispersion", p["inv_sqrt_dispersion"], dims="crime_outcome")
        pm.Deterministic("dispersion", 1.0 / inv**2, dims="crime_outcome")
        excess = pm.Data("excess_counts", data["excess_counts"])
        log_phi = -2.0 * pt.log(inv)
        log_y_factorial = pm.Data("log_y_factorial", data["log_y_factorial"])
        loglik = negbin_loglik(y, eta, log_phi, co_idx, excess, log_y_factorial)
        fam = families.get(family)
        if fam.zero is not None:
            # logit of P(structural zero) (zinb) or shift of logit P(zero) (hurdle)
            name_c, name_t = fam.zero_priors
            zero = _rv(name_c, p[name_c], dims="crime_outcome")[co_idx]
            zero = zero + _rv(name_t, p[name_t]) * treated
            loglik = loglik + zero_part_loglik(family, y, eta, log_phi[co_idx], zero)
        return loglik
    if family == "negmult":
        cv = _folded_rv("person_cv", p["person_cv"], dims=None)
        return negmult_loglik(
            y,
            eta,
            person_idx,
            pm.Data("person_total", data["person_total"], dims="person"),
            pm.Data("excess_person", data["excess_person"]),
            cv,
            pm.Data("log_y_factorial", data["log_y_factorial"]),
        )
    log_y_factorial = pm.Data("log_y_factorial", data["log_y_factorial"])
    return poisson_loglik(y, eta, log_y_factorial)


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


__all__ = ["CORR_DIM", "FOLDED_SUFFIX", "build_model", "model_data", "model_key"]
