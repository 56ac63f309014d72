"""The module paths of fd_bayes 0.1 (flat modules) keep working for one release.

``tests/data/flat_layout_names.json`` lists every public top-level name of every flat
module as it was at the last commit of that layout (read off its source with ``ast``).
"""

from __future__ import annotations

import importlib
import json
import sys
import warnings
from pathlib import Path

import pytest

import fd_bayes as fdb
from fd_bayes import _compat

NAMES = json.loads(
    (Path(__file__).resolve().parents[1] / "data" / "flat_layout_names.json").read_text()
)
#: Names of 0.1 that are gone on purpose (CHANGELOG.md says what replaces them).
REMOVED = {("fd_bayes.fit", "check_fit_settings")}


def test_every_old_module_is_registered():
    assert set(NAMES) == set(_compat.MOVED)
    for targets in _compat.MOVED.values():
        for target in targets:
            importlib.import_module(target)  # every target exists


@pytest.mark.parametrize("old", sorted(NAMES))
def test_every_old_name_resolves_with_a_warning(old):
    module = importlib.import_module(old)
    for name in NAMES[old]:
        if (old, name) in REMOVED:
            continue
        with pytest.warns(DeprecationWarning, match=f"import {name} from fd_bayes"):
            value = getattr(module, name)
        assert value is not None


def test_old_imports_give_the_new_objects():
    from fd_bayes.modelling import Design
    from fd_bayes.results import Fit

    with pytest.warns(DeprecationWarning, match="fd_bayes.modelling.design"):
        from fd_bayes.build import Design as OldDesign
    with pytest.warns(DeprecationWarning, match="fd_bayes.results.fit"):
        from fd_bayes.fit import Fit as OldFit
    assert OldDesign is Design and OldFit is Fit


def test_function_names_stay_functions():
    # ``fd_bayes.fit`` was both a module path and the function; importing the old path
    # must not replace the function
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import fd_bayes.calibrate
        import fd_bayes.fit
        import fd_bayes.sensitivity  # noqa: F401
    assert callable(fdb.fit) and callable(fdb.calibrate) and callable(fdb.sensitivity)
    assert sys.modules["fd_bayes.fit"].__name__ == "fd_bayes.fit"


def test_old_module_as_attribute_and_unknown_names():
    assert fdb.build is sys.modules["fd_bayes.build"]
    with pytest.raises(AttributeError):
        fdb.no_such_module  # noqa: B018
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        fdb.build.nothing  # noqa: B018
