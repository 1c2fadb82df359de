"""The suite's scheduling: the longest files start first under `make test`'s own pytest command."""

import os
import re
import subprocess
import sys
import textwrap

from tests.conftest import LONGEST_FILES, REPO


def test_every_longest_file_exists_once():
    assert len(set(LONGEST_FILES)) == len(LONGEST_FILES)
    missing = [path for path in LONGEST_FILES if not (REPO / path).is_file()]
    assert not missing, f"tests/conftest.py LONGEST_FILES names files that do not exist: {missing}"


def make_test_pytest_args() -> list[str]:
    """The pytest options of the Makefile's `test` recipe, with 2 workers and no PYTEST_ARGS."""
    recipe = (REPO / "Makefile").read_text().split("\ntest: ", 1)[1].split("\n\n", 1)[0]
    line = next(line for line in recipe.splitlines() if " -m pytest " in line)
    args = line.split(" -m pytest ", 1)[1].replace("$(TEST_WORKERS)", "2").replace("$(PYTEST_ARGS)", "").split()
    assert all("$" not in arg for arg in args), args
    return args


def test_make_tests_workers_take_the_files_in_collection_order(tmp_path):
    # A one-test file sorted first by the conftest (as LONGEST_FILES does), then two files of several tests:
    # xdist's default hands out files with the most tests first, which would start the long one last.
    (tmp_path / "conftest.py").write_text(textwrap.dedent("""
        def pytest_collection_modifyitems(session, config, items):
            items.sort(key=lambda item: 0 if item.path.name == "test_long.py" else 1)
    """))
    body = "import os, time\n\ndef log(name):\n    with open(os.environ['ORDER_LOG'], 'a') as fh:\n" \
           "        fh.write(f'{time.time()} {name}\\n')\n    time.sleep(0.3)\n"
    (tmp_path / "test_long.py").write_text(body + "\ndef test_long():\n    log('long')\n")
    for name, count in (("many_a", 5), ("many_b", 4)):
        (tmp_path / f"test_{name}.py").write_text(
            body + "".join(f"\ndef test_{name}_{i}():\n    log('{name}')\n" for i in range(count)))
    order = tmp_path / "order.log"
    result = subprocess.run(
        [sys.executable, "-m", "pytest", *make_test_pytest_args(), "-p", "no:cacheprovider", "-q", str(tmp_path)],
        cwd=tmp_path, env={**os.environ, "ORDER_LOG": str(order)}, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert re.search(r"10 passed", result.stdout), result.stdout[-2000:]
    started: dict[str, float] = {}
    for line in order.read_text().splitlines():
        stamp, name = line.split()
        started.setdefault(name, float(stamp))
    assert started["long"] < started["many_b"], started  # taken first, not after the files with more tests
