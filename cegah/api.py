"""The JSON API, version 1 (django-ninja: typed, with its OpenAPI schema at
``/api/v1/openapi.json``).

Authentication: the browser session, or a personal token (``cegah users token NAME``) as
``Authorization: Bearer <token>``. Every figure comes from :mod:`cegah.riskmap.figures`,
so the policy module and disclosure control decide what each caller sees, exactly as on
the pages.
"""

from __future__ import annotations

import hashlib
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import get_language
from ninja import NinjaAPI, Query, Schema
from ninja.security import HttpBearer, django_auth

from cegah import policy
from cegah.accounts.actions import user_for_token
from cegah.areas.models import Level
from cegah.lib.bodycache import BodyCache
from cegah.riskmap.actions import latest_run, run_in_progress
from cegah.riskmap.figures import AreaFigures, area_detail, figures_for, risk_rows


class BearerToken(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str):
        user = user_for_token(token)
        if user is not None:
            request.user = user
        return user


api = NinjaAPI(
    title="Cegah API", version="1", urls_namespace="api",
    description=("Risk tiers, scores and permitted figures per area. Case counts outside "
                 "the caller's entitlement are protected: 1-4 shows as \"<5\" and totals "
                 "that would reveal a hidden count are hidden too."),
    auth=[BearerToken(), django_auth], docs_url="/docs",
)


class RunOut(Schema):
    id: int
    as_of: str
    finished_at: str
    window_from: str | None
    window_to: str | None


class AreaListOut(Schema):
    run: RunOut | None
    running: bool
    count: int
    page: int
    pages: int
    items: list[AreaFigures]


class AreaDetailOut(Schema):
    code: str
    name: str
    level: str
    parent_code: str | None
    run: RunOut | None
    risk: AreaFigures | None
    parent: AreaFigures | None
    siblings: list[AreaFigures]


class ListQuery(Schema):
    level: str | None = None
    parent: str | None = None
    page: int = 1
    page_size: int = 200


# Answers change only with a new run: keep the serialised JSON per run, entitlement,
# language and request (what is shown depends on nothing else).
RESPONSES = BodyCache(64 * 1024 * 1024)


def _cached(request: HttpRequest, run, schema, build) -> HttpResponse:
    scope = policy.counts_entitlement_scope(request.user)
    running = run_in_progress() is not None
    key = hashlib.sha256(repr((
        run.pk if run else None, run.finished_at.isoformat() if run else None,
        running, scope, get_language(), request.get_full_path())).encode()).hexdigest()
    entry = RESPONSES.get(key)
    if entry is None:
        body = schema.model_validate(build(running)).model_dump_json().encode()
        entry = RESPONSES.put(key, body)
    return HttpResponse(entry[0], content_type="application/json")


def _run_out(run) -> dict[str, Any] | None:
    if run is None:
        return None
    window = (run.parameters or {}).get("window") or {}
    return {"id": run.pk, "as_of": run.as_of, "finished_at": run.finished_at.isoformat(),
            "window_from": window.get("from"), "window_to": window.get("to")}


@api.get("/risk/areas", response=AreaListOut, tags=["risk"],
         summary="Tiers and permitted figures for the children of an area (or one level)")
def risk_areas(request: HttpRequest, q: Query[ListQuery]):
    actor = request.user
    if not policy.can_view_risk(actor):
        raise Http404
    level = None
    if q.level:
        try:
            level = Level.from_name(q.level)
        except (KeyError, ValueError):
            raise Http404 from None
    if q.parent is None and level is None:
        level = Level.PROVINCE
    page_size = max(1, min(q.page_size, 1000))
    run = latest_run()

    def build(running: bool) -> dict[str, Any]:
        rows = risk_rows(run, level=level, parent=q.parent) if run else None
        count = rows.count() if rows is not None else 0
        pages = max(1, -(-count // page_size))
        page = max(1, min(q.page, pages))
        chunk = list(rows[(page - 1) * page_size: page * page_size]) if rows is not None else []
        total_row = None
        if q.parent and run and count == len(chunk):
            total_row = risk_rows(run).filter(area_id=q.parent).first()
        items = [f.as_dict() for f in figures_for(actor, chunk, total_row=total_row, run=run)]
        return {"run": _run_out(run), "running": running,
                "count": count, "page": page, "pages": pages, "items": items}

    return _cached(request, run, AreaListOut, build)


@api.get("/areas/{code}", response=AreaDetailOut, tags=["areas"],
         summary="One area: tier, score, drivers and permitted figures, with its parent "
                 "and siblings")
def area(request: HttpRequest, code: str):
    actor = request.user
    area = policy.access_area_by_code(actor, code)
    run = latest_run()

    def build(_running: bool) -> dict[str, Any]:
        detail = area_detail(actor, run, area) if run else None
        return {
            "code": area.code, "name": area.name, "level": Level(area.level).key,
            "parent_code": area.parent_id, "run": _run_out(run),
            "risk": detail["area"].as_dict() if detail else None,
            "parent": detail["parent"].as_dict() if detail and detail["parent"] else None,
            "siblings": [f.as_dict() for f in detail["siblings"]] if detail else [],
        }

    return _cached(request, run, AreaDetailOut, build)


from cegah.activities.api import router as activities_router  # noqa: E402 - after the API

api.add_router("/activities", activities_router)
