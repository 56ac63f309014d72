"""Every PyTensor log-likelihood of the model, and the sufficient statistics they take.

The negative binomial (:func:`negbin_loglik`), the Poisson (:func:`poisson_loglik`), the
negative multinomial with its gamma frailty integrated out (:func:`negmult_loglik`) and
what a zero part adds to the NB (:func:`zero_part_loglik`); all data may be symbolic, so
a compiled model takes new data of the same shape. The numpy twins, for what is computed
from posterior draws, are in :mod:`fd_bayes.modelling.families`.
"""

from __future__ import annotations

import numpy as np
import pytensor.tensor as pt

from fd_bayes.modelling import families
from fd_bayes.modelling.design import Design


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


def person_totals(design: Design) -> np.ndarray:
    """Each person's total follow-up count over all their rows."""
    return np.bincount(design.person_idx, weights=design.post_count, minlength=design.n_people)


def zero_part_loglik(family: str, y, eta, log_phi, zero):
    """Sum over rows of ``log p(y) - log NB(y)`` for a zero-handling family.

    ``y`` counts, ``eta`` log count-part means, ``log_phi`` the log shape of each row and
    ``zero`` the zero part's linear predictor (all of the same length, all may be
    symbolic). Added to :func:`negbin_loglik` of all rows it gives the
    family's log-likelihood; 0 for families without a zero part. Stable: ``log NB0``
    from ``softplus``, ``log(1 - NB0)`` by ``log1mexp``, logits by ``softplus``.
    """
    fam = families.get(family)
    if fam.zero is None:
        return pt.constant(0.0)
    is_zero = pt.eq(y, 0)
    log_nb0 = -pt.exp(log_phi) * pt.softplus(eta - log_phi)
    if fam.zero == "inflated":
        log_pi, log_1mpi = -pt.softplus(-zero), -pt.softplus(zero)
        at_zero = pt.logaddexp(log_pi, log_1mpi + log_nb0) - log_nb0
        return pt.switch(is_zero, at_zero, log_1mpi).sum()
    log_pos = pt.log1mexp(log_nb0)  # log(1 - NB0)
    a = log_nb0 - log_pos + zero  # logit p0
    return pt.switch(is_zero, -pt.softplus(-a) - log_nb0, -pt.softplus(a) - log_pos).sum()


__all__ = [
    "excess_counts",
    "negbin_loglik",
    "negmult_loglik",
    "person_totals",
    "poisson_loglik",
    "zero_part_loglik",
]
