"""The Python versions `make setup` and the README accept are the ones pyproject.toml supports (issue 12).

The package needs ``tomllib`` (Python 3.11); `make setup` used to accept 3.10, which then failed at the
first config read instead of at set-up.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.specifiers import SpecifierSet

REPO = Path(__file__).resolve().parents[2]


def makefile_range() -> tuple[tuple[int, int], tuple[int, int]]:
    """``(low, high)`` of the Makefile's ``(3, a) <= v <= (3, b)`` check, and its message's ``3.a-3.b``."""
    text = (REPO / "Makefile").read_text()
    check = re.search(r"\((\d+), (\d+)\) <= v <= \((\d+), (\d+)\)", text)
    assert check, "the Makefile's setup no longer checks the Python version"
    low, high = (int(check[1]), int(check[2])), (int(check[3]), int(check[4]))
    message = re.search(r'"Python (\d+)\.(\d+)-(\d+)\.(\d+) is required', text)
    assert message and ((int(message[1]), int(message[2])), (int(message[3]), int(message[4]))) == (low, high)
    return low, high


def test_makefile_accepts_only_versions_requires_python_allows_from_its_minimum():
    requires = SpecifierSet(tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["requires-python"])
    low, high = makefile_range()
    for minor in range(6, 16):
        accepted_by_make = low <= (3, minor) <= high
        if accepted_by_make:
            assert f"3.{minor}" in requires, f"make setup accepts 3.{minor}, pyproject says {requires}"
    assert low == (3, 11)  # tomllib: the first version pyproject allows
    assert f"3.{low[1] - 1}" not in requires


def test_readme_states_the_makefile_range():
    low, high = makefile_range()
    readme = (REPO / "README.md").read_text()
    assert f"Python {low[0]}.{low[1]}-{high[0]}.{high[1]}" in readme
    assert "Python 3.10" not in readme
