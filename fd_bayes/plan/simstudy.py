"""Shared machinery of simulation studies: per-simulation seeds, batches, where they run.

Planning (:mod:`fd_bayes.plan`) and simulation-based calibration
(:mod:`fd_bayes.plan.calibrate`) repeat one small job (simulate a trial, fit it, summarise
the fit) hundreds of times. This module runs such a job over simulation indices:

- **Seeds** are derived per simulation from the study seed and the simulation's index
  (:func:`sim_seed`: ``SeedSequence(seed, spawn_key=(index,))``, the same stream that
  ``SeedSequence(seed).spawn(n)[index]`` gives). A simulation's result therefore does
  not depend on which process or machine ran it, on the batch it was in, or on the order
  in which batches finished: a study gives identical results in one process, in local
  processes and on a Dask cluster.
- **Batches**: the indices are cut into batches; one batch is one task. A worker process
  compiles the model once (the compiled-model cache of :mod:`fd_bayes.inference.sampling` lives
  in the process) and reuses it for every later simulation of the same design.
- **Where**: ``client=None`` runs the batches in local worker processes
  (``workers`` of them, started with ``spawn``; ``workers=1`` runs them in this process,
  which is what tests and debugging want); a ``dask.distributed.Client`` sends one task
  per batch to its cluster (a ``LocalCluster``, a ``dask-jobqueue`` HPC cluster,
  Kubernetes, ...).

Each simulation's warnings from fd_bayes (``DiagnosticsWarning``, ``ModelNote``) are
caught and recorded in its result, never raised and never hidden, and an exception in
one simulation is recorded as that simulation's ``error`` instead of stopping the study.
"""

from __future__ import annotations

import math
import multiprocessing
import os
import time
import traceback
import warnings
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field

import numpy as np

from fd_bayes.errors import FdBayesWarning, SettingsError
from fd_bayes.inference import compile_count

#: One simulation: ``job(index, seed_sequence) -> dict`` (a picklable callable).
Job = Callable[[int, np.random.SeedSequence], dict]


def sim_seed(seed: int, index: int) -> np.random.SeedSequence:
    """The seed sequence of simulation ``index`` of a study with seed ``seed``.

    Equal to ``np.random.SeedSequence(seed).spawn(index + 1)[index]``, but computed
    without spawning the others, so any process can derive any simulation's seed.
    """
    return np.random.SeedSequence(int(seed), spawn_key=(int(index),))


def int_seed(seq: np.random.SeedSequence, k: int = 0) -> int:
    """The ``k``-th 31-bit integer seed drawn from a seed sequence (for ``fit(seed=)``)."""
    return int(seq.generate_state(k + 1)[k] % (2**31))


def study_seed(seed: int | None) -> int:
    """``seed``, or a fresh one when ``None`` (recorded with the results)."""
    if seed is None:
        return int(np.random.SeedSequence().generate_state(1)[0] % (2**31))
    return int(seed)


@dataclass
class BatchResult:
    """What a batch sends back: the simulations' records and the worker's facts."""

    records: list[dict]
    pid: int
    host: str
    compilations: int
    seconds: float


def run_batch(job: Job, indices: Sequence[int], seed: int) -> BatchResult:
    """Run ``job`` for each simulation index in ``indices`` (in this process).

    Each record gets ``sim`` (the index), ``warnings`` (the fd_bayes warnings the
    simulation raised, by class name, with their messages), ``error`` (the exception
    text, or ``""``), ``seconds`` (wall), ``cpu_seconds`` (the process's CPU time) and
    ``pid``. Warnings are caught here, so
    that a study never stops on a failed diagnostic: it counts them.
    """
    t0 = time.perf_counter()
    before = compile_count()
    records = []
    for index in indices:
        t = time.perf_counter()
        cpu = time.process_time()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", FdBayesWarning)
            try:
                record = dict(job(int(index), sim_seed(seed, index)))
                error = ""
            except Exception as exc:  # one failed simulation must not end the study
                record = {}
                error = f"{type(exc).__name__}: {exc}"
                if os.environ.get("FD_BAYES_DEBUG"):
                    error += "\n" + traceback.format_exc()
        ours = [w for w in caught if issubclass(w.category, FdBayesWarning)]
        for w in caught:  # pass on anything that is not ours, as it would have been
            if not issubclass(w.category, FdBayesWarning):
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        record.update(
            {
                "sim": int(index),
                "warnings": [(w.category.__name__, str(w.message)) for w in ours],
                "error": error,
                "seconds": time.perf_counter() - t,
                # CPU time of the whole process (all sampler threads): what the simulation
                # costs on a dedicated core, whatever else the machine was running
                "cpu_seconds": time.process_time() - cpu,
                "pid": os.getpid(),
            }
        )
        records.append(record)
    return BatchResult(
        records=records,
        pid=os.getpid(),
        host=os.uname().nodename,
        compilations=compile_count() - before,
        seconds=time.perf_counter() - t0,
    )


