"""The data layer: trials, police records, cohorts, randomisation, outcome counts and
published estimates. Nothing here imports PyMC.

Other layers import these names from here (``from fd_bayes.data import Trial``); modules
inside the package import their siblings directly.
"""

from __future__ import annotations

from fd_bayes.data.published import Published
from fd_bayes.data.randomise import Allocation, balance, randomise
from fd_bayes.data.simulate import (
    ILLUSTRATIVE_HARM_WEIGHTS,
    SimulationTruth,
    example_trial,
    example_trial_with_truth,
    simulate_trial,
)
from fd_bayes.data.simulate_sites import SitesTruth, simulate_sites
from fd_bayes.data.trial import Trial, read_table

__all__ = [
    "ILLUSTRATIVE_HARM_WEIGHTS",
    "Allocation",
    "Published",
    "SimulationTruth",
    "SitesTruth",
    "Trial",
    "balance",
    "example_trial",
    "example_trial_with_truth",
    "randomise",
    "read_table",
    "simulate_sites",
    "simulate_trial",
]
