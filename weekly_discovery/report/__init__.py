"""The weekly library report: compute (Spark, :mod:`.job`) and render (plain Python) are separate.

- :mod:`.job`: the Spark job ``jobs/report.py`` runs: one date's ``report.json``;
- :mod:`.analysis`: bins, shares, the reading rule, strong pairs, log summary (pure Python);
- :mod:`.compute`: ``report.json`` from a ``tracks_enriched`` DataFrame (aggregates only);
- :mod:`.freshness`: whether ``report.json`` still matches its input, so a second run skips the Spark job;
- :mod:`.render` and :mod:`.svg`: ``index.html`` with inline SVG charts, everything escaped;
- :mod:`.model_outputs`: the weekly model's files for a date, when they exist;
- :mod:`.paths`: report locations, the ``latest`` pointer, the lake of a web request.

The Airflow UI serves the pages through ``plugins/weekly_discovery_reports.py``; docs/report.md
explains each section.
"""
