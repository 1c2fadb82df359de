"""Where the DAGs find the files spark-submit runs: ``jobs/<name>.py``, in the folder beside the DAG folder.

The repository keeps ``dags/`` and ``jobs/`` side by side, and docker-compose.yml mounts them so
(``/opt/airflow/dags``, ``/opt/airflow/jobs``), while the package itself may be installed anywhere (the image
pip-installs it): so the folder is found from Airflow's DAG folder (``[core] dags_folder``), not from this
file. Reading that setting is no I/O: it is cheap at parse time.
"""

from __future__ import annotations

from pathlib import Path


def jobs_folder() -> Path:
    """The ``jobs`` folder beside Airflow's DAG folder, absolute."""
    from airflow.configuration import conf

    return Path(conf.get("core", "dags_folder")).expanduser().resolve().parent / "jobs"


def job_path(name: str) -> Path:
    """The file spark-submit runs for the job ``name`` (``"enrich"`` -> ``.../jobs/enrich.py``)."""
    return jobs_folder() / f"{name}.py"
