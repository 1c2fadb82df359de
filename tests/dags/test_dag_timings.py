"""benchmarks/chain.py reads each task's time, its own (execute) time and its kind from `dags test` logs."""

from __future__ import annotations

import pytest

from benchmarks.chain import TaskTime, task_spans, verdict

LOG = """\
2026-12-04T19:07:08.938494Z [info     ] [DAG TEST] starting task_id=prepare map_index=-1 [airflow.sdk.definitions.dag]
2026-12-04T19:07:12.349361Z [info     ] Task started                   [airflow.api_fastapi.execution_api.routes]
2026-12-04T19:07:12.397382Z [info     ] ::endgroup::                   [task] loc=task_runner.py:2232
2026-12-04T19:07:12.435941Z [info     ] Done. Returned value was: {'ds': '2026-12-04'}
2026-12-04T19:07:12.447382Z [info     ] ::group::Post Execute          [task] loc=task_runner.py:1580
2026-12-04T19:07:12.466838Z [info     ] ::endgroup::                   [task] loc=task_runner.py:2379
2026-12-04T19:07:12.497382Z [info     ] [DAG TEST] end task task_id=prepare map_index=-1 [airflow.sdk.definitions.dag]
2026-12-04T19:07:12.826545Z [info     ] [DAG TEST] starting task_id=normalize map_index=-1 [airflow.sdk.definitions.dag]
2026-12-04T19:07:12.883316Z [info     ] ::endgroup::                   [task] loc=task_runner.py:2232
2026-12-04T19:07:12.902660Z [info     ] Spark-Submit cmd: spark-submit --master local[2] jobs/normalize.py
2026-12-04T19:07:32.383316Z [info     ] ::group::Post Execute          [task] loc=task_runner.py:1580
2026-12-04T19:07:32.826545Z [info     ] [DAG TEST] end task task_id=normalize map_index=-1 [airflow.sdk.definitions.dag]
2026-12-04T19:07:33.000000Z [info     ] [DAG TEST] starting task_id=lookup_file map_index=-1 [airflow.sdk.definitions.dag]
2026-12-04T19:07:33.500000Z [info     ] [DAG TEST] end task task_id=lookup_file map_index=-1 [airflow.sdk.definitions.dag]
"""


def test_task_spans_split_own_time_from_airflows(tmp_path):
    log = tmp_path / "dag.log"
    log.write_text(LOG)
    spans = task_spans(log)
    assert [s.task for s in spans] == ["prepare", "normalize", "lookup_file"]
    prepare, normalize, skipped = spans
    assert prepare.total == pytest.approx(3.558888)  # 08.938494 -> 12.497382
    assert prepare.own == pytest.approx(0.05)  # 12.397382 -> 12.447382
    assert prepare.airflow == pytest.approx(3.508888)
    assert not prepare.spark
    assert normalize.spark and normalize.own == pytest.approx(19.5)
    assert skipped == TaskTime("lookup_file", 0.5, None, False)


def test_verdict_says_by_how_much():
    assert verdict(80.0, 90.0) == "MET by 10.0 s"
    assert verdict(90.0, 90.0) == "MET by 0.0 s"
    assert verdict(180.0, 90.0) == "MISSED by 90.0 s (2.0x the target)"


def test_report_lines_give_the_verdicts_and_the_baselines():
    from benchmarks.chain import ChainResult, DagRun, report_lines

    runs = [DagRun("spotify_ingest", 40.0, [TaskTime("prepare", 1.0, 0.0, False), TaskTime("extract", 3.0, 2.5, False),
                                            TaskTime("normalize", 30.0, 29.0, True)]),
            DagRun("weekly_recommendations", 100.0, [TaskTime("train", 90.0, 89.0, True)], failed=True)]
    result = ChainResult("a library", "quick", 1.0, 160.0, runs, {"min": 1.0, "mean": 2.0, "max": 3.0},
                         {"normalize": 0.5, "train": "no model"}, "/lake", warm_start=5.0)
    lines = report_lines(result, 150.0, "the DAGs in all")
    assert ("the DAGs in all: 160.0 s wall (target <= 150 s): MISSED by 10.0 s (1.1x the target); "
            "INCOMPLETE: weekly_recommendations failed (their retries are in the time)") in lines
    assert "plain Python tasks, own time (target <= 2 s each): worst 2.50 s: MISSED by 0.5 s (1.2x the target)" in lines
    assert "  spotify_ingest.extract: own 2.50 s, with Airflow's part 3.00 s  <- MISSED" in lines
    assert ("  the tasks' own time summed (no Airflow start-up or bookkeeping; Spark jobs as they ran): 120.5 s, "
            "of which spark-submits 118.0 s") in lines
    assert any(line.startswith("  pandas / scikit-learn equivalents on this lake (one process each): 0.5 s "
                               "(normalize 0.5 s, train n/a (no model)); the same jobs under spark-submit: 29.0 s")
               for line in lines)
