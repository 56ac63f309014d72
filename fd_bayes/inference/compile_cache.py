"""Compile once per machine: nutpie's numba models kept on disk between processes.

nutpie compiles a PyMC model in two steps: PyTensor builds the log density and its
gradient as numba functions (PyTensor caches those on disk itself), then nutpie wraps
them in two C callbacks that its Rust sampler calls. That second step re-generates the
machine code of the whole model, about 9 s for the example trial, in every process:
nutpie's wrapper reads the data through arrays captured as Python globals, which numba
refuses to cache.

This module builds the same two C callbacks with the same signatures and the same
user-data record (so nutpie's ``with_data`` still swaps data in), but reads the data
arrays only through the record's pointers, so that numba can cache them. The numba
cache entries are directed to :func:`cache_dir` under a key that says everything the
machine code depends on: PyTensor's hashes of the two compiled graphs, the generated
wrapper source (dimensions, data names, ranks and dtypes), the versions of fd_bayes,
Python and every library in the chain, and numba's own check of the CPU. A changed
model or an upgrade therefore never meets a stale entry; it compiles and stores its own.

Safe when processes compile at once: numba writes each file to a temporary name and
renames it, so a reader sees a whole file or none; a damaged or vanished entry is
compiled again, never trusted. Bounded: after each store the least recently used
models are removed until the folder holds at most :data:`CACHE_MAX_BYTES`.

Where: ``$FD_BAYES_CACHE_DIR`` if set, else the platform's cache folder
(``$XDG_CACHE_HOME/fd_bayes`` or ``~/.cache/fd_bayes`` on Linux,
``~/Library/Caches/fd_bayes`` on macOS, ``%LOCALAPPDATA%\\fd_bayes`` on Windows).
``FD_BAYES_CACHE=off`` turns it off. ``fd-bayes cache info`` and ``fd-bayes cache clear``
show and empty it.

The nutpie internals used here (``_make_functions``, ``make_user_data``,
``CompiledPyMCModel``) are checked before use; where they are missing (another nutpie)
the model is compiled by nutpie itself, uncached.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import shutil
import sys
import time
import warnings
import weakref
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fd_bayes._version import __version__
from fd_bayes.inference.provenance import library_versions

#: Environment variable naming the cache folder (overrides the platform's default).
CACHE_DIR_ENV = "FD_BAYES_CACHE_DIR"
#: Environment variable that turns the cache off when set to ``off``, ``0`` or ``no``.
CACHE_SWITCH_ENV = "FD_BAYES_CACHE"
#: The most the compiled models on disk may take; least recently used go first.
CACHE_MAX_BYTES = 256 * 2**20
#: Bumped when the layout of an entry or of the generated wrappers changes.
CACHE_FORMAT = 1
#: The libraries whose versions are part of every key (their code is in the entry).
KEY_LIBRARIES = ("nutpie", "pymc", "pytensor", "numba", "llvmlite", "numpy", "scipy")

_MODELS = "models"
_NUTPIE_NEEDS = (
    "_make_functions",
    "_prepare_dims_and_coords",
    "_wrap_with_lock",
    "make_user_data",
    "CompiledPyMCModel",
)


def cache_dir() -> Path:
    """The folder of the compile cache (it need not exist yet)."""
    override = os.environ.get(CACHE_DIR_ENV)
    if override:
        return Path(override).expanduser()
    if sys.platform == "darwin":
        base = Path.home() / "Library" / "Caches"
    elif sys.platform.startswith("win"):
        base = Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local"))
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "fd_bayes"


def enabled() -> bool:
    """Whether fits use the compile cache (``FD_BAYES_CACHE=off`` turns it off)."""
    return os.environ.get(CACHE_SWITCH_ENV, "on").strip().lower() not in ("off", "0", "no")


@dataclass(frozen=True)
class CacheEntry:
    """One compiled model on disk."""

    key: str
    label: str
    bytes: int
    created: float
    last_used: float
    versions: dict


@dataclass(frozen=True)
class CacheInfo:
    """What the compile cache holds (:func:`info`)."""

    path: Path
    enabled: bool
    entries: tuple[CacheEntry, ...]
    max_bytes: int

    @property
    def total_bytes(self) -> int:
        return sum(e.bytes for e in self.entries)

    def lines(self) -> list[str]:
        """The cache described for a person, one line each (``fd-bayes cache info``)."""
        out = [
            f"compile cache: {self.path}" + ("" if self.enabled else f" (off: {CACHE_SWITCH_ENV})"),
            f"{len(self.entries)} compiled model(s), {_mib(self.total_bytes)} of at most "
            f"{_mib(self.max_bytes)}",
        ]
        for e in sorted(self.entries, key=lambda e: -e.last_used):
            used = time.strftime("%Y-%m-%d %H:%M", time.localtime(e.last_used))
            out.append(f"  {e.key[:12]}  {e.label:<24} {_mib(e.bytes):>9}  last used {used}")
        return out


def _mib(n: int) -> str:
    return f"{n / 2**20:.1f} MiB"


def _models_dir() -> Path:
    return cache_dir() / _MODELS


def _entry_files(folder: Path, key: str) -> list[Path]:
    return [p for p in folder.glob(f"*{key}*") if p.is_file()]


def _read_meta(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def info() -> CacheInfo:
    """The compiled models in the cache, with their sizes and when each was last used."""
    folder = _models_dir()
    entries = []
    if folder.is_dir():
        for meta_path in folder.glob("*.json"):
            meta = _read_meta(meta_path)
            if meta is None:
                continue
            key = meta_path.stem
            size = 0
            for p in _entry_files(folder, key):
                try:
                    size += p.stat().st_size
                except OSError:
                    continue
            entries.append(
                CacheEntry(
                    key=key,
                    label=str(meta.get("label", "")),
                    bytes=size,
                    created=float(meta.get("created", 0.0)),
                    last_used=float(meta.get("last_used", 0.0)),
                    versions=dict(meta.get("versions", {})),
                )
            )
    return CacheInfo(cache_dir(), enabled(), tuple(entries), CACHE_MAX_BYTES)


def clear() -> int:
    """Remove every compiled model from the cache; returns how many were removed."""
    folder = _models_dir()
    n = len(list(folder.glob("*.json"))) if folder.is_dir() else 0
    shutil.rmtree(folder, ignore_errors=True)
    return n


def _prune(keep: str, max_bytes: int = CACHE_MAX_BYTES) -> None:
    """Remove least recently used models until the folder holds at most ``max_bytes``
    (the model just used, ``keep``, stays); files of no known model go too."""
    folder = _models_dir()
    entries = sorted(info().entries, key=lambda e: e.last_used)
    known = {e.key for e in entries}
    for p in folder.iterdir():
        stray = p.is_file() and not any(k in p.name for k in known)
        if stray and time.time() - p.stat().st_mtime > 3600:  # not an entry being written
            p.unlink(missing_ok=True)
    total = sum(e.bytes for e in entries)
    for e in entries:
        if total <= max_bytes:
            break
        if e.key == keep:
            continue
        (folder / f"{e.key}.json").unlink(missing_ok=True)
        for p in _entry_files(folder, e.key):
            p.unlink(missing_ok=True)
        total -= e.bytes


def _write_meta(key: str, label: str, created: float | None) -> None:
    folder = _models_dir()
    now = time.time()
    meta = {
        "label": label,
        "created": created if created is not None else now,
        "last_used": now,
        "versions": _versions(),
        "format": CACHE_FORMAT,
    }
    tmp = folder / f".{key}.{os.getpid()}.tmp"
    tmp.write_text(json.dumps(meta, indent=1))
    os.replace(tmp, folder / f"{key}.json")


def _versions() -> dict:
    libs = library_versions()
    out = {"fd_bayes": __version__, "python": sys.version.split()[0]}
    for name in KEY_LIBRARIES:
        out[name] = libs.get(name) or _version_of(name)
    return out


def _version_of(name: str) -> str:
    import importlib.metadata

    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "absent"


# -- the numba side ---------------------------------------------------------------------

#: Generated wrapper functions -> their cache key (read by the numba cache locator).
_KEYS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_locator_registered = {"done": False}


def _register_locator() -> None:
    """Direct numba's cache for the generated wrappers (only those) to :func:`cache_dir`."""
    if _locator_registered["done"]:
        return
    from numba.core.caching import CacheImpl, _CacheLocator

    class FdBayesCacheLocator(_CacheLocator):
        def __init__(self, py_func, py_file, key):
            self._py_file = py_file
            self._key = key

        def ensure_cache_path(self):
            _models_dir().mkdir(parents=True, exist_ok=True)

        def get_cache_path(self):
            return str(_models_dir())

        def get_source_stamp(self):
            return CACHE_FORMAT  # the key says everything; the source has no file

        def get_disambiguator(self):
            return self._key

        @classmethod
        def from_function(cls, py_func, py_file):
            key = _KEYS.get(py_func)
            return None if key is None else cls(py_func, py_file, key)

    CacheImpl._locator_classes.insert(0, FdBayesCacheLocator)
    _locator_registered["done"] = True


