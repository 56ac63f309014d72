"""Benchmark the samplers of fd_bayes against the equivalent Bambi model.

Fits the embedded example trial (195 people x 5 crime types x 2 outcomes = 1950 rows)
with the default model ``negbin_hier`` under every available sampler (nutpie, PyMC's
NUTS, numpyro), fits the equivalent Bambi formula model with Bambi's default sampler
(PyMC NUTS), optionally times an end-to-end ``fd-bayes demo``, and prints one row per
run: times, divergences, R-hat, the smallest bulk ESS over the treatment-effect
parameters and over all parameters, ESS per second, and each run's ESS/s relative to
Bambi's from the same invocation.

It asserts nothing about time: it prints figures (and writes them as CSV with ``--csv``).

    python benchmarks/bench_samplers.py                 # 4 chains x (1000 tune + 1000 draws)
    python benchmarks/bench_samplers.py --quick         # 2 chains x (200 + 200)
    python benchmarks/bench_samplers.py --only nutpie,bambi --csv bench.csv
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import logging
import math
import os
import platform
import shlex
import subprocess
import sys
import tempfile
import time
import warnings
from dataclasses import asdict, dataclass, field

RUNS = ("nutpie", "pymc", "numpyro", "bambi", "demo")
NAN = float("nan")


# -- arguments -------------------------------------------------------------------------
def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--draws", type=int, default=1000, help="posterior draws per chain (1000)")
    p.add_argument("--tune", type=int, default=1000, help="warm-up iterations per chain (1000)")
    p.add_argument("--chains", type=int, default=4, help="chains (4)")
    p.add_argument("--seed", type=int, default=1, help="random seed, the same for every run (1)")
    p.add_argument("--quick", action="store_true", help="smoke test: chains 2, draws 200, tune 200")
    p.add_argument(
        "--only",
        default="",
        metavar="NAME[,NAME]",
        help=f"run only these (comma-separated) of: {', '.join(RUNS)}",
    )
    p.add_argument(
        "--cores",
        type=int,
        default=None,
        help="cores passed to every sampler (default: fd_bayes's own default per sampler, "
        "min(chains, 2) for PyMC NUTS incl. Bambi, all CPUs for nutpie)",
    )
    p.add_argument(
        "--warm-up",
        action="store_true",
        help="before timing, compile and sample a one-variable model with nutpie, so that "
        "nutpie's compile figure leaves out numba's one-off per-process JIT warm-up",
    )
    p.add_argument("--csv", default=None, metavar="PATH", help="also write the rows as CSV")
    p.add_argument(
        "--demo-args",
        default=None,
        metavar="ARGS",
        help="arguments after `fd-bayes demo` (default: this run's --draws, --tune, "
        "--chains and --seed, those the demo accepts)",
    )
    p.add_argument(
        "--demo-timeout", type=float, default=1800.0, help="seconds before the demo is stopped"
    )
    args = p.parse_args(argv)
    if args.quick:
        args.chains, args.draws, args.tune = 2, 200, 200
    only = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = sorted(set(only) - set(RUNS))
    if unknown:
        p.error(f"unknown --only name(s) {unknown}; choose from {', '.join(RUNS)}")
    args.runs = [r for r in RUNS if not only or r in only]
    return args


# -- results ---------------------------------------------------------------------------
@dataclass
class Row:
    run: str
    model: str
    build_s: float = NAN  # model construction (Design + PyMC graph, or Bambi Model + build)
    compile_s: float = NAN  # see `compile_how`
    compile_how: str = ""  # "separate" (additive), "probe" (inside sampling_s), "n/a"
    sampling_s: float = NAN
    total_s: float = NAN  # wall time of build + compile + sampling (probe excluded)
    divergences: float = NAN
    max_rhat: float = NAN
    ess_effect: float = NAN  # min bulk ESS over the treatment-effect parameters
    ess_all: float = NAN  # min bulk ESS over all posterior variables
    ess_per_s_total: float = NAN
    ess_per_s_sampling: float = NAN
    ratio_total: float = NAN  # ess_per_s_total / Bambi's
    ratio_sampling: float = NAN  # ess_per_s_sampling / Bambi's
    note: str = ""
    extra: dict = field(default_factory=dict, repr=False)

    def finish(self) -> None:
        if self.ess_all == self.ess_all:
            self.ess_per_s_total = _div(self.ess_all, self.total_s)
            self.ess_per_s_sampling = _div(self.ess_all, self.sampling_s)


def _div(a: float, b: float) -> float:
    return a / b if b and b == b and b > 0 else NAN


@contextlib.contextmanager
def quiet():
    """Silence the libraries' chatter (their opinions on convergence we report ourselves)."""
    loggers = [logging.getLogger(n) for n in ("pymc", "bambi", "formulae", "jax", "numpyro")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)


