"""Turn ``report.json`` (+ the weekly model's outputs, when present) into a self-contained ``index.html``.

The page has no JavaScript and loads nothing: charts are inline SVG (:mod:`.svg`), the CSS is
embedded, and a Content-Security-Policy meta tag forbids scripts and remote loads, so it opens
offline from the file system or through the Airflow UI plugin.

The markup lives in Jinja2 templates shipped inside the package (``templates/``, read with
:class:`jinja2.PackageLoader`, so it works from the ``--py-files`` zip too); this module only
shapes the data for them. Autoescaping is on and every ``{{ value }}`` goes through :func:`.svg.esc`
(``html.escape`` with quotes, control characters dropped), so a track, artist or playlist called
``<script>alert(1)</script>`` is shown as text. The SVG charts are escaped when they are built and go
in as :class:`markupsafe.Markup`. Undefined template variables raise (``StrictUndefined``): a
renamed key fails the render instead of leaving a blank on the page.

``render_report(lake, ds)`` is the entry point of the report DAG's render task. That DAG runs on
``tracks_enriched`` and again on ``recommendations``, so the page gets its "This week's model"
and "This week's picks" sections once the weekly DAG has published. The picks and the hit rates of
earlier weeks' picks are read here, at render time (:mod:`.picks`), like the model's outputs.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from weekly_discovery.core.errors import UserError
from weekly_discovery.core.spotify_ids import SPOTIFY_ID_RE
from weekly_discovery.lake import Lake, PartitionDate, read_json, write_atomic
from weekly_discovery.report import analysis as an
from weekly_discovery.report import svg
from weekly_discovery.report.model_outputs import load_model_outputs
from weekly_discovery.report.paths import INDEX_HTML, REPORT_JSON, report_dir, update_latest
from weekly_discovery.report.picks import load_picks
from weekly_discovery.report.svg import esc

log = logging.getLogger(__name__)

SECTIONS = (
    ("feature-ranges", "Feature ranges"),
    ("top-artists", "Top artists"),
    ("correlation", "Correlation"),
    ("coverage", "Coverage and data quality"),
    ("model", "This week\u2019s model"),
    ("picks", "This week\u2019s picks"),
    ("reaction", "Your reaction"),
)
STATUS_COLORS = {"ok": "#1db954", "missing": "#bdbdbd", "quarantined": "#e45756", "pending": "#f2b134"}
STATUSES = ("ok", "missing", "quarantined", "pending")  # the coverage table's columns, in this order
MAX_ARTIST_BARS = 25
MAX_TREND_WEEKS = 26  # the reaction section shows the latest half year of weeks
SOURCE_LABELS = {"reccobeats": "ReccoBeats", "artists": "artists you like", "catalog": "catalogue",
                 "playlists": "your playlists"}


class ReportNotFound(UserError, FileNotFoundError):
    """``report.json`` of the date is not there: the report job has not run for it."""


def render_report(lake: Lake, ds: PartitionDate, *, missing_ok: bool = False) -> Path | None:
    """Render ``reports/library/ds=<ds>/index.html`` from its ``report.json`` and the model outputs of ``ds``.

    Writes atomically (temp file + rename) and moves ``latest.json`` to the newest rendered date.
    Returns the page's path. Without a ``report.json`` raises :class:`ReportNotFound`, or returns
    None when ``missing_ok`` (nothing to show yet for that date).
    """
    folder = report_dir(lake, ds)
    source = folder / REPORT_JSON
    if not source.is_file():
        if missing_ok:
            log.info("no %s for ds=%s yet: nothing to render", REPORT_JSON, ds)
            return None
        raise ReportNotFound(f"no report for ds={ds} at {source}: run the library_report DAG (jobs/report.py) "
                             f"for {ds} first")
    report = read_json(source)
    model = load_model_outputs(lake, ds)
    picks = load_picks(lake, ds)
    page = render_html(report, model, picks)
    target = write_atomic(folder / INDEX_HTML, page.encode("utf-8"))  # two renders may race: the last rename wins
    latest = update_latest(lake)
    log.info("rendered %s (%d KB, model section: %s, %d picks, hit rates of %d earlier weeks); latest report is %s",
             target, len(page.encode()) // 1024, "yes" if model else "not run yet", len(picks["picks"]),
             len(picks["reaction"]["weeks"]), latest)
    return target


# --------------------------------------------------------------------------------------------------
# the templates
# --------------------------------------------------------------------------------------------------


def _escape(value: Any) -> Markup:
    """The template's ``finalize``: every ``{{ value }}`` is escaped by :func:`.svg.esc`, unless it is Markup.

    Jinja's own autoescape (markupsafe) would keep control characters, which are invalid in HTML
    text and in the inline SVG; :func:`.svg.esc` drops them and escapes exactly as the charts do.
    """
    if hasattr(value, "__html__"):
        return Markup(value)
    return Markup(esc(value))


def _n(value: Any) -> str:
    """A count with thousands separators; ``-`` when unknown."""
    return "-" if value is None else f"{value:,}" if isinstance(value, int) else str(value)


def _pct(value: Any, digits: int = 0) -> str:
    return "-" if value is None else f"{value * 100:.{digits}f}%"


def _fmt(value: Any, digits: int = 4) -> str:
    """A model number with ``digits`` decimals; ``-`` when missing, the value as text if not a number."""
    if value is None:
        return "-"
    try:
        return f"{float(value):.{digits}f}"
    except (TypeError, ValueError):
        return str(value)


def _g(value: Any) -> str:
    """A setting as written in the config (0.1, 3, 0.5): Python's shortest ``g`` form."""
    return f"{value:g}"


