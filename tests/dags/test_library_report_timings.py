"""The timing parsers of benchmarks/chain.py and the demo read a library_report run whose Spark task was skipped.

The log is the second report run of `python -m benchmarks.chain --demo` (its task lines, shortened): a skipped
task gets no ``[DAG TEST] starting`` line, so it is simply absent; expected times are the log's timestamps
subtracted by hand.
"""

from __future__ import annotations

import pytest

from benchmarks.chain import task_spans
from devtools.demo import task_times

LOG = """\
2026-12-05T00:14:25.971430Z [info     ] [DAG TEST] starting task_id=prepare map_index=-1 [airflow.sdk.definitions.dag]
2026-12-05T00:14:26.099783Z [info     ] ::endgroup::                   [task] loc=task_runner.py:2232
2026-12-05T00:14:26.103367Z [info     ] ::group::Post Execute          [task] loc=task_runner.py:1580
2026-12-05T00:14:26.133727Z [info     ] ::endgroup::                   [task] loc=task_runner.py:2379
2026-12-05T00:14:26.172725Z [info     ] [DAG TEST] end task task_id=prepare map_index=-1 [airflow.sdk.definitions.dag]
2026-12-05T00:14:26.183004Z [info     ] [DAG TEST] starting task_id=analysis_needed map_index=-1 [airflow.sdk.definitions.dag]
2026-12-05T00:14:26.257150Z [info     ] ::endgroup::                   [task] loc=task_runner.py:2232
2026-12-05T00:14:26.270766Z [info     ] report.json of ds=2026-12-05 is current (...): the Spark analysis is skipped; render only
2026-12-05T00:14:26.271054Z [info     ] Condition result is False      [airflow.task.operators...short_circuit]
2026-12-05T00:14:26.287019Z [info     ] ::group::Post Execute          [task] loc=task_runner.py:1605
2026-12-05T00:14:26.295163Z [info     ] Downstream tasks skipped       [airflow.api_fastapi...] tasks_skipped=1
2026-12-05T00:14:26.306296Z [info     ] ::endgroup::                   [task] loc=task_runner.py:2379
2026-12-05T00:14:26.312456Z [info     ] [DAG TEST] end task task_id=analysis_needed map_index=-1 [airflow.sdk.definitions.dag]
2026-12-05T00:14:26.318214Z [info     ] [DAG TEST] starting task_id=render map_index=-1 [airflow.sdk.definitions.dag]
2026-12-05T00:14:26.413884Z [info     ] ::endgroup::                   [task] loc=task_runner.py:2232
2026-12-05T00:14:27.287321Z [info     ] ::group::Post Execute          [task] loc=task_runner.py:1580
2026-12-05T00:14:27.344265Z [info     ] ::endgroup::                   [task] loc=task_runner.py:2379
2026-12-05T00:14:27.352047Z [info     ] [DAG TEST] end task task_id=render map_index=-1 [airflow.sdk.definitions.dag]
"""


@pytest.fixture
def log(tmp_path):
    path = tmp_path / "library_report-on-recommendations.log"
    path.write_text(LOG)
    return path


def test_the_benchmark_times_the_tasks_that_ran(log):
    prepare, gate, render = task_spans(log)
    assert (prepare.task, gate.task, render.task) == ("prepare", "analysis_needed", "render")
    assert prepare.total == pytest.approx(0.201295) and prepare.own == pytest.approx(0.003584)
    assert gate.total == pytest.approx(0.129452) and gate.own == pytest.approx(0.029869)
    assert render.total == pytest.approx(1.033833) and render.own == pytest.approx(0.873437)
    assert not any(t.spark for t in (prepare, gate, render))


def test_the_demo_lists_the_tasks_that_ran(log):
    assert [task for task, _ in task_times(log)] == ["prepare", "analysis_needed", "render"]
    assert [seconds for _, seconds in task_times(log)] == pytest.approx([0.201295, 0.129452, 1.033833])
