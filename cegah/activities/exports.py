"""Exporting activities as CSV or XLSX, in the columns of the import (so an export
imports again unchanged).

Only the activities the actor may see (``policy.visible_activities``); the detail
columns (cost, notes, outcomes, named officers) are filled only where the actor's
organisation takes part (``policy.can_view_activity_details``). Text a spreadsheet would
run as a formula is neutralised by ``cegah.lib.tabular.write_table``.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet

from cegah import policy
from cegah.activities.importing import ACTIVITY_HEADER, DETAIL_COLUMNS, LIST_SEPARATOR
from cegah.activities.models import REACH_FIELDS
from cegah.activities.queries import filter_activities
from cegah.audit.actions import record_event


def filtered_activities(
    actor: Any, *, area_code: str | None = None, start: dt.date | None = None,
    end: dt.date | None = None,
) -> QuerySet:
    """``visible_activities`` narrowed to an area's subtree (any of an activity's areas)
    and a date range (inclusive)."""
    return filter_activities(policy.visible_activities(actor), area_code=area_code,
                             start=start, end=end)


def _number(value: Decimal | None) -> Any:
    if value is None:
        return ""
    return int(value) if value == value.to_integral_value() else float(value)


def activity_row(activity: Any, details: bool) -> list[Any]:
    """One activity in the import's columns (``ACTIVITY_HEADER`` order)."""
    values: dict[str, Any] = {
        "reference": activity.external_id or f"cegah-{activity.pk}",
        "title": activity.title,
        "intervention": activity.intervention.slug if activity.intervention_id else "",
        "lead": activity.lead_organisation.name,
        "partners": LIST_SEPARATOR.join(sorted(o.name for o in activity.partners.all())),
        "areas": LIST_SEPARATOR.join(sorted(a.code for a in activity.areas.all())),
        "venue": activity.venue.name if activity.venue_id else "",
        "status": activity.status,
        "date": activity.starts_on.isoformat(),
        "start_time": activity.start_time.strftime("%H:%M") if activity.start_time else "",
        "duration_minutes": activity.duration_minutes,
        "audience": activity.audience,
        **{f: getattr(activity, f) for f, _sex, _age in REACH_FIELDS},
        "topics": LIST_SEPARATOR.join(activity.topics or []),
        "laws": LIST_SEPARATOR.join(activity.laws or []),
        "officer_count": activity.officer_count,
        "officer_hours": _number(activity.officer_hours),
        "cost": _number(activity.cost),
        "materials": activity.materials,
        "notes": activity.notes,
        "outcomes": json.dumps(activity.outcomes, ensure_ascii=False, sort_keys=True)
        if activity.outcomes else "",
        "officers": LIST_SEPARATOR.join(sorted(u.username for u in activity.officers.all())),
        "synthetic": "yes" if activity.is_synthetic else "no",
    }
    if not details:
        for column in DETAIL_COLUMNS:
            values[column] = ""
    return [values[c] for c in ACTIVITY_HEADER]


def export_rows(actor: Any, **filters: Any) -> Iterator[list[Any]]:
    qs = (filtered_activities(actor, **filters)
          .select_related("lead_organisation", "intervention", "venue")
          .prefetch_related("partners", "areas", "officers")
          .order_by("starts_on", "pk"))
    for activity in qs:
        yield activity_row(activity, policy.can_view_activity_details(actor, activity))


def do_export_activities(
    actor: Any, out: Any, fmt: str, *, area_code: str | None = None,
    start: dt.date | None = None, end: dt.date | None = None,
) -> int:
    """Write the activities the actor may see to ``out`` (a path or file object) as CSV
    or XLSX and audit the export; returns the row count. Raises ``PermissionDenied``
    without ``policy.can_export_activities``."""
    from cegah.lib.tabular import write_table

    if not policy.can_export_activities(actor):
        raise PermissionDenied
    count = 0

    def counted():
        nonlocal count
        for row in export_rows(actor, area_code=area_code, start=start, end=end):
            count += 1
            yield row

    write_table(out, fmt, ACTIVITY_HEADER, counted())
    record_event(actor=actor, action="export", object_type="activities",
                 object_key=area_code or "",
                 new={"rows": count, "format": fmt,
                      "from": start.isoformat() if start else None,
                      "to": end.isoformat() if end else None})
    return count
