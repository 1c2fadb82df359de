"""Turn ``report.json`` (+ the weekly model's outputs, when present) into a self-contained ``index.html``.

The page has no JavaScript and loads nothing: charts are inline SVG (:mod:`.svg`), the CSS is
embedded, and a Content-Security-Policy meta tag forbids scripts and remote loads, so it opens
offline from the file system or through the Airflow UI plugin. Every string that comes from the
library (track, artist and playlist names, ids) is HTML-escaped with :func:`html.escape`.

``render_report(lake, ds)`` is the entry point the report DAG calls after the Spark job, and the
weekly model DAG calls again after publishing, so the "This week's model" section appears.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from weekly_discovery.core.spotify_ids import SPOTIFY_ID_RE
from weekly_discovery.lake.layout import Lake, check_ds, read_json
from weekly_discovery.report import analysis as an
from weekly_discovery.report import svg
from weekly_discovery.report.model_outputs import load_model_outputs
from weekly_discovery.report.paths import INDEX_HTML, REPORT_JSON, report_dir, update_latest, write_atomically
from weekly_discovery.report.svg import esc

log = logging.getLogger(__name__)

SECTIONS = (
    ("feature-ranges", "Feature ranges"),
    ("top-artists", "Top artists"),
    ("correlation", "Correlation"),
    ("coverage", "Coverage and data quality"),
    ("model", "This week\u2019s model"),
)
STATUS_COLORS = {"ok": "#1db954", "missing": "#bdbdbd", "quarantined": "#e45756", "pending": "#f2b134"}
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"
MAX_ARTIST_BARS = 25

CSS = """
:root { color-scheme: light; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1e1e1e;
       background: #f6f7f9; }
header { background: #121212; color: #fff; padding: 18px 28px 12px; }
header h1 { margin: 0; font-size: 22px; font-weight: 650; }
header .meta { margin: 4px 0 10px; color: #b3b3b3; font-size: 13.5px; }
header nav a { color: #1ed760; margin-right: 16px; font-size: 14px; text-decoration: none; }
header nav a:hover { text-decoration: underline; }
header nav a.all { float: right; color: #b3b3b3; margin-right: 0; }
main { max-width: 1180px; margin: 0 auto; padding: 8px 24px 40px; }
section { background: #fff; border: 1px solid #e3e5e8; border-radius: 10px; padding: 18px 22px; margin: 18px 0; }
h2 { margin: 0 0 6px; font-size: 19px; }
h3 { margin: 12px 0 4px; font-size: 16px; }
.feature h3 { margin-top: 0; text-transform: capitalize; }
p.lead { margin: 0 0 12px; color: #444; max-width: 80ch; }
.feature { border-top: 1px solid #eceef0; padding: 14px 0 6px; }
.feature .reading { margin: 0 0 8px; color: #222; }
.charts { display: flex; flex-wrap: wrap; align-items: flex-start; gap: 18px; }
.pies { display: flex; flex-wrap: wrap; gap: 10px; }
figure { margin: 0; }
figcaption { font-size: 12px; color: #444; text-align: center; max-width: 140px; overflow-wrap: anywhere; }
.legend { display: flex; flex-wrap: wrap; gap: 6px 16px; font-size: 13px; margin: 6px 0 10px; }
.legend span.key { display: inline-block; width: 12px; height: 12px; border-radius: 2px; margin-right: 5px;
                   vertical-align: -1px; }
table { border-collapse: collapse; font-size: 14px; margin: 8px 0 14px; }
th, td { text-align: left; padding: 5px 10px; border-bottom: 1px solid #eceef0; vertical-align: top; }
th { background: #f3f4f6; font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.two { display: flex; flex-wrap: wrap; gap: 28px; align-items: flex-start; }
.pairs li { margin: 2px 0; }
.note { background: #fff8e1; border-left: 4px solid #f2b134; padding: 8px 12px; margin: 10px 0; max-width: 80ch; }
.empty { color: #666; font-style: italic; }
a { color: #0b6bcb; }
footer { max-width: 1180px; margin: 0 auto; padding: 0 24px 30px; color: #777; font-size: 12.5px; }
svg text { user-select: none; }
"""


class ReportNotFound(FileNotFoundError):
    """``report.json`` of the date is not there: the report job has not run for it."""


def render_report(lake: Lake, ds: str, *, missing_ok: bool = False) -> Path | None:
    """Render ``reports/library/ds=<ds>/index.html`` from its ``report.json`` and the model outputs of ``ds``.

    Writes atomically (temp file + rename) and moves ``latest.json`` to the newest rendered date.
    Returns the page's path. Without a ``report.json`` raises :class:`ReportNotFound`, or returns
    None when ``missing_ok`` (the weekly DAG may finish before the report DAG has computed the date;
    the report DAG then renders the model section itself).
    """
    folder = report_dir(lake, check_ds(ds))
    source = folder / REPORT_JSON
    if not source.is_file():
        if missing_ok:
            log.info("no %s for ds=%s yet: nothing to render", REPORT_JSON, ds)
            return None
        raise ReportNotFound(f"no report for ds={ds} at {source}: run the library_report DAG (jobs/report.py) "
                             f"for {ds} first")
    report = read_json(source)
    model = load_model_outputs(lake, ds)
    page = render_html(report, model)
    target = write_atomically(folder / INDEX_HTML, page.encode("utf-8"))
    latest = update_latest(lake)
    log.info("rendered %s (%d KB, model section: %s); latest report is %s", target, len(page.encode()) // 1024,
             "yes" if model else "not run yet", latest)
    return target


# --------------------------------------------------------------------------------------------------
# the page
# --------------------------------------------------------------------------------------------------


def render_html(report: Mapping[str, Any], model: Mapping[str, Any] | None = None) -> str:
    """The whole page as a string (pure: no I/O)."""
    ds = esc(report["ds"])
    library = report["coverage"]["library"]
    # "../../" is the plugin's list of reports (/weekly-discovery/reports/<ds>/ -> /weekly-discovery/);
    # opened from the file system it is the reports folder
    nav = "".join(f'<a href="#{key}">{esc(title)}</a>' for key, title in SECTIONS) + \
        '<a class="all" href="../../">All reports</a>'
    body = "".join([
        feature_ranges_section(report),
        top_artists_section(report),
        correlation_section(report),
        coverage_section(report),
        model_section(report, model),
    ])
    return (
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="referrer" content="no-referrer">'
        f"<title>Library report {ds} \u00b7 Weekly Discovery</title><style>{CSS}</style></head><body>"
        f"<header><h1>Your library, week of {ds}</h1>"
        f'<p class="meta">{_n(library.get("tracks"))} distinct tracks, {_n(library.get("with_features"))} with audio '
        f"features \u00b7 generated {esc(report.get('generated_at', ''))} \u00b7 Weekly Discovery</p>"
        f"<nav>{nav}</nav></header><main>{body}</main>"
        f"<footer>The numbers behind this page are in report.json beside it "
        f"({esc((report.get('input') or {}).get('table') or '')}, {_n((report.get('input') or {}).get('rows'))} rows)."
        "</footer></body></html>\n"
    )


def _n(value: Any) -> str:
    return "-" if value is None else esc(f"{value:,}" if isinstance(value, int) else value)


def _pct(value: Any, digits: int = 0) -> str:
    return "-" if value is None else f"{value * 100:.{digits}f}%"


def _section(key: str, body: str) -> str:
    title = dict(SECTIONS)[key]
    return f'<section id="{key}"><h2>{esc(title)}</h2>{body}</section>'


def _legend(entries: Sequence[tuple[str, str]]) -> str:
    return '<div class="legend">' + "".join(
        f'<span><span class="key" style="background:{color}"></span>{esc(label)}</span>' for label, color in entries
    ) + "</div>"


def feature_ranges_section(report: Mapping[str, Any]) -> str:
    d = report["distributions"]
    settings = report["settings"]
    bw = settings["bin_width"]
    labels = [f"{an.format_edge(lo, bw)}-{an.format_edge(hi, bw)}" for lo, hi in d["bins"]]
    groups = d["groups"]
    lead = (
        f'<p class="lead">The share of tracks in each range of width {bw:g}, for your liked songs and for each '
        "reference playlist (each with features counted once). A value on an edge counts in the range that starts "
        "there (0.3 is in 0.3-0.4) and 1.0 in the last range. The reading names the smallest run of adjacent ranges "
        f"holding at least {settings.get('reading_share', an.READING_SHARE):.0%} of the tracks: "
        f"\u201cconcentrated\u201d when it is at most {settings.get('concentrated_width', an.CONCENTRATED_WIDTH):g} "
        "wide, \u201cspread\u201d otherwise.</p>"
    )
    legend = _legend([(f"{g['label']} ({g.get('with_features', 0):,} tracks)", svg.group_color(i))
                      for i, g in enumerate(groups)])
    pie_legend = _legend(list(zip(labels, svg.bin_colors(len(labels)))))
    parts = [lead, "<div><strong>Bars:</strong>", legend, "<strong>Pies</strong> (one per group, slices by range):",
             pie_legend, "</div>"]
    if len(groups) == 1:
        parts.append('<p class="note">No reference playlist in the config (sources.reference): the charts show '
                     "your liked songs alone.</p>")
    for feature in d["features"]:
        per_group = d["by_feature"][feature]
        series = [(g["label"], per_group[g["key"]]["shares"]) for g in groups]
        bars = svg.grouped_bars(labels, series, f"{feature}: share of tracks per range, by group")
        pies = "".join(
            f"<figure>{svg.pie(per_group[g['key']]['shares'], labels, feature + ': ' + str(g['label']))}"
            f"<figcaption>{esc(g['label'])}</figcaption></figure>"
            for g in groups)
        reading = d["readings"][feature]["line"]
        if reading.startswith(f"{feature}: "):  # the heading names the feature already
            reading = reading[len(feature) + 2:]
            reading = reading[:1].upper() + reading[1:]
        parts.append(f'<article class="feature" id="feature-{esc(feature)}"><h3>{esc(feature)}</h3>'
                     f'<p class="reading">{esc(reading)}</p>'
                     f'<div class="charts">{bars}<div class="pies">{pies}</div></div></article>')
    return _section("feature-ranges", "".join(parts))


def _spotify_link(kind: str, spotify_id: Any, text: Any) -> str:
    if isinstance(spotify_id, str) and SPOTIFY_ID_RE.fullmatch(spotify_id):
        return (f'<a href="https://open.spotify.com/{kind}/{spotify_id}" target="_blank" '
                f'rel="noopener noreferrer">{esc(text)}</a>')
    return esc(text)


def top_artists_section(report: Mapping[str, Any]) -> str:
    t = report["top_artists"]
    lead = (f'<p class="lead">Tracks per primary artist in your liked songs, for artists with more than '
            f"{t['min_tracks']:g} (report.top_artist_min_tracks), most first.</p>")
    if not t["artists"]:
        return _section("top-artists", lead + f'<p class="empty">No artist has more than {t["min_tracks"]:g} liked '
                                              "tracks.</p>")
    bars = svg.horizontal_bars([(a["name"] or a["artist_id"], a["tracks"]) for a in t["artists"][:MAX_ARTIST_BARS]],
                               "liked tracks per artist")
    rows = "".join(f'<tr><td class="num">{i}</td><td>{_spotify_link("artist", a["artist_id"], a["name"])}</td>'
                   f'<td class="num">{_n(a["tracks"])}</td></tr>' for i, a in enumerate(t["artists"], 1))
    more = (f'<p class="empty">{t["total"] - t["shown"]:,} more artists qualify; the first {t["shown"]} are '
            "listed.</p>" if t["total"] > t["shown"] else "")
    table = (f'<table><thead><tr><th class="num">#</th><th>artist</th><th class="num">liked tracks</th></tr>'
             f"</thead><tbody>{rows}</tbody></table>{more}")
    return _section("top-artists", lead + f'<div class="two"><div>{bars}</div><div>{table}</div></div>')


def correlation_section(report: Mapping[str, Any]) -> str:
    c = report["correlation"]
    roles = ", ".join(c["roles"])
    lead = (f'<p class="lead">Pearson correlation of the audio features over {c["rows"]:,} distinct tracks '
            f"({esc(roles)}) that have every feature. +1: the two always rise together; -1: one falls as the other "
            "rises; 0: no linear relation.</p>")
    if not c["matrix"]:
        return _section("correlation", lead + '<p class="empty">Too few tracks with features for a correlation '
                                              "matrix.</p>")
    heat = svg.heatmap(c["features"], c["matrix"], "correlation matrix of the audio features")
    if c["strong_pairs"]:
        items = "".join(f"<li><strong>{esc(an.pair_text(p))}</strong></li>" for p in c["strong_pairs"])
        strong = (f"<h3>Strongly correlated pairs (|r| \u2265 {c['threshold']:g})</h3><ul class=\"pairs\">{items}</ul>"
                  '<p class="note">Strongly correlated features carry much the same information: in a linear model '
                  "(the weekly logistic regression) such a pair weighs about twice, and the split of weight between "
                  "the two is unstable. Consider keeping one of each pair in <code>[model] features</code>.</p>")
    else:
        strong = f'<p class="empty">No pair reaches |r| \u2265 {c["threshold"]:g}.</p>'
    undefined = [f for i, f in enumerate(c["features"]) if c["matrix"][i][i] is None]
    if undefined:
        strong += (f'<p class="note">{esc(", ".join(undefined))}: the same value on every track, so no correlation '
                   "(n/a).</p>")
    return _section("correlation", lead + f'<div class="two"><div>{heat}<div>{svg.color_scale()}</div></div>'
                                          f"<div>{strong}</div></div>")


def coverage_section(report: Mapping[str, Any]) -> str:
    cov = report["coverage"]
    lead = ('<p class="lead">Distinct tracks per role, how many have audio features and from which source, and '
            "why the others have none (missing: no provider knows the track; quarantined: a value failed a quality "
            "gate; pending: not asked yet).</p>")
    statuses = ["ok", "missing", "quarantined", "pending"]
    extra = sorted({s for e in [*cov["roles"].values(), cov["library"]] for s in e["by_status"]} - set(statuses))
    statuses += extra
    head = ("<tr><th>role</th><th class=\"num\">tracks</th><th class=\"num\">with features</th>"
            "<th class=\"num\">coverage</th><th>features from</th>"
            + "".join(f'<th class="num">{esc(s)}</th>' for s in statuses[1:]) + "<th></th></tr>")
    rows = []
    for role, e in [*cov["roles"].items(), ("whole library", cov["library"])]:
        sources = ", ".join(f"{esc(k)} {v:,}" for k, v in e["by_source"].items()) or "-"
        bar = svg.stacked_bar([(s, e["by_status"].get(s, 0), STATUS_COLORS.get(s, "#999")) for s in statuses],
                              f"{role}: tracks by feature status", width=160, height=12)
        rows.append(f"<tr><td>{esc(role)}</td><td class=\"num\">{_n(e['tracks'])}</td>"
                    f"<td class=\"num\">{_n(e['with_features'])}</td><td class=\"num\">{_pct(e['coverage'], 1)}</td>"
                    f"<td>{sources}</td>"
                    + "".join(f'<td class="num">{_n(e["by_status"].get(s, 0))}</td>' for s in statuses[1:])
                    + f"<td>{bar}</td></tr>")
    table = f"<table><thead>{head}</thead><tbody>{''.join(rows)}</tbody></table>"
    legend = _legend([(s, STATUS_COLORS.get(s, "#999")) for s in statuses])
    enrichment = cov.get("enrichment")
    if not enrichment:
        quality = '<p class="empty">The enrichment step left no _metrics.json: quality-gate counts unavailable.</p>'
    else:
        gates = enrichment.get("gates") or {}
        by_field = gates.get("quarantined_by_field") or {}
        unknown = gates.get("unknown_kept") or {}
        reasons = ", ".join(f"{esc(k)} out of range: {v:,}" for k, v in by_field.items()) or "none"
        kept = ", ".join(f"{esc(k)} {v:,}" for k, v in unknown.items()) or "none"
        quality = (f"<h3>Quality gates (this week's new answers)</h3><p>{_n(gates.get('checked'))} answers checked, "
                   f"{_n(gates.get('quarantined'))} quarantined (by failing field: {reasons}); values meaning "
                   f"\u201cnot detected\u201d kept as empty: {kept}.</p>")
        providers = enrichment.get("providers") or {}
        if providers:
            prow = "".join(
                f"<tr><td>{esc(name)}</td><td>{'yes' if p.get('ran') else 'no'}</td><td>{esc(p.get('status') or '-')}"
                f"</td><td class=\"num\">{_n(p.get('requests'))}</td><td class=\"num\">"
                f"{_n(p.get('asked', p.get('looked_up')))}</td><td class=\"num\">{_n(p.get('answered', p.get('hits')))}"
                f"</td><td>{esc(p.get('note') or '')}</td></tr>"
                for name, p in providers.items() if isinstance(p, Mapping))
            order = " \u2192 ".join(esc(p) for p in enrichment.get("providers_in_order") or providers)
            quality += (f"<h3>Feature providers (in order: {order})</h3><table><thead><tr><th>provider</th><th>ran</th>"
                        "<th>status</th><th class=\"num\">requests</th><th class=\"num\">asked</th>"
                        f"<th class=\"num\">answered</th><th>note</th></tr></thead><tbody>{prow}</tbody></table>")
    return _section("coverage", lead + legend + table + quality)


def model_section(report: Mapping[str, Any], model: Mapping[str, Any] | None) -> str:
    ds = esc(report["ds"])
    if not model:
        return _section("model", f'<p class="empty">The weekly model has not run yet for {ds}. This section '
                                 "appears when it has (the weekly DAG renders this page again).</p>")
    parts = []
    champion = model.get("champion_version")
    name = model.get("champion_name")
    parts.append(f'<p class="lead">Model version {esc(model.get("version"))}'
                 + (f": the week\u2019s best by cross-validated ROC AUC is {esc(name)}" if name else "")
                 + (f"; the champion in force is version {esc(champion)}" if champion else "")
                 + (f"; the recommendations were scored by version {esc(model['scored_by'])}"
                    if model.get("scored_by") else "") + ".</p>")
    if model.get("promotion"):
        parts.append(f'<p class="note">{esc(model["promotion"])}</p>')
    metrics = model.get("metrics") or {}
    if metrics:
        simple = [(k, v) for k, v in metrics.items()
                  if isinstance(v, (int, float)) and not isinstance(v, bool) and not k.endswith("_sd")]
        sd = {k[:-3]: v for k, v in metrics.items() if k.endswith("_sd") and isinstance(v, (int, float))}
        rows = "".join(f"<tr><td>{esc(k)}</td><td class=\"num\">{v:.3f}"
                       + (f" \u00b1 {sd[k]:.3f}" if k in sd else "") + "</td></tr>" for k, v in simple)
        confusion = metrics.get("confusion") or metrics.get("confusion_matrix")
        conf_html = _confusion(confusion)
        parts.append('<div class="two"><div><h3>Cross-validated metrics</h3><table><thead><tr><th>metric</th>'
                     f'<th class="num">value</th></tr></thead><tbody>{rows}</tbody></table></div>{conf_html}</div>')
    coefs = model.get("coefficients") or []
    if coefs:
        # in the card's feature order: on raw feature scales (dB, BPM, 0..1) sizes are not comparable
        rows = "".join(f"<tr><td>{esc(k)}</td><td class=\"num\">{_fmt(v)}</td></tr>" for k, v in coefs)
        if model.get("intercept") is not None:
            rows += f"<tr><td><em>intercept</em></td><td class=\"num\">{_fmt(model['intercept'])}</td></tr>"
        coef_html = ("<div><h3>The post\u2019s logistic regression (baseline): coefficients on raw feature "
                     "scales</h3>"
                     "<table><thead><tr><th>feature</th>"
                     f'<th class="num">coefficient</th></tr></thead><tbody>{rows}</tbody></table></div>')
    else:
        coef_html = ""
    imps = [(k, v) for k, v in (model.get("importances") or []) if v is not None]
    title, column = "Champion: feature importances", "importance"
    if not imps:  # a linear champion has coefficients instead
        imps = [(k, v) for k, v in (model.get("champion_coefficients") or []) if v is not None]
        title = "Champion: coefficients" + (f" ({model['champion_scale']})" if model.get("champion_scale") else "")
        column = "coefficient"
    imp_html = ""
    if imps:
        imps = sorted(imps, key=lambda kv: -abs(kv[1]))
        rows = "".join(f"<tr><td>{esc(k)}</td><td class=\"num\">{_fmt(v)}</td></tr>" for k, v in imps)
        imp_html = (f"<div><h3>{esc(title)}</h3><table><thead><tr><th>feature</th>"
                    f'<th class="num">{column}</th></tr></thead><tbody>{rows}</tbody></table></div>')
    if coef_html or imp_html:
        parts.append(f'<div class="two">{coef_html}{imp_html}</div>')
    playlists = model.get("playlists") or []
    if playlists:
        rows = "".join(f"<tr><td>{esc(p['name'])}</td><td class=\"num\">{_n(p['recommended'])} of {_n(p['total'])}"
                       "</td></tr>" for p in playlists)
        parts.append("<h3>Songs recommended per candidate playlist</h3><table><thead><tr><th>playlist</th>"
                     f'<th class="num">recommended</th></tr></thead><tbody>{rows}</tbody></table>')
    recs = model.get("recommendations") or []
    if recs:
        rows = "".join(
            f"<tr><td class=\"num\">{_n(r['rank'])}</td><td>{_spotify_link('track', r['track_id'], r['name'])}</td>"
            f"<td>{esc(r['artists'] or '')}</td><td class=\"num\">{_fmt(r['probability'], 3)}</td>"
            f"<td>{esc(r['playlist'] or '')}</td></tr>" for r in recs)
        parts.append("<h3>Recommended tracks</h3><table><thead><tr><th class=\"num\">#</th><th>track</th>"
                     "<th>artists</th><th class=\"num\">probability</th><th>from playlist</th></tr></thead>"
                     f"<tbody>{rows}</tbody></table>")
    elif model.get("recommendations_present") is False:
        parts.append(f'<p class="empty">No recommendations were published for {ds}.</p>')
    return _section("model", "".join(parts))


def _fmt(value: Any, digits: int = 4) -> str:
    if value is None:
        return "-"
    try:
        return f"{float(value):.{digits}f}"
    except (TypeError, ValueError):
        return esc(value)


def _confusion(confusion: Any) -> str:
    """A 2x2 confusion matrix as ``[[tn, fp], [fn, tp]]`` or ``{"tn", "fp", "fn", "tp"}``."""
    if isinstance(confusion, Mapping) and {"tn", "fp", "fn", "tp"} <= set(confusion):
        cells = [[confusion["tn"], confusion["fp"]], [confusion["fn"], confusion["tp"]]]
    elif (isinstance(confusion, (list, tuple)) and len(confusion) == 2
          and all(isinstance(r, (list, tuple)) and len(r) == 2 for r in confusion)):
        cells = confusion
    else:
        return ""
    return ("<div><h3>Confusion (held-out)</h3><table><thead><tr><th></th><th class=\"num\">predicted disliked</th>"
            f'<th class="num">predicted liked</th></tr></thead><tbody><tr><th>disliked</th><td class="num">'
            f'{_n(cells[0][0])}</td><td class="num">{_n(cells[0][1])}</td></tr><tr><th>liked</th><td class="num">'
            f'{_n(cells[1][0])}</td><td class="num">{_n(cells[1][1])}</td></tr></tbody></table></div>')
