"""benchmarks/normalize_heap.py reads G1's liveness summaries: only each marking cycle's Post-Marking one.

The lines are copied from a real 1M-track run's GC log (JDK 17, session 9)."""

from __future__ import annotations

from benchmarks.normalize_heap import marked_live

LOG = """\
[2026-12-05T13:50:15.735+0000][163.138s][trace][gc,liveness ] GC(922) ### SUMMARY  capacity: 1024.00 MB  used: 391.25 MB / 38.21 %  prev-live: 325.40 MB / 31.78 %  next-live: 391.25 MB / 38.21 %  remset: 4.10 MB  code-roots: 1.06 MB
[2026-12-05T13:50:18.503+0000][165.906s][trace][gc,liveness ] GC(927) ### PHASE Post-Marking @ 165.906
[2026-12-05T13:50:18.507+0000][165.910s][trace][gc,liveness ] GC(927) ### SUMMARY  capacity: 1024.00 MB  used: 698.91 MB / 68.25 %  prev-live: 645.03 MB / 62.99 %  next-live: 645.03 MB / 62.99 %  remset: 4.10 MB  code-roots: 1.06 MB
[2026-12-05T13:50:18.592+0000][165.995s][trace][gc,liveness ] GC(927) ### PHASE Post-Cleanup @ 165.995
[2026-12-05T13:50:18.595+0000][165.998s][trace][gc,liveness ] GC(927) ### SUMMARY  capacity: 1024.00 MB  used: 900.51 MB / 87.94 %  prev-live: 846.63 MB / 82.68 %  next-live: 900.51 MB / 87.94 %  remset: 4.11 MB  code-roots: 1.06 MB
[2026-12-05T13:50:21.245+0000][168.648s][trace][gc,liveness ] GC(940) ### PHASE Post-Marking @ 168.648
[2026-12-05T13:50:21.249+0000][168.652s][trace][gc,liveness ] GC(940) ### SUMMARY  capacity: 1024.00 MB  used: 766.37 MB / 74.84 %  prev-live: 726.90 MB / 70.99 %  next-live: 637.22 MB / 62.23 %  remset: 4.12 MB  code-roots: 1.06 MB
"""


def test_only_the_post_marking_summaries_count(tmp_path):
    log = tmp_path / "gc.log"
    log.write_text(LOG)
    assert marked_live(log) == [(698.91, 645.03), (766.37, 637.22)]


def test_a_missing_log_has_no_cycles(tmp_path):
    assert marked_live(tmp_path / "absent.log") == []
