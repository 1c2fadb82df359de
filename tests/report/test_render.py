"""index.html from report.json (+ the model's outputs): sections, escaping, the latest pointer."""

from __future__ import annotations

import json

import pytest

from tests.report.conftest import EVIL, make_report, write_library, write_model_outputs, write_picks, write_report
from weekly_discovery.report.render import ReportNotFound, render_html, render_report

ESCAPED = "&lt;img src=x onerror=alert(1)&gt;"
SECTION_IDS = ["feature-ranges", "top-artists", "correlation", "coverage", "model", "picks", "reaction"]


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
    assert "No picks were published for 2026-11-23 yet." in page
    assert "No picks from a week before 2026-11-23 yet" in page
    assert '<svg class="chart trend"' not in page
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


def test_a_script_in_track_artist_and_playlist_names_is_shown_as_text(lake):
    script = "<script>alert(1)</script>"
    shown = "&lt;script&gt;alert(1)&lt;/script&gt;"
    ds = "2026-11-23"
    write_report(lake, make_report(ds, label=script))  # a reference playlist and a top artist
    write_model_outputs(lake, ds, label=script)  # a recommended track, its artist, a candidate playlist
    page = render_report(lake, ds).read_text()
    assert "<script" not in page.lower()
    assert f'<a href="https://open.spotify.com/artist/{"A" * 22}" target="_blank" rel="noopener noreferrer">' \
           f"{shown}</a>" in page  # the artist
    assert f'<a href="https://open.spotify.com/track/{"T" * 22}" target="_blank" rel="noopener noreferrer">' \
           f"{shown}</a>" in page  # the track
    assert f"<figcaption>{shown}</figcaption>" in page  # the reference playlist's pie
    assert f'<tr><td>{shown}</td><td class="num">12 of 50</td></tr>' in page  # the candidate playlist


def test_a_missing_template_value_fails_the_render_instead_of_leaving_a_blank():
    import jinja2

    from weekly_discovery.report.render import environment

    report = make_report()
    del report["coverage"]["roles"]["liked"]["with_features"]  # read by the coverage template only
    with pytest.raises(jinja2.UndefinedError, match="with_features"):
        render_html(report)
    with pytest.raises(jinja2.UndefinedError, match="'t' is undefined"):
        environment().get_template("sections/top_artists.html.j2").render(bars="")


def _picks_lake(lake, ds, *, label=EVIL, library_ds=None):
    write_report(lake, make_report(ds))
    write_picks(lake, "2026-11-16", [(1, "a1", "x", ["y"], "reccobeats", 0.9, "r"),
                                     (2, "a2", "x", ["y"], "reccobeats", 0.8, "r"),
                                     (3, "a3", "x", ["y"], "artists", 0.7, "r"),
                                     (4, "a4", "x", ["y"], "playlists", 0.6, "r")])
    write_picks(lake, "2026-11-23", [(1, "b1", "x", ["y"], "reccobeats", 0.9, "r"),
                                     (2, "b2", "x", ["y"], "catalog", 0.8, "r")])
    write_picks(lake, ds, [(1, "T" * 22, label, [label, "Daft Punk"], "artists", 0.8712,
                            f"new from {label}, 14 songs in your library; 87% like"),
                           (2, "javascript:alert(1)", "Second", ["Someone"], "reccobeats", 0.5, "ReccoBeats")])
    write_library(lake, library_ds or ds, [("a1", "liked", "saved_tracks"), ("a3", "liked", "saved_tracks"),
                                           ("b2", "liked", "saved_tracks")])


