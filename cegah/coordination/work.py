"""Read-side summaries for coordination pages: who worked where, on what, and the
activities of a calendar month. Everything starts from ``policy.visible_activities``, so
a summary never counts an activity the reader may not see."""

from __future__ import annotations

import calendar
import datetime
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q, QuerySet

from cegah import policy
from cegah.activities.models import Activity, ActivityStatus
from cegah.areas.models import Area, subtree_q
from cegah.catalogue.models import Intervention

WINDOW_DAYS = 365
TOP_AREAS = 3
CALENDAR_LIMIT = 1500  # activities in one month or feed; beyond this the page says so


@dataclass
class Work:
    """What one organisation did (lead or partner) in the window: done activities."""

    done: int = 0
    joint: int = 0
    interventions: list[tuple[Intervention, int]] = field(default_factory=list)
    areas: list[tuple[Area, int]] = field(default_factory=list)
    area_codes: set[str] = field(default_factory=set)


def _district(code: str) -> str:
    # Villages roll up to their district: "who works where" reads better by kecamatan.
    parts = code.split(".")
    return ".".join(parts[:3]) if len(parts) > 3 else code


def since_date(today: datetime.date | None = None) -> datetime.date:
    from django.utils import timezone

    return (today or timezone.localdate()) - datetime.timedelta(days=WINDOW_DAYS)


def organisation_work(actor: Any, since: datetime.date,
                      org_ids: list[int] | None = None) -> dict[int, Work]:
    """Per organisation: done activities since ``since`` it led or joined, the
    interventions (most frequent first) and the districts where (top few)."""
    acts = policy.visible_activities(actor).filter(status=ActivityStatus.DONE,
                                                   starts_on__gte=since)
    if org_ids is not None:  # one organisation's page: only the activities it took part in
        acts = acts.filter(pk__in=Activity.objects.filter(
            Q(lead_organisation_id__in=org_ids) | Q(partners__id__in=org_ids)).values("pk"))
    rows = list(acts.values_list("pk", "lead_organisation_id", "intervention_id"))
    act_ids = acts.values("pk")
    orgs_of: dict[int, set[int]] = {pk: {lead} for pk, lead, _i in rows}
    partnered: set[int] = set()
    for act_id, org_id in Activity.partners.through.objects.filter(
            activity_id__in=act_ids).values_list("activity_id", "organisation_id"):
        if act_id in orgs_of:
            orgs_of[act_id].add(org_id)
            partnered.add(act_id)
    areas_of: dict[int, list[str]] = defaultdict(list)
    for act_id, code in Activity.areas.through.objects.filter(
            activity_id__in=act_ids).values_list("activity_id", "area_id"):
        areas_of[act_id].append(code)

    wanted = None if org_ids is None else set(org_ids)
    counts: dict[int, Work] = defaultdict(Work)
    interventions: dict[int, Counter] = defaultdict(Counter)
    districts: dict[int, Counter] = defaultdict(Counter)
    for pk, _lead, intervention_id in rows:
        codes = areas_of.get(pk, [])
        for org in orgs_of[pk]:
            if wanted is not None and org not in wanted:
                continue
            work = counts[org]
            work.done += 1
            work.joint += pk in partnered
            work.area_codes.update(codes)
            if intervention_id:
                interventions[org][intervention_id] += 1
            districts[org].update({_district(c) for c in codes})

    by_id = Intervention.objects.in_bulk({i for c in interventions.values() for i in c})
    top = {org: [code for code, _n in c.most_common(TOP_AREAS)] for org, c in districts.items()}
    names = Area.objects.in_bulk({code for codes in top.values() for code in codes})
    for org, work in counts.items():
        work.interventions = [(by_id[i], n) for i, n in interventions[org].most_common()
                              if i in by_id]
        work.areas = [(names[c], districts[org][c]) for c in top.get(org, []) if c in names]
    return dict(counts)


def organisations_in_area(organisations: QuerySet, code: str,
                          work: dict[int, Work]) -> QuerySet:
    """Organisations whose jurisdiction covers the area (or lies inside it), or whose
    activities in the window touch it."""
    parts = code.split(".")
    ancestors = [".".join(parts[: i + 1]) for i in range(len(parts))]
    through = organisations.model.jurisdiction.through
    by_jurisdiction = through.objects.filter(
        Q(area_id__in=ancestors) | subtree_q([code], field="area__code")
    ).values("organisation_id")
    by_work = [org for org, w in work.items()
               if any(c == code or c.startswith(code + ".") for c in w.area_codes)]
    return organisations.filter(Q(pk__in=by_jurisdiction) | Q(pk__in=by_work))


def calendar_activities(actor: Any, start: datetime.date, end: datetime.date, *,
                        area_code: str | None = None, org_id: int | None = None) -> QuerySet:
    """Planned and done activities from ``start`` to ``end`` (inclusive) the actor may
    see, optionally in an area's subtree or with an organisation taking part."""
    acts = policy.visible_activities(actor).filter(
        starts_on__gte=start, starts_on__lte=end,
        status__in=[ActivityStatus.PLANNED, ActivityStatus.DONE])
    if area_code:
        acts = acts.filter(pk__in=Activity.objects.filter(
            subtree_q([area_code], field="areas__code")).values("pk"))
    if org_id:
        acts = acts.filter(pk__in=Activity.objects.filter(
            Q(lead_organisation_id=org_id) | Q(partners__id=org_id)).values("pk"))
    return (acts.select_related("lead_organisation", "venue", "intervention")
            .prefetch_related("partners", "areas")
            .order_by("starts_on", "start_time", "pk"))


@dataclass
class Day:
    date: datetime.date
    activities: list[Activity]
    is_today: bool


def month_days(year: int, month: int, activities: list[Activity],
               today: datetime.date) -> tuple[int, list[Day]]:
    """(blank cells before the 1st in a Monday-first grid, one Day per day)."""
    by_day: dict[datetime.date, list[Activity]] = defaultdict(list)
    for act in activities:
        by_day[act.starts_on].append(act)
    first_weekday, ndays = calendar.monthrange(year, month)
    days = [Day(d, by_day.get(d, []), d == today)
            for d in (datetime.date(year, month, n) for n in range(1, ndays + 1))]
    return first_weekday, days
