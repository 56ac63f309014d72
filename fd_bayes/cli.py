"""The ``fd-bayes`` command line.

Bad input prints one line on stderr and exits with status 2, never a traceback. An
output folder that already holds results is never overwritten without ``--force``.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table as RichTable

from fd_bayes.constants import DEFAULT_CHAINS, DEFAULT_DRAWS, DEFAULT_MODEL, DEFAULT_TUNE
from fd_bayes.errors import DataError, FdBayesError, FdBayesWarning

FIT_FILE = "fit.nc"
#: Files that need the trial's data (not only the fit): written by `demo` and `fit`.
TRIAL_FILES = ("frequentist.csv", "side_by_side.csv")

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Bayesian causal analysis of small randomised trials in policing and youth violence.",
)
out_console = Console()
err_console = Console(stderr=True)

Draws = Annotated[int, typer.Option(min=1, help="Posterior draws per chain.")]
Tune = Annotated[int, typer.Option(min=0, help="Warm-up iterations per chain.")]
Chains = Annotated[int, typer.Option(min=1, help="Number of chains.")]
Sampler = Annotated[str, typer.Option(help="auto, nutpie, pymc or numpyro.")]
Force = Annotated[bool, typer.Option("--force", help="Overwrite results already in --out.")]


class UsageProblem(FdBayesError):
    """A problem with the command line itself (exit status 2)."""


def _fail(message: str) -> typer.Exit:
    err_console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(2)


def _check_out(out: Path, force: bool) -> None:
    from fd_bayes.report import OUTPUT_FILES

    if out.exists() and not out.is_dir():
        raise UsageProblem(f"--out {out} exists and is not a folder")
    clash = [n for n in (*OUTPUT_FILES, *TRIAL_FILES, FIT_FILE) if (out / n).exists()]
    if clash and not force:
        raise UsageProblem(
            f"{out} already holds results ({', '.join(clash)}); choose another --out or pass "
            "--force to overwrite them"
        )


def _run(trial, model, out: Path, force: bool, **fit_kwargs) -> None:
    import fd_bayes as fdb
    from fd_bayes.report import write_report

    _check_out(out, force)
    out_console.print(
        f"[bold]fd_bayes[/] {fdb.__version__}: fitting [cyan]{model}[/] to {trial!r}",
        highlight=False,
    )
    out_console.print(
        "Compiling the model (about 20 s the first time in a process), then sampling ...",
        highlight=False,
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", FdBayesWarning)
        fit = fdb.fit(trial, model, progress=True, **fit_kwargs)
    for w in caught:
        if issubclass(w.category, FdBayesWarning):
            err_console.print(f"[bold yellow]warning:[/] {w.message}", highlight=False)
    out.mkdir(parents=True, exist_ok=True)
    fit.save(out / FIT_FILE)
    paths = write_report(fit, out)
    paths.update(_write_frequentist(fit, trial, out, fit_kwargs.get("seed")))
    _print_headline(fit)
    out_console.print(f"Wrote {', '.join(str(p) for p in [*paths.values(), out / FIT_FILE])}")


def _write_frequentist(fit, trial, out: Path, seed) -> dict:
    """The classical comparisons and the side-by-side table (need the data, not the fit)."""
    from fd_bayes import frequentist
    from fd_bayes.disclosure import suppress_small_cells
    from fd_bayes.report.side_by_side import side_by_side

    out_console.print("Running the frequentist comparisons ...", highlight=False)
    table = frequentist.compare(trial, seed=seed if seed is not None else fit.info["seed"])
    paths = {name: out / name for name in TRIAL_FILES}
    suppress_small_cells(table).to_csv(paths["frequentist.csv"], index=False)
    side_by_side(fit, table).to_csv(paths["side_by_side.csv"], index=False)
    return paths


def _print_headline(fit) -> None:
    effects = fit.effects()
    show = effects[effects["level"].isin(["crime_type", "overall", "harm"])]
    show = show[(show["level"] != "harm") | (show["age_band"] == "all")]
    table = RichTable(title="Rate ratios (treatment vs control), 95% HDI")
    for col in ("outcome", "estimate", "RR median", "HDI", "P(reduction)", "P(>=50%)"):
        table.add_column(col)
    for _, r in show.iterrows():
        label = r["level"] if r["level"] != "crime_type" else r["crime_type"]
        table.add_row(
            str(r["outcome"]),
            str(label),
            f"{r['rr_median']:.2f}",
            f"{r['rr_lower']:.2f}-{r['rr_upper']:.2f}",
            f"{r['p_reduction']:.2f}",
            f"{r['p_reduction_50']:.2f}",
        )
    out_console.print(table)
    d = fit.diagnostics()
    out_console.print(
        f"Diagnostics: max R-hat {d['max_rhat']:.3f}, min bulk ESS {d['min_ess_bulk']:.0f}, "
        f"min tail ESS {d['min_ess_tail']:.0f}, divergences {d['divergences']}",
        highlight=False,
    )


@app.command()
def demo(
    out: Annotated[Path, typer.Option(help="Folder for the results.")] = Path("demo-output"),
    draws: Draws = DEFAULT_DRAWS,
    tune: Tune = DEFAULT_TUNE,
    chains: Chains = DEFAULT_CHAINS,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 1,
    sampler: Sampler = "auto",
    force: Force = False,
) -> None:
    """Fit the default model to the embedded (synthetic) example trial and write a report."""
    import fd_bayes as fdb

    _run(
        fdb.example_trial(),
        DEFAULT_MODEL,
        out,
        force,
        draws=draws,
        tune=tune,
        chains=chains,
        seed=seed,
        sampler=sampler,
    )


@app.command("fit")
def fit_command(
    data: Annotated[
        Path, typer.Argument(help="CSV in the canonical long format.", metavar="DATA.csv")
    ],
    out: Annotated[Path, typer.Option(help="Folder for the results.")],
    model: Annotated[str, typer.Option(help="Catalogue name or path to a .toml spec.")] = (
        DEFAULT_MODEL
    ),
    draws: Draws = DEFAULT_DRAWS,
    tune: Tune = DEFAULT_TUNE,
    chains: Chains = DEFAULT_CHAINS,
    seed: Annotated[int | None, typer.Option(help="Random seed (recorded).")] = None,
    sampler: Sampler = "auto",
    force: Force = False,
) -> None:
    """Fit a model to a trial CSV and write effects.csv, summary.md, forest.png and fit.nc."""
    import fd_bayes as fdb

    trial = fdb.Trial.read_csv(data)
    fdb.load_spec(model)  # fail on a bad spec before any work
    _run(
        trial, model, out, force, draws=draws, tune=tune, chains=chains, seed=seed, sampler=sampler
    )


@app.command()
def models() -> None:
    """List the model catalogue."""
    from fd_bayes.spec import available_models

    table = RichTable(title="fd_bayes model catalogue")
    table.add_column("name", style="cyan")
    table.add_column("description")
    for name, description in available_models().items():
        table.add_row(name, description)
    out_console.print(table)


def main() -> None:
    """Entry point of the ``fd-bayes`` console script."""
    try:
        code = app(standalone_mode=False)
    except DataError as exc:
        raise SystemExit(_fail(exc.one_line()).exit_code) from None
    except FdBayesError as exc:
        text = " ".join(str(exc).split())
        raise SystemExit(_fail(text).exit_code) from None
    except typer.Exit as exc:
        raise SystemExit(exc.exit_code) from None
    except Exception as exc:  # usage errors and aborts of the (vendored) click parser
        if hasattr(exc, "show") and hasattr(exc, "exit_code"):
            exc.show()
            raise SystemExit(2) from None
        if type(exc).__name__ == "Abort":
            raise SystemExit(130) from None
        raise
    if isinstance(code, int) and code:
        raise SystemExit(code)


if __name__ == "__main__":  # pragma: no cover
    main()
