"""Airflow as a service on one machine: ``make spotify-auth``, ``make run`` / ``make stop`` / ``make status``,
and the services ``make ui`` runs.

``home``: the run home (metadata database, logs, lake, the 0600 credential store). ``spotify_auth``: consent,
then the connection into the store. ``processes``: background processes (own sessions, stopped by group).
``airflow_services``: the four Airflow services with LocalExecutor, sign-in, waiting, unpausing, a clean stop.
``run``: the long-running ``make run`` and ``make stop``. ``status``: what ``make status`` prints.
"""
