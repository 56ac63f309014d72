"""The police-records commands: ``cohort``, ``randomise`` and ``counts``, each writing a CSV
a person can open (the last one the counts CSV that ``fit`` reads)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table as RichTable

from fd_bayes.cli.common import IndexDate, Out, UsageProblem, check_out_file, out_console


def _read_table(path: Path, what: str):
    """Read a CSV as text columns (ids keep leading zeros; dates are parsed by fd_bayes)."""
    from fd_bayes.data import read_table

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

    check_out_file(out, force)
    if flow_out is not None:
        check_out_file(flow_out, force, "--flow")
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
    check_out_file(out, force)
    check_out_file(audit, force, "--audit")
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

    check_out_file(out, force)
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
