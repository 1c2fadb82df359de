"""The error taxonomy: every exception class of the project says whether a retry can help.

The classes are discovered by importing every module of the package (a job file defines none), so a new class
raised without a base (or with both) fails here, not silently at 3 a.m. in a retry loop.
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
from pathlib import Path

import pytest

import weekly_discovery
from weekly_discovery.core.errors import TransientError, UserError, WeeklyDiscoveryError

REPO = Path(__file__).resolve().parents[2]

# Written by hand: the only failures a retry may fix (429 beyond the client's own wait, 5xx or lost
# connections through every retry, a create whose answer was lost). Everything else the project
# raises is a user error. A new transient class is a decision: add it here.
TRANSIENT = {
    "weekly_discovery.core.retry.Retryable",
    "weekly_discovery.core.retry.GaveUp",
    "weekly_discovery.core.retry.WaitTooLong",
    "weekly_discovery.spotify.errors.RateLimited",
    "weekly_discovery.spotify.errors.SpotifyUnavailable",
    "weekly_discovery.enrich.providers.base.ProviderUnavailable",
    "weekly_discovery.recommend.publish.playlist.PlaylistCreateUncertain",
}
# A few user errors that callers also catch by their built-in base: that base must stay.
BUILTIN_BASES = {
    "weekly_discovery.settings.config.ConfigError": ValueError,
    "weekly_discovery.lake.layout.LakeError": ValueError,
    "weekly_discovery.lake.storage.StorageError": ValueError,
    "weekly_discovery.spotify.credentials.CredentialsError": ValueError,
    "weekly_discovery.recommend.training.dataset.DatasetError": ValueError,
    "weekly_discovery.recommend.training.selection.TrainingError": ValueError,
    "weekly_discovery.report.render.ReportNotFound": FileNotFoundError,
    "weekly_discovery.spotify.errors.SpotifyUnavailable": RuntimeError,
}


def _package_modules():
    for info in pkgutil.walk_packages(weekly_discovery.__path__, prefix="weekly_discovery."):
        yield importlib.import_module(info.name)


def project_exceptions() -> dict[str, type]:
    """Every public exception class defined in the package, by its dotted name.

    A private class (``_AnswerLost``) is a signal caught inside its own module; it never reaches a task.
    """
    found = {}
    for module in _package_modules():
        for name, obj in vars(module).items():
            if (isinstance(obj, type) and issubclass(obj, BaseException) and obj.__module__ == module.__name__
                    and not name.startswith("_") and obj not in (WeeklyDiscoveryError, UserError, TransientError)):
                found[f"{obj.__module__}.{obj.__qualname__}"] = obj
    return found


@pytest.fixture(scope="module")
def exceptions() -> dict[str, type]:
    return project_exceptions()


def test_discovery_finds_the_known_classes(exceptions):
    for name in ("weekly_discovery.settings.config.ConfigError", "weekly_discovery.ingest.extract.SourcesUnreadable",
                 "weekly_discovery.recommend.training.dataset.DatasetError", "weekly_discovery.enrich.job.CoverageTooLow",
                 "weekly_discovery.report.job.InputMissing", *TRANSIENT):
        assert name in exceptions
    assert len(exceptions) >= 25


def test_no_job_file_defines_a_class():
    """``jobs/*.py`` only start their stage's job, so the package holds every exception class (found above)."""
    for path in sorted((REPO / "jobs").glob("*.py")):
        classes = [node.name for node in ast.walk(ast.parse(path.read_text())) if isinstance(node, ast.ClassDef)]
        assert classes == [], f"{path.name} defines {classes}: move them into the stage's package"


def test_every_project_exception_is_exactly_one_kind(exceptions):
    neither = [n for n, c in exceptions.items() if not issubclass(c, (UserError, TransientError))]
    both = [n for n, c in exceptions.items() if issubclass(c, UserError) and issubclass(c, TransientError)]
    assert neither == [], "derive these from core.errors.UserError or TransientError"
    assert both == []


def test_only_the_retryable_ones_are_transient(exceptions):
    assert {n for n, c in exceptions.items() if issubclass(c, TransientError)} == TRANSIENT


def test_spotify_unavailable_is_no_longer_an_access_error():
    from weekly_discovery.spotify import errors

    assert not issubclass(errors.SpotifyUnavailable, errors.SpotifyAccessError)
    assert not issubclass(errors.RateLimited, errors.SpotifyAccessError)
    for cls in (errors.ReauthorizationRequired, errors.InvalidClient, errors.QuotaExceeded, errors.Forbidden,
                errors.NotFound):
        assert issubclass(cls, errors.SpotifyAccessError) and issubclass(cls, UserError)


def test_builtin_bases_are_kept_for_existing_callers(exceptions):
    for name, base in BUILTIN_BASES.items():
        assert issubclass(exceptions[name], base), name
