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

from fd_bayes.constants import (
    DEFAULT_CHAINS,
    DEFAULT_DRAWS,
    DEFAULT_MODEL,
    DEFAULT_OUTCOME,
    DEFAULT_TARGET_ACCEPT,
    DEFAULT_TUNE,
    META_TARGET_ACCEPT,
)
from fd_bayes.errors import DataError, FdBayesError, FdBayesWarning

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
TargetAccept = Annotated[
    float,
    typer.Option(
        min=0.5,
        max=0.999,
        help="NUTS target acceptance rate: raise it (0.95, 0.99) when the diagnostics "
        "report divergent transitions; smaller steps, slower sampling.",
    ),
]
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
    clash = [
        n for n in (*OUTPUT_FILES, *REPORT_FILES, *TRIAL_FILES, FIT_FILE) if (out / n).exists()
    ]
    if clash and not force:
        raise UsageProblem(
            f"{out} already holds results ({', '.join(clash)}); choose another --out or pass "
            "--force to overwrite them"
        )


def _run(trial, model, out: Path, force: bool, **fit_kwargs):
    import fd_bayes as fdb
    from fd_bayes import frequentist
    from fd_bayes.report.full import report as full_report

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
    out_console.print("Running the frequentist comparisons ...", highlight=False)
    seed = fit_kwargs.get("seed")
    table = frequentist.compare(trial, seed=seed if seed is not None else fit.info["seed"])
    paths = full_report(fit, out, frequentist=table)
    _print_headline(fit)
    out_console.print(f"Wrote {', '.join(str(p) for p in [*paths.values(), out / FIT_FILE])}")
    return fit


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
    target_accept: TargetAccept = DEFAULT_TARGET_ACCEPT,
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
        target_accept=target_accept,
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
    target_accept: TargetAccept = DEFAULT_TARGET_ACCEPT,
    force: Force = False,
) -> None:
    """Fit a model to a trial CSV and write effects.csv, summary.md, forest.png and fit.nc."""
    import fd_bayes as fdb

    trial = fdb.Trial.read_csv(data)
    fdb.load_spec(model)  # fail on a bad spec before any work
    _run(
        trial,
        model,
        out,
        force,
        draws=draws,
        tune=tune,
        chains=chains,
        seed=seed,
        sampler=sampler,
        target_accept=target_accept,
    )


@app.command("report")
def report_command(
    folder: Annotated[
        Path, typer.Argument(help="Folder holding fit.nc (from `demo` or `fit`).", metavar="DIR")
    ],
    force: Force = False,
) -> None:
    """Re-render the full report from DIR/fit.nc without refitting (seconds).

    Uses DIR/frequentist.csv for the p-values and side-by-side table when it is there.
    """
    import pandas as pd

    import fd_bayes as fdb
    from fd_bayes.report.full import report

    if not (folder / FIT_FILE).exists():
        raise UsageProblem(f"{folder} holds no {FIT_FILE}; run `fd-bayes fit` or `demo` first")
    clash = [n for n in REPORT_FILES if (folder / n).exists()]
    if clash and not force:
        raise UsageProblem(
            f"{folder} already holds a report ({', '.join(clash)}); pass --force to re-render it"
        )
    fit = fdb.load(folder / FIT_FILE)
    frequentist = None
    if (folder / TRIAL_FILES[0]).exists():
        frequentist = pd.read_csv(folder / TRIAL_FILES[0])
    paths = report(fit, folder, frequentist=frequentist)
    out_console.print(f"Wrote {', '.join(str(p) for p in paths.values())}")


@app.command()
def models() -> None:
    """List the model catalogue: name, likelihood family and description."""
    from fd_bayes.modelling.spec import available_models, load_spec

    table = RichTable(title="fd_bayes model catalogue")
    table.add_column("name", style="cyan")
    table.add_column("family")
    table.add_column("description")
    for name, description in available_models().items():
        table.add_row(name, load_spec(name).family, description)
    out_console.print(table)


