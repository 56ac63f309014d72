"""The module paths of fd_bayes 0.1 (31 flat modules), kept for one release.

``from fd_bayes.build import Design`` still works and warns (``DeprecationWarning``)
with the new home of the name; ``CHANGELOG.md`` lists every move. The old paths are
entries in ``sys.modules`` whose attributes are looked up in the new modules on first
use, so nothing is imported early and no old file is left in the package. Removed in
fd_bayes 0.3.

The old paths that are also the names of functions (``fd_bayes.fit``,
``fd_bayes.calibrate``, ...) resolve as modules only in import statements
(``from fd_bayes.fit import Fit``); ``fd_bayes.fit`` itself stays the function, as it
was.
"""

from __future__ import annotations

import importlib
import sys
import types
import warnings

#: old module -> the modules its names now live in (searched in order)
MOVED: dict[str, tuple[str, ...]] = {
    "fd_bayes.trial": (
        "fd_bayes.data.trial",
        "fd_bayes.data.schema",
        "fd_bayes.data",
        "fd_bayes.errors",
    ),
    "fd_bayes.cohort": ("fd_bayes.data.cohort", "fd_bayes.data.events"),
    "fd_bayes.randomise": ("fd_bayes.data.randomise",),
    "fd_bayes.outcomes": ("fd_bayes.data.outcomes",),
    "fd_bayes.published": ("fd_bayes.data.published",),
    "fd_bayes.records": ("fd_bayes.data.records",),
    "fd_bayes.simulate": ("fd_bayes.data.simulate",),
    "fd_bayes.simulate_sites": ("fd_bayes.data.simulate_sites",),
    "fd_bayes.disclosure": ("fd_bayes.report.disclosure",),
    "fd_bayes.spec": ("fd_bayes.modelling.spec",),
    "fd_bayes.families": ("fd_bayes.modelling.families", "fd_bayes.modelling.likelihood"),
    "fd_bayes.build": (
        "fd_bayes.modelling.design",
        "fd_bayes.modelling.structure",
        "fd_bayes.modelling.likelihood",
        "fd_bayes.modelling.pymc_model",
        "fd_bayes.modelling.posterior",
        "fd_bayes.modelling",
    ),
    "fd_bayes.priors": ("fd_bayes.modelling.priors",),
    "fd_bayes.sampling": ("fd_bayes.inference.sampling", "fd_bayes.inference"),
    "fd_bayes.inference_data": ("fd_bayes.inference.idata",),
    "fd_bayes.fit": (
        "fd_bayes.results.api",
        "fd_bayes.results.fit",
        "fd_bayes.inference.predictive",
        "fd_bayes.inference",
        "fd_bayes.results",
    ),
    "fd_bayes.formula": (
        "fd_bayes.results.formula",
        "fd_bayes.results.api",
        "fd_bayes.inference.formula",
        "fd_bayes.results",
    ),
    "fd_bayes.effects": ("fd_bayes.results.effects", "fd_bayes.results"),
    "fd_bayes.checking": ("fd_bayes.results.checking",),
    "fd_bayes.sensitivity": ("fd_bayes.results.sensitivity",),
    "fd_bayes.pooling": (
        "fd_bayes.report.pooled",
        "fd_bayes.report.trials",
        "fd_bayes.data.aggregate",
        "fd_bayes.meta",
    ),
    "fd_bayes.calibrate": ("fd_bayes.plan.calibrate",),
    "fd_bayes.simstudy": ("fd_bayes.plan.simstudy",),
}


class MovedModule(types.ModuleType):
    """An old module path whose names are looked up, with a warning, where they moved."""

    def __init__(self, old: str, targets: tuple[str, ...]):
        super().__init__(old, f"Moved in fd_bayes 0.2: see {', '.join(targets)}.")
        self.__targets = targets

    def __getattr__(self, name: str):
        if name.startswith("__"):
            raise AttributeError(name)
        for target in self.__targets:
            try:
                module = importlib.import_module(target)
            except ModuleNotFoundError:
                continue
            if hasattr(module, name):
                value = getattr(module, name)
                home = getattr(value, "__module__", None)
                home = home if isinstance(home, str) and home.startswith("fd_bayes") else target
                warnings.warn(
                    f"{self.__name__} moved in fd_bayes 0.2: import {name} from {home} "
                    "(the old path goes in 0.3; CHANGELOG.md lists the moves)",
                    DeprecationWarning,
                    stacklevel=2,
                )
                return value
        raise AttributeError(f"module {self.__name__!r} has no attribute {name!r}")

    def __dir__(self):
        names = set()
        for target in self.__targets:
            try:
                names.update(n for n in dir(importlib.import_module(target)) if n[0] != "_")
            except ModuleNotFoundError:
                continue
        return sorted(names)


def install() -> None:
    """Register the old module paths (called once by ``fd_bayes/__init__.py``)."""
    for old, targets in MOVED.items():
        sys.modules.setdefault(old, MovedModule(old, targets))


def old_module(name: str):
    """``fd_bayes.<name>`` for an old module name that is no attribute of the package
    (``fdb.build``, ``fdb.sampling``): the package's ``__getattr__`` calls this."""
    module = sys.modules.get(f"fd_bayes.{name}")
    if isinstance(module, MovedModule):
        return module
    raise AttributeError(f"module 'fd_bayes' has no attribute {name!r}")
