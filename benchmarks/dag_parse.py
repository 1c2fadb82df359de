"""DAG parse time per DAG file, as the dag-processor pays it on every parse loop.

    .venv/bin/python -m benchmarks.dag_parse [--repeat 3]

Airflow and the SDK are imported first (the dag-processor has them loaded), then each file is parsed
with ``airflow.models.DagBag(dag_folder=<file>)``: once cold (the project modules it imports are loaded
then), then ``--repeat`` times; the best of those is the parse cost per loop. Prints one JSON line.
Run it with a throw-away ``AIRFLOW_HOME`` (benchmarks.run does): DagBag reads the settings there.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    started = time.perf_counter()
    import airflow  # noqa: F401
    import airflow.sdk  # noqa: F401
    from airflow.models import DagBag

    warm_import_s = time.perf_counter() - started
    results = {}
    for path in sorted((REPO / "dags").glob("*.py")):
        times = []
        errors = {}
        dag_ids: list[str] = []
        for _ in range(args.repeat + 1):
            t0 = time.perf_counter()
            bag = DagBag(dag_folder=str(path))  # examples off: AIRFLOW__CORE__LOAD_EXAMPLES=False
            times.append(time.perf_counter() - t0)
            errors, dag_ids = bag.import_errors, sorted(bag.dag_ids)
        results[path.name] = {"first_s": round(times[0], 4), "best_s": round(min(times[1:]), 4),
                              "dags": dag_ids, "errors": {str(k): str(v)[-300:] for k, v in errors.items()}}
    print(json.dumps({"airflow_import_s": round(warm_import_s, 2), "files": results}))


if __name__ == "__main__":
    main()
