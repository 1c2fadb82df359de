"""The reaction section's trend chart: points where a rate is known, lines between consecutive ones."""

from __future__ import annotations

from weekly_discovery.report.svg import trend


def test_points_lines_and_gaps_by_hand():
    # 560 x 200, plot from x=38 to 552 (3 slots of 171.33) and y=10 to 160; the peak 50% gives a 60% axis
    chart = trend(["w1", "w2", "w3"], [("all", [0.5, None, 0.25]), ("<b>src</b>", [0.5, 0.25, None])], "t")
    assert chart.startswith('<svg class="chart trend" viewBox="0 0 560 200"')
    # all: 50% at x = 38 + 85.67, y = 10 + 150 * (1 - 0.5 / 0.6); 25% at x = 38 + 2.5 * 171.33, y = 97.5
    assert '<circle cx="123.7" cy="35.0" r="3"' in chart and '<circle cx="466.3" cy="97.5" r="3"' in chart
    # the gap in week 2 leaves "all" without a line; the second series has one from w1 to w2
    assert chart.count("<polyline") == 1
    assert '<polyline points="123.7,35.0 295.0,97.5" fill="none" stroke="#4c78a8"' in chart
    assert "<title>&lt;b&gt;src&lt;/b&gt;, w2: 25%</title>" in chart
    assert ">60%</text>" in chart and ">70%</text>" not in chart


def test_a_full_rate_tops_the_axis_at_100_percent():
    chart = trend(["w1"], [("all", [1.0])], "t")
    assert '<circle cx="295.0" cy="10.0"' in chart
    assert ">100%</text>" in chart and ">110%</text>" not in chart