def _is_spotify_id(value: Any) -> bool:
    return isinstance(value, str) and SPOTIFY_ID_RE.fullmatch(value) is not None


@cache
def environment() -> jinja2.Environment:
    """The page's Jinja2 environment (built once): package templates, autoescape, strict undefined."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("weekly_discovery.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        finalize=_escape,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(n=_n, pct=_pct, num=_fmt, g=_g)
    env.tests["spotify_id"] = _is_spotify_id
    env.globals["section_titles"] = dict(SECTIONS)
    return env


def _render(template: str, **context: Any) -> Markup:
    return Markup(environment().get_template(template).render(**context))


# --------------------------------------------------------------------------------------------------
# the page
# --------------------------------------------------------------------------------------------------


def render_html(report: Mapping[str, Any], model: Mapping[str, Any] | None = None,
                picks: Mapping[str, Any] | None = None) -> str:
    """The whole page as a string (pure: no I/O). ``picks`` is :func:`.picks.load_picks`'s dict (None: none yet)."""
    sections = [
        feature_ranges_section(report),
        top_artists_section(report),
        correlation_section(report),
        coverage_section(report),
        model_section(report, model),
        picks_section(report, picks),
        reaction_section(report, picks),
    ]
    return str(_render("report.html.j2", report=report, sections=sections))


def feature_ranges_section(report: Mapping[str, Any]) -> Markup:
    d = report["distributions"]
    settings = report["settings"]
    bw = settings["bin_width"]
    labels = [f"{an.format_edge(lo, bw)}-{an.format_edge(hi, bw)}" for lo, hi in d["bins"]]
    groups = d["groups"]
    features = []
    for feature in d["features"]:
        per_group = d["by_feature"][feature]
        series = [(g["label"], per_group[g["key"]]["shares"]) for g in groups]
        reading = d["readings"][feature]["line"]
        if reading.startswith(f"{feature}: "):  # the heading names the feature already
            reading = reading[len(feature) + 2:]
            reading = reading[:1].upper() + reading[1:]
        features.append({
            "name": feature,
            "reading": reading,
            "bars": Markup(svg.grouped_bars(labels, series, f"{feature}: share of tracks per range, by group")),
            "pies": [(Markup(svg.pie(per_group[g["key"]]["shares"], labels, f"{feature}: {g['label']}")), g["label"])
                     for g in groups],
        })
    return _render(
        "sections/feature_ranges.html.j2",
        bin_width=bw,
        reading_share=settings.get("reading_share", an.READING_SHARE),
        concentrated_width=settings.get("concentrated_width", an.CONCENTRATED_WIDTH),
        group_legend=[(f"{g['label']} ({g.get('with_features', 0):,} tracks)", svg.group_color(i))
                      for i, g in enumerate(groups)],
        range_legend=list(zip(labels, svg.bin_colors(len(labels)))),
        alone=len(groups) == 1,
        features=features,
    )


def top_artists_section(report: Mapping[str, Any]) -> Markup:
    t = report["top_artists"]
    bars = Markup(svg.horizontal_bars([(a["name"] or a["artist_id"], a["tracks"])
                                       for a in t["artists"][:MAX_ARTIST_BARS]], "liked tracks per artist"))
    return _render("sections/top_artists.html.j2", t=t, bars=bars)


def correlation_section(report: Mapping[str, Any]) -> Markup:
    c = report["correlation"]
    heat = scale = Markup()
    undefined: list[str] = []
    if c["matrix"]:
        heat = Markup(svg.heatmap(c["features"], c["matrix"], "correlation matrix of the audio features"))
        scale = Markup(svg.color_scale())
        undefined = [f for i, f in enumerate(c["features"]) if c["matrix"][i][i] is None]
    return _render("sections/correlation.html.j2", c=c, heatmap=heat, scale=scale,
                   pairs=[an.pair_text(p) for p in c["strong_pairs"]], undefined=undefined)