def _void_pointer():
    """A numba intrinsic: an integer address as a ``void*`` (for ``numba.carray``)."""
    from numba.core import cgutils, types
    from numba.extending import intrinsic

    @intrinsic
    def as_void_pointer(typingctx, src):
        def codegen(cgctx, builder, sig, args):
            return builder.inttoptr(args[0], cgutils.voidptr_t)

        return types.voidptr(src), codegen

    return as_void_pointer


_intrinsics: dict = {}


def _extract_lines(used: list[str], layout: dict, n_words: int) -> tuple[list[str], list[str]]:
    """Source lines that view the shared arrays ``used`` through the user-data record."""
    lines = [f"    ud = numba.carray(ud_, ({n_words},), np.uint64)"]
    names = []
    for j, name in enumerate(used):
        index, shape_at, ndim, dtype = layout[name]
        dims = ", ".join(f"ud[{shape_at + k}]" for k in range(ndim))
        shape = f"({dims},)" if ndim == 1 else f"({dims})"
        lines.append(f"    s{j} = numba.carray(as_void_pointer(ud[{index}]), {shape}, np.{dtype})")
        names.append(f"s{j}")
    return lines, names


def _logp_source(n_dim: int, used: list[str], layout: dict, n_words: int) -> str:
    # Only the model's own code sits inside ``try`` (an error there returns 1, never a
    # crash); with the array views inside too, numba takes ten times longer to compile.
    lines, args = _extract_lines(used, layout, n_words)
    call = ", ".join(["x", *args])
    return "\n".join(
        [
            "def fd_bayes_logp(dim, x_, out_, logp_, ud_):",
            f"    if dim != {n_dim}:",
            "        return -1",
            *lines,
            f"    x = numba.carray(x_, ({n_dim},))",
            f"    out = numba.carray(out_, ({n_dim},))",
            "    logp = numba.carray(logp_, ())",
            "    try:",
            f"        logp_val, grad = inner({call})",
            "        logp[()] = logp_val",
            "        out[...] = grad",
            "        if not np.all(np.isfinite(out)):",
            "            return 3",
            "        if not np.isfinite(logp_val):",
            "            return 4",
            "    except Exception:",
            "        return 1",
            "    return 0",
            "",
        ]
    )


