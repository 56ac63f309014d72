"""The data layer: trials, police records, cohorts, randomisation, outcome counts and
published estimates. Nothing here imports PyMC.

Other layers import these names from here (``from fd_bayes.data import Trial``); modules
inside the package import their siblings directly.
"""

from __future__ import annotations

from fd_bayes.data.aggregate import (
    COUNT_COLUMNS,
    ZERO_RULES,
    as_vector,
    hedges_g,
    log_rate_ratio,
    read_aggregate,
)
from fd_bayes.data.cohort import (
    KNIFE_RULE,
    ROLES,
    CohortResult,
    Rule,
    age_at,
    cohort_hash,
    eligible,
    flow,
    validate_events,
    validate_persons,
)
from fd_bayes.data.events import as_date, parse_dates, require_columns, text_column
from fd_bayes.data.outcomes import OUTCOME_ROLES, counts_from_events
from fd_bayes.data.published import Published
from fd_bayes.data.randomise import Allocation, balance, randomise
from fd_bayes.data.records import simulate_records
from fd_bayes.data.schema import CANONICAL, CELL, DEFAULT_NAME, KEY
from fd_bayes.data.simulate import (
    EXAMPLE_EFFECTS,
    EXAMPLE_RATES,
    ILLUSTRATIVE_HARM_WEIGHTS,
    SimulationTruth,
    example_trial,
    example_trial_with_truth,
    simulate_trial,
)
from fd_bayes.data.simulate_sites import SitesTruth, simulate_sites
from fd_bayes.data.trial import Trial, read_table

__all__ = [
    "CANONICAL",
    "CELL",
    "COUNT_COLUMNS",
    "DEFAULT_NAME",
    "EXAMPLE_EFFECTS",
    "EXAMPLE_RATES",
    "ILLUSTRATIVE_HARM_WEIGHTS",
    "KEY",
    "KNIFE_RULE",
    "OUTCOME_ROLES",
    "ROLES",
    "ZERO_RULES",
    "Allocation",
    "CohortResult",
    "Published",
    "Rule",
    "SimulationTruth",
    "SitesTruth",
    "Trial",
    "age_at",
    "as_date",
    "as_vector",
    "balance",
    "cohort_hash",
    "counts_from_events",
    "eligible",
    "example_trial",
    "example_trial_with_truth",
    "flow",
    "hedges_g",
    "log_rate_ratio",
    "parse_dates",
    "randomise",
    "read_aggregate",
    "read_table",
    "require_columns",
    "simulate_records",
    "simulate_sites",
    "simulate_trial",
    "text_column",
    "validate_events",
    "validate_persons",
]
