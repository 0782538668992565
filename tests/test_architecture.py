"""The package's layers: every import (module level, in functions, under TYPE_CHECKING) points down
or within a layer, and no two modules import each other through any chain.

Layers, bottom to top (DESIGN.md "Layout"): _core < feature_column, head < _engine < export <
_estimator < canned, _inputs, datasets < serving < cli. The public modules at the package root (and
the facade packages, such as ``compat``) are thin facades over these; no private module imports a
facade.
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
from pathlib import Path

import pytest

import torch_estimator

PACKAGE = Path(torch_estimator.__file__).parent
FACADE = 9
LAYERS = {
    "_core": 1,
    "feature_column": 2,
    "head": 2,
    "_engine": 3,
    "export": 4,
    "_estimator": 5,
    "canned": 6,
    "_inputs": 6,
    "datasets": 6,
    "serving": 7,
    "cli": 8,
    "_census": 8,
    "__main__": 8,
}
#: Packages of facades only (TensorFlow's nested namespaces, e.g. ``te.compat.v1.losses``).
FACADE_PACKAGES = {"compat", "data"}
#: Same-layer packages that stay independent of each other.
INDEPENDENT = {frozenset({"feature_column", "head"})}


def _modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


MODULES = _modules()


def _part(module: str) -> str:
    """The top-level part of the package a module belongs to (``''`` for the package itself)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _layer(module: str) -> int:
    return LAYERS.get(_part(module), FACADE)


def _imports(module: str) -> set[str]:
    """The package modules ``module`` imports anywhere in its source."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            names = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base for alias in node.names]
        else:
            continue
        found.update(name for name in names if name in MODULES and name != module)
    return found


GRAPH = {module: _imports(module) for module in MODULES}


def test_every_module_is_in_a_known_layer():
    unknown = sorted(m for m in MODULES if _layer(m) == FACADE and m.count(".") > 1 and _part(m) not in FACADE_PACKAGES)
    assert not unknown, f"modules below a package the layer table does not know: {unknown}"


def test_no_import_points_up_a_layer():
    upward = sorted(
        f"{module} ({_layer(module)}) imports {target} ({_layer(target)})"
        for module, targets in GRAPH.items()
        for target in targets
        if _layer(target) > _layer(module) and target != "torch_estimator"
    )
    assert not upward, "\n".join(upward)


def test_no_private_module_imports_the_package_root():
    offenders = sorted(m for m, targets in GRAPH.items() if "torch_estimator" in targets and _layer(m) < FACADE)
    assert not offenders, offenders


def test_independent_packages_do_not_import_each_other():
    crossing = sorted(
        f"{module} imports {target}"
        for module, targets in GRAPH.items()
        for target in targets
        if frozenset({_part(module), _part(target)}) in INDEPENDENT and _part(module) != _part(target)
    )
    assert not crossing, crossing


def test_no_import_cycles():
    """Tarjan's strongly connected components over the module graph: each must be one module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for target in GRAPH[module]:
            if target not in index:
                visit(target)
                low[module] = min(low[module], low[target])
            elif target in on_stack:
                low[module] = min(low[module], index[target])
        if low[module] == index[module]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == module:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for module in sorted(GRAPH):
        if module not in index:
            visit(module)
    assert not cycles, cycles


@pytest.mark.parametrize(
    "module", sorted(m.name for m in pkgutil.walk_packages(torch_estimator.__path__, "torch_estimator."))
)
def test_every_module_imports(module):
    importlib.import_module(module)
