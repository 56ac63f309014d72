"""``fd-bayes cache info|clear``: the compile cache of nutpie's models on this machine
(:mod:`fd_bayes.inference.compile_cache`)."""

from __future__ import annotations

import typer

from fd_bayes.cli.common import out_console

cache_app = typer.Typer(
    no_args_is_help=True,
    help="The compiled models kept between runs: where they are, and emptying them.",
)


@cache_app.command("info")
def info_command() -> None:
    """Where the compile cache is, what it holds and how much room that takes."""
    from fd_bayes.inference import compile_cache

    for line in compile_cache.info().lines():
        out_console.print(line, highlight=False, soft_wrap=True)


@cache_app.command("clear")
def clear_command() -> None:
    """Remove every compiled model (the next fit of each model compiles again)."""
    from fd_bayes.inference import compile_cache

    n = compile_cache.clear()
    out_console.print(
        f"removed {n} compiled model(s) from {compile_cache.cache_dir()}", highlight=False
    )
