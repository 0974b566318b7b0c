"""The layout's rules, checked on the source: no import circles (between modules, or between the
packages of ``rtswap/``), no function over 60 lines, no module over 400, and each engine's flags
named only in its own folder."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent / "rtswap"


def _modules() -> dict[str, Path]:
    found = {}
    for path in ROOT.rglob("*.py"):
        parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


MODULES = _modules()


def _imported(module: str, node: ast.Import | ast.ImportFrom, package: bool) -> list[str]:
    """The rtswap modules an import statement names (``from pkg import sub`` names ``pkg.sub``)."""
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    else:
        base = module.split(".") if package else module.split(".")[:-1]
        prefix = node.module or ""
        if node.level:
            prefix = ".".join(base[: len(base) - node.level + 1] + ([node.module] if node.module else []))
        subs = [f"{prefix}.{alias.name}" for alias in node.names]
        names = subs if all(sub in MODULES for sub in subs) else [prefix, *subs]
    found = []
    for name in names:
        while name and name not in MODULES:
            name = name.rpartition(".")[0]
        if name and name != module:
            found.append(name)
    return found


def _graph() -> dict[str, set[str]]:
    """Module -> the modules it imports, at any depth of the file (inside functions and under
    ``TYPE_CHECKING`` too: a type-only circle is still a circle to a reader)."""
    graph = {}
    for module, path in MODULES.items():
        tree = ast.parse(path.read_text())
        graph[module] = {
            imported
            for node in ast.walk(tree)
            if isinstance(node, (ast.Import, ast.ImportFrom))
            for imported in _imported(module, node, path.name == "__init__.py")
        }
    return graph


def _circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one node (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    circles = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in graph.get(node, ()):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return circles


def _package(module: str) -> str:
    return ".".join(module.split(".")[:2])  # rtswap.capture, rtswap.frame, ...


def test_no_module_imports_itself_through_others() -> None:
    assert _circles(_graph()) == []


def test_no_packages_import_each_other() -> None:
    packages: dict[str, set[str]] = {}
    for module, imported in _graph().items():
        packages.setdefault(_package(module), set()).update(
            _package(other) for other in imported if _package(other) != _package(module)
        )
    assert _circles(packages) == []


def test_the_checks_see_a_circle() -> None:
    assert _circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_the_bottom_layer_imports_nothing_above_it() -> None:
    graph = _graph()
    assert graph["rtswap.errors"] == set()
    assert graph["rtswap.config"] <= {"rtswap.runtime", "rtswap.errors"}
    # the mesh's named points (plain indices), the crops the work lives in, the head's pose
    assert graph["rtswap.frame"] <= {
        "rtswap.geometry.landmarks",
        "rtswap.geometry.crops",
        "rtswap.geometry.pose",
    }


@pytest.mark.parametrize("path", sorted(ROOT.rglob("*.py")), ids=lambda p: str(p.relative_to(ROOT)))
def test_modules_and_functions_stay_short(path: Path) -> None:
    lines = path.read_text().splitlines()
    assert len(lines) <= 400
    long = [
        f"{node.name} ({node.end_lineno - node.lineno + 1} lines)"
        for node in ast.walk(ast.parse("\n".join(lines)))
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        and node.end_lineno is not None
        and node.end_lineno - node.lineno + 1 > 60
    ]
    assert long == []


@pytest.mark.parametrize("flag", ["crop_size", "boost", "megafs_resolution"])
def test_an_engine_flag_is_named_only_where_it_is_declared_and_read(flag: str) -> None:
    from rtswap import engines

    owners = {
        ROOT / "engines" / package.__name__.rpartition(".")[2]
        for package in engines.packages()
        if flag in getattr(package, "FLAGS", ())
    }
    named = re.compile(rf"--{flag.replace('_', '-')}\b|\.{flag}\b|\b{flag}=")  # the flag, the option
    naming = {path for path in ROOT.rglob("*.py") if named.search(path.read_text())}
    allowed = {ROOT / "engines" / "boost.py"} if flag == "boost" else set()
    assert {p for p in naming if not any(owner in p.parents for owner in owners)} <= allowed


def test_the_product_never_imports_the_test_inputs() -> None:
    importing = {
        module
        for module, imported in _graph().items()
        if not module.startswith("rtswap.testing") and any(m.startswith("rtswap.testing") for m in imported)
    }
    assert importing == set()