def min_bulk_ess(posterior, names) -> float:
    import arviz as az
    import numpy as np

    ess = az.ess(posterior[list(names)], method="bulk")
    return float(np.nanmin(np.concatenate([np.ravel(ess[v].values) for v in ess.data_vars])))


def probe_compile_seconds(pm_model) -> float:
    """Time compiling the joint logp + gradient function that PyMC's NUTS uses.

    pm.sample compiles internally, so the split is not observable from outside. This
    compiles the same function once more, AFTER sampling so the timed run is unchanged.
    PyTensor's on-disk cache is then warm, so this is a lower bound of the compile that
    the sampling time already includes.
    """
    with quiet():
        t0 = time.perf_counter()
        pm_model.logp_dlogp_function(ravel_inputs=True)
        return time.perf_counter() - t0


def warm_up_nutpie() -> float:
    """Compile and sample a one-variable model with nutpie; returns the seconds it took."""
    import nutpie
    import pymc as pm

    t0 = time.perf_counter()
    with quiet():
        with pm.Model() as tiny:
            pm.Normal("x", 0.0, 1.0)
        compiled = nutpie.compile_pymc_model(tiny)
        nutpie.sample(compiled, draws=10, tune=10, chains=1, progress_bar=False)
    return time.perf_counter() - t0


# -- runs ------------------------------------------------------------------------------
def run_fd_bayes(name: str, trial, args) -> Row:
    from fd_bayes.inference import idata as infd
    from fd_bayes.inference.sampling import run_nuts
    from fd_bayes.modelling import Design, build_model
    from fd_bayes.modelling.spec import load_spec

    row = Row(run=name, model="negbin_hier")
    t0 = time.perf_counter()
    design = Design.from_trial(trial)
    model, _ = build_model(load_spec("negbin_hier"), design)
    row.build_s = time.perf_counter() - t0
    with quiet():
        res = run_nuts(
            model,
            sampler=name,
            draws=args.draws,
            tune=args.tune,
            chains=args.chains,
            seed=args.seed,
            target_accept=0.9,
            progress=False,
            cores=args.cores,
        )
    row.sampling_s = res.sampling_seconds
    if math.isnan(res.compile_seconds):
        row.total_s = row.build_s + res.sampling_seconds
        if name == "pymc":
            row.compile_s, row.compile_how = probe_compile_seconds(model), "probe"
        else:
            row.compile_how = "n/a"  # numpyro: JAX jit happens inside pm.sample
    else:
        row.compile_s, row.compile_how = res.compile_seconds, "separate"
        row.total_s = row.build_s + res.compile_seconds + res.sampling_seconds
    with quiet():
        diag = infd.diagnostics(res.idata)
        row.ess_effect = min_bulk_ess(res.idata.posterior, ["effect_overall", "theta"])
    row.divergences = diag["divergences"]
    row.max_rhat = diag["max_rhat"]
    row.ess_all = diag["min_ess_bulk"]
    row.finish()
    return row


def bambi_frame(trial):
    """The example trial as Bambi wants it, with the covariates of fd_bayes's Design."""
    import numpy as np
    import pandas as pd

    from fd_bayes.constants import DAYS_PER_YEAR

    d = trial.data
    outcome = d["outcome"].astype(str).to_numpy()
    crime = d["crime_type"].astype(str).to_numpy()
    age = d["age_band"].astype(str).to_numpy()
    lp = np.log1p(d["pre_count"].to_numpy(float))
    co = pd.Series([f"{o}:{c}" for o, c in zip(outcome, crime, strict=True)])
    return pd.DataFrame(
        {
            "post_count": d["post_count"].to_numpy().astype("int64"),
            # outcome x crime type x age band, as fd_bayes's cells (underscores keep Bambi's
            # coordinate labels short)
            "cell": [f"{o}_{c}_{a}" for o, c, a in zip(outcome, crime, age, strict=True)],
            # centred within crime type x outcome, as fd_bayes.modelling.design.Design.x_pre
            "log1p_pre": lp - pd.Series(lp).groupby(co).transform("mean").to_numpy(),
            "treat": (d["arm"].astype(str) == "treatment").to_numpy().astype("int64"),
            "person": d["person_id"].astype(str).to_numpy(),
            "log_exposure": np.log(d["exposure_days"].to_numpy(float) / DAYS_PER_YEAR),
        }
    )


BAMBI_FORMULA = (
    "post_count ~ 0 + cell + log1p_pre + treat + (0 + treat | cell) + (1 | person)"
    " + offset(log_exposure)"
)


