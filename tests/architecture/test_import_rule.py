"""The layout's one rule, checked from the code's own imports (module level and inside functions).

A stage (ingest, enrich, report, recommend, ...) imports the shared layers, never another stage; a layer
(core, lake, spotify, settings, spark, airflow) imports no stage. So a change to one stage has one home, and the
layers stay usable by every stage. The layers stand on each other without a circle: core (the shared vocabulary:
roles, ids, the feature contract, coverage; errors) at the bottom, then the lake and the Spotify client, the
settings, Spark, Airflow. dags/, jobs/, plugins/, devtools/ and the package's top-level modules
(``weekly_discovery/upgrade_lake.py``) sit above and may import anything.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "weekly_discovery"
LAYERS = {"core", "lake", "spotify", "settings", "spark", "airflow"}
STAGES = {p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").is_file()} - LAYERS


def imported_modules(path: Path) -> set[str]:
    """Every module ``path`` imports, absolute, at any depth of the file."""
    tree = ast.parse(path.read_text(), filename=str(path))
    here = path.relative_to(PACKAGE.parent).with_suffix("").parts
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against this module's package
                base = list(here[: len(here) - node.level])
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            if module.count(".") >= 1:
                found.add(module)
            else:  # ``from weekly_discovery import report``: the names are the modules
                found.update(f"{module}.{alias.name}" for alias in node.names)
    return found


def home(module: str) -> str | None:
    """The first-level package of ``weekly_discovery`` that ``module`` lives in, if any."""
    parts = module.split(".")
    if parts[0] != "weekly_discovery" or len(parts) < 2:
        return None
    return parts[1]


def violations() -> list[str]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        owner = home(".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts))
        if owner is None or owner == "__init__" or path.parent == PACKAGE:
            continue  # a module beside the stages (upgrade_lake.py) sits above them, as dags/ and jobs/ do
        for module in sorted(imported_modules(path)):
            target = home(module)
            if target is None or target == owner or target not in STAGES:
                continue
            kind = "layer" if owner in LAYERS else "stage"
            found.append(f"{path.relative_to(PACKAGE.parent)} ({kind} {owner}) imports stage {target}: {module}")
    return found


def layer_imports() -> dict[str, set[str]]:
    """Which layers each layer imports (any module of it, at any depth of a file)."""
    found: dict[str, set[str]] = {layer: set() for layer in LAYERS}
    for path in sorted(PACKAGE.rglob("*.py")):
        owner = home(".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts))
        if owner not in LAYERS:
            continue
        found[owner].update(t for m in imported_modules(path) if (t := home(m)) in LAYERS and t != owner)
    return found


def layer_circles(edges: dict[str, set[str]]) -> list[str]:
    """Every circle among the layers, as ``a -> b -> a`` (each found once, from its smallest name)."""
    circles = []

    def walk(path: list[str]) -> None:
        for nxt in sorted(edges.get(path[-1], ())):
            if nxt == path[0]:
                circles.append(" -> ".join([*path, nxt]))
            elif nxt not in path and nxt > path[0]:
                walk([*path, nxt])

    for start in sorted(edges):
        walk([start])
    return circles


def test_the_stages_and_layers_are_the_documented_ones():
    # A new first-level package must be declared a layer here, or it is a stage and the rule applies to it.
    assert {"ingest", "enrich", "report", "recommend"} <= STAGES
    assert LAYERS <= {p.name for p in PACKAGE.iterdir() if p.is_dir()}


def test_no_stage_imports_another_stage_and_no_layer_imports_a_stage():
    assert violations() == []


def test_the_layers_import_each_other_without_a_circle():
    assert layer_circles(layer_imports()) == []


def test_the_layers_stand_in_the_documented_order():
    # each layer imports only layers below it: core <- lake, spotify <- settings <- spark <- airflow
    below = {"core": set(), "lake": {"core"}, "spotify": {"core"}, "settings": {"core", "lake", "spotify"},
             "spark": {"core", "lake", "spotify", "settings"},
             "airflow": {"core", "lake", "spotify", "settings", "spark"}}
    assert {layer: sorted(used - below[layer]) for layer, used in layer_imports().items()} == \
        {layer: [] for layer in LAYERS}


def test_a_circle_between_layers_is_named():
    edges = {"core": {"lake"}, "lake": {"core", "spark"}, "spark": {"lake"}, "airflow": {"spark"}}
    assert layer_circles(edges) == ["core -> lake -> core", "lake -> spark -> lake"]


def fake_package(root: Path, files: dict[str, str]) -> Path:
    """A tiny ``weekly_discovery`` under ``root``: ``files`` by path, each package with its ``__init__.py``."""
    fake = root / "weekly_discovery"
    for name, text in files.items():
        path = fake / name
        path.parent.mkdir(parents=True, exist_ok=True)
        (path.parent / "__init__.py").touch()
        path.write_text(text)
    return fake


def test_a_layer_circle_through_a_function_level_import_is_found(tmp_path, monkeypatch):
    fake = fake_package(tmp_path, {"core/config.py": "def root():\n    from weekly_discovery.lake import layout\n",
                                   "lake/layout.py": "from weekly_discovery.core.errors import UserError\n"})
    monkeypatch.setattr(__import__(__name__, fromlist=["PACKAGE"]), "PACKAGE", fake)
    monkeypatch.setattr(__import__(__name__, fromlist=["LAYERS"]), "LAYERS", {"core", "lake"})
    assert layer_circles(layer_imports()) == ["core -> lake -> core"]


@pytest.mark.parametrize("source, expected", [
    ("from weekly_discovery.report import render\n", "weekly_discovery/recommend/x.py (stage recommend) imports stage report"),
    ("def f():\n    import weekly_discovery.enrich.cache\n", "weekly_discovery/recommend/x.py (stage recommend) imports stage enrich"),
    ("from ..ingest import extract\n", "weekly_discovery/recommend/x.py (stage recommend) imports stage ingest"),
])
def test_the_check_catches_a_cross_stage_import(tmp_path, monkeypatch, source, expected):
    # The same check over a tiny package written here, so the test above cannot pass by finding nothing.
    fake = tmp_path / "weekly_discovery"
    for stage in ("recommend", "report", "enrich", "ingest", "core"):
        (fake / stage).mkdir(parents=True)
        (fake / stage / "__init__.py").write_text("")
    (fake / "recommend" / "x.py").write_text(source)
    (fake / "core" / "ok.py").write_text("from weekly_discovery.core import vocabulary\n")
    monkeypatch.setattr(__import__(__name__, fromlist=["PACKAGE"]), "PACKAGE", fake)
    monkeypatch.setattr(__import__(__name__, fromlist=["STAGES"]), "STAGES", {"recommend", "report", "enrich", "ingest"})
    found = violations()
    assert len(found) == 1 and found[0].startswith(expected)


def test_a_layer_importing_a_stage_is_caught(tmp_path, monkeypatch):
    fake = fake_package(tmp_path, {"lake/y.py": "from weekly_discovery.report.paths import report_dir\n",
                                   "report/__init__.py": ""})
    monkeypatch.setattr(__import__(__name__, fromlist=["PACKAGE"]), "PACKAGE", fake)
    monkeypatch.setattr(__import__(__name__, fromlist=["STAGES"]), "STAGES", {"report"})
    assert violations() == ["weekly_discovery/lake/y.py (layer lake) imports stage report: weekly_discovery.report.paths"]
