"""benchmarks/normalize_heap.py reads the live heap from jcmd's class histograms and the collections from the
GC log, where the full collections jcmd asked for are not the JVM's own.

The lines are copied from real 1M-track runs (JDK 17)."""

from __future__ import annotations

import pytest

from benchmarks.normalize_heap import (
    LiveHeapSampler,
    gc_summary,
    histogram,
    jcmd_full_gcs,
    verdict,
)

HISTOGRAM = """\
2386:
 num     #instances         #bytes  class name (module)
-------------------------------------------------------
   1:          3609      147944808  [J (java.base@17.0.15)
   2:        613135       95423904  [B (java.base@17.0.15)
   3:        812308       38990784  org.apache.spark.unsafe.types.UTF8String
   4:        130028        9296368  [Ljava.lang.Object; (java.base@17.0.15)
9099:             1             16  sun.util.resources.LocaleData$LocaleDataStrategy (java.base@17.0.15)
Total       3878450      384919968
"""

GC_LOG = """\
[2026-12-05T14:58:19.477+0000][0.007s][info][gc,init] Heap Max Capacity: 1G
[2026-12-05T14:55:23.007+0000][0.287s][info][gc          ] GC(0) Pause Young (Normal) (G1 Evacuation Pause) 31M->25M(380M) 8.997ms
[2026-12-05T14:58:23.799+0000][4.329s][info][gc,start    ] GC(6) Pause Full (Heap Inspection Initiated GC)
[2026-12-05T14:58:23.840+0000][4.369s][info][gc             ] GC(6) Pause Full (Heap Inspection Initiated GC) 66M->52M(184M) 40.631ms
[2026-12-05T14:50:20.245+0000][155.421s][info][gc          ] GC(1150) Pause Young (Concurrent Start) (G1 Humongous Allocation) 480M->452M(1024M) 8.793ms
[246.301s][info][gc             ] GC(456) Pause Full (G1 Compaction Pause) 928M->365M(1024M) 933.478ms
"""


def test_the_histogram_gives_the_live_heap_and_its_largest_classes():
    live, classes = histogram(HISTOGRAM)
    assert live == pytest.approx(384919968 / 2**20)  # 367.1 MiB
    assert [name for name, _ in classes[:3]] == ["[J", "[B", "org.apache.spark.unsafe.types.UTF8String"]
    assert classes[0][1] == pytest.approx(147944808 / 2**20)


def test_an_output_without_a_total_is_no_sample():
    # what jcmd prints when the JVM exited between two samples
    assert histogram("12345:\ncom.sun.tools.attach.AttachNotSupportedException: Unable to open socket file")[0] is None


def test_the_full_collections_jcmd_asked_for_are_not_the_jvms_own(tmp_path):
    log = tmp_path / "gc.log"
    log.write_text(GC_LOG)
    summary = gc_summary(log)
    assert summary["max_heap_mb"] == 1024.0
    assert summary["young"] == 2
    assert summary["diagnostic_full"] == 1
    assert summary["full"] == 1  # the G1 Compaction Pause only
    assert summary["peak_after_mb"] == 452.0  # the jcmd one's 52M is no figure of the job's


def test_the_verdict_says_what_missed_and_by_how_much():
    assert verdict(384.9, 0, 1024.0) == "MET"
    assert verdict(600.0, 0, 1024.0) == "MISSED by live heap 88 MB over"
    assert verdict(300.0, 2, 1024.0) == "MISSED by 2 full GCs"
    assert verdict(None, 0, 1024.0).startswith("MISSED by no live-heap sample")


def test_a_histogram_whose_collection_the_jvm_skipped_is_recognized(tmp_path):
    """The sampler keeps a histogram only if the GC log gained a jcmd full collection meanwhile."""
    log = tmp_path / "gc.log"
    log.write_text(GC_LOG)
    sampler = LiveHeapSampler(4.0, "jcmd", log)
    assert sampler._jcmd_gcs_so_far() == 1
    with log.open("a") as f:  # what the JVM logs when a thread holds the GC locker: no collection
        f.write("[2026-12-05T15:11:37.456+0000][13.064s][warning][gc             ] GC locker is held; "
                "pre-dump GC was skipped\n")
    assert sampler._jcmd_gcs_so_far() == 1
    with log.open("a") as f:  # the next attempt's collection, its line still being written
        f.write(GC_LOG.splitlines()[3] + "\n" + GC_LOG.splitlines()[3][:40])
    assert sampler._jcmd_gcs_so_far() == 2
    assert jcmd_full_gcs(GC_LOG) == 1
    assert LiveHeapSampler(4.0, "jcmd", tmp_path / "absent.log")._jcmd_gcs_so_far() == 0