def run_bambi(trial, args) -> Row:
    import bambi as bmb

    from fd_bayes.inference import idata as infd

    row = Row(run="bambi", model="bambi formula (NB)")
    t0 = time.perf_counter()
    with quiet():
        df = bambi_frame(trial)
        bmodel = bmb.Model(BAMBI_FORMULA, df, family="negativebinomial")
        bmodel.build()
    row.build_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    with quiet():
        idata = bmodel.fit(
            draws=args.draws,
            tune=args.tune,
            chains=args.chains,
            cores=args.cores or min(args.chains, 2),  # as fd_bayes.inference.sampling.run_nuts
            random_seed=args.seed,
            target_accept=0.9,
            progressbar=False,
            compute_convergence_checks=False,
        )
    row.sampling_s = time.perf_counter() - t1
    row.total_s = row.build_s + row.sampling_s
    row.compile_s, row.compile_how = probe_compile_seconds(bmodel.backend.model), "probe"
    post = idata.posterior
    # Per-cell log rate ratio = common slope + the cell's deviation (fd_bayes's theta).
    effect = post[["treat"]].assign(theta=post["treat"] + post["treat|cell"])
    with quiet():
        diag = infd.diagnostics(idata)
        row.ess_effect = min_bulk_ess(effect, ["treat", "theta"])
    row.divergences = diag["divergences"]
    row.max_rhat = diag["max_rhat"]
    row.ess_all = diag["min_ess_bulk"]
    row.finish()
    return row


