"""The coverage pages: ``/coverage/`` (every sub-area of an area with the prevention it
had in a period) and ``/coverage/gaps/`` (high- and moderate-risk areas with little or no
recent prevention). For every signed-in user; scores, rates per 1,000 children and
count-bearing drivers only where the policy entitles the actor."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import urlencode

from cegah import policy
from cegah.activities.coverage import (
    DEFAULT_MONTHS,
    child_areas,
    coverage_by_area,
    gap_list,
    period,
)
from cegah.areas.models import Area, Level

MONTH_CHOICES = (3, 6, 12, 24)
LEVEL_CHOICES = (Level.REGENCY, Level.DISTRICT, Level.VILLAGE)


def activities_url(name: str, args: tuple = (), **query: str) -> str:
    """A URL of the activity registry, with a query string if ``query`` is given."""
    return reverse(name, args=args) + ("?" + urlencode(query) if query else "")


def _default_parent(actor) -> str:
    """The actor's jurisdiction when it is one area, so the page opens on their own."""
    codes = policy.jurisdiction_codes(actor) or []
    return codes[0] if len(codes) == 1 else ""


def _int(text: str, default: int, allowed) -> int:
    return int(text) if text.isdigit() and int(text) in allowed else default


@dataclass
class _Query:
    """What both coverage pages are asked: an area, the level of its sub-areas to show,
    and the period."""

    code: str
    months: int
    parent: Area | None = None
    level: Level | None = None
    levels: list[Level] = field(default_factory=list)
    as_of: dt.date | None = None

    def context(self) -> dict[str, Any]:
        return {"code": self.code, "months": self.months, "month_choices": MONTH_CHOICES,
                "parent": self.parent, "level": self.level,
                "levels": [(lv.key, lv.label) for lv in self.levels],
                "ancestors": self.parent.ancestors() if self.parent else [],
                "error": "village" if self.parent and not self.levels else None}


def _query(request: HttpRequest) -> _Query:
    actor = request.user
    if not (policy.can_view_risk(actor) and policy.can_view_catalogue(actor)):
        raise Http404
    q = _Query(code=request.GET.get("parent", "").strip() or _default_parent(actor),
               months=_int(request.GET.get("months", ""), DEFAULT_MONTHS, MONTH_CHOICES))
    if not q.code:
        return q
    q.parent = policy.access_area_by_code(actor, q.code)  # 404 when missing
    q.levels = [lv for lv in LEVEL_CHOICES if lv > q.parent.level]  # none for a village
    wanted = request.GET.get("level", "")
    q.level = next((lv for lv in q.levels if lv.key == wanted), q.levels[0] if q.levels
                   else None)
    try:
        q.as_of = dt.date.fromisoformat(request.GET.get("as_of", ""))
    except ValueError:
        q.as_of = None
    return q


@login_required
def gaps(request: HttpRequest) -> HttpResponse:
    actor = request.user
    q = _query(request)
    context: dict[str, Any] = {**q.context(), "gaps": None}
    if q.level is not None:
        result = gap_list(actor, q.parent, level=q.level, months=q.months, as_of=q.as_of)
        rows = [{"g": g,
                 "area_url": reverse("areas:detail", args=[g.code]),
                 "activities_url": activities_url("activities:list", area=g.code)}
                for g in result.rows]
        context.update(gaps=result, rows=rows,
                       show_scores=any(g.score is not None for g in result.rows),
                       show_rates=any(g.coverage.rate_visible for g in result.rows),
                       little=result.little)
    return render(request, "activities/gaps.html", context)


SORTS = {  # key -> (sort key of a row, largest first)
    "area": (lambda r: r["c"].code, False),
    "tier": (lambda r: (TIER_RANK.get(r["tier"], 9), r["c"].code), False),
    "activities": (lambda r: (r["c"].activities, r["c"].reached), True),
    "reached": (lambda r: (r["c"].reached, r["c"].activities), True),
    "rate": (lambda r: (r["c"].reach_per_1000 if r["c"].reach_per_1000 is not None
                        else -1.0), True),
    "hours": (lambda r: r["c"].officer_hours, True),
}
TIER_RANK = {"high": 0, "moderate": 1, "low": 2}


@login_required
def coverage_table(request: HttpRequest) -> HttpResponse:
    """Every sub-area of an area with its prevention in the period (activities, people
    reached, per 1,000 children where the policy allows, officer-hours, the last
    activity) and its tier; sortable."""
    from cegah.riskmap.actions import latest_run
    from cegah.riskmap.models import AreaRisk

    actor = request.user
    q = _query(request)
    context: dict[str, Any] = {**q.context(), "rows": None, "sort": "tier",
                               "sorts": list(SORTS)}
    if q.level is not None:
        areas = child_areas(q.parent, q.level)
        coverage = coverage_by_area(actor, areas, months=q.months, as_of=q.as_of)
        run = latest_run()
        tiers = dict(AreaRisk.objects.filter(run=run, area_id__in=list(coverage))
                     .values_list("area_id", "tier")) if run else {}  # tiers are public
        rows = [{"c": c, "tier": tiers.get(code, ""),
                 "activities_url": activities_url("activities:list", area=code)}
                for code, c in coverage.items()]
        sort = request.GET.get("sort", "tier")
        sort = sort if sort in SORTS else "tier"
        key, largest_first = SORTS[sort]
        rows.sort(key=key, reverse=largest_first)
        context.update(rows=rows, sort=sort, run=run,
                       period=period(q.months, q.as_of),
                       show_rates=any(c.rate_visible for c in coverage.values()),
                       covered=sum(1 for c in coverage.values() if c.activities))
    return render(request, "activities/coverage.html", context)
