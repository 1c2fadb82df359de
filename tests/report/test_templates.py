"""The page's templates ship with the package: in the ``--py-files`` zip and in a built wheel."""

from __future__ import annotations

import subprocess
import sys
import tomllib

from tests.conftest import REPO
from weekly_discovery.airflow.spark_submit import package_zip

TEMPLATES = REPO / "weekly_discovery" / "report" / "templates"


def test_the_page_renders_from_the_py_files_zip(tmp_path):
    archive = package_zip(directory=tmp_path)
    code = (
        "import sys\n"
        f"sys.path.insert(0, {str(archive)!r})\n"
        "from weekly_discovery.report import render\n"
        f"assert render.__file__.startswith({str(archive)!r}), render.__file__\n"
        "print(render.top_artists_section({'top_artists': {'min_tracks': 3, 'total': 1, 'shown': 1, 'artists': "
        "[{'name': 'Björk & <b>', 'artist_id': 'x', 'tracks': 5}]}}))\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert run.returncode == 0, run.stderr[-3000:]
    assert '<section id="top-artists"><h2>Top artists</h2>' in run.stdout
    assert '<td class="num">1</td><td>Björk &amp; &lt;b&gt;</td><td class="num">5</td>' in run.stdout


def test_every_template_file_is_declared_as_package_data():
    """setuptools ships only .py files unless told: a wheel (the Docker image) would lack the templates."""
    declared = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    patterns = declared["weekly_discovery.report"]
    files = {p for p in TEMPLATES.rglob("*") if p.is_file() and "__pycache__" not in p.parts}
    shipped = {p for pattern in patterns for p in TEMPLATES.parent.glob(pattern)}  # as setuptools globs them
    assert len(files) >= 8  # the page, the CSS, the macros and the five sections
    assert sorted(files - shipped) == []
