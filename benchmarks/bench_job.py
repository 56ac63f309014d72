"""Where the time of a whole analysis goes: the phases of ``fd-bayes fit``, in two processes.

Runs the analysis a report writer runs (``fd-bayes fit counts.csv --out DIR``: read and
validate the trial, fit the default model with its predictive draws, the frequentist
comparisons, every report file) twice, each time in a new Python process, and prints
the seconds of each phase: import, validation, compile, NUTS sampling, the rest of the
fit (predictive and log-likelihood draws, provenance), frequentist comparisons, the
figures (drawn once for every format), and each report format. The processes share a
compile cache of their own (a new folder, so the first process compiles; PyTensor's own
caches in ``~/.pytensor`` stay warm as they are): the second process shows what the
compile cache saves. Then, in a third process, the job in a warm process: the same
analysis again after a first fit, with the whole analysis as a multiple of its sampling
time. Beside them, the equivalent Bambi model fitted to the same data
(``bench_samplers.py``'s), with the ESS per second of each.

It asserts nothing about time: it prints figures.

    python benchmarks/bench_job.py
    python benchmarks/bench_job.py --no-bambi
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def phases(warm: bool) -> dict:
    """One analysis of the example trial, timed phase by phase (run in a new process)."""
    import warnings

    t0 = time.perf_counter()
    import fd_bayes as fdb
    from fd_bayes import frequentist
    from fd_bayes.report.full import FORMATS, render_figures
    from fd_bayes.report.full import report as full_report

    out = {"import": time.perf_counter() - t0}
    tmp = Path(tempfile.mkdtemp())
    csv = tmp / "counts.csv"
    fdb.example_trial().data.to_csv(csv, index=False)
    t0 = time.perf_counter()
    trial = fdb.Trial.read_csv(csv)
    out["validation"] = time.perf_counter() - t0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if warm:  # a first fit in this process: the compile is paid before the timing
            fdb.fit(trial, seed=2, progress=False, predictive=False)
        t0 = time.perf_counter()
        fit = fdb.fit(trial, seed=1, progress=False)
        total = time.perf_counter() - t0
    info = fit.info
    out["compile"] = float(info["compile_seconds"])
    out["compile_cache"] = info.get("compile_cache", "")
    out["sampling"] = float(info["sampling_seconds"])
    out["rest of fit"] = total - out["compile"] - out["sampling"]
    t0 = time.perf_counter()
    table = frequentist.compare(trial, seed=1)
    out["frequentist"] = time.perf_counter() - t0
    effects = fit.effects()
    t0 = time.perf_counter()
    render_figures(fit, effects, 0.95, table)
    out["figures (once)"] = time.perf_counter() - t0
    for fmt in FORMATS:
        t0 = time.perf_counter()
        full_report(fit, tmp / fmt, formats=[fmt], frequentist=table)
        out[f"report {fmt}"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    full_report(fit, tmp / "all", frequentist=table)
    out["report, all formats"] = time.perf_counter() - t0
    out["min_ess_bulk"] = float(fit.diagnostics()["min_ess_bulk"])
    return out


def in_new_process(warm: bool, cache: Path) -> dict:
    code = (
        f"import json, sys; sys.path.insert(0, {str(HERE)!r}); import bench_job; "
        f"print(json.dumps(bench_job.phases({warm!r})))"
    )
    env = {**os.environ, "FD_BAYES_CACHE_DIR": str(cache)}
    env.pop("FD_BAYES_CACHE", None)
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--no-bambi", action="store_true", help="skip the Bambi model")
    args = p.parse_args(argv)
    cache = Path(tempfile.mkdtemp(prefix="bench_job_cache_"))
    runs = {
        "first process": in_new_process(False, cache),
        "second process": in_new_process(False, cache),
        "warm process": in_new_process(True, cache),
    }
    names = [k for k in runs["first process"] if k not in ("min_ess_bulk", "compile_cache")]
    print(f"{'phase':<22}" + "".join(f"{k:>16}" for k in runs))
    for name in names:
        print(f"{name:<22}" + "".join(f"{r[name]:>15.1f}s" for r in runs.values()))
    print(f"{'compile cache':<22}" + "".join(f"{r['compile_cache']:>16}" for r in runs.values()))
    for label, r in runs.items():
        rest = r["rest of fit"] + r["frequentist"] + r["report, all formats"]
        analysis = r["compile"] + r["sampling"] + rest
        job = r["import"] + r["validation"] + analysis
        print(
            f"{label}: job {job:.1f} s, sampling {r['sampling']:.1f} s, the rest after "
            f"sampling {rest:.1f} s ({rest / r['sampling']:.2f}x sampling), the analysis "
            f"(fit, frequentist, report) {analysis / r['sampling']:.2f}x sampling; fd_bayes "
            f"ESS/s (sampling) {r['min_ess_bulk'] / r['sampling']:.0f}"
        )
    if not args.no_bambi:
        sys.path.insert(0, str(HERE))
        import bench_samplers

        import fd_bayes as fdb

        bargs = bench_samplers.parse_args([])
        row = bench_samplers.run_bambi(fdb.example_trial(), bargs)
        print(
            f"Bambi (same data, {bargs.chains} x {bargs.draws}, PyMC NUTS): build "
            f"{row.build_s:.1f} s, sampling (compile included) {row.sampling_s:.1f} s, min "
            f"bulk ESS {row.ess_all:.0f}, ESS/s {row.ess_per_s_sampling:.0f} (sampling), "
            f"{row.ess_per_s_total:.0f} (build + sampling)"
        )


if __name__ == "__main__":
    main()
