"""What the ``fd-bayes`` commands share: consoles, the usage error, the files each command
writes, the option types (the sampler options among them), the guards on output folders
and files, the warning echo and the one place the sampler options become a
:class:`~fd_bayes.inference.SamplerSettings`.

Heavy imports (PyMC, the report) stay inside functions, so that ``fd-bayes --help`` is
quick.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from fd_bayes.errors import FdBayesError, FdBayesWarning

if TYPE_CHECKING:
    from fd_bayes.inference import SamplerSettings

FIT_FILE = "fit.nc"
#: Files that need the trial's data (not only the fit): written by `demo` and `fit`.
TRIAL_FILES = ("frequentist.csv", "side_by_side.csv")
#: Files of the full report (`demo`, `fit` and `report` write them).
REPORT_FILES = (
    "report.html",
    "summary.md",
    "forest.png",
    "forest.svg",
    "effects.csv",
    "findings.xlsx",
    "results.json",
    *(
        f"{name}.{ext}"
        for name in (
            "density",
            "posterior_predictive_check",
            "prior_predictive_check",
            "trace_rank",
        )
        for ext in ("png", "svg")
    ),
)
#: Files of `fd-bayes plan`.
PLAN_FILES = (
    "assurance.csv",
    "simulations.csv",
    "plan.md",
    "assurance_curve.png",
    "assurance_curve.svg",
)

out_console = Console()
err_console = Console(stderr=True)

# -- the sampler options (demo, fit, pool) ----------------------------------------------------
Draws = Annotated[int, typer.Option(min=1, help="Posterior draws per chain.")]
Tune = Annotated[int, typer.Option(min=0, help="Warm-up iterations per chain.")]
Chains = Annotated[int, typer.Option(min=1, help="Number of chains.")]
Sampler = Annotated[str, typer.Option(help="auto, nutpie, pymc or numpyro.")]
TargetAccept = Annotated[
    float,
    typer.Option(
        min=0.5,
        max=0.999,
        help="NUTS target acceptance rate: raise it (0.95, 0.99) when the diagnostics "
        "report divergent transitions; smaller steps, slower sampling.",
    ),
]
Adapt = Annotated[
    bool,
    typer.Option(
        "--adapt/--no-adapt",
        help="When the diagnostics fail, sample fresh chains with twice the warm-up and "
        "draws (up to 3 rounds); --no-adapt: one run.",
    ),
]
Force = Annotated[bool, typer.Option("--force", help="Overwrite results already in --out.")]
Out = Annotated[Path, typer.Option(help="CSV file to write.", metavar="FILE.csv")]
IndexDate = Annotated[
    str, typer.Option(help="Index (randomisation) date, YYYY-MM-DD.", metavar="YYYY-MM-DD")
]


class UsageProblem(FdBayesError):
    """A problem with the command line itself (exit status 2)."""


def sampler_settings(draws: int, tune: int, chains: int, **more) -> SamplerSettings:
    """The sampler options of a command as one validated
    :class:`~fd_bayes.inference.SamplerSettings` (a bad value fails here, before any work,
    with a :class:`~fd_bayes.errors.SettingsError`)."""
    from fd_bayes.inference import SamplerSettings

    return SamplerSettings(draws=draws, tune=tune, chains=chains, **more)


def check_out_folder(out: Path, names: Iterable[str], force: bool) -> None:
    """The one output-folder guard: ``out`` is a folder (or absent) and holds none of
    ``names`` unless ``force``."""
    if out.exists() and not out.is_dir():
        raise UsageProblem(f"--out {out} exists and is not a folder")
    clash = [n for n in names if (out / n).exists()]
    if clash and not force:
        raise UsageProblem(
            f"{out} already holds results ({', '.join(clash)}); choose another --out or pass "
            "--force to overwrite them"
        )


def check_out_file(out: Path, force: bool, what: str = "--out") -> None:
    """An output file: not a folder, not there already unless ``force``, in a folder that
    exists."""
    if out.exists() and out.is_dir():
        raise UsageProblem(f"{what} {out} is a folder; give a file name such as {out}/out.csv")
    if out.exists() and not force:
        raise UsageProblem(
            f"{what} {out} already exists; choose another file or pass --force to overwrite it"
        )
    if not out.parent.exists():
        raise UsageProblem(f"{what} {out}: the folder {out.parent} does not exist")


@contextmanager
def echo_warnings() -> Iterator[None]:
    """Catch fd_bayes warnings raised inside the block and print each on stderr after it
    (not when the block fails)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", FdBayesWarning)
        yield
    for w in caught:
        if issubclass(w.category, FdBayesWarning):
            err_console.print(f"[bold yellow]warning:[/] {w.message}", highlight=False)