@app.command("compare")
def compare_command(
    folders: Annotated[
        list[Path],
        typer.Argument(
            help="Two or more folders holding fit.nc (from `fit` or `demo`), fitted to the "
            "same trial.",
            metavar="DIR...",
        ),
    ],
    out: Annotated[Path | None, typer.Option(help="Also write the table to this CSV file.")] = None,
    force: Force = False,
) -> None:
    """Compare saved fits by PSIS-LOO (elpd differences with standard errors)."""
    import fd_bayes as fdb

    if len(folders) < 2:
        raise UsageProblem("compare needs at least two folders holding fit.nc")
    fits = {}
    for folder in folders:
        if not (folder / FIT_FILE).exists():
            raise UsageProblem(f"{folder} holds no {FIT_FILE}; run `fd-bayes fit` first")
        fit = fdb.load(folder / FIT_FILE)
        name = f"{folder.name} ({fit.info.get('model')})"
        if name in fits:
            name = f"{folder} ({fit.info.get('model')})"
        fits[name] = fit
    if out is not None:
        _check_out_file(out, force)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", FdBayesWarning)
        table = fdb.compare(fits)
    for w in caught:
        if issubclass(w.category, FdBayesWarning):
            err_console.print(f"[bold yellow]warning:[/] {w.message}", highlight=False)
    view = RichTable(title="PSIS-LOO comparison (best first; elpd_diff <= 0 is worse)")
    for col in ("model", "elpd_loo", "se", "elpd_diff", "dse", "p_loo", "k > 0.7"):
        view.add_column(col)
    for _, r in table.iterrows():
        view.add_row(
            str(r["model"]),
            f"{r['elpd_loo']:.1f}",
            f"{r['se']:.1f}",
            f"{r['elpd_diff']:.1f}",
            f"{r['dse']:.1f}",
            f"{r['p_loo']:.1f}",
            str(int(r["n_pareto_k_high"])),
        )
    out_console.print(view)
    out_console.print(
        "A difference smaller than about 2 x dse does not separate the models.", highlight=False
    )
    if out is not None:
        table.to_csv(out, index=False)
        out_console.print(f"Wrote {out}", highlight=False)


Out = Annotated[Path, typer.Option(help="CSV file to write.", metavar="FILE.csv")]
IndexDate = Annotated[
    str, typer.Option(help="Index (randomisation) date, YYYY-MM-DD.", metavar="YYYY-MM-DD")
]


def _check_out_file(out: Path, force: bool, what: str = "--out") -> None:
    if out.exists() and out.is_dir():
        raise UsageProblem(f"{what} {out} is a folder; give a file name such as {out}/out.csv")
    if out.exists() and not force:
        raise UsageProblem(
            f"{what} {out} already exists; choose another file or pass --force to overwrite it"
        )
    if not out.parent.exists():
        raise UsageProblem(f"{what} {out}: the folder {out.parent} does not exist")


def _read_table(path: Path, what: str):
    """Read a CSV as text columns (ids keep leading zeros; dates are parsed by fd_bayes)."""
    from fd_bayes.data.trial import read_table

    return read_table(path, what, dtype=str)


def _parse_n_treat(values: list[str]):
    """['11-17=20', '18-25=0.3'] -> {'11-17': 20, '18-25': 0.3}; ['45'] or ['0.25'] -> 45 / 0.25."""

    def number(text: str, item: str):
        text = text.strip()
        try:
            return int(text)
        except ValueError:
            pass
        try:
            return float(text)
        except ValueError:
            raise UsageProblem(
                f"--n-treat {item!r}: {text!r} is not a count or a proportion; write STRATUM=N "
                "per stratum (e.g. --n-treat 11-17=20), or one number (20 or 0.25) for all"
            ) from None

    if len(values) == 1 and "=" not in values[0]:
        return number(values[0], values[0])
    out: dict[str, int | float] = {}
    for item in values:
        label, sep, value = item.partition("=")
        if not sep or not label.strip():
            raise UsageProblem(
                f"--n-treat {item!r}: write STRATUM=N for each stratum (e.g. --n-treat 11-17=20 "
                "--n-treat 18-25=25), or one number for every stratum"
            )
        if label.strip() in out:
            raise UsageProblem(f"--n-treat names stratum {label.strip()!r} twice")
        out[label.strip()] = number(value, item)
    return out


