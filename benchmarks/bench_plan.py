"""Benchmark a planning study: N simulated fits of the seed trial's design.

The design is the embedded example trial's (45 treated: 20 aged 11-17 and 25 aged
18-25; 150 controls; 5 crime types; 2 outcomes), taken with ``fdb.plan.design_from``,
and the true effects are the ones the example was simulated with. Each simulation is
fitted with the planning defaults (``fd_bayes.plan.PLAN_*``) unless told otherwise.

Prints the total wall time, the per-fit sampling settings, the compilations per worker
process, the time per fit, and the tallies of failed diagnostics (R-hat, ESS,
divergences, over all parameters and for the headline estimand). Asserts nothing.

    python benchmarks/bench_plan.py                    # 200 simulations, 2 local processes
    python benchmarks/bench_plan.py --sims 20          # a shorter run; extrapolate
    python benchmarks/bench_plan.py --draws 1000 --tune 500 --chains 2
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np

import fd_bayes as fdb
from fd_bayes import plan
from fd_bayes.data import EXAMPLE_EFFECTS


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sims", type=int, default=200)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--draws", type=int, default=plan.PLAN_DRAWS)
    p.add_argument("--tune", type=int, default=plan.PLAN_TUNE)
    p.add_argument("--chains", type=int, default=plan.PLAN_CHAINS)
    p.add_argument("--target-accept", type=float, default=0.9)
    p.add_argument("--seed", type=int, default=2026)
    p.add_argument("--csv", default="", help="write the per-simulation table here")
    args = p.parse_args(argv)

    design = plan.design_from(fdb.example_trial())
    print(f"machine: {platform.node()}, {os.cpu_count()} CPUs, load {os.getloadavg()}")
    print(
        f"design: treated/control {design.size_label()}; {len(design.crime_types)} crime "
        f"types x {len(design.outcomes)} outcomes; {design.source}"
    )
    t0 = time.perf_counter()
    res = plan.assurance(
        design,
        dict(EXAMPLE_EFFECTS),
        n_sims=args.sims,
        seed=args.seed,
        workers=args.workers,
        draws=args.draws,
        tune=args.tune,
        chains=args.chains,
        target_accept=args.target_accept,
    )
    total = time.perf_counter() - t0
    sims = res.sims
    ran = sims[sims["error"] == ""]
    print(f"per-fit settings: {res.settings.describe()}, 1 core per fit")
    print(f"where: {res.where}; compilations per process: {res.compilations_per_process}")
    print(
        f"total: {total:.0f} s for {args.sims} simulated fits "
        f"({total / args.sims:.1f} s per fit of wall time); "
        f"extrapolated to 200: {total / args.sims * 200 / 60:.1f} min (compile included once "
        "per process, so this overstates a short run's per-fit cost slightly)"
    )
    if len(ran):
        s = ran["sampling_seconds"]
        print(
            f"sampling per fit: median {s.median():.1f} s, max {s.max():.1f} s; "
            f"whole simulation (simulate + fit + summaries) median {ran['seconds'].median():.1f} s"
        )
        cpu = ran["cpu_seconds"]
        print(
            f"CPU time per simulation (process CPU, all sampler threads): median "
            f"{cpu.median():.1f} s, total {cpu.sum():.0f} s (first simulation of each process "
            f"includes its compile) -> on 2 dedicated cores, {args.sims} fits take about "
            f"{cpu.sum() / 2 / 60:.1f} min (200 fits: {cpu.mean() * 200 / 2 / 60:.1f} min)"
        )
        print(
            "max count per simulated trial: "
            f"{ran['max_count'].min()}-{ran['max_count'].max()}; likelihood widths "
            f"{sorted(ran['excess_width'].unique().tolist())}"
        )
    print("diagnostic tallies:", res.diagnostics())
    if len(ran):
        q = np.percentile(ran["headline_ess_bulk"], [5, 50])
        print(
            f"headline (overall offending RR) bulk ESS: 5th pct {q[0]:.0f}, median {q[1]:.0f}; "
            f"all-parameter min bulk ESS median {ran['min_ess_bulk'].median():.0f}; "
            f"max R-hat median {ran['max_rhat'].median():.3f}"
        )
        near = ((ran["p_decision"] - res.decision.prob).abs() < 0.02).sum()
        print(f"fits with P(reduction) within 0.02 of the 0.95 threshold: {near}")
    print(res.table().to_string(index=False))
    print(res.summary())
    if args.csv:
        sims.drop(columns=["warnings"]).to_csv(args.csv, index=False)


if __name__ == "__main__":
    main()
