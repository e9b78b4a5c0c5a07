"""Exports of the risk picture for reports: the tier table (CSV, XLSX) and the map (PNG,
PDF), at ``/risk/export/table.csv?parent=CODE`` and so on.

Everything shown comes from :func:`cegah.riskmap.figures.figures_for`, protected as one
table with the parent's row exactly as the API and the pages protect it: counts the
exporter is not entitled to pass through disclosure control ("<5", "x"), and rates and
scores of such areas are left out. Who may export is the policy module's
``can_export`` (managers and up); every export is audited. Text cells go through
:func:`cegah.lib.tabular.write_table`, which neutralises spreadsheet formulas.
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from cegah import policy
from cegah.areas.boundaries import is_illustrative
from cegah.areas.models import Area, Level, subtree_q
from cegah.audit.actions import record_event
from cegah.risk.windows import CATEGORIES
from cegah.riskmap import render
from cegah.riskmap.actions import latest_run
from cegah.riskmap.figures import AreaFigures, figures_for, risk_rows
from cegah.riskmap.models import AreaRisk, RiskRun, Tier

TABLE_FORMATS = ("csv", "xlsx")
MAP_FORMATS = render.FORMATS
CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "png": "image/png",
    "pdf": "application/pdf",
}
TABLE_HEADER = [
    "code", "name", "level", "parent_code", "tier", "confidence", "hotspot", "cluster",
    "cases", *CATEGORIES, "children", "crude_rate", "smoothed_rate", "rate_low",
    "rate_high", "expected_cases", "relative_risk", "contextual_risk", "score", "trend",
    "drivers", "as_of", "window_from", "window_to", "synthetic",
]
TIER_RANK = {Tier.HIGH: 0, Tier.MODERATE: 1, Tier.LOW: 2, Tier.UNKNOWN: 3}


@dataclass
class RiskTable:
    """The protected figures of one table: a parent's children (or the provinces)."""

    run: RiskRun
    parent: Area | None
    figures: list[AreaFigures]
    synthetic: bool

    @property
    def key(self) -> str:
        return self.parent.code if self.parent else ""


def data_are_synthetic(parent: Area | None) -> bool:
    """Whether synthetic (demo) data lie under ``parent`` (anywhere, without one)."""
    from cegah.cases.models import CaseCount, Population

    q = subtree_q([parent.code], field="area__code") if parent else None
    for model in (CaseCount, Population):
        qs = model.objects.filter(is_synthetic=True)
        if (qs.filter(q) if q is not None else qs).exists():
            return True
    return False


def risk_table(actor: Any, run: RiskRun, parent: Area | None) -> RiskTable:
    """The children of ``parent`` (the provinces without one) as ``actor`` may see them,
    protected together with the parent's own row."""
    if parent is None:
        rows = risk_rows(run, level=Level.PROVINCE)
        total_row = None
    else:
        rows = risk_rows(run, parent=parent.code)
        total_row = (AreaRisk.objects.filter(run=run, area_id=parent.code)
                     .select_related("area").defer("area__geometry").first())
    rows = list(rows.defer("area__geometry"))  # boundaries are read apart, if needed
    return RiskTable(run=run, parent=parent,
                     figures=figures_for(actor, rows, total_row=total_row),
                     synthetic=data_are_synthetic(parent))


def _count(label: str) -> int | str:
    """A shown count as a number (so spreadsheets can add it up), a hidden one as its
    label ("<5" or "x")."""
    return int(label) if label.isdigit() else label


def table_rows(table: RiskTable) -> list[list[Any]]:
    window = (table.run.parameters or {}).get("window") or {}
    out = []
    for f in table.figures:
        out.append([
            f.code, f.name, f.level, f.parent_code, f.tier, f.confidence, f.hotspot,
            f.cluster, _count(f.cases_label),
            *[_count(f.categories.get(c, "")) for c in CATEGORIES],
            f.children, f.crude_rate, f.smoothed_rate, f.rate_low, f.rate_high,
            f.expected_cases, f.relative_risk, f.contextual_risk, f.score, f.trend,
            "; ".join(f.drivers), table.run.as_of, window.get("from", ""),
            window.get("to", ""), "yes" if table.synthetic else "no",
        ])
    return out


def do_export_table(actor: Any, run: RiskRun, parent: Area | None, fmt: str, out) -> int:
    """Write the tier table to ``out`` (a text file object for CSV, binary for XLSX) and
    audit the export; returns the number of rows."""
    from django.core.exceptions import PermissionDenied

    from cegah.lib.tabular import write_table

    if fmt not in TABLE_FORMATS:
        raise ValueError(f"fmt: expected one of {', '.join(TABLE_FORMATS)}, got {fmt!r}")
    if not policy.can_export(actor):
        raise PermissionDenied
    table = risk_table(actor, run, parent)
    rows = table_rows(table)
    write_table(out, fmt, TABLE_HEADER, rows)
    record_event(actor=actor, action="export", object_type="risk_table",
                 object_key=table.key, new={"rows": len(rows), "format": fmt, "run": run.pk})
    return len(rows)


# --- the map ---------------------------------------------------------------------------

def month_label(value: str) -> str:
    try:
        year, month = (int(x) for x in value.split("-"))
        return date_format(dt.date(year, month, 1), "F Y")
    except (ValueError, AttributeError):
        return value or "–"


