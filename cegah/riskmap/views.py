"""The risk map (``/risk/``), its GeoJSON (``/risk/map.json``), area search and the
run-status banner, and the risk section of the area pages.

Views only parse input, ask :mod:`cegah.policy` and take every figure from
:mod:`cegah.riskmap.figures`, which applies the actor's entitlement and disclosure
control. A forbidden area answers "not found", like a missing one.
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import json
import statistics
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db.models import BooleanField, Exists, ExpressionWrapper, OuterRef, Q
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotModified
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.utils.formats import number_format
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from cegah import policy
from cegah.activities.coverage import COVERAGE_BREAKS, activity_counts, coverage_version
from cegah.areas.boundaries import ILLUSTRATIVE_PREFIX
from cegah.areas.models import Area, Level
from cegah.lib import rawsql
from cegah.lib.bodycache import BodyCache
from cegah.risk.windows import CATEGORIES
from cegah.riskmap.actions import latest_run, run_in_progress
from cegah.riskmap.figures import AreaFigures, area_detail, figures_for, risk_rows, trend_series
from cegah.riskmap.models import AreaRisk, RiskRun, RunStatus
from cegah.riskmap.templatetags.riskmap_tags import (
    CATEGORY_COLOURS,
    COVERAGE_COLOURS,
    LAYER_LABELS,
    NOT_AVAILABLE_COLOUR,
    RAMP,
    TIER_COLOURS,
    TIER_ORDER,
    tier_label,
)

LAYERS = ("tier", "score", "smoothed_rate", "underreporting", "coverage")
# Score classes: multiples of the average area; 1.2 and 1.5 are the tier rules' defaults.
SCORE_BREAKS = (0.5, 0.8, 1.2, 1.5)
SEARCH_LIMIT = 20
# Levels whose areas map.json serves all at once (villages only per district or regency).
WHOLE_LEVELS = ("province", "regency", "district")


# ----------------------------------------------------------------------------- helpers

def _month(text: str | None) -> dt.date | None:
    try:
        year, month = (int(x) for x in (text or "").split("-"))
        return dt.date(year, month, 1)
    except ValueError:
        return None


def _run_info(run: RiskRun | None) -> dict[str, Any] | None:
    if run is None:
        return None
    window = (run.parameters or {}).get("window") or {}
    return {"run": run, "as_of": _month(run.as_of), "start": _month(window.get("from")),
            "end": _month(window.get("to")), "months": window.get("months")}


def _map_url(code: str | None = None, **params) -> str:
    query = {"area": code} if code else {}
    query.update({k: v for k, v in params.items() if v})
    url = reverse("riskmap:map")
    return f"{url}?{urlencode(query)}" if query else url


def _children_rows(run: RiskRun, area: Area | None, *, geometry: bool) -> list[AreaRisk]:
    """The results of the area's children (of the provinces at the top), with whether
    each has children of its own in the run and a boundary; one query."""
    qs = risk_rows(run, level=Level.PROVINCE, geometry=geometry) if area is None else risk_rows(
        run, parent=area.code, geometry=geometry)
    qs = qs.annotate(
        has_children=Exists(AreaRisk.objects.filter(run=run, parent_code=OuterRef("area_id"))),
        has_geometry=ExpressionWrapper(
            Q(area__geometry__isnull=False) & ~Q(area__geometry=""),
            output_field=BooleanField()),
        illustrative=ExpressionWrapper(Q(area__geometry__startswith=ILLUSTRATIVE_PREFIX),
                                       output_field=BooleanField()),
    )
    return list(qs)


def _own_row(run: RiskRun, area: Area) -> AreaRisk | None:
    return (AreaRisk.objects.filter(run=run, area=area).select_related("area")
            .defer("area__geometry").first())


def _target_url(row: AreaRisk, layer: str = "") -> str:
    """Where a click on a child leads: its own map if it has sub-areas, else its page."""
    if row.has_children and row.level != Level.VILLAGE:
        return _map_url(row.area_id, layer="" if layer == "tier" else layer)
    return reverse("areas:detail", args=[row.area_id])


def _fmt(value: float, digits: int) -> str:
    return number_format(round(value, digits), decimal_pos=digits)


def _nice(value: float) -> float:
    """Two significant digits, for class breaks."""
    if value <= 0:
        return 0.0
    return float(f"{value:.2g}")


def _ramp(n: int) -> list[str]:
    if n <= 1:
        return [RAMP[2]]
    return [RAMP[round(i * (len(RAMP) - 1) / (n - 1))] for i in range(n)]


def _class_labels(breaks: list[float], digits: int) -> list[str]:
    if not breaks:
        return [_("all values")]
    labels = [f"< {_fmt(breaks[0], digits)}"]
    labels += [f"{_fmt(a, digits)} – {_fmt(b, digits)}" for a, b in zip(breaks, breaks[1:],
                                                                       strict=False)]
    labels.append(f"≥ {_fmt(breaks[-1], digits)}")
    return labels


def _rate_breaks(figures: list[AreaFigures]) -> list[float]:
    """Quintile breaks of the smoothed rates the actor may see (rounded)."""
    values = sorted(f.smoothed_rate for f in figures
                    if f.entitled and f.smoothed_rate is not None)
    if len(set(values)) < 2:
        return []
    breaks: list[float] = []
    for b in statistics.quantiles(values, n=5, method="inclusive"):
        b = _nice(b)
        if b > values[0] and (not breaks or b > breaks[-1]):
            breaks.append(b)
    return breaks


def _legends(figures: list[AreaFigures]) -> dict[str, dict[str, Any]]:
    """The legend (and the classes the map colours by) of every layer."""
    rate_breaks = _rate_breaks(figures)
    score_colours = _ramp(len(SCORE_BREAKS) + 1)
    rate_colours = _ramp(len(rate_breaks) + 1)
    missing = {"colour": TIER_COLOURS["unknown"], "hatch": True, "label": _("no data")}
    hidden = {"colour": NOT_AVAILABLE_COLOUR, "hatch": False,
              "label": _("not available to you")}
    tiers = [{"colour": TIER_COLOURS[t], "hatch": t == "unknown", "label": tier_label(t)}
             for t in TIER_ORDER]
    return {
        "tier": {"items": tiers, "breaks": [], "colours": []},
        "score": {
            "items": [{"colour": c, "hatch": False, "label": label} for c, label in
                      zip(score_colours, _class_labels(list(SCORE_BREAKS), 1), strict=True)]
            + [hidden, missing],
            "breaks": list(SCORE_BREAKS), "colours": score_colours,
            "note": _("Score 1 is the average area; 2 is about twice the average."),
        },
        "smoothed_rate": {
            "items": [{"colour": c, "hatch": False, "label": label} for c, label in
                      zip(rate_colours, _class_labels(rate_breaks, 0), strict=True)]
            + [hidden, missing],
            "breaks": rate_breaks, "colours": rate_colours,
            "note": _("Classes: fifths of the areas shown."),
        },
        "underreporting": {
            "items": [{"colour": RAMP[-1], "hatch": False, "label": _("possible under-reporting")},
                      {"colour": RAMP[0], "hatch": False, "label": _("not flagged")},
                      hidden, missing],
            "breaks": [], "colours": [RAMP[0], RAMP[-1]],
        },
        # Activity counts are shared with every signed-in user: no "not available".
        "coverage": {
            "items": [{"colour": c, "hatch": False, "label": label} for c, label in zip(
                COVERAGE_COLOURS, (_("no activity"), _("1 activity"), _("2–4 activities"),
                                   _("5 or more activities")), strict=True)],
            "breaks": list(COVERAGE_BREAKS), "colours": list(COVERAGE_COLOURS),
            "note": _("Done prevention activities in the last 12 months; one recorded for "
                      "several areas counts for each."),
        },
    }


def _synthetic_data() -> bool:
    from cegah.cases.models import CaseCount

    return CaseCount.objects.filter(is_synthetic=True).exists()


def _parse_area(actor, code: str) -> Area | None:
    code = code.strip()
    return policy.access_area_by_code(actor, code) if code else None


# ----------------------------------------------------------------------------- the map

@login_required
def map_view(request: HttpRequest) -> HttpResponse:
    """The children of an area (the provinces at the top) on a choropleth and in a
    sortable table; a village opens its area page."""
    actor = request.user
    if not policy.can_view_risk(actor):
        raise Http404
    area = _parse_area(actor, request.GET.get("area", ""))
    if area is not None and area.level == Level.VILLAGE:
        return redirect("areas:detail", code=area.code)
    layer = request.GET.get("layer", "tier")
    if layer not in LAYERS:
        layer = "tier"
    run = latest_run()
    rows: list[AreaRisk] = []
    own = None
    if run is not None:
        rows = _children_rows(run, area, geometry=False)
        own = _own_row(run, area) if area is not None else None
    figures = figures_for(actor, rows, total_row=own) if rows else []
    # The area's own row, for its tier and (if entitled) score: its counts are shown
    # only where the actor is entitled to them (they belong to its parent's table).
    own_figures = figures_for(actor, [own])[0] if own is not None else None
    # Prevention coverage of the same areas (one query): shared with every user.
    counts = activity_counts(actor, [r.area_id for r in rows], rows[0].level) if rows else {}
    items = [{"f": f, "url": _target_url(r, layer), "has_children": bool(r.has_children),
              "area_url": reverse("areas:detail", args=[f.code]),
              "tier_rank": TIER_ORDER.get(f.tier, 4), "drivers": f.drivers[:2],
              "geometry": bool(r.has_geometry),
              "activities": counts.get(f.code, (0, 0))[0],
              "reached": counts.get(f.code, (0, 0))[1]}
             for f, r in zip(figures, rows, strict=True)]
    legends = _legends(figures)
    with_map = any(r.has_geometry for r in rows)
    focus = request.GET.get("focus", "")
    if focus not in {f.code for f in figures}:
        focus = ""
    config = {
        "layer": layer,
        "dataUrl": reverse("riskmap:map_data") + "?" + urlencode(
            {"parent": area.code} if area else {"level": "province"}
        ) + (f"&run={run.pk}" if run else ""),
        "mapUrl": reverse("riskmap:map"),
        "focus": focus,
        "tiles": {"url": settings.MAP_TILE_URL, "attribution": settings.MAP_TILE_ATTRIBUTION},
        "tierColours": TIER_COLOURS,
        "notAvailable": NOT_AVAILABLE_COLOUR,
        "layers": {k: {"breaks": v["breaks"], "colours": v["colours"]}
                   for k, v in legends.items()},
        "labels": {
            "tiers": {t: str(tier_label(t)) for t in TIER_ORDER},
            "layers": {k: str(v) for k, v in LAYER_LABELS.items()},
            "notAvailable": _("not available to you"),
            "noData": _("no data"),
            "cases": _("Reported cases"),
            "yes": _("possible under-reporting"),
            "no": _("not flagged"),
            "failed": _("The map could not be loaded; the table below has the same areas."),
            "activities": _("Activities, 12 months"),
            "reached": _("people reached"),
        },
    }
    context = {
        "area": area,
        "ancestors": area.ancestors() if area else [],
        "layer": layer,
        "layers": [(k, LAYER_LABELS[k]) for k in LAYERS],
        "items": items,
        "own": own_figures,
        "info": _run_info(run),
        "running": run_in_progress(),
        "with_map": with_map,
        "illustrative": any(r.illustrative for r in rows),
        "show_scores": any(f.entitled for f in figures),
        "any_hidden": any(not f.entitled for f in figures),
        "legend": legends[layer],
        "legends": legends,
        "config": config,
        "synthetic": _synthetic_data() if run else False,
        "child_level": (Level(area.level + 1) if area else Level.PROVINCE).label,
        "tiers": [(t, tier_label(t)) for t in TIER_ORDER],
        "count_template": _("%(shown)s of %(total)s areas"),
    }
    return render(request, "riskmap/map.html", context)


MAP_DATA_CACHE = BodyCache(64 * 1024 * 1024)
GZIP_MIN_BYTES = 2048


def _etag(actor, run: RiskRun | None, scope: str) -> str:
    """Names the document: changes with the run, the boundaries (every import or removal
    of boundaries is an audit event), the activities (their count and latest change, and
    the day, for the coverage layer's 12 months) and whatever decides what the actor may
    see. Users
    who may see the same get the same document: names and tiers are public, and map.json
    holds no localised text."""
    from cegah.audit.models import AuditEvent

    boundaries = rawsql.row(  # on every map.json request: fixed SQL
        f"SELECT id, at FROM {AuditEvent._meta.db_table} "  # noqa: S608
        "WHERE object_type = %s ORDER BY id DESC LIMIT 1", ["boundaries"])
    # Coverage: any added, changed or removed activity, and the day (the 12 months roll).
    activities = coverage_version()
    key = json.dumps([policy.counts_entitlement_scope(actor), scope,
                      run.finished_at.isoformat() if run and run.finished_at else None,
                      str(boundaries[1]) if boundaries else None,
                      activities, dt.date.today().isoformat()])
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    return f'"r{run.pk if run else 0}-b{boundaries[0] if boundaries else 0}-{digest}"'


def _matches(request: HttpRequest, etag: str) -> bool:
    wanted = request.headers.get("If-None-Match", "")
    tags = [t.strip().removeprefix("W/") for t in wanted.split(",")]
    return etag in tags or "*" in tags


@login_required
def map_data(request: HttpRequest) -> HttpResponse:
    """GeoJSON of the children of ``?parent=CODE`` (or of every area of
    ``?level=province|regency|district``) that have a boundary, with the figures the
    actor may see. Geometries are spliced in as stored (already simplified per level)."""
    actor = request.user
    if not policy.can_view_risk(actor):
        raise Http404
    area = _parse_area(actor, request.GET.get("parent", ""))
    level = None
    if area is None:
        name = request.GET.get("level", "province")
        if name not in WHOLE_LEVELS:
            raise Http404
        level = Level.from_name(name)
    run = latest_run()
    etag = _etag(actor, run, area.code if area else f"level:{level}")
    pinned = run is not None and request.GET.get("run") == str(run.pk)
    headers = {"ETag": etag, "Cache-Control": "private, max-age=600" if pinned
               else "private, no-cache"}
    if _matches(request, etag):
        response = HttpResponseNotModified()
    else:
        entry = MAP_DATA_CACHE.get(etag)
        if entry is None:
            entry = MAP_DATA_CACHE.put(etag, _feature_collection(actor, run, area, level))
        body = entry[0]
        response = HttpResponse(content_type="application/geo+json")
        if len(body) >= GZIP_MIN_BYTES and "gzip" in request.headers.get("Accept-Encoding", ""):
            packed = entry[1]
            if packed is None:
                packed = gzip.compress(body, 5, mtime=0)
                MAP_DATA_CACHE.add_gzip(etag, entry, packed)
            body = packed
            response["Content-Encoding"] = "gzip"
        response.content = body
    patch_vary_headers(response, ("Accept-Encoding",))
    for k, v in headers.items():
        response[k] = v
    return response


def _feature_collection(actor, run: RiskRun | None, area: Area | None,
                        level: int | None) -> bytes:
    rows: list[AreaRisk] = []
    own = None
    if run is not None:
        if area is not None:
            rows = _children_rows(run, area, geometry=True)
            own = _own_row(run, area)
        else:
            rows = _children_rows_level(run, level)
    figures = figures_for(actor, rows, total_row=own, language="en", run=run) if rows else []
    counts = activity_counts(actor, [r.area_id for r in rows], rows[0].level) if rows else {}
    features = []
    illustrative = False
    for f, r in zip(figures, rows, strict=True):
        geometry = r.area.geometry
        if not geometry:
            continue
        illustrative = illustrative or bool(r.illustrative)
        props = {"code": f.code, "name": f.name, "level": f.level, "tier": f.tier,
                 "confidence": f.confidence, "hotspot": f.hotspot,
                 "cases_label": f.cases_label, "entitled": f.entitled,
                 "has_children": bool(r.has_children), "url": _target_url(r),
                 "activities": counts.get(f.code, (0, 0))[0],
                 "reached": counts.get(f.code, (0, 0))[1]}
        if f.entitled:
            props["score"] = None if f.score is None else round(f.score, 3)
            props["smoothed_rate"] = (None if f.smoothed_rate is None
                                      else round(f.smoothed_rate, 2))
            props["underreporting"] = f.underreporting
        features.append('{"type":"Feature","id":' + json.dumps(f.code) + ',"properties":'
                        + json.dumps(props, separators=(",", ":")) + ',"geometry":'
                        + geometry + "}")
    head = {"type": "FeatureCollection",
            "run": {"id": run.pk, "as_of": run.as_of} if run else None,
            "parent": area.code if area else None, "illustrative": illustrative}
    if illustrative:
        from cegah.demo.boundaries import ILLUSTRATIVE_NOTE

        head["note"] = ILLUSTRATIVE_NOTE
    body = json.dumps(head, separators=(",", ":"))[:-1] + ',"features":[' + ",".join(
        features) + "]}"
    return body.encode()


def _children_rows_level(run: RiskRun, level: int) -> list[AreaRisk]:
    qs = risk_rows(run, level=level, geometry=True).annotate(
        has_children=Exists(AreaRisk.objects.filter(run=run, parent_code=OuterRef("area_id"))),
        illustrative=ExpressionWrapper(Q(area__geometry__startswith=ILLUSTRATIVE_PREFIX),
                                       output_field=BooleanField()),
    )
    return list(qs)


# ----------------------------------------------------------------------------- search

@login_required
def search(request: HttpRequest) -> HttpResponse:
    """Areas by name or code, with their tier and links to their map and page."""
    actor = request.user
    if not policy.can_view_risk(actor):
        raise Http404
    q = request.GET.get("q", "").strip()[:100]
    results: list[dict[str, Any]] = []
    more = False
    if q:
        areas = list(policy.visible_areas(actor)
                     .filter(Q(name__icontains=q) | Q(code__startswith=q))
                     .select_related("parent").defer("geometry", "parent__geometry")
                     .order_by("level", "name", "code")[: SEARCH_LIMIT + 1])
        more = len(areas) > SEARCH_LIMIT
        areas = areas[:SEARCH_LIMIT]
        run = latest_run()
        tiers: dict[str, str] = {}
        parents: set[str] = set()
        if run is not None and areas:
            codes = [a.code for a in areas]
            tiers = dict(AreaRisk.objects.filter(run=run, area_id__in=codes)
                         .values_list("area_id", "tier"))
            parents = set(AreaRisk.objects.filter(run=run, parent_code__in=codes)
                          .values_list("parent_code", flat=True).distinct())
        for a in areas:
            if a.code in parents and a.level != Level.VILLAGE:
                map_url = _map_url(a.code)
            elif a.parent_id and a.code in tiers:
                map_url = _map_url(a.parent_id, focus=a.code)
            else:
                map_url = ""
            results.append({"area": a, "tier": tiers.get(a.code, ""), "map_url": map_url})
    context = {"q": q, "results": results, "more": more}
    if request.headers.get("HX-Request"):
        return render(request, "riskmap/_search_results.html", context)
    return render(request, "riskmap/search.html", context)


# ----------------------------------------------------------------------------- status

@login_required
def run_status(request: HttpRequest) -> HttpResponse:
    """The "updating" banner (htmx polls it every 3 s while a run waits or works)."""
    if not policy.can_view_risk(request.user):
        raise Http404
    return render(request, "riskmap/_run_status.html",
                  _status_context(request.GET.get("run", "")))


def _status_context(watched: str) -> dict[str, Any]:
    running = run_in_progress()
    context: dict[str, Any] = {"running": running, "finished": None, "failed": None,
                               "has_results": latest_run() is not None}
    if running is None and watched.isdigit():
        run = RiskRun.objects.filter(pk=int(watched)).first()
        if run is not None and run.status == RunStatus.DONE:
            context["finished"] = run
        elif run is not None and run.status == RunStatus.FAILED:
            context["failed"] = run
    return context


# ----------------------------------------------------------------------------- area page

def area_risk_context(actor, area: Area) -> dict[str, Any] | None:
    """The risk section of an area's page: tier, score, drivers, flags, a five-year
    chart, the parent and the siblings, all from :mod:`cegah.riskmap.figures`."""
    if not policy.can_view_risk(actor):
        return None
    run = latest_run()
    context: dict[str, Any] = {"info": _run_info(run), "running": run_in_progress(),
                               "detail": None}
    if run is None:
        return context
    detail = area_detail(actor, run, area)
    if detail is None:
        return context
    me: AreaFigures = detail["area"]
    has_children = (area.level != Level.VILLAGE and AreaRisk.objects.filter(
        run=run, parent_code=area.code).exists())

    def order(f: AreaFigures):
        return (TIER_ORDER.get(f.tier, 4), 0 if f.entitled and f.score is not None else 1,
                -(f.score or 0) if f.entitled else 0, f.name)

    siblings = sorted(detail["siblings"], key=order)
    series = trend_series(actor, run, area)
    context.update({
        "detail": detail,
        "me": me,
        "parent": detail["parent"],
        "siblings": siblings,
        "sibling_scores": any(f.entitled and f.score is not None for f in siblings),
        "chart": trend_chart(series),
        "series": series,
        "categories": [(c, CATEGORY_COLOURS[c]) for c in CATEGORIES],
        "map_url": _map_url(area.parent_id, focus=area.code) if area.parent_id
        else _map_url(),
        "children_map_url": _map_url(area.code) if has_children else "",
        "synthetic": _synthetic_data(),
    })
    return context


def _axis(value: float) -> tuple[int, int]:
    """A round upper end for the chart's axis (at least 5) and the step of its ticks."""
    value = max(value, 5)
    step = 5
    for step in (5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 2500, 5000, 10000):
        if value <= step * 4:
            break
    return int(-(-value // step) * step), step


def trend_chart(series: dict[str, Any]) -> dict[str, Any] | None:
    """Coordinates of a stacked bar chart of reported cases per year and category.

    Shown counts are drawn to scale. Hidden counts ("<5", "x") are never drawn as
    numbers: when the year's total is shown, they fill the rest of its bar, hatched;
    otherwise a hatched stub of fixed height stands for them, with the total's label.
    """
    rows = series.get("rows") or []
    if not rows:
        return None
    width, height = 320, 190
    left, right, top, bottom = 34, 6, 18, 24
    plot_h = height - top - bottom
    slot = (width - left - right) / len(rows)
    bar_w = min(36.0, slot * 0.6)

    def shown(row, key):
        return row[key]["value"]

    peak = 0
    for row in rows:
        total = shown(row, "total")
        parts = sum(shown(row, c) or 0 for c in CATEGORIES)
        peak = max(peak, total if total is not None else parts)
    top_value, step = _axis(peak)
    scale = plot_h / top_value
    base = top + plot_h
    stub = 12.0
    bars = []
    for i, row in enumerate(rows):
        x = left + slot * i + (slot - bar_w) / 2
        y = float(base)
        segments = []
        visible = 0
        for c in CATEGORIES:
            value = shown(row, c)
            if value:
                h = value * scale
                y -= h
                visible += value
                segments.append({"x": f"{x:.1f}", "y": f"{y:.1f}", "w": f"{bar_w:.1f}",
                                 "h": f"{h:.1f}", "colour": CATEGORY_COLOURS[c],
                                 "category": c, "label": row[c]["label"], "hatch": False})
        hidden = [(c, row[c]["label"]) for c in CATEGORIES if shown(row, c) is None]
        total = shown(row, "total")
        if hidden:
            h = (total - visible) * scale if total is not None else stub
            h = max(h, 3.0)
            y -= h
            segments.append({"x": f"{x:.1f}", "y": f"{y:.1f}", "w": f"{bar_w:.1f}",
                             "h": f"{h:.1f}", "colour": "", "category": "", "hatch": True,
                             "hidden": hidden, "label": ""})
        bars.append({"year": row["year"], "segments": segments,
                     "total_label": row["total"]["label"],
                     "label_x": f"{x + bar_w / 2:.1f}", "label_y": f"{y - 4:.1f}",
                     "year_y": f"{base + 16:.1f}"})
    ticks = [{"value": v, "y": f"{base - v * scale:.1f}"}
             for v in range(0, top_value + 1, step)]
    return {"width": width, "height": height, "left": left, "right": width - right,
            "bars": bars, "ticks": ticks, "partial": series.get("partial_year", False),
            "any_hidden": any(s["hatch"] for b in bars for s in b["segments"])}
