"""What every Spark job's command line shares: ``--lake`` and ``--ds``.

``--lake`` defaults to ``$WEEKLY_DISCOVERY_LAKE`` (a folder or an object-storage URI, see
:mod:`weekly_discovery.lake.layout`); a job without either stops with the fix. No pyspark import here:
a job checks its arguments and its input before paying for a Spark session.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence

from weekly_discovery.core.config import LAKE_ENV
from weekly_discovery.lake.layout import Lake, LakeError


def job_parser(doc: str | None) -> argparse.ArgumentParser:
    """A parser with ``--lake`` and ``--ds``, described by the first paragraph of ``doc``."""
    parser = argparse.ArgumentParser(description=(doc or "").split("\n\n")[0])
    parser.add_argument("--lake", default=os.environ.get(LAKE_ENV),
                        help=f"lake root folder or URI (default: ${LAKE_ENV})")
    parser.add_argument("--ds", required=True, help="partition date, YYYY-MM-DD")
    return parser


def enriched_input(lake: Lake, ds: str):
    """The committed ``silver/tracks_enriched`` partition of ``ds`` (train and score read it), else
    :class:`LakeError` naming the DAG to run first."""
    source = lake.partition("silver", "tracks_enriched", ds)
    if not lake.exists(source):
        raise LakeError(f"no enriched tracks at {source}; run the enrichment (spotify_enrich) for {ds} first")
    return source


def parse_job_args(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> argparse.Namespace:
    """``parser``'s arguments; exits with the fix (status 2, argparse's) when no lake root is given."""
    args = parser.parse_args(argv)
    if not args.lake:
        parser.error(f"no lake root: pass --lake or set {LAKE_ENV}")
    return args
