"""API endpoints under ``/api/v1/activities`` (added to ``cegah.api.api``).

What a caller sees is what the policy module lets them see on the pages: the activities
of ``visible_activities``, with cost, notes, outcomes and named officers only where
their organisation takes part (``can_view_activity_details``; otherwise ``null``).
``POST`` records an activity with the checks of the bulk import (the import's column
names are the body's keys).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from django.db.models import QuerySet
from django.http import Http404, HttpRequest
from ninja import Field, Query, Router, Schema, Status

from cegah import policy
from cegah.activities.models import REACH_FIELDS, Activity, ActivityStatus, VenueType
from cegah.activities.queries import filter_activities
from cegah.areas.models import subtree_q

router = Router(tags=["activities"])
MAX_PAGE_SIZE = 500


# --- schemas ---------------------------------------------------------------------------

class OrganisationRef(Schema):
    id: int
    name: str
    short_name: str


class AreaRef(Schema):
    code: str
    name: str


class InterventionRef(Schema):
    slug: str
    name: str


class VenueOut(Schema):
    id: int
    name: str
    type: str = Field(description="one of " + ", ".join(VenueType.values))
    type_label: str
    area: AreaRef
    latitude: float | None
    longitude: float | None
    synthetic: bool


class ReachOut(Schema):
    girls_under_12: int
    boys_under_12: int
    girls_12_17: int
    boys_12_17: int
    women_18_plus: int
    men_18_plus: int
    reached_unknown: int = Field(description="people whose sex or age was not recorded")
    total: int


class ActivityOut(Schema):
    id: int
    reference: str = Field(description="the lead organisation's reference; 'cegah-<id>' "
                                       "if it gave none (the bulk import's key)")
    title: str
    status: str = Field(description="one of " + ", ".join(ActivityStatus.values))
    date: dt.date
    start_time: str | None = Field(description="HH:MM")
    duration_minutes: int
    intervention: InterventionRef | None
    lead: OrganisationRef
    partners: list[OrganisationRef]
    areas: list[AreaRef]
    venue: VenueOut | None
    audience: str
    reach: ReachOut
    topics: list[str]
    laws: list[str]
    officer_count: int
    officer_hours: float
    materials: str
    synthetic: bool
    details: bool = Field(description="whether the caller's organisation takes part, so "
                                      "sees cost, notes, outcomes and officers")
    cost: int | None = Field(description="rupiah; null unless 'details'")
    notes: str | None = Field(description="null unless 'details'")
    outcomes: dict[str, Any] | None = Field(description="null unless 'details'")
    officers: list[str] | None = Field(description="usernames; null unless 'details'")
    updated_at: dt.datetime


class ActivityListOut(Schema):
    count: int
    page: int
    pages: int
    items: list[ActivityOut]


class VenueListOut(Schema):
    count: int
    page: int
    pages: int
    items: list[VenueOut]


class ActivityQuery(Schema):
    area: str | None = Field(None, description="area code: activities in it or its sub-areas")
    date_from: dt.date | None = Field(None, alias="from", description="first date YYYY-MM-DD")
    date_to: dt.date | None = Field(None, alias="to", description="last date YYYY-MM-DD")
    status: str | None = Field(None, description="one of " + ", ".join(ActivityStatus.values))
    organisation: int | None = Field(None, description="organisation id: as lead or partner")
    intervention: str | None = Field(None, description="catalogue key (slug)")
    page: int = 1
    page_size: int = Field(100, description=f"at most {MAX_PAGE_SIZE}")


class VenueQuery(Schema):
    area: str | None = Field(None, description="area code: venues in it or its sub-areas")
    type: str | None = Field(None, description="one of " + ", ".join(VenueType.values))
    page: int = 1
    page_size: int = Field(100, description=f"at most {MAX_PAGE_SIZE}")


class ActivityIn(Schema):
    """One activity, in the bulk import's columns. Omitted keys keep their defaults (or,
    with a ``reference`` used before, the stored values)."""

    reference: str | None = Field(None, description="your identifier; sending it again "
                                                     "updates that activity")
    title: str | None = None
    intervention: str | None = Field(None, description="catalogue key (slug)")
    lead: str | None = Field(None, description="organisation name; default: yours")
    partners: list[str] | None = Field(None, description="organisation names")
    areas: list[str] | None = Field(None, description="area codes")
    venue: str | None = Field(None, description="a venue's name in one of the areas")
    status: str | None = None
    date: str | None = Field(None, description="YYYY-MM-DD")
    start_time: str | None = Field(None, description="HH:MM")
    duration_minutes: int | None = None
    audience: str | None = None
    girls_under_12: int | None = None
    boys_under_12: int | None = None
    girls_12_17: int | None = None
    boys_12_17: int | None = None
    women_18_plus: int | None = None
    men_18_plus: int | None = None
    reached_unknown: int | None = None
    topics: list[str] | None = None
    laws: list[str] | None = None
    officer_count: int | None = None
    officer_hours: float | None = None
    cost: int | None = None
    materials: str | None = None
    notes: str | None = None
    outcomes: dict[str, Any] | None = None
    officers: list[str] | None = Field(None, description="usernames of the lead "
                                                         "organisation's people")
    synthetic: bool | None = None


class FieldError(Schema):
    loc: list[str]
    msg: str
    type: str


class ErrorsOut(Schema):
    detail: list[FieldError]


class MessageOut(Schema):
    detail: str


# --- helpers ---------------------------------------------------------------------------

def _page(qs: QuerySet, page: int, page_size: int) -> tuple[int, int, int, list]:
    """``(count, page, pages, items)``. A page past the last is empty (not the last page
    again), so a client reading pages until one comes back empty stops."""
    size = max(1, min(page_size, MAX_PAGE_SIZE))
    count = qs.count()
    pages = max(1, -(-count // size))
    page = max(1, page)
    items = list(qs[(page - 1) * size: page * size]) if page <= pages else []
    return count, page, pages, items


def _org(org) -> dict[str, Any]:
    return {"id": org.pk, "name": org.name, "short_name": org.short_name}


def _venue(v) -> dict[str, Any]:
    return {"id": v.pk, "name": v.name, "type": v.type, "type_label": str(v.get_type_display()),
            "area": {"code": v.area.code, "name": v.area.name},
            "latitude": v.latitude, "longitude": v.longitude, "synthetic": v.is_synthetic}


def activity_out(actor: Any, a: Activity) -> dict[str, Any]:
    details = policy.can_view_activity_details(actor, a)
    reach = {f: getattr(a, f) for f, _sex, _age in REACH_FIELDS}
    return {
        "id": a.pk, "reference": a.external_id or f"cegah-{a.pk}", "title": a.title,
        "status": a.status, "date": a.starts_on,
        "start_time": a.start_time.strftime("%H:%M") if a.start_time else None,
        "duration_minutes": a.duration_minutes,
        "intervention": {"slug": a.intervention.slug, "name": a.intervention.name}
        if a.intervention_id else None,
        "lead": _org(a.lead_organisation),
        "partners": [_org(o) for o in sorted(a.partners.all(), key=lambda o: o.name)],
        "areas": [{"code": x.code, "name": x.name} for x in sorted(a.areas.all(),
                                                                    key=lambda x: x.code)],
        "venue": _venue(a.venue) if a.venue_id else None,
        "audience": a.audience, "reach": {**reach, "total": a.reached_total},
        "topics": list(a.topics or []), "laws": list(a.laws or []),
        "officer_count": a.officer_count, "officer_hours": float(a.officer_hours),
        "materials": a.materials, "synthetic": a.is_synthetic, "details": details,
        "cost": (None if a.cost is None else int(a.cost)) if details else None,
        "notes": a.notes if details else None,
        "outcomes": dict(a.outcomes or {}) if details else None,
        "officers": sorted(u.username for u in a.officers.all()) if details else None,
        "updated_at": a.updated_at,
    }


def _with_related(qs):
    return (qs.select_related("lead_organisation", "intervention", "venue__area")
            .prefetch_related("partners", "areas", "officers"))


# --- endpoints -------------------------------------------------------------------------

@router.get("/venues", response=VenueListOut,
            summary="Venues (schools, pesantren, RPTRA, ports, ...) by area and type")
def venues(request: HttpRequest, q: Query[VenueQuery]) -> dict[str, Any]:
    actor = request.user
    qs = policy.visible_venues(actor).select_related("area")
    if q.area:
        area = policy.access_area_by_code(actor, q.area)
        qs = qs.filter(subtree_q([area.code], field="area__code"))
    if q.type:
        if q.type not in VenueType.values:
            raise Http404
        qs = qs.filter(type=q.type)
    count, page, pages, items = _page(qs.order_by("area_id", "type", "name"), q.page,
                                      q.page_size)
    return {"count": count, "page": page, "pages": pages, "items": [_venue(v) for v in items]}


@router.get("", response=ActivityListOut,
            summary="Prevention activities the caller may see, newest first")
def activities(request: HttpRequest, q: Query[ActivityQuery]) -> dict[str, Any]:
    actor = request.user
    area = policy.access_area_by_code(actor, q.area) if q.area else None
    if q.status and q.status not in ActivityStatus.values:
        raise Http404
    qs = filter_activities(
        policy.visible_activities(actor), area_code=area.code if area else None,
        organisation_id=q.organisation, intervention=q.intervention, status=q.status,
        start=q.date_from, end=q.date_to)
    count, page, pages, items = _page(_with_related(qs).order_by("-starts_on", "-pk"),
                                      q.page, q.page_size)
    return {"count": count, "page": page, "pages": pages,
            "items": [activity_out(actor, a) for a in items]}


@router.get("/{int:activity_id}", response=ActivityOut, summary="One activity")
def activity(request: HttpRequest, activity_id: int) -> dict[str, Any]:
    actor = request.user
    found = policy.access_activity_by_id(actor, activity_id)
    return activity_out(actor, _with_related(Activity.objects.filter(pk=found.pk)).get())


def _cells(payload: ActivityIn) -> dict[str, str | None]:
    """The body as the import's text cells (``None``: not given)."""
    cells: dict[str, str | None] = {}
    for key, value in payload.dict().items():
        if value is None:
            cells[key] = None
        elif isinstance(value, list):
            cells[key] = "; ".join(str(v) for v in value)
        elif isinstance(value, bool):
            cells[key] = "yes" if value else "no"
        elif isinstance(value, dict):
            cells[key] = json.dumps(value, ensure_ascii=False)
        else:
            cells[key] = str(value)
    return cells


@router.post("", response={200: ActivityOut, 201: ActivityOut, 403: MessageOut,
                           422: ErrorsOut},
             summary="Record an activity (or update the one with the same reference)")
def record_activity(request: HttpRequest, payload: ActivityIn) -> Status:
    """Checked like a row of ``cegah activities import``: 422 lists the problems per
    field. Needs the right to record activities (data entry and up)."""
    from django.core.exceptions import PermissionDenied

    from cegah.activities.importing import ActivityInvalid, do_submit_activity

    actor = request.user
    if not policy.can_record_activities(actor):
        return Status(403, {"detail": "You may not record activities."})
    try:
        saved, created = do_submit_activity(actor, _cells(payload))
    except PermissionDenied:
        return Status(403, {"detail": "You may not record activities."})
    except ActivityInvalid as exc:
        return Status(422, {"detail": [
            {"loc": ["body", "payload", column or "__all__"], "msg": msg, "type": "value_error"}
            for column, msg in exc.problems]})
    fresh = _with_related(Activity.objects.filter(pk=saved.pk)).get()
    return Status(201 if created else 200, activity_out(actor, fresh))
