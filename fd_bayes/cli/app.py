"""The ``fd-bayes`` application: the typer app, its commands in the order ``--help`` lists
them, and :func:`main`, which turns errors into one line on stderr and an exit status.

Bad input prints one line on stderr and exits with status 2, never a traceback. An
output folder that already holds results is never overwritten without ``--force``.
"""

from __future__ import annotations

import typer

from fd_bayes.cli.cache import cache_app
from fd_bayes.cli.common import err_console
from fd_bayes.cli.fitting import compare_command, demo, fit_command, models, report_command
from fd_bayes.cli.planning import claims_command, plan_command
from fd_bayes.cli.pooling import pool
from fd_bayes.cli.records import cohort, counts, randomise_command
from fd_bayes.errors import DataError, FdBayesError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Bayesian causal analysis of small randomised trials in policing and youth violence.",
)
app.command()(demo)
app.command("fit")(fit_command)
app.command("report")(report_command)
app.command()(models)
app.command("compare")(compare_command)
app.command()(cohort)
app.command("randomise")(randomise_command)
app.command()(counts)
app.command()(pool)
app.command("plan")(plan_command)
app.command("claims")(claims_command)
app.add_typer(cache_app, name="cache")


def _fail(message: str) -> typer.Exit:
    err_console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(2)


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
