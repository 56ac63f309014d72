"""Benchmark eligibility and outcome counting on a force-sized extract.

Simulates synthetic police records for 100,000 people, keeps exactly 1,000,000 events,
and prints the wall time of

- ``fd_bayes.data.cohort.eligible`` (validation + the seed's knife rule) on all of them;
- ``fd_bayes.data.randomise.randomise`` of the eligible cohort;
- ``fd_bayes.data.outcomes.counts_from_events`` for the randomised cohort, and for all
  100,000 people (with custody spells: a worst case for the counting step).

It asserts nothing about time (the target is a few seconds for each step); figures depend
on the machine and its load.

    python benchmarks/bench_cohort.py
    python benchmarks/bench_cohort.py --people 20000 --events 200000 --repeat 1
"""

from __future__ import annotations

import argparse
import platform
import time

import numpy as np
import pandas as pd

import fd_bayes
from fd_bayes.data import counts_from_events, eligible, randomise, simulate_records

INDEX = "2024-01-01"


def timed(fn, repeat: int):
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return result, times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3, help="runs per step (best is shown)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    print(
        f"fd_bayes {fd_bayes.__version__}, pandas {pd.__version__}, numpy {np.__version__}, "
        f"Python {platform.python_version()} on {platform.machine()}"
    )
    start = time.perf_counter()
    # enough events per person that the extract holds at least --events of them
    per_year = args.events / args.people / 3.0 * 1.15
    events, persons, custody = simulate_records(
        n_people=args.people,
        index_date=INDEX,
        seed=args.seed,
        events_per_year=per_year,
        knife_events_per_year=per_year * 1.2,
    )
    if len(events) < args.events:
        raise SystemExit(f"simulated only {len(events)} events; raise events_per_year")
    events = events.sample(n=args.events, random_state=args.seed).reset_index(drop=True)
    # string person ids and ISO dates as read from a CSV
    events["date"] = events["date"].dt.strftime("%Y-%m-%d")
    print(
        f"Simulated {len(events):,} events, {len(persons):,} people, {len(custody):,} custody "
        f"spells in {time.perf_counter() - start:.1f} s"
    )

    result, t_elig = timed(lambda: eligible(events, persons, INDEX, return_flow=True), args.repeat)
    cohort = result.cohort
    sizes = cohort["age_band"].value_counts().sort_index().to_dict()
    print(f"eligible():            best {min(t_elig):.2f} s of {args.repeat}  -> {sizes}")

    alloc, t_rand = timed(lambda: randomise(cohort, n_treat=0.25, seed=1), args.repeat)
    print(f"randomise():           best {min(t_rand):.3f} s  ({len(cohort):,} people)")

    counts, t_cnt = timed(
        lambda: counts_from_events(events, alloc, INDEX, custody=custody), args.repeat
    )
    print(
        f"counts_from_events():  best {min(t_cnt):.2f} s  (cohort: {len(cohort):,} people, "
        f"{len(counts):,} rows)"
    )

    everyone = persons[["person_id"]].assign(
        arm=np.where(np.arange(len(persons)) % 4 == 0, "treatment", "control"), age_band="all"
    )
    counts_all, t_all = timed(
        lambda: counts_from_events(events, everyone, INDEX, custody=custody), args.repeat
    )
    print(
        f"counts_from_events():  best {min(t_all):.2f} s  (all {len(everyone):,} people, "
        f"{len(counts_all):,} rows)"
    )
    start = time.perf_counter()
    trial = fd_bayes.Trial.from_counts(counts)
    print(f"Trial.from_counts():   {time.perf_counter() - start:.2f} s  ({trial!r})")


if __name__ == "__main__":
    main()
