"""Score one date's candidate playlists with the champion model and write the recommendations.

Run it with the venv's spark-submit (see docs/stack.md)::

    spark-submit --master local[2] jobs/score.py --lake /srv/weekly-discovery/lake --ds 2026-11-23 \\
        --config ~/weekly-discovery.toml [--params '{"top_n": 20}']

``--lake`` defaults to ``$WEEKLY_DISCOVERY_LAKE`` and ``--config`` to ``$WEEKLY_DISCOVERY_CONFIG``; the
config's ``[model]`` threshold, top_n and max_per_artist apply, with a manual run's Params (``--params``,
e.g. ``top_n``) on top (:func:`weekly_discovery.spark.runner.job_config`). It reads date D of the Delta
table ``silver/tracks_enriched`` and the champion in force for D (``models/like_model/champion.json``), and
replaces date D of two Delta tables, one commit each (other dates untouched), each followed by its
``_metrics.json`` in the date's folder:

- ``gold/scores``            every candidate track with its probability (null: no usable features),
  of the catalogue only its ``CATALOGUE_SCORES_KEPT`` most probable (:func:`weekly_discovery.recommend.scoring.score.scores_kept`);
- ``gold/recommendations``   the top N new tracks, each with its ``source`` and one-line ``reason``;
  its ``_metrics.json`` ("N of M" per playlist and per discovery source) is what publish and the report read.

Candidates are the role-``candidates`` rows: the candidate playlists' songs and the songs the discover
DAG found; and, when ``[discover] sources`` lists ``catalog``, every song of the ``[discover] catalog``
file not in the library, read here by Spark (:mod:`weekly_discovery.recommend.scoring.catalog`: malformed rows
quarantined and counted, never fatal). Novelty: no song of a library role, none published in the
``[discover] novelty_weeks`` weeks before D (``gold/picks``, :mod:`weekly_discovery.recommend.publish.history`), none
the user removed from the playlist (``gold/removed_picks``, :mod:`weekly_discovery.recommend.publish.removals`); the
sources are mixed round-robin (:func:`weekly_discovery.recommend.scoring.score.recommend`).

Only the per-playlist counts and the top N rows come to the driver. The transforms are in
:mod:`weekly_discovery.recommend.scoring.score`, the step in :mod:`weekly_discovery.recommend.job` (``jobs/weekly.py``
runs it right after training, in the same Spark session). Exit status 2: input or champion missing (the log says what to run).
"""

from __future__ import annotations

import weekly_discovery.spark.installed_pyspark  # noqa: F401  first: pyspark from the installed package

# isort: split
import sys

from weekly_discovery.discover.sources.catalog import describe_file
from weekly_discovery.recommend import job

if __name__ == "__main__":
    sys.exit(job.score_main(describe_file, doc=__doc__))