def _children_title(level: int | None) -> str:
    return {
        Level.PROVINCE: _("provinces"), Level.REGENCY: _("regencies and cities"),
        Level.DISTRICT: _("districts"), Level.VILLAGE: _("villages"),
    }.get(level, _("areas"))


def map_document(table: RiskTable) -> render.MapDocument:
    """What the map export shows: the children's tiers and boundaries, a title with the
    run's month and window, the notes, and the top areas for the PDF's table."""
    parent, run = table.parent, table.run
    if parent is None:
        children = Area.objects.filter(level=Level.PROVINCE)
        child_level: int | None = Level.PROVINCE
    else:
        children = Area.objects.filter(parent_id=parent.code)
        child_level = parent.level + 1 if parent.level < Level.VILLAGE else None
    geometries = dict(children.exclude(geometry__isnull=True).exclude(geometry="")
                      .values_list("code", "geometry"))
    figures = {f.code: f for f in table.figures}
    areas = [render.MapArea(code=f.code, name=f.name, tier=f.tier,
                            cases_label=f.cases_label, geometry=geometries.get(f.code))
             for f in table.figures]
    if geometries:  # areas with a boundary but no result are drawn as "no result"
        names = dict(children.filter(code__in=[c for c in geometries if c not in figures])
                     .values_list("code", "name"))
        areas += [render.MapArea(code=c, name=n, tier=None, geometry=geometries[c])
                  for c, n in sorted(names.items())]
    window = (run.parameters or {}).get("window") or {}
    place = parent.name if parent else "Indonesia"
    title = _("%(area)s: risk tiers of its %(children)s") % {
        "area": place, "children": _children_title(child_level)}
    subtitle = _("Latest risk run: %(month)s. Reported cases in the %(months)s months "
                 "%(start)s – %(end)s.") % {
        "month": month_label(run.as_of), "months": window.get("months", 12),
        "start": month_label(window.get("from", "")), "end": month_label(window.get("to", ""))}
    ranked = sorted(table.figures, key=lambda f: (
        TIER_RANK.get(f.tier, 9),
        -(f.score if f.entitled and f.score is not None else float("-inf")),
        f.name, f.code))
    top = [render.MapArea(code=f.code, name=f.name, tier=f.tier, cases_label=f.cases_label)
           for f in ranked[: render.TABLE_ROWS]]
    note = ""
    if len(ranked) > render.TABLE_ROWS:
        note = _("The first %(n)s of %(total)s areas by tier; the CSV or XLSX export has "
                 "them all.") % {"n": render.TABLE_ROWS, "total": len(ranked)}
    drawn = [a for a in areas if a.geometry]
    message = "" if drawn else _("No boundaries loaded: the table only.")
    return render.MapDocument(
        title=title, subtitle=subtitle, areas=areas,
        illustrative=any(is_illustrative(a.geometry) for a in drawn),
        synthetic=table.synthetic, message=message, table=top, table_note=note)


def do_export_map(actor: Any, run: RiskRun, parent: Area | None, fmt: str) -> bytes:
    """The map as PNG or PDF bytes, audited."""
    from django.core.exceptions import PermissionDenied

    if fmt not in MAP_FORMATS:
        raise ValueError(f"fmt: expected one of {', '.join(MAP_FORMATS)}, got {fmt!r}")
    if not policy.can_export(actor):
        raise PermissionDenied
    table = risk_table(actor, run, parent)
    doc = map_document(table)
    data = render.render(doc, fmt)
    record_event(actor=actor, action="export", object_type="risk_map", object_key=table.key,
                 new={"areas": len(table.figures), "format": fmt, "run": run.pk,
                      "boundaries": not doc.message})
    return data


# --- views -----------------------------------------------------------------------------

def _export_request(request: HttpRequest) -> tuple[RiskRun, Area | None]:
    """The latest run and the ``parent`` area of an export request, or 404 (also when
    the user may not export: "forbidden" looks like "not found")."""
    user = request.user
    if not policy.can_export(user):
        raise Http404
    code = request.GET.get("parent", "").strip()
    parent = policy.access_area_by_code(user, code) if code else None
    run = latest_run()
    if run is None:
        raise Http404("No risk results yet.")
    return run, parent


def _attachment(body, fmt: str, run: RiskRun, parent: Area | None, kind: str,
                synthetic: bool) -> HttpResponse:
    name = "-".join(p for p in (
        "cegah-risk", kind, parent.code if parent else "provinces", run.as_of or "",
        "synthetic" if synthetic else "") if p)
    response = HttpResponse(body, content_type=CONTENT_TYPES[fmt])
    response["Content-Disposition"] = f'attachment; filename="{name}.{fmt}"'
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
@require_GET
def table_export(request: HttpRequest, fmt: str) -> HttpResponse:
    run, parent = _export_request(request)
    buffer = io.StringIO() if fmt == "csv" else io.BytesIO()
    do_export_table(request.user, run, parent, fmt, buffer)
    body = buffer.getvalue()
    if fmt == "csv":
        body = "\ufeff" + body  # so Excel reads UTF-8
    return _attachment(body, fmt, run, parent, "table", data_are_synthetic(parent))


@login_required
@require_GET
def map_export(request: HttpRequest, fmt: str) -> HttpResponse:
    run, parent = _export_request(request)
    body = do_export_map(request.user, run, parent, fmt)
    return _attachment(body, fmt, run, parent, "map", data_are_synthetic(parent))
