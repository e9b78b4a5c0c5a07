"""Small template helpers for the coordination pages."""

from __future__ import annotations

from django import template

from cegah.activities.models import Activity

register = template.Library()


@register.filter
def activity_url(activity: Activity) -> str:
    """The activity's page (or its month in the shared calendar)."""
    from cegah.coordination.actions import activity_link

    return activity_link(activity)


@register.filter
def first_areas(activity: Activity, limit: int = 3) -> str:
    """The names of the first few areas (prefetched), with an ellipsis for more."""
    areas = list(activity.areas.all())
    names = ", ".join(a.name for a in areas[:limit])
    return names + (" …" if len(areas) > limit else "")
