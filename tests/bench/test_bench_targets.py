"""`make bench`'s verdict on `make test`: by how much it missed, and why (the CPU the machine spent)."""

from __future__ import annotations

from pathlib import Path

from benchmarks.targets import cpu_times, suite_verdict


def test_a_miss_says_by_how_much_and_the_cpu_floor_that_explains_it():
    (line,) = suite_verdict(776.0, 0, (1400.0, 152.0, 3.0), 2, (2.1, 2.3), (0.5, 3.9))
    assert "776 s, exit 0 (target <= 600 s, MISSED by 176 s)" in line
    assert ("the 2 cores were busy 1,400 core-s (90% of the run; 3 core-s taken by other machines on the host): "
            "700 s with every core busy all the time, so out of reach by 100 s at least") in line
    assert "CPU probe 2.10 s before and 2.30 s after" in line
    assert "load average 0.5 at the start, 3.9 at the end" in line


def test_a_met_target_with_a_floor_below_it_claims_no_reach_problem():
    (line,) = suite_verdict(590.0, 0, (1000.0, 180.0, 0.0), 2, (1.7, 1.8), (0.1, 0.2))
    assert "(target <= 600 s, MET)" in line
    assert "busy 1,000 core-s (85% of the run" in line and "500 s with every core busy" in line
    assert "out of reach" not in line


def test_a_failed_suite_or_an_unknown_cpu_is_said_so():
    (line,) = suite_verdict(700.0, 2, None, 2, (2.0, 2.0), (1.0, 1.0))
    assert "exit 2" in line and "MISSED by 100 s" in line and "CPU it used is unknown here" in line


def test_the_machine_cpu_counters_move_with_work():
    before = cpu_times()
    if not Path("/proc/stat").exists():  # not Linux: the verdict says the CPU is unknown
        assert before is None
        return
    assert before is not None
    total = 0
    for i in range(3_000_000):
        total += i
    after = cpu_times()
    busy, idle, stolen = (b - a for a, b in zip(before, after, strict=True))
    assert busy > 0.05 and idle >= 0 and stolen >= 0
