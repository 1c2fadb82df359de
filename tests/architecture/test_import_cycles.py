"""No import circle among the modules of ``weekly_discovery``: read from the code's own imports.

Every import counts, at module level, inside a function and under ``TYPE_CHECKING``: a circle that only a
function-level import keeps from failing at start-up is still two modules that cannot be read, changed or
tested one without the other. A failure names each circle, module by module.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "weekly_discovery"


def module_name(path: Path, root: Path) -> str:
    parts = path.relative_to(root.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path, root: Path, modules: set[str]) -> set[str]:
    """The modules of the package that ``path`` imports, at any depth of the file.

    ``from a.b import c`` is an import of the module ``a.b.c`` when there is one, else of ``a.b``.
    """
    tree = ast.parse(path.read_text(), filename=str(path))
    here = module_name(path, root)
    package = here if path.name == "__init__.py" else here.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            for alias in node.names:
                found.add(f"{module}.{alias.name}" if f"{module}.{alias.name}" in modules else module)
    return {m for m in found if m in modules and m != here}


def import_graph(root: Path = PACKAGE) -> dict[str, set[str]]:
    paths = sorted(root.rglob("*.py"))
    modules = {module_name(p, root) for p in paths}
    return {module_name(p, root): imports_of(p, root, modules) for p in paths}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One circle per strongly connected group of modules (Tarjan), each as ``[a, b, ..., a]``."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return [_circle(graph, group) for group in sorted(groups)]


def _circle(graph: dict[str, set[str]], group: list[str]) -> list[str]:
    """A path from the group's first module back to itself through the group (breadth first: a shortest one)."""
    start, members = group[0], set(group)
    paths = {start: [start]}
    queue = [start]
    while queue:
        node = queue.pop(0)
        for nxt in sorted(graph[node] & members):
            if nxt == start:
                return paths[node] + [start]
            if nxt not in paths:
                paths[nxt] = paths[node] + [nxt]
                queue.append(nxt)
    raise AssertionError(f"no circle through {start} in {group}")  # pragma: no cover - a group is strongly connected


def test_no_module_of_the_package_is_in_an_import_circle():
    found = [" -> ".join(circle) for circle in cycles(import_graph())]
    assert found == [], "import circles:\n" + "\n".join(found)


def test_the_graph_sees_the_package():
    graph = import_graph()
    assert "weekly_discovery.recommend.job" in graph
    assert "weekly_discovery.lake.layout" in graph["weekly_discovery.recommend.job"] or \
        "weekly_discovery.lake" in graph["weekly_discovery.recommend.job"]


def _write(root: Path, files: dict[str, str]) -> Path:
    package = root / "weekly_discovery"
    for name, text in files.items():
        path = package / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return package


def test_a_circle_through_a_function_level_import_is_named(tmp_path):
    package = _write(tmp_path, {
        "__init__.py": "",
        "stage/__init__.py": "",
        "stage/a.py": "from weekly_discovery.stage.b import thing\n",
        "stage/b.py": "def thing():\n    from weekly_discovery.stage import c\n",
        "stage/c.py": "from . import a\n",
        "stage/d.py": "from weekly_discovery.stage import a\n",  # imports the circle, is not in it
    })
    assert [" -> ".join(c) for c in cycles(import_graph(package))] == [
        "weekly_discovery.stage.a -> weekly_discovery.stage.b -> weekly_discovery.stage.c -> weekly_discovery.stage.a"]


def test_two_modules_importing_each_other_under_type_checking_are_a_circle(tmp_path):
    package = _write(tmp_path, {
        "__init__.py": "",
        "layer/__init__.py": "",
        "layer/x.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from weekly_discovery.layer.y import Y\n",
        "layer/y.py": "import weekly_discovery.layer.x\n",
    })
    assert cycles(import_graph(package)) == [
        ["weekly_discovery.layer.x", "weekly_discovery.layer.y", "weekly_discovery.layer.x"]]


def test_no_circle_no_finding(tmp_path):
    package = _write(tmp_path, {
        "__init__.py": "",
        "layer/__init__.py": "",
        "layer/x.py": "import os\n",
        "layer/y.py": "from weekly_discovery.layer import x\nfrom weekly_discovery.layer.x import os\n",
    })
    assert cycles(import_graph(package)) == []
