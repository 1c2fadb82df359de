"""The user's settings: the configuration file, read and checked (:mod:`.config`).

A layer above the lake and below Spark, Airflow and the stages: checking the file takes the lake's
names (a source's key, the lake root's URI), and every job and task reads its settings from here.
"""
