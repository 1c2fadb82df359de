"""The suite's scheduling list names files that exist (a renamed file would silently lose its early start)."""

from tests.conftest import LONGEST_FILES, REPO


def test_every_longest_file_exists_once():
    assert len(set(LONGEST_FILES)) == len(LONGEST_FILES)
    missing = [path for path in LONGEST_FILES if not (REPO / path).is_file()]
    assert not missing, f"tests/conftest.py LONGEST_FILES names files that do not exist: {missing}"