@app.command()
def cohort(
    events: Annotated[
        Path,
        typer.Argument(help="Events CSV: person_id, date, crime_type, role.", metavar="EVENTS.csv"),
    ],
    persons: Annotated[
        Path, typer.Argument(help="Persons CSV: person_id, date_of_birth.", metavar="PERSONS.csv")
    ],
    index_date: IndexDate,
    out: Out,
    flow_out: Annotated[
        Path | None,
        typer.Option(
            "--flow", help="Also write the CONSORT-style flow as CSV.", metavar="FLOW.csv"
        ),
    ] = None,
    drop_duplicates: Annotated[
        bool,
        typer.Option(
            "--drop-duplicates",
            help="Keep one of each duplicate event (reported in the flow) instead of failing.",
        ),
    ] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Overwrite existing output files.")
    ] = False,
) -> None:
    """Find the eligible cohort (the seed's knife rule) at an index date and write it as CSV."""
    from fd_bayes.data.cohort import KNIFE_RULE, eligible

    _check_out_file(out, force)
    if flow_out is not None:
        _check_out_file(flow_out, force, "--flow")
    result = eligible(
        _read_table(events, "events"),
        _read_table(persons, "persons"),
        index_date,
        rule=KNIFE_RULE,
        return_flow=True,
        duplicates="drop" if drop_duplicates else "error",
    )
    table = RichTable(title=f"Eligibility at {index_date}: {KNIFE_RULE.describe()}")
    for col in ("step", "unit", "count"):
        table.add_column(col)
    for _, r in result.flow.iterrows():
        table.add_row(str(r["step"]), str(r["unit"]), f"{r['count']:,}")
    out_console.print(table)
    result.cohort.to_csv(out, index=False)
    written = [str(out)]
    if flow_out is not None:
        result.flow.to_csv(flow_out, index=False)
        written.append(str(flow_out))
    out_console.print(
        f"Wrote {len(result.cohort)} eligible people to {', '.join(written)} "
        "(identifiable: keep with the trial's working files)",
        highlight=False,
    )


@app.command("randomise")
def randomise_command(
    cohort_csv: Annotated[
        Path, typer.Argument(help="Cohort CSV (from `fd-bayes cohort`).", metavar="COHORT.csv")
    ],
    n_treat: Annotated[
        list[str],
        typer.Option(
            help="Treated per stratum, STRATUM=N (repeat per stratum); N a count or a "
            "proportion (0.25). One number without '=' applies to every stratum.",
            metavar="STRATUM=N",
        ),
    ],
    seed: Annotated[int, typer.Option(min=0, help="Random seed (recorded in the audit file).")],
    out: Out,
    strata: Annotated[
        str, typer.Option(help="Strata column(s), comma-separated; 'none' for no strata.")
    ] = "age_band",
    audit: Annotated[
        Path | None,
        typer.Option(
            help="Audit record (JSON). Default: OUT with .audit.json.", metavar="FILE.json"
        ),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Overwrite existing output files.")
    ] = False,
) -> None:
    """Randomise a cohort: exactly N treated per stratum; writes the allocation and audit record."""
    from fd_bayes.data.randomise import randomise

    audit = audit if audit is not None else out.with_suffix(".audit.json")
    _check_out_file(out, force)
    _check_out_file(audit, force, "--audit")
    columns = None if strata.strip().lower() == "none" else [s.strip() for s in strata.split(",")]
    allocation = randomise(
        _read_table(cohort_csv, "cohort"),
        n_treat=_parse_n_treat(n_treat),
        strata=columns,
        seed=seed,
    )
    counts = RichTable(title=f"Allocation (seed {seed})")
    for col in ("stratum", "treatment", "control", "total"):
        counts.add_column(col)
    for label, c in allocation.audit["counts"].items():
        counts.add_row(label, str(c["treatment"]), str(c["control"]), str(c["total"]))
    out_console.print(counts)
    allocation.table.to_csv(out, index=False)
    allocation.write_audit(audit)
    out_console.print(
        f"Wrote {out} (identifiable: never publish) and {audit} (cohort hash "
        f"{allocation.audit['cohort_hash'][:12]}..., no person ids)",
        highlight=False,
    )


@app.command()
def counts(
    events: Annotated[
        Path,
        typer.Argument(help="Events CSV: person_id, date, crime_type, role.", metavar="EVENTS.csv"),
    ],
    allocation: Annotated[
        Path,
        typer.Argument(
            help="Allocation CSV (from `fd-bayes randomise`).", metavar="ALLOCATION.csv"
        ),
    ],
    out: Out,
    index_date: Annotated[
        str | None,
        typer.Option(
            help="Index date, YYYY-MM-DD (optional when the allocation has an index_date column).",
            metavar="YYYY-MM-DD",
        ),
    ] = None,
    custody: Annotated[
        Path | None,
        typer.Option(help="Custody spells CSV: person_id, start, end.", metavar="CUSTODY.csv"),
    ] = None,
    follow_up_days: Annotated[int, typer.Option(min=1, help="Follow-up length in days.")] = 365,
    crime_type: Annotated[
        list[str] | None,
        typer.Option(help="Crime type to count (repeat; default: every type in the events)."),
    ] = None,
    drop_duplicates: Annotated[
        bool, typer.Option("--drop-duplicates", help="Keep one of each duplicate event.")
    ] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Overwrite an existing --out file.")
    ] = False,
) -> None:
    """Count pre/follow-up events per person x crime type x outcome: the CSV that `fit` reads."""
    import fd_bayes as fdb
    from fd_bayes.data.outcomes import counts_from_events

    _check_out_file(out, force)
    table = counts_from_events(
        _read_table(events, "events"),
        _read_table(allocation, "allocation"),
        index_date,
        follow_up_days=follow_up_days,
        custody=None if custody is None else _read_table(custody, "custody"),
        crime_types=crime_type or None,
        duplicates="drop" if drop_duplicates else "error",
    )
    trial = fdb.Trial.from_counts(table)  # the written file is one `fd-bayes fit` accepts
    table.to_csv(out, index=False)
    out_console.print(f"Wrote {len(table):,} rows to {out}: {trial!r}", highlight=False)


