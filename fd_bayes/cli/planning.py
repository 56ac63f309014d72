"""``fd-bayes plan``: the assurance of a replication by simulation, and its size."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from fd_bayes.cli.common import (
    FIT_FILE,
    PLAN_FILES,
    Force,
    UsageProblem,
    check_out_folder,
    out_console,
    sampler_settings,
)
from fd_bayes.constants import DEFAULT_MODEL


def _plan_source(source: Path):
    """``--from``: (the fit or None, what the design is taken from: the fit or a trial)."""
    import fd_bayes as fdb

    if source.is_dir():
        if not (source / FIT_FILE).exists():
            raise UsageProblem(f"{source} holds no {FIT_FILE}; run `fd-bayes fit` or `demo` first")
        fit = fdb.load(source / FIT_FILE)
        return fit, fit
    if source.exists():
        return None, fdb.Trial.read_csv(source)
    raise UsageProblem(f"--from {source} does not exist")


def _plan_effect(values: list[str] | None, fit, discount: float):
    """--effect: 'posterior' (the --from fit's), one rate ratio, or CRIME=RR per crime type."""
    from fd_bayes import plan

    if not values or values == ["posterior"]:
        if fit is None:
            raise UsageProblem(
                "--effect posterior needs --from a folder with a saved fit; give a rate ratio "
                "(--effect 0.6) or one per crime type (--effect knife=0.5)"
            )
        return plan.effect_from(fit, discount=discount)
    try:
        if len(values) == 1 and "=" not in values[0]:
            return float(values[0])
        out = {}
        for item in values:
            key, sep, value = item.partition("=")
            if not sep:
                raise ValueError
            out[key.strip()] = float(value)
        return out
    except ValueError:
        raise UsageProblem(
            f"--effect {' '.join(values)!r}: write 'posterior', one rate ratio (0.6) or "
            "CRIME=RR per crime type (--effect knife=0.5 --effect violence=0.7)"
        ) from None


def plan_command(
    source: Annotated[
        Path,
        typer.Option(
            "--from",
            help="A folder with a saved fit (fd-bayes fit/demo --out) or a counts CSV: the "
            "design, rates and dispersion to simulate from.",
            metavar="DIR|DATA.csv",
        ),
    ],
    out: Annotated[Path, typer.Option(help="Folder for the plan.", metavar="PLAN")],
    treated: Annotated[
        list[str] | None,
        typer.Option(help="Treated per age band, BAND=N (repeat); default: the source's."),
    ] = None,
    control: Annotated[
        list[str] | None,
        typer.Option(help="Controls per age band, BAND=N (repeat); default: the source's."),
    ] = None,
    effect: Annotated[
        list[str] | None,
        typer.Option(
            help="True effect: 'posterior' (the fit's; default with a fit), a rate ratio, "
            "or CRIME=RR (repeat)."
        ),
    ] = None,
    discount: Annotated[
        float, typer.Option(min=1.0, help="Inflate the posterior effect's log-RR variance.")
    ] = 1.0,
    estimand: Annotated[
        str, typer.Option(help="Headline estimand: overall, a crime type, or CRIME/BAND.")
    ] = "overall",
    prob: Annotated[float, typer.Option(help="Success: P(reduction) above this.")] = 0.95,
    sims: Annotated[int, typer.Option(min=1, help="Simulated trials per size.")] = 200,
    null: Annotated[
        bool, typer.Option("--null/--no-null", help="Also simulate no effect (false positives).")
    ] = True,
    search: Annotated[
        bool, typer.Option("--search", help="Try several sizes; draw the assurance curve.")
    ] = False,
    target: Annotated[float, typer.Option(help="Target assurance for --search.")] = 0.8,
    size: Annotated[
        list[int] | None,
        typer.Option(help="Total treated to try with --search (repeat); default 0.5x-3x."),
    ] = None,
    model: Annotated[str, typer.Option(help="Model that analyses each simulation.")] = (
        DEFAULT_MODEL
    ),
    draws: Annotated[int, typer.Option(min=1, help="Draws per chain of each fit.")] = 400,
    tune: Annotated[int, typer.Option(min=0, help="Warm-up per chain of each fit.")] = 300,
    chains: Annotated[int, typer.Option(min=1, help="Chains of each fit.")] = 2,
    seed: Annotated[int | None, typer.Option(help="Study seed.")] = None,
    workers: Annotated[
        int | None, typer.Option(min=1, help="Local worker processes (default: all cores).")
    ] = None,
    scheduler: Annotated[
        str | None,
        typer.Option(help="Dask scheduler address (tcp://HOST:8786) to run on a cluster."),
    ] = None,
    force: Force = False,
) -> None:
    """Assurance of a replication by simulation (and, with --search, its size)."""
    from fd_bayes import plan

    settings = sampler_settings(draws, tune, chains)
    check_out_folder(out, PLAN_FILES, force)
    fit, base = _plan_source(source)
    design = plan.design_from(
        base,
        treated=plan.parse_sizes(treated) if treated else None,
        control=plan.parse_sizes(control) if control else None,
    )
    true_effect = _plan_effect(effect, fit, discount)
    client = None
    if scheduler:
        from dask.distributed import Client

        client = Client(scheduler)
    kwargs = dict(
        model=model,
        decision={"estimand": estimand, "prob": prob},
        n_sims=sims,
        seed=seed,
        client=client,
        settings=settings,  # plan runs each fit on one core, without a progress bar
        false_positive=null,
        workers=workers,
    )
    out_console.print(
        f"Simulating {sims} replications of {design.size_label()} (treated/control) "
        f"{'per size ' if search else ''}with {model}; each fit {settings.chains} chains x "
        f"{settings.draws} draws after {settings.tune} warm-up ...",
        highlight=False,
    )
    if search:
        result = plan.sample_size(design, true_effect, target=target, sizes=size or None, **kwargs)
    else:
        result = plan.assurance(design, true_effect, **kwargs)
    paths = plan.write_plan(result, out)
    out_console.print(result.summary(), highlight=False)
    out_console.print(f"Wrote {', '.join(str(p) for p in paths)}", highlight=False)
    if client is not None:
        client.close()


def claims_command(
    folder: Annotated[
        Path, typer.Argument(help="Folder holding fit.nc (from `demo` or `fit`).", metavar="DIR")
    ],
    sims: Annotated[int, typer.Option(min=1, help="Simulated trials per scenario.")] = 200,
    prob: Annotated[float, typer.Option(help="The claim: P(reduction) above this.")] = 0.95,
    draws: Annotated[int, typer.Option(min=1, help="Draws per chain of each fit.")] = 400,
    tune: Annotated[int, typer.Option(min=0, help="Warm-up per chain of each fit.")] = 300,
    chains: Annotated[int, typer.Option(min=1, help="Chains of each fit.")] = 2,
    seed: Annotated[int | None, typer.Option(help="Study seed.")] = None,
    workers: Annotated[
        int | None, typer.Option(min=1, help="Local worker processes (default: all cores).")
    ] = None,
    scheduler: Annotated[
        str | None,
        typer.Option(help="Dask scheduler address (tcp://HOST:8786) to run on a cluster."),
    ] = None,
    force: Force = False,
) -> None:
    """How often would the report's claims appear by chance? Simulate this design."""
    import fd_bayes as fdb
    from fd_bayes.plan.claims import STUDY_FILES, claims

    if not (folder / FIT_FILE).exists():
        raise UsageProblem(f"{folder} holds no {FIT_FILE}; run `fd-bayes fit` or `demo` first")
    check_out_folder(folder, STUDY_FILES, force)
    fit = fdb.load(folder / FIT_FILE)
    settings = sampler_settings(draws, tune, chains)
    client = None
    if scheduler:
        from dask.distributed import Client

        client = Client(scheduler)
    out_console.print(
        f"Simulating {sims} trials of this design with no effect and {sims} with the "
        f"estimated effects; each refitted with {fit.spec.name} ({settings.chains} chains x "
        f"{settings.draws} draws after {settings.tune} warm-up) ...",
        highlight=False,
    )
    study = claims(
        fit, sims, seed, threshold=prob, client=client, workers=workers, settings=settings
    )
    paths = study.write(folder)
    for line in study.sentences():
        out_console.print(f"- {line}", highlight=False)
    out_console.print(
        f"Wrote {', '.join(str(p) for p in paths.values())} ({study.seconds:.0f} s, "
        f"{study.where}). Re-render the report to add the section: "
        f"fd-bayes report {folder} --force",
        highlight=False,
    )
    if client is not None:
        client.close()
