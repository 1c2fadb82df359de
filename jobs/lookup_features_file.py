"""The feature-file look-up job's entry for spark-submit; the job is :mod:`weekly_discovery.enrich.lookup_job`.

    spark-submit --master local[2] jobs/lookup_features_file.py --lake LAKE --ds YYYY-MM-DD --config CONFIG.toml

Its ``--help`` and that module's docstring say what it reads and writes, and its exit status.
"""

from __future__ import annotations

import weekly_discovery.spark.installed_pyspark  # noqa: F401  first: pyspark from the installed package

# isort: split
import sys

from weekly_discovery.enrich.lookup_job import main

if __name__ == "__main__":
    sys.exit(main())
