"""Defect 9: ``make ui`` must never have the admin password in a file others can read, not even briefly.

The file was opened with O_TRUNC and chmod-ed after the write: a file left by an earlier start (or made
by someone else) with a looser mode got the new password while still readable by others, and a reader
who had it open already read the new password through that descriptor.
"""

from __future__ import annotations

import json
import os
import stat

from weekly_discovery.service import airflow_services as ui


def test_the_password_file_is_0600_when_the_secret_is_written(tmp_path, monkeypatch):
    path = tmp_path / ui.PASSWORDS_FILE
    path.write_text("{}")
    os.chmod(path, 0o644)  # left readable by an earlier version, or by hand
    modes = []
    real_dump = json.dump

    def dump(obj, fh, **kwargs):
        modes.append(stat.S_IMODE(os.fstat(fh.fileno()).st_mode))
        return real_dump(obj, fh, **kwargs)

    monkeypatch.setattr(ui.json, "dump", dump)
    old = os.umask(0)
    try:
        password = ui.write_password(tmp_path)
    finally:
        os.umask(old)

    assert modes == [0o600]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert json.loads(path.read_text()) == {"admin": password}


def test_a_reader_of_the_old_file_does_not_get_the_new_password(tmp_path):
    path = tmp_path / ui.PASSWORDS_FILE
    path.write_text('{"admin": "old"}')
    os.chmod(path, 0o644)
    with open(path) as reader:  # opened while it was readable
        password = ui.write_password(tmp_path)
        assert password not in reader.read()
    assert json.loads(path.read_text()) == {"admin": password}