def _expand_source(n_dim: int, n_expanded: int, used: list[str], layout: dict, n_words: int):
    lines, args = _extract_lines(used, layout, n_words)
    call = ", ".join(["x", *args])
    return "\n".join(
        [
            "def fd_bayes_expand(dim, expanded, x_, out_, ud_):",
            f"    if dim != {n_dim}:",
            "        return -1",
            f"    if expanded != {n_expanded}:",
            "        return -1",
            *lines,
            f"    x = numba.carray(x_, ({n_dim},))",
            f"    out = numba.carray(out_, ({n_expanded},))",
            "    try:",
            f"        (values,) = inner({call})",
            "        out[...] = values",
            "    except Exception:",
            "        return -2",
            "    return 0",
            "",
        ]
    )


def _cfunc(source: str, name: str, inner, signature, key: str | None):
    """Compile a generated wrapper as a C callback, from the cache where ``key`` is set.

    Returns the callback and whether it was loaded from the cache."""
    import numba

    if "as_void_pointer" not in _intrinsics:
        _intrinsics["as_void_pointer"] = _void_pointer()

    def build(cache: bool):
        env = {
            # numba rebuilds a cached function's environment from this module
            "__name__": __name__,
            "numba": numba,
            "np": np,
            "inner": inner,
            "as_void_pointer": _intrinsics["as_void_pointer"],
        }
        exec(compile(source, "<compiled>", "exec"), env)
        func = env[name]
        if cache:
            _KEYS[func] = key
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", numba.NumbaWarning)
            return numba.cfunc(signature, cache=cache)(func)

    if key is None:
        return build(False), False
    try:
        compiled = build(True)
    except (OSError, EOFError, pickle.UnpicklingError, ValueError, TypeError):
        # a damaged entry, or one removed while it was read: compile it afresh
        return build(False), False
    return compiled, compiled.cache_hits > 0


def nutpie_supported() -> bool:
    """Whether the installed nutpie has the internals this cache builds on."""
    from nutpie import compile_pymc

    return all(hasattr(compile_pymc, n) for n in _NUTPIE_NEEDS)


@dataclass(frozen=True)
class Compiled:
    """A compiled nutpie model and how it was obtained."""

    model: object  # nutpie's CompiledPyMCModel
    cache: str  # "hit", "miss" (compiled and stored) or "off" (compiled, not stored)
    key: str | None


