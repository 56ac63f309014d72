"""fd_bayes.meta.bayes against the exact posterior of the normal-normal model.

Given tau, the model is conjugate: with ``mu ~ N(0, s0^2)`` and ``w_i = 1 / (v_i + tau^2)``,
``mu | tau, y ~ N(m(tau), V(tau))`` with ``1 / V = 1 / s0^2 + sum w_i`` and
``m = V sum w_i y_i``, and ``p(tau | y)`` is proportional to
``p(tau) prod w_i^(1/2) V^(1/2) exp(-(sum w_i y_i^2 - m^2 / V) / 2)``. Integrating over a
fine grid in log tau gives the exact posterior means, SDs and P(mu < 0). The MCMC answers
must agree within 4 Monte Carlo standard errors (computed from the smallest bulk ESS of
the fit, so conservative).
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from fd_bayes import meta

# Rubin's (1981) eight schools: the classic hard case for a centred parameterisation.
SCHOOLS_Y = np.array([28.0, 8.0, -3.0, 7.0, -1.0, 1.0, 18.0, 12.0])
SCHOOLS_SE = np.array([15.0, 10.0, 16.0, 11.0, 9.0, 11.0, 10.0, 18.0])
# The first six BCG trials of metafor's dat.bcg (log risk ratios, escalc(measure="RR")).
BCG_Y = np.array([-0.889311333920, -1.585388657201, -1.348073148300, -1.441551190021,
                  -0.217547322211, -0.786115585819])  # fmt: skip
BCG_V = np.array([0.325584765004, 0.194581121398, 0.415367965368, 0.020010031902,
                  0.051210172170, 0.006905618456])  # fmt: skip


def exact_posterior(y, se, mu_sd, log_tau_prior):
    """Exact posterior summaries by integration over log tau (grid of 20,001 points)."""
    s = np.linspace(-14.0, 8.0, 20001)  # log tau
    tau = np.exp(s)
    w = 1.0 / (se[None, :] ** 2 + tau[:, None] ** 2)
    prec = 1.0 / mu_sd**2 + w.sum(axis=1)
    m = (w * y).sum(axis=1) / prec
    V = 1.0 / prec
    loglik = (
        0.5 * np.log(w).sum(axis=1) + 0.5 * np.log(V) - 0.5 * ((w * y**2).sum(axis=1) - m**2 * prec)
    )
    logpost = loglik + log_tau_prior(tau) + s  # + s: Jacobian of tau = exp(s)
    p = np.exp(logpost - logpost.max())
    p /= np.trapezoid(p, s)

    def e(f):
        return float(np.trapezoid(f * p, s))

    mean_mu = e(m)
    mean_tau = e(tau)
    shrink = se**2 / (se**2 + tau[:, None] ** 2)  # E[theta_i | tau, y] = B m + (1 - B) y_i
    theta1 = shrink[:, 0] * m + (1 - shrink[:, 0]) * y[0]
    return {
        "mu_mean": mean_mu,
        "mu_sd": np.sqrt(e(V + m**2) - mean_mu**2),
        "tau_mean": mean_tau,
        "tau_sd": np.sqrt(e(tau**2) - mean_tau**2),
        "p_mu_negative": e(stats.norm.cdf(-m / np.sqrt(V))),
        "theta1_mean": e(theta1),
        "new_mean": mean_mu,
        "new_sd": np.sqrt(e(V + m**2) - mean_mu**2 + e(tau**2)),
    }


@pytest.fixture(scope="module")
def schools():
    fit = meta.bayes(SCHOOLS_Y, SCHOOLS_SE, prior_mu_sd=5.0, prior_tau="halfcauchy",
                     prior_tau_scale=5.0, draws=2000, tune=1000, chains=4, seed=7)  # fmt: skip
    exact = exact_posterior(
        SCHOOLS_Y, SCHOOLS_SE, 5.0, lambda t: stats.halfcauchy.logpdf(t, scale=5.0)
    )
    return fit, exact


@pytest.fixture(scope="module")
def bcg():
    labels = [f"BCG {i + 1}" for i in range(6)]
    fit = meta.bayes(BCG_Y, np.sqrt(BCG_V), labels=labels, draws=2000, tune=1000, chains=4, seed=3)
    exact = exact_posterior(
        BCG_Y, np.sqrt(BCG_V), 1.0, lambda t: stats.halfnorm.logpdf(t, scale=0.5)
    )
    return fit, exact


def _check_against_exact(fit, exact, first_label):
    diag = fit.diagnostics()
    ess = diag["min_ess_bulk"]
    assert diag["max_rhat"] < 1.01
    assert ess > 400
    s = fit.summary()
    checks = [
        (s.loc["mu", "mean"], exact["mu_mean"], exact["mu_sd"] / np.sqrt(ess)),
        (s.loc["mu", "sd"], exact["mu_sd"], exact["mu_sd"] / np.sqrt(2 * ess) * 2),
        (s.loc["tau", "mean"], exact["tau_mean"], exact["tau_sd"] / np.sqrt(ess)),
        (s.loc["tau", "sd"], exact["tau_sd"], exact["tau_sd"] / np.sqrt(2 * ess) * 3),
        (s.loc[first_label, "mean"], exact["theta1_mean"], s.loc[first_label, "sd"] / np.sqrt(ess)),
        (s.loc["new_study", "mean"], exact["new_mean"], exact["new_sd"] / np.sqrt(ess)),
        (s.loc["new_study", "sd"], exact["new_sd"], exact["new_sd"] / np.sqrt(2 * ess) * 3),
    ]  # the factors 2 and 3 on SDs allow for skewed, heavy-tailed draws (tau, new study)
    p = exact["p_mu_negative"]
    checks.append((fit.p_mu_negative, p, np.sqrt(p * (1 - p) / ess)))
    for got, want, mcse in checks:
        assert abs(got - want) < 4 * mcse, (got, want, mcse)
    return s


def test_eight_schools_half_cauchy_matches_exact_without_divergences(schools):
    fit, exact = schools
    assert fit.diagnostics()["divergences"] == 0
    assert fit.diagnostic_problems() == []
    s = _check_against_exact(fit, exact, "study 1")
    assert list(s.index) == ["mu", "tau", *[f"study {i}" for i in range(1, 9)], "new_study"]
    assert list(s.columns[:4]) == ["mean", "sd", "lower", "upper"]
    assert (s["lower"] < s["mean"]).all() and (s["mean"] < s["upper"]).all()


def test_bcg_halfnormal_matches_exact(bcg, tmp_path):
    fit, exact = bcg
    assert fit.diagnostics()["divergences"] == 0
    _check_against_exact(fit, exact, "BCG 1")
    assert fit.p_mu_negative > 0.95  # BCG vaccination lowers TB risk in these trials
    assert fit.predictive().shape == fit.mu.shape
    assert fit.sampler in ("nutpie", "pymc")
    fit.plot_forest(tmp_path / "bayes.png")
    assert (tmp_path / "bayes.png").exists()
