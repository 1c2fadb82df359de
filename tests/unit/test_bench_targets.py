"""`make bench`'s verdict on `make test`: by how much it missed, and why (the CPU the suite used)."""

from __future__ import annotations

import re

from benchmarks.targets import suite_verdict


def test_a_miss_says_by_how_much_and_the_cpu_floor_that_explains_it():
    (line,) = suite_verdict(776.0, 0, 1400.0, 2, (2.1, 2.3), (0.5, 3.9))
    assert "776 s, exit 0 (target <= 600 s, MISSED by 176 s)" in line
    assert "the suite used 1,400 CPU s on 2 cores: 700 s with every core busy all the time (90% busy" in line
    assert "out of reach by 100 s at least" in line
    assert "CPU probe 2.10 s before and 2.30 s after" in line
    assert "load average 0.5 at the start, 3.9 at the end" in line


def test_a_met_target_with_a_floor_below_it_claims_no_reach_problem():
    (line,) = suite_verdict(590.0, 0, 1000.0, 2, (1.7, 1.8), (0.1, 0.2))
    assert "(target <= 600 s, MET)" in line
    assert "500 s with every core busy" in line and "out of reach" not in line
    assert re.search(r"\(85% busy in this run\)", line)


def test_a_failed_suite_reports_its_exit_status():
    (line,) = suite_verdict(700.0, 2, 1300.0, 2, (2.0, 2.0), (1.0, 1.0))
    assert "exit 2" in line and "MISSED by 100 s" in line
