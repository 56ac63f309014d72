"""``fd-bayes pool``: published estimates (meta-analysis) or individual data (``--ipd``)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from fd_bayes.cli.common import (
    Adapt,
    Chains,
    Draws,
    Force,
    Sampler,
    Tune,
    UsageProblem,
    check_out_folder,
    out_console,
    sampler_settings,
)
from fd_bayes.cli.fitting import run_fit
from fd_bayes.constants import (
    DEFAULT_CHAINS,
    DEFAULT_DRAWS,
    DEFAULT_OUTCOME,
    DEFAULT_TARGET_ACCEPT,
    DEFAULT_TUNE,
    META_TARGET_ACCEPT,
)

if TYPE_CHECKING:
    from fd_bayes.inference import SamplerSettings


def pool(
    files: Annotated[
        list[Path],
        typer.Argument(
            help="A trials CSV (columns trial + yi, vi (or sei), or events_t, exposure_t, "
            "events_c, exposure_c); with --ipd, one canonical counts CSV per trial.",
            metavar="TRIALS.csv | A.csv B.csv ...",
        ),
    ],
    out: Annotated[Path, typer.Option(help="Folder for the results.")],
    ipd: Annotated[
        bool,
        typer.Option(
            "--ipd",
            help="Pool individual data: concatenate the trials and fit negbin_pooled.",
        ),
    ] = False,
    names: Annotated[
        list[str] | None,
        typer.Option("--name", help="Trial label per --ipd file, in order (default: file stem)."),
    ] = None,
    model: Annotated[str, typer.Option(help="Model for --ipd (catalogue name or .toml).")] = (
        "negbin_pooled"
    ),
    published: Annotated[
        Path | None,
        typer.Option(
            help="With --ipd: a trials CSV of published estimates (as for the aggregate "
            "form) pooled with the individual data in one model (one stage).",
        ),
    ] = None,
    published_outcome: Annotated[
        str, typer.Option(help="The outcome the --published estimates are about.")
    ] = DEFAULT_OUTCOME,
    published_crime_type: Annotated[
        str,
        typer.Option(help="The crime type the --published estimates are about ('all': overall)."),
    ] = "all",
    method: Annotated[str, typer.Option(help="Heterogeneity estimator: REML, DL, PM or FE.")] = (
        "REML"
    ),
    test: Annotated[str, typer.Option(help="z or knha (Knapp-Hartung).")] = "z",
    prior_tau: Annotated[
        str, typer.Option(help="Prior on tau: halfnormal, halfcauchy or turner.")
    ] = "halfnormal",
    prior_tau_scale: Annotated[float, typer.Option(min=0.0, help="Scale of the tau prior.")] = 0.5,
    draws: Draws = DEFAULT_DRAWS,
    tune: Tune = DEFAULT_TUNE,
    chains: Chains = DEFAULT_CHAINS,
    seed: Annotated[int | None, typer.Option(help="Random seed (recorded).")] = None,
    sampler: Sampler = "auto",
    target_accept: Annotated[
        float | None,
        typer.Option(
            min=0.5,
            max=0.999,
            help=f"NUTS target acceptance rate (default: {DEFAULT_TARGET_ACCEPT} with --ipd, "
            f"{META_TARGET_ACCEPT} for the meta-analysis); raise it when the diagnostics "
            "report divergent transitions.",
        ),
    ] = None,
    adapt: Adapt = True,
    force: Force = False,
) -> None:
    """Pool trials: published estimates (meta-analysis) or individual data (--ipd)."""
    if not ipd:
        if published is not None:
            raise UsageProblem(
                "--published pools published estimates with individual data (--ipd); "
                "without --ipd, give the published trials as the trials CSV itself"
            )
        if len(files) != 1:
            raise UsageProblem(
                "pool takes one trials CSV of published estimates; to pool individual data "
                "from several files, add --ipd"
            )
        # unset: the meta-analysis keeps its own default (META_TARGET_ACCEPT)
        accept = META_TARGET_ACCEPT if target_accept is None else target_accept
        settings = sampler_settings(
            draws, tune, chains, target_accept=accept, progress=False
        )  # meta.bayes shows no progress bar
        meta_options = {
            "method": method,
            "test": test,
            "prior_tau": prior_tau,
            "prior_tau_scale": prior_tau_scale,
        }
        _pool_published(files[0], out, force, settings, seed, meta_options)
        return
    # unset: fit's default (DEFAULT_TARGET_ACCEPT)
    accept = DEFAULT_TARGET_ACCEPT if target_accept is None else target_accept
    settings = sampler_settings(
        draws, tune, chains, sampler=sampler, target_accept=accept, adapt=adapt
    )
    if names and len(names) != len(files):
        raise UsageProblem(f"{len(files)} --ipd files but {len(names)} --name labels")
    extra = {}
    if published is not None:
        import fd_bayes as fdb

        extra["published"] = fdb.Published.from_table(
            published, outcome=published_outcome, crime_type=published_crime_type
        )
    _pool_ipd(files, names, model, out, force, settings, seed, extra)


def _pool_published(
    file: Path, out: Path, force: bool, settings: SamplerSettings, seed, meta_options: dict
) -> None:
    """The aggregate form: one trials CSV of published estimates, meta-analysed."""
    from fd_bayes.data.aggregate import read_aggregate
    from fd_bayes.report.pooled import AGGREGATE_FILES, pool_aggregate

    check_out_folder(out, AGGREGATE_FILES, force)
    labels, yi, vi = read_aggregate(file)
    out_console.print(f"Pooling {len(labels)} trials from {file} ...", highlight=False)
    paths = pool_aggregate(
        labels,
        yi,
        vi,
        out,
        **meta_options,
        seed=seed,
        settings=settings,
    )
    out_console.print((out / "pooled.md").read_text(encoding="utf-8"), highlight=False)
    out_console.print(f"Wrote {', '.join(str(p) for p in paths.values())}")


def _pool_ipd(
    files: list[Path],
    names: list[str] | None,
    model: str,
    out: Path,
    force: bool,
    settings: SamplerSettings,
    seed,
    extra: dict,
) -> None:
    """The individual-data form: the trials concatenated and fitted as one (``extra``: the
    published estimates of the one-stage model)."""
    import fd_bayes as fdb
    from fd_bayes.report.trials import trial_rows_markdown

    trials = [fdb.Trial.read_csv(f) for f in files]
    fdb.load_spec(model)  # fail on a bad spec before any work
    if len(trials) == 1 and len(trials[0].trials) > 1:
        trial = trials[0]  # one file that already has a trial column
    else:
        labels = list(names) if names else [f.stem for f in files]
        trial = fdb.Trial.concat(trials, names=labels, name=f"{len(trials)} pooled trials")
    fit = run_fit(trial, model, out, force, settings, seed, **extra)
    (out / "pooled.md").write_text(trial_rows_markdown(fit.effects()), encoding="utf-8")
    out_console.print(f"Wrote {out / 'pooled.md'} (trial and new-site rows)", highlight=False)