def _single_thread_worker() -> None:
    # one simulation per core: keep BLAS/numba from starting threads of their own
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")


@dataclass
class StudyRun:
    """All records of a study, in simulation order, and how the work was spread."""

    records: list[dict]
    batches: list[BatchResult] = field(repr=False)
    where: str
    seconds: float

    @property
    def compilations(self) -> int:
        """Model compilations over all batches (cache misses in the worker processes)."""
        return sum(b.compilations for b in self.batches)

    def compilations_per_process(self) -> dict[str, int]:
        """Compilations per worker process (``host:pid``)."""
        out: dict[str, int] = {}
        for b in self.batches:
            key = f"{b.host}:{b.pid}"
            out[key] = out.get(key, 0) + b.compilations
        return out


def default_workers() -> int:
    """Local worker processes by default: one per usable core."""
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        n = os.cpu_count() or 1
    return max(1, n)


#: What a study says when its local worker processes die while starting.
WORKERS_NEED_MAIN_GUARD = (
    "the local worker processes stopped while starting. They are started with 'spawn', "
    "so each imports your script again: a script that runs a study at import starts it "
    'again in every worker. Put the code that runs it under if __name__ == "__main__": '
    "(see docs/planning.md, 'Local processes'), or pass workers=1 to run in this process"
)


def run_study(
    job: Job,
    n_sims: int,
    seed: int,
    *,
    client=None,
    workers: int | None = None,
    batch_size: int | None = None,
) -> StudyRun:
    """Run ``job`` for simulations ``0 .. n_sims - 1`` and return their records in order.

    Parameters
    ----------
    job : callable ``(index, SeedSequence) -> dict``
        Picklable (a module-level function or an instance of a module-level class).
    n_sims : int
    seed : int
        The study seed; simulation ``i`` gets :func:`sim_seed` ``(seed, i)``.
    client : dask.distributed.Client, optional
        Send one task per batch to this cluster. Default: local processes.
    workers : int, optional
        Local worker processes (default: the usable cores); ``1`` runs in this process.
        Ignored with a ``client``.
    batch_size : int, optional
        Simulations per task. Default: the simulations split evenly into about two
        batches per worker, so a worker compiles once and the batches balance.
    """
    if not isinstance(n_sims, int | np.integer) or n_sims < 1:
        raise SettingsError(f"n_sims must be an integer >= 1, got {n_sims!r}")
    t0 = time.perf_counter()
    if client is not None:
        # one thread slot per worker process is what the sampler wants; count the slots
        n_workers = max(1, sum(client.nthreads().values()))
    else:
        n_workers = default_workers() if workers is None else int(workers)
        if n_workers < 1:
            raise SettingsError(f"workers must be >= 1, got {workers!r}")
        n_workers = min(n_workers, n_sims)
    if batch_size is None:
        batch_size = max(1, math.ceil(n_sims / (2 * n_workers)))
    if batch_size < 1:
        raise SettingsError(f"batch_size must be >= 1, got {batch_size!r}")
    batches = [list(range(i, min(i + batch_size, n_sims))) for i in range(0, n_sims, batch_size)]

    if client is not None:
        futures = client.map(
            run_batch,
            [job] * len(batches),
            batches,
            [seed] * len(batches),
            pure=False,
        )
        results = client.gather(futures)
        where = f"dask cluster ({n_workers} workers)"
    elif n_workers == 1:
        results = [run_batch(job, b, seed) for b in batches]
        where = "this process"
    else:
        if multiprocessing.parent_process() is not None:
            # a spawned worker importing the user's script again, which starts a study at
            # import: the worker cannot start processes of its own; say why it dies
            raise SettingsError(WORKERS_NEED_MAIN_GUARD)
        ctx = multiprocessing.get_context("spawn")
        try:
            with ProcessPoolExecutor(
                max_workers=n_workers, mp_context=ctx, initializer=_single_thread_worker
            ) as pool:
                results = list(
                    pool.map(run_batch, [job] * len(batches), batches, [seed] * len(batches))
                )
        except BrokenProcessPool as exc:
            raise SettingsError(WORKERS_NEED_MAIN_GUARD) from exc
        where = f"{n_workers} local processes"
    records = sorted((r for b in results for r in b.records), key=lambda r: r["sim"])
    return StudyRun(records, list(results), where, time.perf_counter() - t0)


def mc_se(p: float, n: int) -> float:
    """Monte Carlo standard error of a proportion ``p`` estimated from ``n`` simulations."""
    return float(np.sqrt(p * (1.0 - p) / n)) if n > 0 else float("nan")


__all__ = ["BatchResult", "StudyRun", "int_seed", "mc_se", "run_batch", "run_study", "sim_seed"]
