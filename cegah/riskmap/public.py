"""The optional public summary (``/public/``, no login): risk tiers of the regencies and
cities with their protected case counts, grouped by province, and nothing else.

Off unless ``CEGAH_PUBLIC_SUMMARY`` is on (then a 404, like any missing page). The
figures are what an anonymous visitor may see (:func:`cegah.riskmap.figures.figures_for`
with ``AnonymousUser``, who is never entitled to counts): each province's regencies are
protected as one table with the province's row, exactly as the API protects them for a
signed-in user without entitlement there. The page sets no cookie and may be cached for
a few minutes by browsers and proxies (an ETag changes with the run and the language).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import translation
from django.utils.cache import get_conditional_response, patch_cache_control
from django.utils.http import http_date
from django.views.decorators.http import require_GET

from cegah import policy
from cegah.areas.models import Area, Level
from cegah.riskmap.actions import latest_run
from cegah.riskmap.exports import data_are_synthetic, month_label
from cegah.riskmap.figures import AreaFigures, figures_for, risk_rows
from cegah.riskmap.models import AreaRisk, RiskRun, Tier

CACHE_SECONDS = 300


@dataclass
class PublicRow:
    code: str
    name: str
    tier: str
    tier_label: str
    cases: int | None
    cases_label: str


@dataclass
class ProvinceGroup:
    code: str
    name: str
    regencies: list[PublicRow]


def _public_row(f: AreaFigures) -> PublicRow:
    """Only what the page shows: name, tier and the protected total."""
    try:
        tier_label = str(Tier(f.tier).label)
    except ValueError:
        tier_label = f.tier
    return PublicRow(code=f.code, name=f.name, tier=f.tier, tier_label=tier_label,
                     cases=f.cases, cases_label=f.cases_label)


def public_summary(run: RiskRun) -> dict[str, Any]:
    """The regencies' tiers and protected counts, grouped by province (in code order)."""
    anonymous = AnonymousUser()
    by_province: dict[str, list[AreaRisk]] = defaultdict(list)
    for row in risk_rows(run, level=Level.REGENCY).defer("area__geometry"):
        by_province[row.parent_code].append(row)
    province_rows = {r.area_id: r for r in
                     risk_rows(run, level=Level.PROVINCE).defer("area__geometry")}
    names = dict(Area.objects.filter(code__in=list(by_province)).values_list("code", "name"))
    groups = []
    tiers: Counter[str] = Counter()
    for code in sorted(by_province, key=lambda c: [int(p) for p in c.split(".") if p.isdigit()]):
        figures = figures_for(anonymous, by_province[code], total_row=province_rows.get(code))
        groups.append(ProvinceGroup(code=code, name=names.get(code, code),
                                    regencies=[_public_row(f) for f in figures]))
        tiers.update(f.tier for f in figures)
    window = (run.parameters or {}).get("window") or {}
    return {
        "groups": groups,
        "tiers": [(t, tiers.get(t.value, 0)) for t in Tier],
        "regencies": sum(tiers.values()),
        "as_of": month_label(run.as_of),
        "window_months": window.get("months", 12),
        "window_from": month_label(window.get("from", "")),
        "window_to": month_label(window.get("to", "")),
        "synthetic": data_are_synthetic(None),
    }


def _language(request: HttpRequest) -> str:
    """``?lang=en`` or ``?lang=id`` (links, so that the page needs no form and no
    cookie), else the language the middleware chose (Indonesian by default)."""
    wanted = request.GET.get("lang", "")
    return wanted if wanted in dict(settings.LANGUAGES) else translation.get_language()


@require_GET
def summary(request: HttpRequest) -> HttpResponse:
    if not policy.public_summary_enabled():
        raise Http404
    language = _language(request)
    run = latest_run()
    etag = f'"public-{run.pk if run else 0}-{language}"'
    last_modified = int(run.finished_at.timestamp()) if run and run.finished_at else None
    not_modified = get_conditional_response(request, etag=etag, last_modified=last_modified)
    if not_modified is None:
        with translation.override(language):
            context = {"run": run, "language": language,
                       **(public_summary(run) if run else {})}
            response = render(request, "riskmap/public.html", context)
    else:
        response = not_modified
    response.headers["ETag"] = etag
    if last_modified:
        response.headers["Last-Modified"] = http_date(last_modified)
    response.headers["Content-Language"] = language
    patch_cache_control(response, public=True, max_age=CACHE_SECONDS)
    return response
