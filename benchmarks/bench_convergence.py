"""Do default fits of seed-sized trials pass their own diagnostics?

Fits simulated trials of the seed's design (20 + 25 treated, 65 + 85 controls, 5 crime
types x 2 outcomes, negative-binomial counts with a person effect shared over a
person's ten rows) at the package defaults, ``fdb.fit(trial, seed=s)`` and nothing else
set, in six data regimes of 20 trials each:

=============  =========  ==========  ==========================================
regime         person SD  NB shape    effect / rates
=============  =========  ==========  ==========================================
typical        0.7        1.5         knife offending RR 0.5, the example's rates
no-effect      0.7        1.5         none (every RR 1)
small-sd-pois  0.3        50          knife RR 0.5; near-Poisson counts
large-sd-od    1.0        0.7         knife RR 0.5; strong overdispersion
large-sd-pois  1.0        50          none; near-Poisson counts
low-rate       0.6        1.5         knife RR 0.5; every rate x 0.25 (few events)
=============  =========  ==========  ==========================================

and prints, per regime, the share of fits whose first round passes (R-hat <= 1.01, bulk
and tail ESS >= 400, no divergence, over every parameter), the share that pass after
adaptive sampling (the default safety net), how many rounds were needed, which
parameters failed, and the time per fit. With ``--baseline REF`` it also fits the first
``--baseline-n`` trials of every regime with the package as it was at git commit REF
(a worktree in a temporary folder, run in its own process, fits interleaved with the
current package's so that both see the same machine load): its pass share and median
time per fit are printed beside today's, with their ratio.

Then, with ``--catalogue``, every model of the catalogue on the example design: the
example trial itself and ``--catalogue-n`` simulated trials of the typical regime.

It asserts nothing: it prints figures (``--csv`` also writes one row per fit).

    python benchmarks/bench_convergence.py --baseline d89f29b --catalogue
    python benchmarks/bench_convergence.py --n 5 --regimes typical,low-rate   # quick look
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]

#: regime -> keywords of the simulator (see the module docstring).
REGIMES: dict[str, dict] = {
    "typical": {"person_sd": 0.7, "dispersion": 1.5, "effect": True},
    "no-effect": {"person_sd": 0.7, "dispersion": 1.5, "effect": False},
    "small-sd-pois": {"person_sd": 0.3, "dispersion": 50.0, "effect": True},
    "large-sd-od": {"person_sd": 1.0, "dispersion": 0.7, "effect": True},
    "large-sd-pois": {"person_sd": 1.0, "dispersion": 50.0, "effect": False},
    "low-rate": {"person_sd": 0.6, "dispersion": 1.5, "effect": True, "rate_scale": 0.25},
}


def seed_design_trial(
    seed: int, person_sd: float, dispersion: float, effect: bool, rate_scale: float = 1.0
):
    """A simulated trial of the seed's design (the example's design and rates)."""
    from fd_bayes.data.simulate import EXAMPLE_DESIGN, EXAMPLE_RATES, simulate_trial

    trial, _ = simulate_trial(
        **EXAMPLE_DESIGN,
        base_rates={k: v * rate_scale for k, v in EXAMPLE_RATES.items()},
        rate_ratios={("offending", "knife"): 0.5} if effect else 1.0,
        person_sd=person_sd,
        dispersion=dispersion,
        seed=seed,
    )
    return trial


# -- the worker: one process per package version, one JSON line per fit --------------
def _failing(idata) -> list[str]:
    """Variables failing a threshold: the package's own rule
    (``diagnostics(idata, variables=True)``), or, for a baseline package that predates
    it, the same rule restated (the baseline must be measured by the same yardstick)."""
    from fd_bayes.inference import idata as infd

    try:
        return infd.diagnostics(idata, variables=True)["failing"]
    except TypeError:  # a baseline without variables=
        pass
    import arviz as az

    post = idata.posterior
    keep = [
        v
        for v in post.data_vars
        if float(post[v].std()) > 0 and not str(v).endswith(("_signed", "__"))
    ]
    post = post[keep]
    with np.errstate(invalid="ignore", divide="ignore"):
        rhat, bulk, tail = az.rhat(post), az.ess(post, method="bulk"), az.ess(post, method="tail")
    return sorted(
        v
        for v in keep
        if np.nanmax(rhat[v].values) > 1.01
        or min(np.nanmin(bulk[v].values), np.nanmin(tail[v].values)) < 400
    )


def run_job(job: dict) -> dict:
    import fd_bayes as fdb

    # the trials are simulated once, by the current package, and read from CSV by every
    # worker: the baseline package fits exactly the same data
    trial = fdb.example_trial() if job["trial"] == "example" else fdb.Trial.read_csv(job["csv"])
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = fdb.fit(trial, job.get("model", "negbin_hier"), seed=job["seed"], progress=False)
    seconds = time.perf_counter() - t0
    diag = fit.diagnostics()
    info = fit.info
    history = json.loads(fit.idata.posterior.attrs.get("round_history", "[]") or "[]")
    first = history[0] if history else None
    passed = not fit.diagnostic_problems()
    return {
        "seconds": seconds,
        "sampling_seconds": float(info.get("sampling_seconds", np.nan)),
        "compile_seconds": float(info.get("compile_seconds", np.nan)),
        "rounds": int(info.get("rounds", 1)),
        "passed": passed,
        "passed_first": bool(first["passed"]) if first else passed,
        "failing_first": list(first["failing"]) if first else _failing(fit.idata),
        "failing_last": _failing(fit.idata) if not passed else [],
        "max_rhat": diag["max_rhat"],
        "min_ess": min(diag["min_ess_bulk"], diag["min_ess_tail"]),
        "divergences": diag["divergences"],
    }


def worker() -> None:
    for line in sys.stdin:
        job = json.loads(line)
        try:
            out = run_job(job)
        except Exception as exc:  # report and go on: one bad fit must not stop the study
            out = {"error": f"{type(exc).__name__}: {exc}"}
        print(json.dumps({**job, **out}), flush=True)


class Worker:
    """A worker process (its own package version on ``pythonpath``)."""

    def __init__(self, pythonpath: str | None = None):
        self.tree = pythonpath
        env = dict(os.environ)
        if pythonpath:
            env["PYTHONPATH"] = pythonpath
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "--worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env=env,
            cwd=tempfile.gettempdir(),  # import the package on PYTHONPATH, not ./fd_bayes
        )

    def __call__(self, job: dict) -> dict:
        self.proc.stdin.write(json.dumps(job) + "\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait()


def baseline_tree(ref: str) -> str:
    """A worktree of the repository at ``ref`` (the package as it was)."""
    path = Path(tempfile.mkdtemp(prefix="fdb-baseline-")) / "tree"
    subprocess.run(
        ["git", "-C", str(ROOT), "worktree", "add", "--detach", str(path), ref],
        check=True,
        capture_output=True,
    )
    return str(path)


# -- the study --------------------------------------------------------------------------
def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--n", type=int, default=20, help="trials per regime (default 20)")
    p.add_argument("--regimes", default=",".join(REGIMES), help="comma-separated regimes")
    p.add_argument("--baseline", default="", help="git ref of the package to compare with")
    p.add_argument("--baseline-n", type=int, default=5, help="baseline trials per regime")
    p.add_argument("--catalogue", action="store_true", help="also every catalogue model")
    p.add_argument("--catalogue-n", type=int, default=5)
    p.add_argument("--csv", default=None, help="write one row per fit to this CSV file")
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    return p.parse_args(argv)


def _share(x: pd.Series) -> str:
    return f"{int(x.sum())}/{len(x)}"


def summarise(df: pd.DataFrame, by: str) -> pd.DataFrame:
    def one(g: pd.DataFrame) -> pd.Series:
        fails = pd.Series([v for row in g["failing_first"] for v in row]).value_counts()
        return pd.Series(
            {
                "fits": len(g),
                "pass_first_round": _share(g["passed_first"]),
                "pass_after_adapt": _share(g["passed"]),
                "rounds_max": int(g["rounds"].max()),
                "max_rhat": round(float(g["max_rhat"].max()), 4),
                "min_ess": round(float(g["min_ess"].min())),
                "divergent_fits": int((g["divergences"] > 0).sum()),
                "median_s": round(float(g["seconds"].median()), 1),
                "failing_first_round": ", ".join(f"{k} ({v})" for k, v in fails.items()) or "-",
            }
        )

    return df.groupby([by, "version"], sort=False).apply(one, include_groups=False)


def main(argv=None) -> None:
    args = parse_args(argv)
    if args.worker:
        worker()
        return
    regimes = [r for r in args.regimes.split(",") if r]
    unknown = sorted(set(regimes) - set(REGIMES))
    if unknown:
        raise SystemExit(f"unknown regime(s) {unknown}; known: {', '.join(REGIMES)}")
    import fd_bayes as fdb

    print(
        f"fd_bayes {fdb.__version__}; python {sys.version.split()[0]}; {os.cpu_count()} cores",
        flush=True,
    )
    current = Worker()
    old = Worker(baseline_tree(args.baseline)) if args.baseline else None
    rows = []
    t_start = time.perf_counter()
    data_dir = Path(tempfile.mkdtemp(prefix="fdb-convergence-"))
    for regime in regimes:
        for i in range(args.n):
            job = {"trial": regime, "seed": 1000 + i, "csv": str(data_dir / f"{regime}-{i}.csv")}
            seed_design_trial(job["seed"], **REGIMES[regime]).data.to_csv(job["csv"], index=False)
            versions = [(current, "current")]
            if old is not None and i < args.baseline_n:
                versions.append((old, f"baseline {args.baseline}"))
            for worker_, version in versions:
                r = {**worker_(job), "version": version}
                rows.append(r)
                status = r.get("error") or ("pass" if r["passed"] else "FAIL")
                print(f"  {regime:>14} seed {job['seed']} {version}: {status}", flush=True)
    if args.catalogue:
        for model in fdb.available_models():
            jobs = [{"trial": "example", "seed": 11}] + [
                {"trial": "typical", "seed": 2000 + i} for i in range(args.catalogue_n)
            ]
            for job in jobs:
                rows.append({**current({**job, "model": model}), "version": "current"})
    current.close()
    if old is not None:
        old.close()
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "remove", "--force", old.tree],
            check=False,
            capture_output=True,
        )
    df = pd.DataFrame(rows)
    errors = df[df.get("error", pd.Series(dtype=object)).notna()] if "error" in df else df[:0]
    if len(errors):
        print(f"\n{len(errors)} fit(s) raised:\n{errors[['trial', 'seed', 'error']]}")
        df = df.drop(errors.index)
    pd.set_option("display.width", 250)
    pd.set_option("display.max_colwidth", 120)
    study = df[df["model"].isna()] if "model" in df else df
    print(
        f"\n== default fits of the seed's design, by regime "
        f"({time.perf_counter() - t_start:.0f} s in all) =="
    )
    print(summarise(study, "trial").to_string())
    cur = study[study["version"] == "current"]
    print(
        f"\nall regimes, current: first round passed {_share(cur['passed_first'])}, "
        f"after adaptive sampling {_share(cur['passed'])}; "
        f"median {cur['seconds'].median():.1f} s per fit"
    )
    if old is not None:
        base = study[study["version"] != "current"]
        paired = cur[cur["seed"] < 1000 + args.baseline_n]
        ratio = paired["seconds"].median() / base["seconds"].median()
        print(
            f"baseline {args.baseline} on the same {len(base)} trials: passed "
            f"{_share(base['passed'])}; median {base['seconds'].median():.1f} s per fit; "
            f"current on those trials {paired['seconds'].median():.1f} s "
            f"(ratio {ratio:.2f})"
        )
    if args.catalogue:
        cat = df[df["model"].notna()].rename(columns={"model": "catalogue_model"})
        print(
            "\n== every catalogue model on the example design (the example trial and "
            f"{args.catalogue_n} simulated) =="
        )
        print(summarise(cat, "catalogue_model").to_string())
    if args.csv:
        df.to_csv(args.csv, index=False)
        print(f"\nwrote {args.csv}")


if __name__ == "__main__":
    main()
