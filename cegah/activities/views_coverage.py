"""The gap list page (``/coverage/gaps/``): high- and moderate-risk areas with little or
no recent prevention, for every signed-in user; scores, rates per 1,000 children and
count-bearing drivers only where the policy entitles the actor."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import urlencode

from cegah import policy
from cegah.activities.coverage import DEFAULT_MONTHS, gap_list
from cegah.areas.models import Level

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


@login_required
def gaps(request: HttpRequest) -> HttpResponse:
    actor = request.user
    if not (policy.can_view_risk(actor) and policy.can_view_catalogue(actor)):
        raise Http404
    code = request.GET.get("parent", "").strip() or _default_parent(actor)
    months = _int(request.GET.get("months", ""), DEFAULT_MONTHS, MONTH_CHOICES)
    context: dict[str, Any] = {"parent": None, "gaps": None, "months": months,
                               "month_choices": MONTH_CHOICES, "code": code,
                               "level": None, "levels": []}
    if code:
        parent = policy.access_area_by_code(actor, code)  # 404 when missing
        levels = [lv for lv in LEVEL_CHOICES if lv > parent.level]
        if not levels:  # a village has no sub-areas
            context.update(parent=parent, error="village")
            return render(request, "activities/gaps.html", context, status=200)
        wanted = request.GET.get("level", "")
        level = next((lv for lv in levels if lv.key == wanted), levels[0])
        as_of = None
        if request.GET.get("as_of"):
            try:
                as_of = dt.date.fromisoformat(request.GET["as_of"])
            except ValueError:
                as_of = None
        result = gap_list(actor, parent, level=level, months=months, as_of=as_of)
        rows = [{"g": g,
                 "area_url": reverse("areas:detail", args=[g.code]),
                 "activities_url": activities_url("activities:list", area=g.code)}
                for g in result.rows]
        context.update(parent=parent, gaps=result, rows=rows, level=level,
                       levels=[(lv.key, lv.label) for lv in levels],
                       ancestors=parent.ancestors(),
                       show_scores=any(g.score is not None for g in result.rows),
                       show_rates=any(g.coverage.rate_visible for g in result.rows),
                       little=result.little)
    return render(request, "activities/gaps.html", context)

