"""constraints.txt pins the numerical stack inside the ranges pyproject.toml supports."""

from __future__ import annotations

import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]
#: The libraries whose release could move a default fit (the issue's list).
MUST_PIN = {"pymc", "pytensor", "nutpie", "arviz", "numpy", "scipy", "numba", "statsmodels"}


def pins() -> dict[str, Version]:
    out = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            assert version, f"constraints.txt: {line!r} is not an exact pin (name==version)"
            out[canonicalize_name(name)] = Version(version)
    return out


def requirements() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        reqs += [r for r in extra if not r.startswith("fd_bayes")]
    return [Requirement(r) for r in reqs]


def test_the_numerical_stack_is_pinned():
    assert MUST_PIN <= set(pins())


def test_pins_lie_inside_the_supported_ranges():
    pinned = pins()
    checked = 0
    for req in requirements():
        version = pinned.get(canonicalize_name(req.name))
        if version is not None:
            assert req.specifier.contains(version, prereleases=True), (
                f"constraints.txt pins {req.name}=={version}, outside pyproject's {req}"
            )
            checked += 1
    assert checked >= 8


def test_ci_and_readme_install_with_the_constraints():
    assert "-c constraints.txt" in (ROOT / ".ci" / "run").read_text()
    head = (ROOT / "README.md").read_text().split("```")[1]
    assert head.count("-c constraints.txt") == 2
