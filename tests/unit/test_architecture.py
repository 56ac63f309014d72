"""The package's architecture, checked on its source: layers, cycles, private names, sizes,
and the documents that describe it (ARCHITECTURE.md's module map, the docs' ``:::``
targets).

The layers (ARCHITECTURE.md, "the one rule"): each imports only from those below it,
imports inside functions included::

    constants, errors, _version, plots (a leaf)
      < data < modelling < inference < results < frequentist < meta < plan < report < cli
      < fd_bayes/__init__.py, _compat.py

``frequentist`` depends on the data layer only.
"""

from __future__ import annotations

import ast
import importlib
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "fd_bayes"
BASE = ("constants", "errors", "_version")
LEAVES = ("plots",)
LAYERS = (
    "data",
    "modelling",
    "inference",
    "results",
    "frequentist",
    "meta",
    "plan",
    "report",
    "cli",
)
TOP = ("fd_bayes", "fd_bayes._compat")
#: What a layer may import besides the base, when it is narrower than "everything below".
ONLY = {"frequentist": {"data"}}
MAX_MODULE_LINES = 700
MAX_FUNCTION_LINES = 150


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


@cache
def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def layer(name: str) -> str:
    """The layer of a module: a sub-package name, ``base``, ``leaf`` or ``top``."""
    if name in TOP:
        return "top"
    head = name.split(".")[1]
    if head in BASE:
        return "base"
    if head in LEAVES:
        return "leaf"
    return head


def rank(name: str) -> int:
    kind = layer(name)
    if kind in ("base", "leaf"):
        return 0
    if kind == "top":
        return len(LAYERS) + 1
    return LAYERS.index(kind) + 1


@dataclass(frozen=True)
class Import:
    source: str
    target: str
    line: int
    names: tuple[str, ...]


def _type_checking_lines(tree: ast.Module) -> set[int]:
    """Lines inside ``if TYPE_CHECKING:`` blocks (not executed, so not edges)."""
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                out.update(range(child.lineno, child.end_lineno + 1))
    return out


@cache
def imports() -> tuple[Import, ...]:
    """Every import of an fd_bayes module by an fd_bayes module, deferred ones included."""
    known = modules()
    out = []
    for name, path in known.items():
        tree = ast.parse(path.read_text())
        skip = _type_checking_lines(tree)
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        for node in ast.walk(tree):
            if getattr(node, "lineno", None) in skip:
                continue
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.split(".")[0] == "fd_bayes":
                        out.append(Import(name, alias.name, node.lineno, ()))
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[: len(package.split(".")) - node.level + 1]
                    target = ".".join([*base, *([node.module] if node.module else [])])
                else:
                    target = node.module or ""
                if target.split(".")[0] != "fd_bayes":
                    continue
                names = tuple(a.name for a in node.names)
                subs = [n for n in names if f"{target}.{n}" in known]
                rest = tuple(n for n in names if f"{target}.{n}" not in known)
                out.extend(Import(name, f"{target}.{n}", node.lineno, ()) for n in subs)
                if rest:
                    out.append(Import(name, target, node.lineno, rest))
    return tuple(out)


def test_the_walker_sees_the_package():
    # a guard against a walker that finds nothing and so passes everything below
    assert len(modules()) > 40
    edges = {(i.source, i.target) for i in imports()}
    assert ("fd_bayes", "fd_bayes.data") in edges or any(s == "fd_bayes" for s, _ in edges)
    assert any(i.source.startswith("fd_bayes.results") for i in imports())


def test_no_import_goes_up_the_layers():
    bad = []
    for i in imports():
        src, dst = layer(i.source), layer(i.target)
        if dst == "top" and src not in ("top", "cli"):
            # the CLI is a client of the public API (``import fd_bayes as fdb``, lazily)
            bad.append(i)
        elif src == "leaf" and dst not in ("base", "leaf"):
            bad.append(i)
        elif src in ONLY and dst not in ONLY[src] | {src, "base", "leaf"}:
            bad.append(i)
        elif rank(i.target) > rank(i.source) and not (src == "cli" and dst == "top"):
            bad.append(i)
    assert not bad, "imports against the layer order:\n" + "\n".join(
        f"  {i.source} (line {i.line}) imports {i.target}" for i in bad
    )