def test_the_weeks_picks_and_the_reaction_to_earlier_ones(lake):
    ds = "2026-11-30"
    _picks_lake(lake, ds, label="Plain & simple")
    page = render_report(lake, ds).read_text()
    picks = page.split('<section id="picks">')[1].split("</section>")[0]
    assert "The 2 songs published to your Weekly Discovery playlist for 2026-11-30, best first: " \
           "1 from artists you like, 1 from ReccoBeats." in picks
    assert ('<tr><td class="num">1</td><td><a href="https://open.spotify.com/track/TTTTTTTTTTTTTTTTTTTTTT" '
            'target="_blank" rel="noopener noreferrer">Plain &amp; simple</a></td><td>Plain &amp; simple, Daft Punk'
            '</td><td>artists you like</td><td class="num">0.871</td><td class="reason">new from Plain &amp; simple, '
            '14 songs in your library; 87% like</td></tr>') in picks
    assert '<td>Second</td><td>Someone</td><td>ReccoBeats</td><td class="num">0.500</td>' in picks  # no link
    reaction = page.split('<section id="reaction">')[1].split("</section>")[0]
    assert "Over 2 weeks: 3 of 6 saved (50%)." in reaction
    assert ('<tr><td>2026-11-23</td><td class="num">1 of 2 (50%)</td><td class="num">0 of 1 (0%)</td>'
            '<td class="num">-</td><td class="num">1 of 1 (100%)</td><td class="num">-</td></tr>') in reaction
    assert ('<tr><td>2026-11-16</td><td class="num">2 of 4 (50%)</td><td class="num">1 of 2 (50%)</td>'
            '<td class="num">1 of 1 (100%)</td><td class="num">-</td><td class="num">0 of 1 (0%)</td></tr>') in reaction
    assert reaction.index("2026-11-23</td>") < reaction.index("2026-11-16</td>")  # newest week first
    assert '<th class="num">ReccoBeats</th><th class="num">artists you like</th><th class="num">catalogue</th>' \
           '<th class="num">your playlists</th>' in reaction
    assert reaction.count('<svg class="chart trend"') == 1
    assert reaction.count("<polyline") == 2  # all sources and reccobeats (2 weeks); the others are single dots
    assert "<title>all sources, 2026-11-16: 50%</title>" in reaction


def test_picks_names_and_reasons_are_escaped(lake):
    ds = "2026-11-30"
    _picks_lake(lake, ds)
    page = render_report(lake, ds).read_text()
    picks = page.split('<section id="picks">')[1].split("</section>")[0]
    assert EVIL not in page
    assert picks.count(ESCAPED) == 3  # the song, its artist, its reason
    assert "javascript:" not in picks


def test_the_reaction_without_the_library_of_the_date(lake):
    ds = "2026-11-30"
    _picks_lake(lake, ds, library_ds="2026-11-23")  # the library of an earlier date only: none read on ds
    reaction = render_report(lake, ds).read_text().split('<section id="reaction">')[1]
    assert "Your Liked Songs were not read for 2026-11-30" in reaction
    assert '<svg class="chart trend"' not in reaction
    assert '<tr><td>2026-11-23</td><td class="num">- of 2 (-)</td>' in reaction


def test_the_model_section_says_what_the_weeks_model_learned_from_and_why_a_week_is_short():
    from weekly_discovery.report.model_outputs import normalise

    card = {"version": "2026-11-30", "champion": {"name": "forests", "label": "forests(...)", "metrics": {"roc_auc": 0.8}},
            "training": {"by_kind": {"liked": 700, "disliked": 0, "removed": 3, "unsaved": 5, "background": 1400},
                         "weights": {"liked": 1.0, "disliked": 1.0, "removed": 1.0, "unsaved": 0.5,
                                     "background": 1.0}},
            "pu": {"label_frequency": 0.42, "weight_ratio": 0.5, "unlabeled_prior": 0.31}}
    metrics = {"short_week": "12 of 30 songs: 40 candidates scored at or above the threshold 0.5", "max_per_artist": 3,
               "max_per_artist_setting": "auto", "playlists": []}
    section = render_html(make_report(), normalise("2026-11-30", card, None, [], metrics)).split(
        '<section id="model">')[1]
    assert "<td>picks you removed from the playlist</td><td class=\"num\">3</td>" in section
    assert "<td>picks not saved weeks after they were offered</td><td class=\"num\">5</td><td class=\"num\">0.50</td>" \
        in section
    assert "background: the week’s candidates, unlabeled</td><td class=\"num\">1,400</td>" in section
    assert "label frequency c = 0.420" in section and "about 31% of the unlabeled songs" in section
    assert "A short week: 12 of 30 songs: 40 candidates" in section
    assert "At most 3 songs per artist (“auto”" in section
