"""Benchmark the pooled individual-data model (negbin_pooled) as the data grow.

Simulates multi-site trials with ``fd_bayes.data.simulate_sites.simulate_sites`` (5 crime
types, one outcome, 20% treated, between-site SD 0.3) at several sizes and fits
``negbin_pooled`` with nutpie (and, with ``--numpyro``, numpyro on the CPU). One row per
fit: people, sites, rows, compile and sampling seconds, mean tree depth, gradient
evaluations per draw (``n_steps``), step size, divergences, max R-hat, the smallest bulk
ESS over every parameter and over the headline parameters (``effect_overall``,
``trial_sd``), and ESS per sampling second.

    python benchmarks/bench_pooled.py                       # 200, 2000 and 10000 people
    python benchmarks/bench_pooled.py --sizes 200,2000 --numpyro
    python benchmarks/bench_pooled.py --sizes 10000 --draws 500 --tune 500

Asserts nothing about time; figures depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
import warnings

import numpy as np

import fd_bayes as fdb
from fd_bayes.constants import DEFAULT_TARGET_ACCEPT
from fd_bayes.data.simulate_sites import simulate_sites
from fd_bayes.inference import idata as infd

CRIME_RATES = {"knife": 0.9, "violence": 1.3, "sexual": 0.08, "robbery": 0.35, "drugs": 0.6}
HEADLINE = ("effect_overall", "trial_sd")


def make_trial(n_people: int, seed: int):
    n_sites = min(10, max(2, n_people // 200))
    per_site = n_people // n_sites
    treated = per_site // 5
    return simulate_sites(
        n_sites,
        treated,
        per_site - treated,
        tau=0.3,
        rate_ratio=0.7,
        crime_types=CRIME_RATES,
        person_sd=0.7,
        dispersion=1.5,
        seed=seed,
    )


def divergent_tails(fit, tail: float = 0.01) -> list[str]:
    """Where the divergent transitions are: each (scalar or vector component) parameter
    whose value at a divergent draw lies in the outer ``tail`` of its own posterior, with
    that draw's percentile. Per-person vectors (more than 50 components) are skipped."""
    post = fit.idata.posterior
    div = fit.idata.sample_stats["diverging"].values.ravel().astype(bool)
    out = []
    for name, da in post.data_vars.items():
        values = da.values.reshape(div.size, -1)
        if not div.any() or values.shape[1] > 50:
            continue
        for draw in np.flatnonzero(div):
            rank = (values < values[draw]).mean(axis=0)
            for j in np.flatnonzero(np.minimum(rank, 1 - rank) < tail):
                out.append(
                    f"draw {draw}: {name}[{j}] = {values[draw, j]:.3f} "
                    f"(percentile {100 * rank[j]:.2f}; median {np.median(values[:, j]):.3f})"
                )
    return out


def stats(fit, wall: float) -> dict:
    ss = fit.idata.sample_stats
    depth = float(ss["depth"].mean()) if "depth" in ss else float(ss["tree_depth"].mean())
    steps = float(ss["n_steps"].mean()) if "n_steps" in ss else float("nan")
    step_size = float(ss["step_size"].mean()) if "step_size" in ss else float("nan")
    diag = fit.diagnostics()
    post = fit.idata.posterior
    head = min(infd.array_diagnostics(post[v].values)[1] for v in HEADLINE if v in post)
    sampling = float(fit.info.get("sampling_seconds", wall))
    return {
        "compile_s": float(fit.info.get("compile_seconds", float("nan"))),
        "sampling_s": sampling,
        "wall_s": wall,
        "depth": depth,
        "grads_per_draw": steps,
        "step_size": step_size,
        "divergences": diag["divergences"],
        "max_rhat": diag["max_rhat"],
        "min_ess": diag["min_ess_bulk"],
        "head_ess": head,
        "ess_per_s": diag["min_ess_bulk"] / sampling,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="200,2000,10000")
    parser.add_argument("--draws", type=int, default=500)
    parser.add_argument("--tune", type=int, default=500)
    parser.add_argument("--chains", type=int, default=2)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--model", default="negbin_pooled")
    parser.add_argument("--numpyro", action="store_true", help="also fit with numpyro (JAX, CPU)")
    parser.add_argument(
        "--nutpie-jax",
        action="store_true",
        help="also fit with sampler='nutpie-jax' (nutpie with a JAX-compiled model)",
    )
    parser.add_argument(
        "--no-nutpie", action="store_true", help="skip the default nutpie (numba) fit"
    )
    parser.add_argument("--target-accept", type=float, default=DEFAULT_TARGET_ACCEPT)
    parser.add_argument(
        "--divergences",
        action="store_true",
        help="print the parameters in the outer 1%% of their posterior at each divergent draw",
    )
    args = parser.parse_args()
    print(
        f"fd_bayes {fdb.__version__}, Python {platform.python_version()}, "
        f"{os.cpu_count()} CPUs, model {args.model}, {args.chains} chains x "
        f"({args.tune} tune + {args.draws} draws)"
    )
    samplers = [
        *([] if args.no_nutpie else ["nutpie"]),
        *(["nutpie-jax"] if args.nutpie_jax else []),
        *(["numpyro"] if args.numpyro else []),
    ]
    header = (
        f"{'sampler':8} {'people':>6} {'sites':>5} {'rows':>6} {'compile':>8} {'sampling':>8} "
        f"{'depth':>5} {'grads':>6} {'step':>6} {'div':>4} {'rhat':>6} {'ESSmin':>7} "
        f"{'ESShead':>7} {'ESS/s':>7}"
    )
    print(header)
    for n in (int(x) for x in args.sizes.split(",")):
        trial, _ = make_trial(n, args.seed)
        for sampler in samplers:
            t0 = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                fit = fdb.fit(
                    trial,
                    args.model,
                    draws=args.draws,
                    tune=args.tune,
                    chains=args.chains,
                    seed=args.seed,
                    sampler=sampler,
                    progress=False,
                    predictive=False,
                    target_accept=args.target_accept,
                )
            s = stats(fit, time.perf_counter() - t0)
            print(
                f"{sampler:8} {trial.n_people:6d} {len(trial.trials):5d} {len(trial.data):6d} "
                f"{s['compile_s']:8.1f} {s['sampling_s']:8.1f} {s['depth']:5.2f} "
                f"{s['grads_per_draw']:6.1f} {s['step_size']:6.3f} {s['divergences']:4d} "
                f"{s['max_rhat']:6.3f} {s['min_ess']:7.0f} {s['head_ess']:7.0f} "
                f"{s['ess_per_s']:7.2f}",
                flush=True,
            )
            if args.divergences:
                for line in divergent_tails(fit):
                    print("    divergent", line)


if __name__ == "__main__":
    main()
