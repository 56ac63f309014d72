"""Time the randomisation inference of ``fd_bayes.frequentist`` on the example trial.

Re-runs the example trial's stratified allocation (195 people, same number treated in
each age band) 10,000 times and computes both randomisation statistics (Mantel-Haenszel
log rate ratio and difference in means) for every outcome x crime type x age band
subset: one vectorised pass per subset. Prints figures; asserts nothing.

    python benchmarks/bench_randomisation.py
    python benchmarks/bench_randomisation.py --permutations 100000 --repeats 5
"""

from __future__ import annotations

import argparse
import platform
import time

import numpy as np

import fd_bayes as fdb
from fd_bayes import frequentist


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--permutations", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)

    trial = fdb.example_trial()
    print(f"{trial!r}")
    print(f"python {platform.python_version()}, numpy {np.__version__}, {platform.machine()}")
    times = []
    for i in range(args.repeats):
        start = time.perf_counter()
        table = frequentist.compare(
            trial, methods="randomisation", n_permutations=args.permutations, seed=args.seed + i
        )
        times.append(time.perf_counter() - start)
    rows = len(table)
    print(
        f"randomisation, {args.permutations:,} permutations, {rows} rows "
        f"(outcome x crime type x age band x 2 statistics): "
        f"best {min(times):.3f} s, median {np.median(times):.3f} s over {args.repeats} runs"
    )
    start = time.perf_counter()
    frequentist.compare(trial, n_permutations=args.permutations, seed=args.seed)
    print(f"compare(), every method: {time.perf_counter() - start:.3f} s")


if __name__ == "__main__":
    main()
