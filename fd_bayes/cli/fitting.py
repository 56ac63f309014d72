"""The fitting commands: ``demo``, ``fit``, ``report``, ``models`` and ``compare``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table as RichTable

from fd_bayes.cli.common import (
    FIT_FILE,
    REPORT_FILES,
    TRIAL_FILES,
    Adapt,
    Chains,
    Draws,
    Force,
    Sampler,
    TargetAccept,
    Tune,
    UsageProblem,
    check_out_file,
    check_out_folder,
    echo_warnings,
    out_console,
    sampler_settings,
)
from fd_bayes.constants import (
    DEFAULT_CHAINS,
    DEFAULT_DRAWS,
    DEFAULT_MODEL,
    DEFAULT_TARGET_ACCEPT,
    DEFAULT_TUNE,
)

if TYPE_CHECKING:
    from fd_bayes.inference import SamplerSettings


def check_out(out: Path, force: bool) -> None:
    """The guard of a fitting command's folder: every file `demo`/`fit` write."""
    from fd_bayes.report import OUTPUT_FILES

    check_out_folder(
        out, (*OUTPUT_FILES, *REPORT_FILES, *TRIAL_FILES, FIT_FILE, "claims.csv"), force
    )


#: The copy of the claims file that `fit`/`demo --claims` keep beside the fit, which
#: `report DIR` reads again.
CLAIMS_FILE = "claims.toml"

Claims = Annotated[
    Path | None,
    typer.Option(
        help="TOML file of claims stated before the data (pre-registration): the report "
        "leads with them and marks the rest exploratory.",
        metavar="FILE",
    ),
]


def run_fit(
    trial,
    model,
    out: Path,
    force: bool,
    settings: SamplerSettings,
    seed,
    claims: Path | None = None,
    **extra,
):
    """Fit ``model`` to ``trial``, save the fit and write the full report into ``out``.

    ``settings`` are the sampler options (already validated); ``claims`` a claims file
    (checked before the fit, copied into ``out``); ``extra`` goes to
    :func:`fd_bayes.fit` as well (``published=``).
    """
    from fd_bayes.results.claims import load_claims

    stated = None if claims is None else load_claims(claims)  # a bad file fails first
    import fd_bayes as fdb
    from fd_bayes import frequentist
    from fd_bayes.report.full import report as full_report

    check_out(out, force)
    out_console.print(
        f"[bold]fd_bayes[/] {fdb.__version__}: fitting [cyan]{model}[/] to {trial!r}",
        highlight=False,
    )
    out_console.print(
        "Compiling the model (5-10 s the first time on this machine, under 2 s after), "
        "then sampling ...",
        highlight=False,
    )
    with echo_warnings():
        fit = fdb.fit(trial, model, seed=seed, settings=settings, **extra)
    out.mkdir(parents=True, exist_ok=True)
    fit.save(out / FIT_FILE)
    out_console.print("Running the frequentist comparisons ...", highlight=False)
    table = frequentist.compare(trial, seed=seed if seed is not None else fit.info["seed"])
    kept = out / CLAIMS_FILE
    if stated is not None:
        if Path(claims).resolve() != kept.resolve():
            kept.write_bytes(Path(claims).read_bytes())
        stated = load_claims(kept)
    else:
        kept.unlink(missing_ok=True)  # no stale claims for `report DIR`
    paths = full_report(fit, out, frequentist=table, claims=stated)
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
        if not bool(r.get("informed", True)):  # no estimate read off what the data barely moved
            table.add_row(str(r["outcome"]), str(label), "–", "–", "weakly informed", "")
            continue
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
    note = fit.sampling_note()
    if note:
        out_console.print(note, highlight=False)


def demo(
    out: Annotated[Path, typer.Option(help="Folder for the results.")] = Path("demo-output"),
    draws: Draws = DEFAULT_DRAWS,
    tune: Tune = DEFAULT_TUNE,
    chains: Chains = DEFAULT_CHAINS,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 1,
    sampler: Sampler = "auto",
    target_accept: TargetAccept = DEFAULT_TARGET_ACCEPT,
    adapt: Adapt = True,
    claims: Claims = None,
    force: Force = False,
) -> None:
    """Fit the default model to the embedded (synthetic) example trial and write a report."""
    import fd_bayes as fdb

    settings = sampler_settings(
        draws, tune, chains, sampler=sampler, target_accept=target_accept, adapt=adapt
    )
    run_fit(fdb.example_trial(), DEFAULT_MODEL, out, force, settings, seed, claims=claims)


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
    adapt: Adapt = True,
    claims: Claims = None,
    force: Force = False,
) -> None:
    """Fit a model to a trial CSV and write effects.csv, summary.md, forest.png and fit.nc."""
    import fd_bayes as fdb

    settings = sampler_settings(
        draws, tune, chains, sampler=sampler, target_accept=target_accept, adapt=adapt
    )
    trial = fdb.Trial.read_csv(data)
    fdb.load_spec(model)  # fail on a bad spec before any work
    run_fit(trial, model, out, force, settings, seed, claims=claims)


def report_command(
    folder: Annotated[
        Path, typer.Argument(help="Folder holding fit.nc (from `demo` or `fit`).", metavar="DIR")
    ],
    force: Force = False,
) -> None:
    """Re-render the full report from DIR/fit.nc without refitting (seconds).

    Uses DIR/frequentist.csv for the p-values and side-by-side table, and DIR/claims.toml
    for the pre-registered claims, when they are there.
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
    claims = folder / CLAIMS_FILE
    paths = report(fit, folder, frequentist=frequentist, claims=claims if claims.exists() else None)
    out_console.print(f"Wrote {', '.join(str(p) for p in paths.values())}")


def models() -> None:
    """List the model catalogue: name, likelihood family and description."""
    from fd_bayes.modelling import available_models, load_spec

    table = RichTable(title="fd_bayes model catalogue")
    table.add_column("name", style="cyan")
    table.add_column("family")
    table.add_column("description")
    for name, description in available_models().items():
        table.add_row(name, load_spec(name).family, description)
    out_console.print(table)


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
        check_out_file(out, force)
    with echo_warnings():
        table = fdb.compare(fits)
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
