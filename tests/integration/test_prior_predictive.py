"""The default model's prior predictive is on the scale of police records.

The target (stated in ``models/negbin_hier.toml`` and ``docs/models.md``): on the seed's
design (the example trial: 195 people x 5 crime types x 2 outcomes), at least 99% of
simulated person-year counts of every crime type x outcome are at most 30, and the
share of zero counts of a simulated data set lies between 30% and 95% in at least 95% of
prior draws. Forward draws only (no MCMC): 1,000 prior draws.
"""

from __future__ import annotations

import pytest

import fd_bayes as fdb
from fd_bayes.inference import prepare_catalogue
from fd_bayes.inference.predictive import posterior_predictive, sample_prior

DRAWS = 1000

# The catalogue models that share the default's priors on the scale of the counts.
MODELS = ["negbin_hier", "negbin_sceptical", "zinb_hier", "hurdle_negbin_hier", "poisson_hier"]


def prior_counts(model: str, priors: dict | None = None, seed: int = 1):
    prepared = prepare_catalogue(fdb.example_trial(), model, priors)
    prior = sample_prior(prepared.pm_model, DRAWS, seed)
    y = posterior_predictive(prior, prepared.design, prepared.spec.family, seed + 1)
    return prepared.design, y["y"].values.reshape(DRAWS, -1)


@pytest.fixture(scope="module")
def default_draws():
    return prior_counts("negbin_hier")


def test_counts_per_crime_type_within_30(default_draws):
    design, y = default_draws
    for k in range(len(design.crime_outcomes)):
        rows = design.co_idx == k
        share = float((y[:, rows] <= 30).mean())
        label = tuple(design.crime_outcomes.iloc[k])
        assert share >= 0.99, f"{label}: {share:.4f} of prior counts <= 30"


def test_share_of_zeros(default_draws):
    _, y = default_draws
    zeros = (y == 0).mean(axis=1)
    inside = float(((zeros >= 0.30) & (zeros <= 0.95)).mean())
    assert inside >= 0.95, f"share of zeros in [30%, 95%] in {inside:.3f} of prior draws"


def test_previous_priors_missed_the_target():
    """The priors before the change (Normal(-1, 2), HalfNormal(1), HalfNormal(1)) did
    not meet the target: the test can tell a too-wide prior from a good one."""
    old = {
        "intercept": {"dist": "Normal", "mu": -1.0, "sigma": 2.0},
        "person_sd": {"dist": "HalfNormal", "sigma": 1.0},
        "inv_sqrt_dispersion": {"dist": "HalfNormal", "sigma": 1.0},
    }
    _, y = prior_counts("negbin_hier", old)
    assert float((y <= 30).mean()) < 0.99


@pytest.mark.parametrize("model", MODELS[1:])
def test_catalogue_models_share_the_scale(model):
    _, y = prior_counts(model)
    assert float((y <= 30).mean()) >= 0.99
