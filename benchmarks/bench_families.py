"""Benchmark every model of the catalogue on the example trial, and the compile cache.

For each spec in ``models/`` (``fd-bayes models``) fits the embedded example trial
(195 people x 5 crime types x 2 outcomes) with the default sampler and prints compile
time, sampling time, divergences, max R-hat, min bulk/tail ESS and ESS per second
(min bulk ESS / (compile + sampling) and / sampling alone), and the overall offending
rate ratio so the families can be compared.

Then it measures the compile cache: the first model is fitted again, in the same
process, to a second data set of the same design (the example's follow-up counts
shuffled). ``fd_bayes.inference.sampling`` keys nutpie's compiled model on the spec, the
resolved structure, the labels and the data shapes
(``fd_bayes.modelling.pymc_model.model_key``) and swaps the new data into it (nutpie's
``with_data``), so the second fit skips compilation; the saving is printed.

It asserts nothing about time: it prints figures (and a CSV with ``--csv``).

    python benchmarks/bench_families.py                       # default settings (4 x 1000)
    python benchmarks/bench_families.py --only negbin_hier,zinb_hier --csv families.csv
"""

from __future__ import annotations

import argparse
import os
import platform
import time
import warnings

import numpy as np
import pandas as pd

import fd_bayes as fdb
from fd_bayes.inference import sampling


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--draws", type=int, default=1000)
    p.add_argument("--tune", type=int, default=1000)
    p.add_argument("--chains", type=int, default=4)
    p.add_argument("--seed", type=int, default=11)
    p.add_argument("--only", default="", help="comma-separated model names (default: all)")
    p.add_argument("--csv", default=None, help="also write the table to this CSV file")
    return p.parse_args(argv)


def one_fit(trial, model: str, args) -> tuple[dict, fdb.Fit]:
    t0 = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", fdb.errors.FdBayesWarning)
        fit = fdb.fit(
            trial,
            model,
            draws=args.draws,
            tune=args.tune,
            chains=args.chains,
            seed=args.seed,
            progress=False,
        )
    total = time.perf_counter() - t0
    d = fit.diagnostics()
    info = fit.info
    eff = fit.effects()
    overall = eff[(eff["level"] == "overall") & (eff["outcome"] == "offending")].iloc[0]
    sampling_s = float(info["sampling_seconds"])
    compile_s = float(info["compile_seconds"])
    row = {
        "model": model,
        "family": fit.spec.family,
        "compile_s": compile_s,
        "sampling_s": sampling_s,
        "fit_total_s": total,
        "divergences": d["divergences"],
        "max_rhat": d["max_rhat"],
        "min_ess_bulk": d["min_ess_bulk"],
        "min_ess_tail": d["min_ess_tail"],
        "ess_per_s": d["min_ess_bulk"] / (compile_s + sampling_s),
        "ess_per_s_sampling": d["min_ess_bulk"] / sampling_s,
        "rr_offending": overall["rr_median"],
        "p_reduction": overall["p_reduction"],
        "warnings": len([w for w in caught if issubclass(w.category, fdb.errors.FdBayesWarning)]),
    }
    return row, fit


def main(argv=None) -> None:
    args = parse_args(argv)
    trial = fdb.example_trial()
    names = [n for n in fdb.available_models() if not args.only or n in args.only.split(",")]
    print(
        f"fd_bayes {fdb.__version__}, Python {platform.python_version()}, "
        f"{os.cpu_count()} cores; {args.chains} chains x ({args.tune} tune + {args.draws} draws), "
        f"seed {args.seed}; example trial {trial.n_people} people, {len(trial.data)} rows"
    )
    rows = []
    for name in names:
        row, _ = one_fit(trial, name, args)
        rows.append(row)
        print(
            f"{name:>22}: compile {row['compile_s']:6.1f} s  sampling {row['sampling_s']:6.1f} s  "
            f"div {row['divergences']}  R-hat {row['max_rhat']:.3f}  "
            f"ESS bulk {row['min_ess_bulk']:.0f} tail {row['min_ess_tail']:.0f}  "
            f"ESS/s {row['ess_per_s']:.1f} ({row['ess_per_s_sampling']:.1f} sampling only)  "
            f"RR offending {row['rr_offending']:.2f}",
            flush=True,
        )
    table = pd.DataFrame(rows)
    print()
    print(table.to_string(index=False, float_format=lambda v: f"{v:.3g}"))

    # The compile cache: the same spec on new data of the same design.
    name = names[0]
    data = trial.data.copy()
    data["post_count"] = np.random.default_rng(1).permutation(data["post_count"].to_numpy())
    shuffled = fdb.Trial(data, name="shuffled")
    before = sampling.compile_count()
    cached, _ = one_fit(shuffled, name, args)
    print()
    print(
        f"compile cache ({name}, new data of the same design): compilations "
        f"{sampling.compile_count() - before}, swap time {cached['compile_s']:.3f} s vs "
        f"{rows[0]['compile_s']:.1f} s compile on the first fit: "
        f"{rows[0]['compile_s'] - cached['compile_s']:.1f} s saved per refit "
        f"(first fit total {rows[0]['fit_total_s']:.1f} s, refit total "
        f"{cached['fit_total_s']:.1f} s)"
    )
    if args.csv:
        table.to_csv(args.csv, index=False)


if __name__ == "__main__":
    main()