def run_demo(args) -> Row:
    """Wall time of `fd-bayes demo` in a fresh process (Python start-up and imports included)."""
    row = Row(run="demo", model="fd-bayes demo (end to end)")
    if importlib.util.find_spec("fd_bayes.cli") is None:
        row.note = "skipped: fd_bayes.cli not found"
        return row
    cmd = [sys.executable, "-c", "from fd_bayes.cli import main; main()", "demo"]
    if args.demo_args is not None:
        extra = shlex.split(args.demo_args)
    else:
        helped = subprocess.run(
            [*cmd, "--help"], capture_output=True, text=True, timeout=300, check=False
        )
        text = helped.stdout + helped.stderr
        extra = []
        for key in ("draws", "tune", "chains", "seed"):
            if f"--{key}" in text:
                extra += [f"--{key}", str(getattr(args, key))]
    row.extra["command"] = shlex.join(["fd-bayes", "demo", *extra])
    with tempfile.TemporaryDirectory(prefix="fd_bayes_bench_") as tmp:
        t0 = time.perf_counter()
        try:
            done = subprocess.run(
                [*cmd, *extra],
                cwd=tmp,
                capture_output=True,
                text=True,
                timeout=args.demo_timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            row.note = f"stopped after {args.demo_timeout:.0f} s"
            return row
        row.total_s = time.perf_counter() - t0
    row.note = row.extra["command"]
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or [""]
        row.note += f" -> exit {done.returncode}: {tail[0][:120]}"
    return row


# -- output ----------------------------------------------------------------------------
COLUMNS = [
    # (header, attribute, format)
    ("run", "run", "{}"),
    ("build s", "build_s", "{:.1f}"),
    ("compile s", "compile_s", "{:.1f}"),
    ("sampling s", "sampling_s", "{:.1f}"),
    ("total s", "total_s", "{:.1f}"),
    ("div", "divergences", "{:.0f}"),
    ("max rhat", "max_rhat", "{:.3f}"),
    ("ESS effect", "ess_effect", "{:.0f}"),
    ("ESS all", "ess_all", "{:.0f}"),
    ("ESS/s total", "ess_per_s_total", "{:.2f}"),
    ("ESS/s sampl", "ess_per_s_sampling", "{:.2f}"),
    ("x Bambi tot", "ratio_total", "{:.2f}"),
    ("x Bambi smp", "ratio_sampling", "{:.2f}"),
]


def _cell(row: Row, attr: str, fmt: str) -> str:
    value = getattr(row, attr)
    if isinstance(value, float) and math.isnan(value):
        return "-"
    text = fmt.format(value)
    if attr == "compile_s" and row.compile_how == "probe":
        text += "*"
    return text


def format_table(rows: list[Row]) -> str:
    cells = [[h for h, _, _ in COLUMNS]]
    cells += [[_cell(r, a, f) for _, a, f in COLUMNS] for r in rows]
    widths = [max(len(c[i]) for c in cells) for i in range(len(COLUMNS))]
    lines = []
    for k, line in enumerate(cells):
        parts = [line[0].ljust(widths[0])] + [
            c.rjust(w) for c, w in zip(line[1:], widths[1:], strict=True)
        ]
        lines.append("  ".join(parts))
        if k == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def print_header(args, trial) -> None:
    import fd_bayes

    print(
        f"fd_bayes {fd_bayes.__version__} | Python {platform.python_version()} | "
        f"{platform.machine()} {os.cpu_count()} CPUs"
    )
    versions = []
    for mod in ("pymc", "pytensor", "nutpie", "numpyro", "jax", "bambi", "arviz"):
        if importlib.util.find_spec(mod) is not None:
            with contextlib.suppress(Exception):
                versions.append(f"{mod} {__import__(mod).__version__}")
    print(" | ".join(versions))
    print(
        f"data: {trial.name}: {trial.n_people} people, {len(trial.data)} rows | "
        f"chains {args.chains}, tune {args.tune}, draws {args.draws}, seed {args.seed}, "
        f"target_accept 0.9, cores {args.cores or 'fd_bayes default'}"
    )
    print(f"runs: {', '.join(args.runs)}")
    print(flush=True)


FOOTNOTES = """\
build s: Design + PyMC graph (fd_bayes) or bmb.Model + build (Bambi).
compile s: nutpie compiles separately (without --warm-up, the first nutpie compile of a
  process also pays numba's one-off JIT warm-up). * = PyMC NUTS compiles inside pm.sample,
  so its compile is INCLUDED in sampling s; the figure is a separate compile of the same
  logp+gradient after sampling (warm PyTensor cache: a lower bound), not added to total s.
  numpyro: JAX jit is inside sampling s and not measured separately (-).
total s = build + compile (nutpie) + sampling.
ESS effect: min bulk ESS over the treatment effects (fd_bayes: effect_overall and theta per
  cell; Bambi: treat and treat + treat|cell per cell). ESS all: min bulk ESS over every
  posterior variable (fd_bayes.inference.idata.diagnostics, for Bambi too).
ESS/s = ESS all / total s, and / sampling s. x Bambi = ESS/s over Bambi's ESS/s.
The two models are not identical: Bambi has one baseline slope and one NB dispersion,
  fd_bayes one per crime type x outcome plus the crime/outcome/age effect structure."""


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # Let numpyro run its chains in parallel on CPU, as nutpie and PyMC do; must be set
    # before jax is first imported.
    if "numpyro" in args.runs:
        n_dev = max(os.cpu_count() or 1, args.chains)
        os.environ.setdefault("XLA_FLAGS", f"--xla_force_host_platform_device_count={n_dev}")

    import fd_bayes
    from fd_bayes.inference.sampling import available_samplers

    trial = fd_bayes.example_trial()
    print_header(args, trial)
    available = available_samplers()
    if args.warm_up and "nutpie" in args.runs and "nutpie" in available:
        print(f"nutpie warm-up (one-variable model, not in the table): {warm_up_nutpie():.1f} s\n")
    rows: list[Row] = []
    for name in args.runs:
        print(f"... {name}", file=sys.stderr, flush=True)
        t0 = time.perf_counter()
        try:
            if name == "demo":
                row = run_demo(args)
            elif name == "bambi":
                if importlib.util.find_spec("bambi") is None:
                    row = Row(run="bambi", model="bambi", note="skipped: bambi not installed")
                else:
                    row = run_bambi(trial, args)
            elif name not in available:
                row = Row(run=name, model="negbin_hier", note="skipped: not installed")
            else:
                row = run_fd_bayes(name, trial, args)
        except Exception as exc:  # a benchmark reports a failed run and goes on
            row = Row(run=name, model="", note=f"failed: {type(exc).__name__}: {exc}"[:300])
        print(f"    {name}: {time.perf_counter() - t0:.1f} s", file=sys.stderr, flush=True)
        rows.append(row)

    bambi = next((r for r in rows if r.run == "bambi" and r.ess_all == r.ess_all), None)
    if bambi is not None:
        for r in rows:
            r.ratio_total = _div(r.ess_per_s_total, bambi.ess_per_s_total)
            r.ratio_sampling = _div(r.ess_per_s_sampling, bambi.ess_per_s_sampling)

    print(format_table(rows))
    for r in rows:
        if r.note:
            print(f"{r.run}: {r.note}")
    if bambi is None:
        print("(no Bambi run in this invocation: ratios left out)")
    print()
    print(FOOTNOTES)

    if args.csv:
        import pandas as pd

        table = pd.DataFrame([{k: v for k, v in asdict(r).items() if k != "extra"} for r in rows])
        for key in ("chains", "tune", "draws", "seed"):
            table[key] = getattr(args, key)
        table.to_csv(args.csv, index=False)
        print(f"\nwrote {args.csv}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
