"""The prevention section of the area pages: ``{% area_prevention area %}``."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils import timezone

from cegah import policy
from cegah.activities.coverage import DEFAULT_MONTHS, area_coverage
from cegah.areas.models import Level, subtree_q

register = template.Library()
LATEST = 5


@register.inclusion_tag("activities/_area_prevention.html", takes_context=True)
def area_prevention(context: template.Context, area: Any) -> dict[str, Any]:
    """Coverage of the last 12 months, the latest activities and the planned ones the
    actor may see, and the links to record one and to the gap list."""
    from cegah.activities.models import Activity, ActivityStatus
    from cegah.activities.views_coverage import activities_url

    request = context.get("request")
    actor = getattr(request, "user", None)
    out: dict[str, Any] = {"area": area, "request": request, "shown": False}
    if actor is None or not policy.can_view_catalogue(actor):
        return out
    today = timezone.localdate()  # Cegah's time zone, not the server's
    cover = area_coverage(actor, area, months=DEFAULT_MONTHS, as_of=today)
    mine = (policy.visible_activities(actor)
            .filter(pk__in=Activity.areas.through.objects.filter(
                subtree_q([area.code], field="area__code")).values("activity_id"))
            .select_related("lead_organisation", "intervention").defer("notes", "materials"))
    latest = list(mine.filter(status=ActivityStatus.DONE, starts_on__lte=today)
                  .order_by("-starts_on", "-id")[:LATEST])
    planned = list(mine.filter(status=ActivityStatus.PLANNED, starts_on__gte=today)
                   .order_by("starts_on", "id")[:LATEST])
    for a in [*latest, *planned]:
        a.url = activities_url("activities:detail", args=(a.pk,))
    out.update({
        "shown": True, "coverage": cover, "months": DEFAULT_MONTHS,
        "latest": latest, "planned": planned,
        "can_record": policy.can_record_activity_in(actor, area),
        # The quick form is for people of an organisation; a system admin names the lead
        # organisation on the full form. Both open with this area filled in.
        "record_url": activities_url(
            "activities:quick" if getattr(actor, "organisation_id", None) else "activities:new",
            area=area.code),
        "list_url": activities_url("activities:list", area=area.code),
        "gaps_url": "" if area.level == Level.VILLAGE else _gaps_url(area.code),
    })
    return out


def _gaps_url(code: str) -> str:
    from django.urls import reverse
    from django.utils.http import urlencode

    return reverse("coverage:gaps") + "?" + urlencode({"parent": code})
