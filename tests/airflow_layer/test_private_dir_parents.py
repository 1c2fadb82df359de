"""Defect 5: the private folder is only private if no other user can swap it out from its parents.

Whoever can write in a parent of the folder (without the sticky bit) can rename the folder away and put
their own in its place between the zip's hash check and spark-submit opening it. Tests run as root here,
so the check is about mode bits: a parent with mode 0777 must be refused, with the folder and the fix named.
"""

from __future__ import annotations

import os
import stat

import pytest

from weekly_discovery.airflow.private_folder import CACHE_ENV, PrivateDirError, private_dir


@pytest.mark.parametrize("shared_level", [1, 2])  # the parent itself, or a folder higher up
def test_a_folder_under_a_world_writable_parent_is_refused(tmp_path, shared_level):
    shared = tmp_path / "shared"
    folder = shared / "cache" / "py-files" if shared_level == 2 else shared / "py-files"
    folder.mkdir(mode=0o700, parents=True)  # the folder itself is private: 0700, this user's
    os.chmod(folder.parent, 0o755)
    os.chmod(shared, 0o777)

    with pytest.raises(PrivateDirError) as refused:
        private_dir(folder)

    message = str(refused.value)
    assert str(folder) in message and f"{shared} (mode 0777" in message
    assert CACHE_ENV in message and "chmod go-w" in message


def test_a_sticky_parent_owned_by_root_or_this_user_is_accepted(tmp_path):
    shared = tmp_path / "tmp-like"
    shared.mkdir()
    os.chmod(shared, 0o1777)  # as /tmp: others may write, but not rename what is not theirs

    folder = private_dir(shared / "py-files")

    assert folder == shared / "py-files"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700


def test_missing_parents_are_created_without_write_for_others(tmp_path, monkeypatch):
    old = os.umask(0o002)  # a group-friendly umask must not make the new parents refusable
    try:
        folder = private_dir(tmp_path / "xdg" / "weekly-discovery" / "py-files")
    finally:
        os.umask(old)
    for created in (tmp_path / "xdg", tmp_path / "xdg" / "weekly-discovery", folder):
        assert stat.S_IMODE(created.stat().st_mode) == 0o700, created