def test_no_import_cycle():
    graph: dict[str, set[str]] = {}
    for i in imports():
        if i.target != i.source:
            graph.setdefault(i.source, set()).add(i.target)
    cycles, state = [], {}

    def visit(node, stack):
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                cycles.append([*stack[stack.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt, stack)
        stack.pop()
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node, [])
    assert not cycles, "import cycles:\n" + "\n".join("  " + " -> ".join(c) for c in cycles)


def test_no_private_name_crosses_a_module():
    bad = [
        f"  {i.source} (line {i.line}) imports {n} from {i.target}"
        for i in imports()
        for n in i.names
        if n.startswith("_") and not n.startswith("__") and i.target != i.source
    ]
    # module objects used with a private attribute: ``fq._pool(...)``
    for name, path in modules().items():
        tree = ast.parse(path.read_text())
        aliases = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("fd_bayes"):
                for a in node.names:
                    if f"{node.module}.{a.name}" in modules():
                        aliases[a.asname or a.name] = f"{node.module}.{a.name}"
            elif isinstance(node, ast.Import):
                for a in node.names:
                    if a.name.startswith("fd_bayes") and a.asname:
                        aliases[a.asname] = a.name
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id in aliases
                and node.attr.startswith("_")
                and not node.attr.startswith("__")
            ):
                bad.append(f"  {name} (line {node.lineno}) uses {node.value.id}.{node.attr}")
    assert not bad, "private names used across modules:\n" + "\n".join(bad)


def test_modules_and_functions_are_small():
    bad = []
    for name, path in modules().items():
        text = path.read_text()
        n = len(text.splitlines())
        if n > MAX_MODULE_LINES:
            bad.append(f"  {name}: {n} lines (at most {MAX_MODULE_LINES})")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = node.end_lineno - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    bad.append(f"  {name}.{node.name}: {length} lines")
    assert not bad, "too long:\n" + "\n".join(bad)


def test_every_subpackage_reexports_what_it_declares():
    for name in modules():
        if name.count(".") != 1 or layer(name) not in LAYERS:
            continue
        module = importlib.import_module(name)
        if (PACKAGE / name.split(".")[1] / "__init__.py").exists():
            exported = getattr(module, "__all__", None)
            assert exported, f"{name}/__init__.py has no __all__"
            missing = [n for n in exported if not hasattr(module, n)]
            assert not missing, f"{name}.__all__ names what it lacks: {missing}"


def test_importing_fd_bayes_leaves_the_matplotlib_backend_alone():
    import subprocess
    import sys

    code = (
        "import matplotlib; matplotlib.use('svg'); import fd_bayes, fd_bayes.report.full, "
        "fd_bayes.plots, fd_bayes.cli; print(matplotlib.get_backend())"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert out.stdout.split() == ["svg"], out.stdout + out.stderr
    # and nothing in the package draws through pyplot's global state
    users = [
        name
        for name, path in modules().items()
        if re.search(
            r"^\s*(import matplotlib\.pyplot|from matplotlib import pyplot)",
            path.read_text(),
            flags=re.M,
        )
    ]
    assert not users, f"modules that import pyplot: {users}"


# -- the documents that describe the architecture -------------------------------------------
def test_architecture_md_names_every_module():
    text = (ROOT / "ARCHITECTURE.md").read_text()
    missing = []
    for path in modules().values():
        rel = path.relative_to(PACKAGE).as_posix()
        if rel.endswith("/__init__.py") and _section(text, rel):
            continue  # a sub-package's re-exports: its heading in the map stands for it
        if f"`{rel}`" not in text and f"`{Path(rel).name}`" not in _section(text, rel):
            missing.append(rel)
    assert not missing, f"modules missing from ARCHITECTURE.md's module map: {missing}"


def _section(text: str, rel: str) -> str:
    """The part of ARCHITECTURE.md under the heading of ``rel``'s sub-package."""
    folder = rel.split("/")[0] + "/" if "/" in rel else None
    if folder is None:
        return ""
    match = re.search(rf"^#+ .*`{re.escape(folder)}`.*$", text, flags=re.M)
    if not match:
        return ""
    rest = text[match.end() :]
    nxt = re.search(r"^#+ ", rest, flags=re.M)
    return rest[: nxt.start()] if nxt else rest


def _docs_targets():
    for md in sorted((ROOT / "docs").glob("*.md")):
        for m in re.finditer(r"^::: *([\w.]+)", md.read_text(), flags=re.M):
            yield md.name, m.group(1)


@pytest.mark.parametrize(("page", "target"), list(_docs_targets()))
def test_docs_targets_resolve(page, target):
    parts = target.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        for attr in parts[cut:]:
            assert hasattr(obj, attr), f"{page}: ::: {target} does not resolve"
            obj = getattr(obj, attr)
        # the target is the object's home, not a re-export or a compatibility alias
        home = getattr(obj, "__module__", None) or getattr(obj, "__name__", "")
        assert home.startswith(".".join(parts[:cut])), f"{page}: {target} lives in {home}"
        return
    pytest.fail(f"{page}: ::: {target} does not resolve")
