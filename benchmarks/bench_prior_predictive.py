"""The prior predictive of the default model on the seed's design, in the numbers
``docs/models.md`` quotes ("Priors on the scale of the counts").

Draws 1,000 parameter sets from the priors of ``negbin_hier`` (and of version 0.1's
priors, with ``--old``), simulates the example trial's 1,950 person-year counts for each,
and prints the share of counts at most 30 (overall and for the worst crime type x
outcome), their 99th percentile, the shares of zeros per simulated data set, and the
share of data sets without a count above 100 (the ones ``fdb.calibrate`` fits). Forward
draws only: seconds. ``tests/integration/test_prior_predictive.py`` asserts the target.

    python benchmarks/bench_prior_predictive.py
"""

from __future__ import annotations

import warnings

import numpy as np

import fd_bayes as fdb
from fd_bayes.inference import prepare_catalogue
from fd_bayes.inference.predictive import posterior_predictive, sample_prior

#: The intercept, person-SD and dispersion priors of version 0.1.
OLD_PRIORS = {
    "intercept": {"dist": "Normal", "mu": -1.0, "sigma": 2.0},
    "person_sd": {"dist": "HalfNormal", "sigma": 1.0},
    "inv_sqrt_dispersion": {"dist": "HalfNormal", "sigma": 1.0},
}


def summary(priors: dict | None, draws: int = 1000, seed: int = 1) -> dict:
    prepared = prepare_catalogue(fdb.example_trial(), "negbin_hier", priors)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        prior = sample_prior(prepared.pm_model, draws, seed)
    y = posterior_predictive(prior, prepared.design, "negbin", seed + 1)["y"].values
    y = y.reshape(draws, -1)
    co = prepared.design.co_idx
    zeros = (y == 0).mean(axis=1)
    return {
        "counts <= 30": float((y <= 30).mean()),
        "counts <= 30, worst crime type x outcome": min(
            float((y[:, co == k] <= 30).mean()) for k in np.unique(co)
        ),
        "99th percentile": float(np.quantile(y, 0.99)),
        "zeros per data set, central 95%": tuple(np.quantile(zeros, [0.025, 0.975]).round(2)),
        "zeros per data set, range": (round(float(zeros.min()), 2), round(float(zeros.max()), 2)),
        "data sets with zeros in [30%, 95%]": float(((zeros >= 0.3) & (zeros <= 0.95)).mean()),
        "data sets without a count above 100": float((y.max(axis=1) <= 100).mean()),
    }


def main() -> None:
    for label, priors in (("negbin_hier", None), ("version 0.1's priors", OLD_PRIORS)):
        print(f"== {label} ==")
        for key, value in summary(priors).items():
            shown = f"{value:.4f}" if isinstance(value, float) else str(value)
            print(f"  {key}: {shown}")


if __name__ == "__main__":
    main()