def coverage_section(report: Mapping[str, Any]) -> Markup:
    cov = report["coverage"]
    entries = [*cov["roles"].items(), ("whole library", cov["library"])]
    statuses = [*STATUSES, *sorted({s for _, e in entries for s in e["by_status"]} - set(STATUSES))]
    rows = [(role, e, Markup(svg.stacked_bar([(s, e["by_status"].get(s, 0), STATUS_COLORS.get(s, "#999"))
                                              for s in statuses],
                                             f"{role}: tracks by feature status", width=160, height=12)))
            for role, e in entries]
    return _render("sections/coverage.html.j2", statuses=statuses, rows=rows,
                   status_legend=[(s, STATUS_COLORS.get(s, "#999")) for s in statuses],
                   enrichment=cov.get("enrichment"))


def model_section(report: Mapping[str, Any], model: Mapping[str, Any] | None) -> Markup:
    if not model:
        return _render("sections/model.html.j2", ds=report["ds"], model=model)
    metrics = model.get("metrics") or {}
    sd = {k[:-3]: v for k, v in metrics.items() if k.endswith("_sd") and isinstance(v, (int, float))}
    metric_rows = [(k, v, sd.get(k)) for k, v in metrics.items()
                   if isinstance(v, (int, float)) and not isinstance(v, bool) and not k.endswith("_sd")]
    weights = [(k, v) for k, v in (model.get("importances") or []) if v is not None]
    title, column = "Champion: feature importances", "importance"
    if not weights:  # a linear champion has coefficients instead
        weights = [(k, v) for k, v in (model.get("champion_coefficients") or []) if v is not None]
        title = "Champion: coefficients" + (f" ({model['champion_scale']})" if model.get("champion_scale") else "")
        column = "coefficient"
    return _render(
        "sections/model.html.j2",
        ds=report["ds"],
        model=model,
        metrics_present=bool(metrics),
        metric_rows=metric_rows,
        confusion=_confusion(metrics.get("confusion") or metrics.get("confusion_matrix")),
        coefficients=model.get("coefficients") or [],
        weights=sorted(weights, key=lambda kv: -abs(kv[1])),
        weights_title=title,
        weights_column=column,
    )


def _source_label(source: Any) -> str:
    return SOURCE_LABELS.get(source, source or "unknown")


def picks_section(report: Mapping[str, Any], picks: Mapping[str, Any] | None) -> Markup:
    """The week's published picks with their source, probability and reason (``gold/picks``)."""
    rows = [{**p, "artists": ", ".join(str(a) for a in p.get("artists") or []),
             "source": _source_label(p.get("source"))} for p in (picks or {}).get("picks") or []]
    by_source: dict[str, int] = {}
    for r in rows:
        by_source[r["source"]] = by_source.get(r["source"], 0) + 1
    return _render("sections/picks.html.j2", ds=report["ds"], rows=rows, by_source=list(by_source.items()),
                   novelty=(picks or {}).get("novelty"))


def reaction_section(report: Mapping[str, Any], picks: Mapping[str, Any] | None) -> Markup:
    """How many of earlier weeks' picks the user has saved since: per week and source, a table and a trend."""
    reaction = (picks or {}).get("reaction") or {}
    weeks = list(reaction.get("weeks") or [])
    shown = weeks[-MAX_TREND_WEEKS:]
    sources = list(reaction.get("sources") or [])
    chart = Markup()
    if shown and reaction.get("saved_known"):
        series = [("all sources", [w["rate"] for w in shown])]
        if len(sources) > 1:
            series += [(_source_label(s), [(w["by_source"].get(s) or {}).get("rate") for w in shown])
                       for s in sources]
        chart = Markup(svg.trend([w["ds"] for w in shown], series, "share of each week's picks saved since"))
        legend = [(name, svg.group_color(i)) for i, (name, _) in enumerate(series)]
    else:
        legend = []
    return _render("sections/reaction.html.j2", ds=report["ds"], weeks=list(reversed(shown)), total_weeks=len(weeks),
                   saved_known=bool(reaction.get("saved_known")), chart=chart, legend=legend,
                   sources=[(s, _source_label(s)) for s in sources], total=reaction.get("total") or {})


def _confusion(confusion: Any) -> list[list[Any]] | None:
    """A 2x2 confusion matrix given as ``[[tn, fp], [fn, tp]]`` or ``{"tn", "fp", "fn", "tp"}``, as rows."""
    if isinstance(confusion, Mapping) and {"tn", "fp", "fn", "tp"} <= set(confusion):
        return [[confusion["tn"], confusion["fp"]], [confusion["fn"], confusion["tp"]]]
    if (isinstance(confusion, (list, tuple)) and len(confusion) == 2
            and all(isinstance(r, (list, tuple)) and len(r) == 2 for r in confusion)):
        return [list(r) for r in confusion]
    return None
