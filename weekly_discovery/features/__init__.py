"""Audio features for every track of the library, from a chain of providers, fetched once.

- :mod:`.providers`: the provider interface and the registry (one line per provider);
- :mod:`.spotify_provider`, :mod:`.reccobeats_provider`: the API providers;
- :mod:`.cache`: which ids to ask (pyarrow reads of the silver tracks and the feature cache);
- :mod:`.fetch`: the provider walk that writes the raw batches;
- :mod:`.quality`: the declared quality gates the Spark enrich job applies;
- :mod:`.coverage`: the coverage metrics, their log lines and the min-coverage check.

The Spark side lives in :mod:`weekly_discovery.transforms.enrich`, ``jobs/enrich.py`` and
``jobs/lookup_features_file.py``; docs/enrichment.md explains the whole step.
Nothing here imports pyspark or Airflow at module level.
"""
