"""Simulation-based calibration of the default model on the seed's design.

``fdb.calibrate`` draws every parameter of ``negbin_hier`` from its prior, simulates the
follow-up counts of the example trial's people (195 young people, 5 crime types x 2
outcomes) from the model, refits at the package's default sampler settings (4 chains x
1,000 draws after 1,000 warm-up, adaptive) and ranks the true values among the posterior
draws (Talts et al. 2018). Printed: how many prior draws were accepted (a simulation
with a count above 100 is not fitted), how many fits failed a diagnostic, and per
parameter the coverage of the 50% and 95% intervals and a chi-square test of uniform
ranks (10 bins). With ``--plot`` the rank histograms are saved.

It asserts nothing: it prints figures.

    python benchmarks/bench_sbc.py --sims 120 --workers 2 --plot sbc.png
"""

from __future__ import annotations

import argparse
import time
import warnings

import pandas as pd

import fd_bayes as fdb
from fd_bayes.inference import SamplerSettings


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sims", type=int, default=120, help="prior draws (default 120)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--model", default="negbin_hier")
    p.add_argument("--plot", default="", help="save the rank histograms here")
    args = p.parse_args(argv)
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cal = fdb.calibrate(
            args.model,
            design=fdb.example_trial(),
            n_sims=args.sims,
            seed=args.seed,
            null_sims=0,
            workers=args.workers,
            settings=SamplerSettings(),
        )
    print(f"{args.model} on the example design, {time.perf_counter() - t0:.0f} s")
    print(cal.summary())
    pd.set_option("display.width", 200)
    table = cal.table()
    # one row per vector parameter: the element with the smallest p-value, and how many
    # elements fall below 0.01 (with ~45 ranked quantities, one below 0.01 is chance)
    table["name"] = table["parameter"].str.replace(r"\[.*\]", "", regex=True)
    by = table.groupby("name", sort=False).agg(
        elements=("parameter", "size"),
        n=("n", "min"),
        coverage_50=("coverage_50", "mean"),
        coverage_95=("coverage_95", "mean"),
        min_p_uniform=("p_uniform", "min"),
        below_001=("p_uniform", lambda s: int((s < 0.01).sum())),
    )
    print(by.round(3).to_string())
    d = cal.diagnostics()
    print(f"diagnostics of the accepted fits: {d}")
    if args.plot:
        names = [
            n
            for n in table["parameter"]
            if n.startswith(("effect_overall", "crime_sd", "cell_sd", "person_sd", "dispersion"))
        ]
        cal.plot(args.plot, parameters=names)
        print(f"wrote {args.plot}")


if __name__ == "__main__":
    main()
