"""Imported first by every ``jobs/*.py``: from then on ``import pyspark`` takes the installed package rather
than spark-submit's zip copy of it, whose modules Python would compile again on every run
(:func:`weekly_discovery.spark.pythonpath.prefer_installed_pyspark`; ~0.7 CPU s per job)."""

from weekly_discovery.spark.pythonpath import prefer_installed_pyspark

DROPPED = prefer_installed_pyspark()
"""The ``sys.path`` entry left out (spark-submit's ``pyspark.zip``), or None when the path stayed as it was."""
