"""The ``fd-bayes`` command line.

Bad input prints one line on stderr and exits with status 2, never a traceback. An
output folder that already holds results is never overwritten without ``--force``.

Modules: :mod:`~fd_bayes.cli.app` (the typer app and :func:`main`),
:mod:`~fd_bayes.cli.common` (consoles, option types, the sampler options as one
:class:`~fd_bayes.inference.SamplerSettings`, the output guards, the warning echo), and one
module per command group: :mod:`~fd_bayes.cli.fitting` (demo, fit, report, models,
compare), :mod:`~fd_bayes.cli.pooling` (pool), :mod:`~fd_bayes.cli.planning` (plan) and
:mod:`~fd_bayes.cli.records` (cohort, randomise, counts).
"""

from __future__ import annotations

from fd_bayes.cli.app import app, main
from fd_bayes.cli.common import (
    FIT_FILE,
    PLAN_FILES,
    REPORT_FILES,
    TRIAL_FILES,
    Chains,
    Draws,
    Force,
    IndexDate,
    Out,
    Sampler,
    TargetAccept,
    Tune,
    UsageProblem,
    err_console,
    out_console,
)
from fd_bayes.cli.fitting import compare_command, demo, fit_command, models, report_command
from fd_bayes.cli.planning import plan_command
from fd_bayes.cli.pooling import pool
from fd_bayes.cli.records import cohort, counts, randomise_command

__all__ = [
    "FIT_FILE",
    "PLAN_FILES",
    "REPORT_FILES",
    "TRIAL_FILES",
    "Chains",
    "Draws",
    "Force",
    "IndexDate",
    "Out",
    "Sampler",
    "TargetAccept",
    "Tune",
    "UsageProblem",
    "app",
    "cohort",
    "compare_command",
    "counts",
    "demo",
    "err_console",
    "fit_command",
    "main",
    "models",
    "out_console",
    "plan_command",
    "pool",
    "randomise_command",
    "report_command",
]
