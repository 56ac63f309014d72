"""A complete analysis of the example trial with fd_bayes, from Python.

The example trial is SYNTHETIC: it has the design of the Milton Keynes focused-deterrence
trial (45 treated young people, 20 aged 11-17 and 25 aged 18-25, and 150 controls), but
its counts are simulated. Nothing here is a finding about real young people.

Run::

    python examples/analyse_example_trial.py            # the full fit (about a minute)
    python examples/analyse_example_trial.py --quick    # 2 chains x 300 draws: a check only
    python examples/analyse_example_trial.py --out my-folder   # keep the saved fit

Steps: describe the trial, fit the default model with a fixed seed, check the sampler's
diagnostics, read the effects table for offending, put the main finding in words, and
save the fit and read it back.
"""

from __future__ import annotations

import argparse
import tempfile
import warnings
from pathlib import Path

import pandas as pd

import fd_bayes as fdb
from fd_bayes.report.sentences import effect_sentence

SEED = 1


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help="2 chains x 300 draws after 300 tuning steps: checks the script runs; too "
        "few draws to report",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="folder to save the fit in (default: a temporary folder, removed at the end)",
    )
    return parser.parse_args()


def describe(trial: fdb.Trial) -> None:
    print(trial)
    print("\nThe data are SYNTHETIC (simulated counts with the Milton Keynes design).\n")
    summary = trial.summary()
    offending = summary[summary["outcome"] == "offending"]
    by_arm = (
        offending.groupby(["crime_type", "arm"], observed=True, sort=False)[
            ["people", "post_total", "person_years"]
        ]
        .sum()
        .assign(rate_per_person_year=lambda d: d["post_total"] / d["person_years"])
        .round(3)
    )
    print("Offending in the follow-up year, by crime type and arm (raw counts):")
    print(by_arm.to_string())
    print()


def check_diagnostics(fit: fdb.Fit, quick: bool) -> bool:
    diag = fit.diagnostics()
    print(
        f"Diagnostics: max R-hat {diag['max_rhat']:.3f}, min bulk ESS "
        f"{diag['min_ess_bulk']:.0f}, min tail ESS {diag['min_ess_tail']:.0f}, "
        f"divergences {diag['divergences']} ({diag['chains']} chains x {diag['draws']} draws)"
    )
    problems = fit.diagnostic_problems()
    if not problems:
        print("All diagnostics pass (R-hat <= 1.01, ESS >= 400, no divergences).\n")
        return True
    for problem in problems:
        print(f"  - {problem}")
    if quick:
        print("(Expected with --quick: too few draws. Run without --quick before reporting.)")
    print()
    return False


def offending_effects(fit: fdb.Fit) -> pd.DataFrame:
    effects = fit.effects()
    keep = effects["outcome"].eq("offending") & effects["level"].isin(
        ["crime_type", "age_band", "overall", "harm"]
    )
    columns = [
        "level",
        "crime_type",
        "age_band",
        "rr_median",
        "rr_lower",
        "rr_upper",
        "p_reduction",
        "p_reduction_25",
        "p_reduction_50",
        "offences_prevented_per_100",
    ]
    return effects.loc[keep, columns].reset_index(drop=True)


def in_words(fit: fdb.Fit, crime_type: str, age_band: str) -> str:
    """The package's own plain-language sentence for one cell of the effects table."""
    effects = fit.effects()
    row = effects[
        (effects["level"] == "cell")
        & (effects["outcome"] == "offending")
        & (effects["crime_type"] == crime_type)
        & (effects["age_band"] == age_band)
    ].iloc[0]
    return (
        f"{effect_sentence(row)} About {row.offences_prevented_per_100:.0f} {crime_type} "
        "offences prevented per 100 young people treated, per year. (Synthetic data.)"
    )


def save_and_reload(fit: fdb.Fit, folder: Path) -> None:
    path = fit.save(folder / "fit.nc")
    again = fdb.load(path)
    pd.testing.assert_frame_equal(fit.effects(), again.effects())
    print(f"Saved the fit to {path} and read it back: identical effects table.")
    info = {k: v.item() if hasattr(v, "item") else v for k, v in again.info.items()}
    print("Provenance recorded in the fit:")
    for key in ("model", "spec_hash", "seed", "sampler", "chains", "draws", "tune", "data_hash"):
        print(f"  {key}: {info.get(key)}")


def main() -> None:
    args = parse_args()
    settings = (
        {"chains": 2, "draws": 300, "tune": 300, "adapt": False}
        if args.quick
        else {"chains": 4, "draws": 1000, "tune": 1000}
    )

    trial = fdb.example_trial()
    describe(trial)

    print(f"Fitting negbin_hier with seed {SEED}, {settings} ...")
    with warnings.catch_warnings():
        if args.quick:
            # check_diagnostics() below says the same in plain words
            warnings.simplefilter("ignore", fdb.DiagnosticsWarning)
        fit = fdb.fit(trial, model="negbin_hier", seed=SEED, progress=False, **settings)
    print(fit)
    for note in fit.notes:
        print(f"Note: {note}")
    print()

    ok = check_diagnostics(fit, args.quick)

    pd.set_option("display.width", 140)
    print("Effects on offending (rate ratios treatment/control, 95% HDI):")
    print(offending_effects(fit).round(2).to_string(index=False))
    print(
        "\nHarm rows use ILLUSTRATIVE harm weights, not official Cambridge Crime Harm "
        "Index values.\n"
    )
    print(in_words(fit, "knife", "11-17"))
    print()

    if args.out is not None:
        save_and_reload(fit, args.out)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            save_and_reload(fit, Path(tmp))

    if not ok and not args.quick:
        raise SystemExit("The diagnostics failed: do not report these results.")


if __name__ == "__main__":
    main()
