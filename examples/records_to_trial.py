"""From police records to a fitted trial: cohort -> randomisation -> counts -> model.

Everything here is SYNTHETIC: the records come from ``fd_bayes.data.records.simulate_records``
and the "intervention" is simulated by thinning the treated people's suspect records
after the index date (true rate ratio 0.6 for offending, no effect on victimisation).
Nothing here is a finding about real young people.

Run::

    python examples/records_to_trial.py            # the full fit (about a minute)
    python examples/records_to_trial.py --quick    # 2 chains x 300 draws: a check only
    python examples/records_to_trial.py --out my-folder   # keep cohort, allocation, audit, counts

Steps:

1. records: events, persons and custody spells for 3,000 people around 1 January 2024;
2. cohort: the seed's knife rule at the index date, with the CONSORT-style flow;
3. randomisation: 20 treated aged 11-17 and 25 aged 18-25, seed fixed, audit record kept;
4. counts: pre (12 months before) and follow-up (365 days) counts per person x crime type
   x outcome, with custody days taken off the exposure;
5. trial and fit: ``Trial.from_counts`` validates; the default model is fitted.
"""

from __future__ import annotations

import argparse
import tempfile
import warnings
from pathlib import Path

import pandas as pd

import fd_bayes as fdb
from fd_bayes.data import (
    KNIFE_RULE,
    balance,
    counts_from_events,
    eligible,
    randomise,
    simulate_records,
)

INDEX_DATE = "2024-01-01"
RECORDS_SEED = 2024
RANDOMISATION_SEED = 20240101
FIT_SEED = 1
N_TREAT = {"11-17": 20, "18-25": 25}
TRUE_RATE_RATIO = 0.6


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help="2 chains x 300 draws after 300 tuning steps: checks the script runs; too few "
        "draws to report",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="folder for cohort.csv, flow.csv, allocation.csv, audit.json and counts.csv "
        "(default: a temporary folder, removed at the end)",
    )
    return parser.parse_args()


def build_trial(folder: Path) -> fdb.Trial:
    # 1. records (before any intervention: the cohort only uses records before the index date)
    events, persons, custody = simulate_records(
        n_people=3000, index_date=INDEX_DATE, seed=RECORDS_SEED
    )
    print(
        f"Records: {len(events):,} events, {len(persons):,} people, {len(custody):,} custody "
        f"spells (SYNTHETIC)"
    )

    # 2. cohort
    result = eligible(events, persons, INDEX_DATE, rule=KNIFE_RULE, return_flow=True)
    print(f"\nEligibility at {INDEX_DATE}: {KNIFE_RULE.describe()}.")
    print(result.flow[["step", "unit", "count"]].to_string(index=False))
    result.cohort.to_csv(folder / "cohort.csv", index=False)
    result.flow.to_csv(folder / "flow.csv", index=False)

    # 3. randomisation
    allocation = randomise(
        result.cohort, n_treat=N_TREAT, strata="age_band", seed=RANDOMISATION_SEED
    )
    print(f"\n{allocation!r}")
    allocation.table.to_csv(folder / "allocation.csv", index=False)
    audit_path = allocation.write_audit(folder / "audit.json")
    print(f"Audit record (no person ids) written to {audit_path}")
    baseline = allocation.table.merge(result.cohort, on=["person_id", "age_band"])
    print("\nBaseline balance (standardised mean differences):")
    print(balance(baseline, by="age_band").round(2).to_string(index=False))

    # the simulated intervention: the same records, the treated people's follow-up suspect
    # records thinned (records before the index date are unchanged)
    treated = allocation.table.loc[allocation.table["arm"] == "treatment", "person_id"]
    events, _, _ = simulate_records(
        n_people=3000,
        index_date=INDEX_DATE,
        seed=RECORDS_SEED,
        treated=treated,
        rate_ratio=TRUE_RATE_RATIO,
    )

    # 4. counts
    counts = counts_from_events(events, allocation, INDEX_DATE, custody=custody)
    counts.to_csv(folder / "counts.csv", index=False)
    print(f"\nCounts: {len(counts):,} rows (person x crime type x outcome), zero-filled.")

    # 5. trial
    trial = fdb.Trial.from_counts(counts, name="records-to-trial (synthetic)")
    print(trial)
    return trial


def fit_and_report(trial: fdb.Trial, quick: bool) -> None:
    settings = (
        {"chains": 2, "draws": 300, "tune": 300, "adapt": False}
        if quick
        else {"chains": 4, "draws": 1000, "tune": 1000}
    )
    print(f"\nFitting negbin_hier with seed {FIT_SEED}, {settings} ...")
    with warnings.catch_warnings():
        if quick:
            warnings.simplefilter("ignore", fdb.DiagnosticsWarning)
        fit = fdb.fit(trial, model="negbin_hier", seed=FIT_SEED, progress=False, **settings)
    for note in fit.notes:
        print(f"Note: {note}")
    diag = fit.diagnostics()
    print(
        f"Diagnostics: max R-hat {diag['max_rhat']:.3f}, min bulk ESS "
        f"{diag['min_ess_bulk']:.0f}, divergences {diag['divergences']}"
        + ("  (--quick: too few draws to report)" if quick else "")
    )
    effects = fit.effects()
    show = effects[effects["level"].isin(["crime_type", "overall"])]
    pd.set_option("display.width", 140)
    print(f"\nRate ratios (true: {TRUE_RATE_RATIO} for offending, 1 for victimisation):")
    print(
        show[["level", "outcome", "crime_type", "rr_median", "rr_lower", "rr_upper", "p_reduction"]]
        .round(2)
        .to_string(index=False)
    )


def main() -> None:
    args = parse_args()
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        trial = build_trial(args.out)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            trial = build_trial(Path(tmp))
    fit_and_report(trial, args.quick)


if __name__ == "__main__":
    main()