def compile_model(model, *, label: str = "") -> Compiled:
    """Compile a PyMC model for nutpie's numba backend, through the cache.

    Gives the model nutpie's own ``compile_pymc_model(model)`` gives (the same functions,
    initial points and data record), but with C callbacks that numba can cache; ``label``
    names the model in ``fd-bayes cache info``.
    """
    import nutpie

    if not (enabled() and nutpie_supported()):
        return Compiled(nutpie.compile_pymc_model(model), "off", None)
    from numba import types
    from nutpie import compile_pymc as cp
    from pymc.initial_point import make_initial_point_fn
    from pytensor.link.numba.cache import CACHED_SRC_FUNCTIONS

    # as nutpie.compile_pymc_model does for the numba backend
    initial_point_fn = make_initial_point_fn(
        model=model,
        overrides=None,
        default_strategy="support_point",
        jitter_rvs=set(model.free_RVs),
        return_transformed=True,
    )
    initial_point_fn = cp._wrap_with_lock(initial_point_fn)
    n_dim, n_expanded, logp_pt, expand_pt, init_fn, shape_info = cp._make_functions(
        model,
        mode="NUMBA",
        compute_grad=True,
        join_expanded=True,
        pymc_initial_point_fn=initial_point_fn,
        var_names=None,
    )
    logp_fn, expand_fn = logp_pt.vm.jit_fn, expand_pt.vm.jit_fn

    shared_data: dict[str, np.ndarray] = {}
    shared_vars: dict = {}
    for var in [*logp_pt.get_shared(), *expand_pt.get_shared()]:
        if var.name in shared_vars and shared_vars[var.name] is not var:
            raise ValueError(f"Shared variables must have unique names: {var.name}")
        shared_data[var.name] = np.array(var.get_value(), order="C", copy=True)
        shared_vars[var.name] = var
    for value in shared_data.values():
        value.flags.writeable = False
    user_data = cp.make_user_data(shared_vars, shared_data)

    # nutpie's record: data pointers, sizes, then each array's shape, all 64-bit words
    names = list(shared_vars)
    layout, at = {}, 2 * len(names)
    for i, name in enumerate(names):
        layout[name] = (i, at, shared_data[name].ndim, shared_data[name].dtype.name)
        at += shared_data[name].ndim
    # PyTensor's hashes of the two graphs (None where a graph cannot be cached)
    graph_keys = tuple(CACHED_SRC_FUNCTIONS.get(f.py_func) for f in (logp_fn, expand_fn))
    if user_data.dtype.itemsize != 8 * at:  # not the record this code reads
        return Compiled(nutpie.compile_pymc_model(model), "off", None)

    logp_src = _logp_source(n_dim, [v.name for v in logp_pt.get_shared()], layout, at)
    expand_src = _expand_source(
        n_dim, n_expanded, [v.name for v in expand_pt.get_shared()], layout, at
    )
    key = None
    if all(graph_keys):
        material = json.dumps(
            [CACHE_FORMAT, _versions(), graph_keys, logp_src, expand_src], sort_keys=True
        )
        key = hashlib.sha256(material.encode()).hexdigest()[:40]
        _register_locator()
        _models_dir().mkdir(parents=True, exist_ok=True)
    c_logp = types.int64(
        types.uint64,
        types.CPointer(types.double),
        types.CPointer(types.double),
        types.CPointer(types.double),
        types.voidptr,
    )
    c_expand = types.int64(
        types.uint64,
        types.uint64,
        types.CPointer(types.double),
        types.CPointer(types.double),
        types.voidptr,
    )
    logp_c, hit_logp = _cfunc(logp_src, "fd_bayes_logp", logp_fn, c_logp, key)
    expand_c, hit_expand = _cfunc(expand_src, "fd_bayes_expand", expand_fn, c_expand, key)

    dims, coords = cp._prepare_dims_and_coords(model, shape_info)
    compiled = cp.CompiledPyMCModel(
        _n_dim=n_dim,
        dims=dims,
        _coords=coords,
        _shapes={name: tuple(shape) for name, _, shape in zip(*shape_info, strict=True)},
        compiled_logp_func=logp_c,
        compiled_expand_func=expand_c,
        initial_point_func=init_fn,
        shared_data=shared_data,
        user_data=user_data,
        n_expanded=n_expanded,
        shape_info=shape_info,
        logp_func=logp_pt,
        expand_func=expand_pt,
    )
    if key is None:
        return Compiled(compiled, "off", None)
    hit = hit_logp and hit_expand
    meta = _read_meta(_models_dir() / f"{key}.json")
    try:
        _write_meta(key, label, meta.get("created") if meta else None)
        if not hit:
            _prune(keep=key)
    except OSError:
        pass  # a read-only or full cache folder costs the next process a compile, no more
    return Compiled(compiled, "hit" if hit else "miss", key)
