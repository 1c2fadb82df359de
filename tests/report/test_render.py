"""index.html from report.json (+ the model's outputs): sections, escaping, the latest pointer."""

from __future__ import annotations

import json

import pytest

from tests.report.conftest import EVIL, make_report, write_model_outputs, write_report
from weekly_discovery.report.render import ReportNotFound, render_html, render_report

ESCAPED = "&lt;img src=x onerror=alert(1)&gt;"
SECTION_IDS = ["feature-ranges", "top-artists", "correlation", "coverage", "model"]


def test_library_text_is_escaped_everywhere(lake):
    ds = "2026-11-23"
    write_report(lake, make_report(ds))
    write_model_outputs(lake, ds)
    page = render_report(lake, ds).read_text()
    assert EVIL not in page
    assert "<img" not in page
    assert ESCAPED in page
    # in a reference playlist's legend and pie caption, an artist, a recommended track and a playlist
    assert page.count(ESCAPED) >= 10
    assert "<script" not in page.lower()
    assert "javascript:" not in page  # a track id that is not a Spotify id is never made a link
    assert "open.spotify.com/artist/not-an-id" not in page
    assert "Chill &amp; &quot;quiet&quot;" in page


def test_all_sections_and_charts_present():
    page = render_html(make_report())
    for section in SECTION_IDS:
        assert f'<section id="{section}">' in page
    assert page.count('<svg class="chart bars"') == 7
    assert page.count('<svg class="chart pie"') == 7 * 3
    assert page.count('<rect class="cell"') == 11 * 11
    assert "energy and loudness: 0.86" in page
    assert "weighs about twice" in page
    assert "The weekly model has not run yet for 2026-11-23" in page
    assert "http://" not in page and "src=" not in page.replace("src=x", "")  # nothing is loaded from anywhere
    assert "Content-Security-Policy" in page


def test_model_section_when_the_weekly_model_ran(lake):
    ds = "2026-11-30"
    write_report(lake, make_report(ds))
    write_model_outputs(lake, ds, label="Plain name")
    page = render_report(lake, ds).read_text()
    model = page.split('<section id="model">')[1]
    assert "not run yet" not in model
    assert "roc_auc</td><td class=\"num\">0.810 \u00b1 0.030" in model
    assert "1.2500" in model and "intercept" in model  # baseline coefficients
    assert "12 of 50" in model and "3 of 40" in model
    assert 'href="https://open.spotify.com/track/TTTTTTTTTTTTTTTTTTTTTT"' in model
    assert "javascript:" not in model


def test_latest_points_at_the_newest_rendered_date(lake):
    for ds in ("2026-11-23", "2026-11-30"):
        write_report(lake, make_report(ds))
    render_report(lake, "2026-11-30")
    render_report(lake, "2026-11-23")  # a backfill of an older week later on
    latest = json.loads((lake.table("reports", "library") / "latest.json").read_text())
    assert latest == {"ds": "2026-11-30"}
    assert not list(lake.table("reports", "library").rglob("*.tmp"))


def test_missing_report(lake):
    with pytest.raises(ReportNotFound, match="run the library_report DAG"):
        render_report(lake, "2026-11-23")
    assert render_report(lake, "2026-11-23", missing_ok=True) is None


def test_a_linear_champion_shows_its_coefficients():
    from weekly_discovery.report.model_outputs import normalise

    card = {"version": "2026-11-23", "baseline": {"coefficients": {"energy": 0.4}, "intercept": 0.1},
            "champion": {"name": "weighted_lr", "label": "weighted_lr(regParam=0.01)",
                         "metrics": {"roc_auc": 0.7}, "coefficients": {"energy": 0.9, "valence": -0.2},
                         "intercept": 0.0, "coefficient_scale": "per standard deviation"}}
    model = normalise("2026-11-23", card, None, None, None)
    section = render_html(make_report(), model).split('<section id="model">')[1]
    assert "Champion: coefficients (per standard deviation)" in section
    assert "weighted_lr(regParam=0.01)" in section
    assert "No recommendations were published for 2026-11-23" in section