@app.command()
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
    force: Force = False,
) -> None:
    """Pool trials: published estimates (meta-analysis) or individual data (--ipd)."""
    import fd_bayes as fdb
    from fd_bayes.meta.pooling import AGGREGATE_FILES, pool_aggregate, read_aggregate

    # unset: each analysis keeps its own default (fit's or meta.bayes's)
    accept = {} if target_accept is None else {"target_accept": target_accept}

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
        if out.exists() and not out.is_dir():
            raise UsageProblem(f"--out {out} exists and is not a folder")
        clash = [n for n in AGGREGATE_FILES if (out / n).exists()]
        if clash and not force:
            raise UsageProblem(
                f"{out} already holds results ({', '.join(clash)}); choose another --out or "
                "pass --force to overwrite them"
            )
        labels, yi, vi = read_aggregate(files[0])
        out_console.print(f"Pooling {len(labels)} trials from {files[0]} ...", highlight=False)
        paths = pool_aggregate(
            labels,
            yi,
            vi,
            out,
            method=method,
            test=test,
            prior_tau=prior_tau,
            prior_tau_scale=prior_tau_scale,
            draws=draws,
            tune=tune,
            chains=chains,
            seed=seed,
            **accept,
        )
        out_console.print((out / "pooled.md").read_text(encoding="utf-8"), highlight=False)
        out_console.print(f"Wrote {', '.join(str(p) for p in paths.values())}")
        return
    if names and len(names) != len(files):
        raise UsageProblem(f"{len(files)} --ipd files but {len(names)} --name labels")
    extra = {}
    if published is not None:
        extra["published"] = fdb.Published.from_table(
            published, outcome=published_outcome, crime_type=published_crime_type
        )
    trials = [fdb.Trial.read_csv(f) for f in files]
    fdb.load_spec(model)  # fail on a bad spec before any work
    if len(trials) == 1 and len(trials[0].trials) > 1:
        trial = trials[0]  # one file that already has a trial column
    else:
        labels = list(names) if names else [f.stem for f in files]
        trial = fdb.Trial.concat(trials, names=labels, name=f"{len(trials)} pooled trials")
    fit = _run(
        trial,
        model,
        out,
        force,
        draws=draws,
        tune=tune,
        chains=chains,
        seed=seed,
        sampler=sampler,
        **accept,
        **extra,
    )
    from fd_bayes.meta.pooling import trial_rows_markdown

    (out / "pooled.md").write_text(trial_rows_markdown(fit.effects()), encoding="utf-8")
    out_console.print(f"Wrote {out / 'pooled.md'} (trial and new-site rows)", highlight=False)


PLAN_FILES = (
    "assurance.csv",
    "simulations.csv",
    "plan.md",
    "assurance_curve.png",
    "assurance_curve.svg",
)


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


@app.command("plan")
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
    import fd_bayes as fdb
    from fd_bayes import plan

    if out.exists() and not out.is_dir():
        raise UsageProblem(f"--out {out} exists and is not a folder")
    clash = [n for n in PLAN_FILES if (out / n).exists()]
    if clash and not force:
        raise UsageProblem(
            f"{out} already holds results ({', '.join(clash)}); choose another --out or pass "
            "--force to overwrite them"
        )
    fit = None
    if source.is_dir():
        if not (source / FIT_FILE).exists():
            raise UsageProblem(f"{source} holds no {FIT_FILE}; run `fd-bayes fit` or `demo` first")
        fit = fdb.load(source / FIT_FILE)
        base = fit
    elif source.exists():
        base = fdb.Trial.read_csv(source)
    else:
        raise UsageProblem(f"--from {source} does not exist")
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
        draws=draws,
        tune=tune,
        chains=chains,
        false_positive=null,
        workers=workers,
    )
    out_console.print(
        f"Simulating {sims} replications of {design.size_label()} (treated/control) "
        f"{'per size ' if search else ''}with {model}; each fit {chains} chains x {draws} "
        f"draws after {tune} warm-up ...",
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
