"""Pooling the example trial with three simulated replications (issue 7).

Every trial here is SYNTHETIC: the example trial has the Milton Keynes design but
simulated counts, and the three "replications" in other forces are simulated too, each
with its own true effect (a between-site SD of about 0.3 on the log scale). Nothing here
is a finding about real young people.

Run::

    python examples/pool_replications.py           # full fits (several minutes on 2 cores)
    python examples/pool_replications.py --quick   # 2 chains x 300 draws: a check only

Three ways to pool, from the best to the one that needs the least:

1. One stage, individual data: ``Trial.concat`` the four trials and fit
   ``negbin_pooled`` (per-trial intercepts, a partially pooled trial deviation of the
   effect). The effects table adds each trial's shrunken effect (level ``trial``) and the
   predictive effect in a new site (level ``new_trial``).
2. Published estimates only: arm-level counts -> log rate ratios -> ``meta.frequentist``
   (REML, as metafor) and ``meta.bayes``.
3. Both: the example trial's fit together with the replications' published estimates,
   ``meta.bayes_combined`` (two-stage).
4. Both, in one stage: ``fit(..., published=fdb.Published(...))`` puts the published
   log rate ratios into the pooled count model beside the example's individual data.
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np
import pandas as pd

import fd_bayes as fdb
from fd_bayes import meta
from fd_bayes.data.simulate import ILLUSTRATIVE_HARM_WEIGHTS

SEED = 3
#: True site effects (log rate-ratio shifts) of the three replications.
SITE_SHIFT = {"Force B": 0.25, "Force C": -0.3, "Force D": 0.1}
KNIFE = {"knife": 0.5, "violence": 0.65, "robbery": 0.6, "drugs": 0.85, "sexual": 0.7}


def replications() -> list[fdb.Trial]:
    """Three simulated replications: offending only, differing sizes and crime types."""
    out = []
    sizes = {"Force B": (30, 110), "Force C": (40, 160), "Force D": (25, 90)}
    for i, (name, shift) in enumerate(SITE_SHIFT.items()):
        crimes = {"knife": 0.8, "violence": 1.2, "robbery": 0.35, "drugs": 0.6}
        if name == "Force C":
            crimes["sexual"] = 0.08  # only Force C records sexual offences separately
        n_t, n_c = sizes[name]
        trial, _ = fdb.simulate_trial(
            n_treated={"11-17": n_t // 2, "18-25": n_t - n_t // 2},
            n_control={"11-17": n_c // 2, "18-25": n_c - n_c // 2},
            crime_types=crimes,
            rate_ratios={c: KNIFE[c] * np.exp(shift) for c in crimes},
            person_sd=0.7,
            dispersion=1.5,
            seed=100 + i,
            name=name,
        )
        trial.harm_weights = {c: ILLUSTRATIVE_HARM_WEIGHTS[c] for c in crimes}
        out.append(trial)
    return out


def arm_counts(trial: fdb.Trial, outcome: str = "offending") -> dict:
    """Published-style arm totals: events and person-years per arm (all crime types)."""
    d = trial.data[trial.data["outcome"] == outcome]
    years = (
        d.drop_duplicates(["trial", "person_id"])
        .groupby("arm", observed=True)["exposure_days"]
        .sum()
        / 365.0
    )
    events = d.groupby("arm", observed=True)["post_count"].sum()
    return {
        "events_t": int(events["treatment"]),
        "exposure_t": float(years["treatment"]),
        "events_c": int(events["control"]),
        "exposure_c": float(years["control"]),
    }


def print_rate_ratios(result) -> None:
    """Posterior means and HDIs as rate ratios; tau stays on the log scale."""
    s = result.summary()[["mean", "lower", "upper"]]
    print(np.exp(s.drop(index="tau")).round(2).to_string())
    print("tau (log scale):", s.loc["tau"].round(2).to_dict())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 chains x 300 draws")
    args = parser.parse_args()
    settings = (
        {"draws": 300, "tune": 300, "chains": 2, "adapt": False}
        if args.quick
        else {"draws": 1000, "tune": 1000, "chains": 4}
    )
    pd.set_option("display.width", 140)
    example = fdb.example_trial()
    reps = replications()

    # 1. One stage: all individual data in one model -------------------------------------
    # The example trial also has victimisation; keep offending so that the trials match.
    mk = fdb.Trial.from_counts(
        example.data[example.data["outcome"] == "offending"],
        name="Milton Keynes (synthetic)",
        harm_weights=example.harm_weights,
    )
    pooled = fdb.Trial.concat([mk, *reps], names=["Milton Keynes", *SITE_SHIFT])
    print(pooled)
    with warnings.catch_warnings():
        warnings.simplefilter("default")
        fit = fdb.fit(pooled, "negbin_pooled", seed=SEED, progress=False, **settings)
    print("\nNotes:", *fit.notes, sep="\n- ")
    print("Diagnostics:", fit.diagnostics())
    effects = fit.effects()
    cols = ["level", "trial", "crime_type", "rr_median", "rr_lower", "rr_upper", "p_reduction"]
    show = effects["level"].isin(["overall", "trial", "new_trial"]) & effects["crime_type"].isin(
        ["all", "knife"]
    )
    print(effects.loc[show, cols].to_string(index=False))
    new = effects[(effects["level"] == "new_trial") & (effects["crime_type"] == "all")].iloc[0]
    print(
        f"\nA new site: rate ratio {new['rr_median']:.2f} (95% HDI {new['rr_lower']:.2f} to "
        f"{new['rr_upper']:.2f}); P(a new site sees a reduction) = {new['p_reduction']:.2f}. "
        f"{new['note']}."
    )

    # 2. Published estimates only ------------------------------------------------------------
    table = pd.DataFrame([{"trial": t.name, **arm_counts(t)} for t in [mk, *reps]])
    yi, vi = meta.log_rate_ratio(
        table["events_t"], table["exposure_t"], table["events_c"], table["exposure_c"]
    )
    freq = meta.frequentist(yi, vi, method="REML", labels=list(table["trial"]))
    print("\nREML random-effects:", freq)
    print("pooled RR", np.round(np.exp([freq.estimate, freq.ci_lower, freq.ci_upper]), 2))
    # Poisson variances from arm totals ignore the person-level over-dispersion that the
    # count model captures, so these intervals are too narrow and I^2 is inflated: one
    # reason to prefer pooling the individual data when it is shared.
    bayes = meta.bayes(yi, np.sqrt(vi), labels=list(table["trial"]), seed=SEED)
    print_rate_ratios(bayes)

    # 3. The example trial's individual data with the replications' published estimates -----
    combined = meta.bayes_combined(
        mk,
        yi[1:],
        np.sqrt(vi[1:]),
        labels=list(table["trial"][1:]),
        ipd_labels=["Milton Keynes"],
        fit_kwargs={"seed": SEED, "progress": False, **settings},
        seed=SEED,
    )
    print("\n" + combined.prior["method"])
    print_rate_ratios(combined)

    # 4. The same, in one stage: the published estimates inside the pooled count model ------
    published = fdb.Published(list(table["trial"][1:]), yi[1:], np.sqrt(vi[1:]))
    # Precise published estimates make the non-centred trial deviations narrow: at the
    # default target_accept 0.9 this fit's R-hat was 1.013 (bulk ESS 436), at 0.95 it is
    # 1.007 (ESS 1,059), which is what the diagnostics advise.
    one = fdb.fit(
        mk,
        "negbin_pooled",
        published=published,
        seed=SEED,
        progress=False,
        target_accept=0.95,
        **settings,
    )
    print("\nOne stage (individual data + published estimates):", *one.notes, sep="\n- ")
    rows = one.effects()
    show = rows["level"].isin(["overall", "trial", "new_trial"]) & (rows["crime_type"] == "all")
    print(rows.loc[show, cols].to_string(index=False))


if __name__ == "__main__":
    main()
