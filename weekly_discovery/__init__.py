"""Weekly Discovery: a self-hosted Discover Weekly built on Airflow, PySpark and spotipy."""

__version__ = "0.1.0"
