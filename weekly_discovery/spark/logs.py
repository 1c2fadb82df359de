"""Logging set-up shared by every spark-submit job (no pyspark import: jobs check input first)."""

from __future__ import annotations

import logging


def setup_job_logging() -> None:
    """One line format for every job; py4j's chatter kept out of the task log."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("py4j").setLevel(logging.WARNING)
