"""The project's two kinds of failure, and the exit codes that carry them out of a Spark job.

Every exception class of the project derives from exactly one of:

- :class:`UserError`: retrying won't help (bad config, a missing input, a revoked token, an empty
  labelled set). The message names the fix; a task fails at once and is not retried.
- :class:`TransientError`: a retry may succeed (a 429 beyond the client's own waiting, 5xx that
  outlasted the client's retries, a lost connection). Airflow retries the task with its back-off.

Anything else (a bug, an unexpected library error) is treated like a transient error: retried, with
its traceback in the log. A class may keep a built-in base too (``class LakeError(UserError,
ValueError)``) so ``except ValueError`` callers keep working.

A Spark job runs in its own process, so the kind travels as the exit code
(:mod:`weekly_discovery.spark.runner`), and the spark-submit operator turns ``USER_ERROR_EXIT`` back
into a failure without retry (:mod:`weekly_discovery.airflow.spark_submit`).
"""

from __future__ import annotations

USER_ERROR_EXIT = 2
"""A job's exit status for a :class:`UserError` (argparse's usage errors exit 2 as well): not retried."""

FAILURE_EXIT = 1
"""A job's exit status for anything else (a transient or unexpected error): the task is retried."""


class WeeklyDiscoveryError(Exception):
    """Base of every error the project raises on purpose; use one of the two subclasses."""


class UserError(WeeklyDiscoveryError):
    """Retrying won't help; the message names the fix (what to change, or which step to run first)."""


class TransientError(WeeklyDiscoveryError):
    """A retry may succeed: 429, 5xx, a lost connection, a service that kept failing through every retry."""
