"""The package layering, as configuration so it stays: arrows point one way, no cycles inside.

``example_site → tenants → engine → conditions``: a package never imports one to its left.
Inside ``engine/`` and ``conditions/`` no module imports itself back through others, whether at
module level or inside a function (imports under ``TYPE_CHECKING`` are only for the type checker
and do not count).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ORDER = ["conditions", "engine", "tenants", "example_site"]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports(path: Path) -> list[tuple[str, list[str]]]:
    """Return what ``path`` imports at run time: (module, names imported from it) pairs.

    ``TYPE_CHECKING`` blocks are left out.
    """
    tree = ast.parse(path.read_text())
    found: list[tuple[str, list[str]]] = []
    package = module_name(path) if path.name == "__init__.py" else module_name(path.parent)

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                for other in child.orelse:
                    visit(other)
                continue
            if isinstance(child, ast.Import):
                found.extend((alias.name, []) for alias in child.names)
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    parts = package.split(".")
                    base = ".".join(parts[: len(parts) - child.level + 1])
                    base = f"{base}.{child.module}" if child.module else base
                found.append((base, [alias.name for alias in child.names]))
            visit(child)

    visit(tree)
    return found


def graph(packages: list[str]) -> dict[str, set[str]]:
    sources = [path for name in packages for path in (ROOT / name).rglob("*.py")]
    modules = {module_name(path): path for path in sources if "migrations" not in path.parts}
    edges: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets: set[str] = set()
        for base, names in imports(path):
            # ``from engine import tenancy`` imports the module engine.tenancy; the package
            # itself only when a name is not a submodule.
            submodules = {f"{base}.{item}" for item in names} & modules.keys()
            targets |= submodules
            if len(submodules) < len(names) or not names:
                targets.add(base)
        edges[name] = {target for target in targets if target in modules and target != name}
    return edges


@pytest.mark.parametrize("package", ORDER[:-1])
def test_no_package_imports_one_that_builds_on_it(package: str) -> None:
    later = ORDER[ORDER.index(package) + 1 :]
    wrong = sorted(
        f"{module} imports {target}"
        for module, targets in graph(ORDER).items()
        if module.split(".")[0] == package
        for target in targets
        if target.split(".")[0] in later
    )
    assert wrong == []


@pytest.mark.parametrize("package", ["conditions", "engine"])
def test_no_import_cycle_inside_the_package(package: str) -> None:
    edges = graph([package])
    cycles: list[list[str]] = []
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def walk(module: str) -> None:
        state[module] = 1
        path.append(module)
        for target in sorted(edges[module]):
            if state.get(target) == 1:
                cycles.append([*path[path.index(target) :], target])
            elif target not in state:
                walk(target)
        path.pop()
        state[module] = 2

    for module in sorted(edges):
        if module not in state:
            walk(module)
    assert [" -> ".join(cycle) for cycle in cycles] == []
