"""The private folder where the Spark tasks keep their files: the code zip, settings files, class data.

A file Spark runs or reads as this user (the ``--py-files`` zip, a ``--properties-file`` holding secrets,
the JVM's class-data archive) must not be writable, or replaceable, by another local user. So they live in
one folder, :func:`private_dir`: 0700, owned by this user, in folders no other user can write in, else
refused with :class:`PrivateDirError`. :func:`remove_stale` deletes what no task has used for a while.
"""

from __future__ import annotations

import contextlib
import os
import stat
import time
from collections.abc import Iterable
from pathlib import Path

from weekly_discovery.core.errors import UserError

CACHE_ENV = "WEEKLY_DISCOVERY_PY_FILES_DIR"


class PrivateDirError(UserError, PermissionError):
    """The private folder for the zip and properties files exists but another user could write in it."""


def cache_dir() -> Path:
    """Where built zips and per-submit properties files live: ``$WEEKLY_DISCOVERY_PY_FILES_DIR``, else
    ``$XDG_CACHE_HOME/weekly-discovery/py-files`` (default ``~/.cache``): inside the user's home, not in
    the shared temp dir, where another user could create the folder first."""
    configured = os.environ.get(CACHE_ENV)
    if configured:
        return Path(configured).expanduser()
    cache_home = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache_home) / "weekly-discovery" / "py-files"


def private_dir(folder: Path | None = None) -> Path:
    """``folder`` (default :func:`cache_dir`), created 0700 if missing, after checking it is private.

    An existing folder must be a real directory (not a symlink) owned by this user and writable by
    nobody else; otherwise whoever else can write there could replace the code Spark runs as this user
    or read the secrets of a submit, so it is refused with :class:`PrivateDirError`. So must every folder
    above it, up to ``/`` (real paths; the path returned is the real one): owned by root or this user, and
    not writable by group or others unless it has the sticky bit (as ``/tmp``: others may then not rename
    what is not theirs, and everything on the way is root's or this user's). Otherwise another user could
    rename the folder away and put one of their own in its place after the checks. Missing parents are
    created 0700 (a umask such as 0002 would make them group-writable).
    """
    folder = Path(os.path.abspath(folder or cache_dir()))
    fix = f"remove it (as its owner or root) or set {CACHE_ENV} to a folder of your own, mode 0700"
    try:
        for path in (*reversed(folder.parents), folder):
            if not path.is_dir():
                with contextlib.suppress(FileExistsError):  # a file or a symlink: refused below
                    path.mkdir(mode=0o700)  # private from its creation (a umask can only remove bits)
    except OSError as exc:
        raise PrivateDirError(f"cannot create {folder} ({exc.strerror}): set {CACHE_ENV} to a folder "
                              "of your own, mode 0700") from exc
    folder = folder.parent.resolve() / folder.name
    for parent in folder.parents:
        info = os.stat(parent)
        shared = info.st_mode & (stat.S_IWGRP | stat.S_IWOTH) and not info.st_mode & stat.S_ISVTX
        if info.st_uid not in (0, os.getuid()) or shared:
            raise PrivateDirError(
                f"{folder} is inside {parent} (mode {stat.S_IMODE(info.st_mode):04o}, uid {info.st_uid}), where "
                f"another user could replace it with a folder of their own: run `chmod go-w {parent}` if it "
                f"is yours, or set {CACHE_ENV} to a folder whose parents only you or root can write in"
            )
    info = os.lstat(folder)
    if not stat.S_ISDIR(info.st_mode):
        raise PrivateDirError(f"{folder} is not a directory (a symlink or a file): {fix}")
    if info.st_uid != os.getuid():
        raise PrivateDirError(
            f"{folder} belongs to uid {info.st_uid}, not to this user (uid {os.getuid()}): another user "
            f"may have planted files in it; {fix}"
        )
    if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise PrivateDirError(
            f"{folder} is writable by other users (mode {stat.S_IMODE(info.st_mode):04o}): "
            f"run `chmod 700 {folder}`, or {fix}"
        )
    return folder


def remove_stale(folder: Path, patterns: Iterable[str], max_age_s: float, keep: Path | None = None) -> None:
    """Delete the files of the private ``folder`` matching ``patterns`` that are older than ``max_age_s``
    (modified time: users touch what they use), except ``keep``."""
    cutoff = time.time() - max_age_s
    for pattern in patterns:
        for old in folder.glob(pattern):
            with contextlib.suppress(FileNotFoundError):
                if old != keep and old.stat().st_mtime < cutoff:
                    old.unlink()
