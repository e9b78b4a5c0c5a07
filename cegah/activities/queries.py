"""Narrowing a queryset of activities: one function for the list page, the API list and
the exports, so the three filter alike and never double count."""

from __future__ import annotations

import datetime as dt

from django.db.models import Q, QuerySet

from cegah.areas.models import subtree_q


def filter_activities(
    qs: QuerySet, *, area_code: str | None = None, organisation_id: int | None = None,
    intervention: str | None = None, status: str | None = None,
    start: dt.date | None = None, end: dt.date | None = None,
) -> QuerySet:
    """``qs`` (usually ``policy.visible_activities(actor)``) narrowed to the activities
    with one of their areas in ``area_code``'s subtree, led or joined by
    ``organisation_id``, delivering ``intervention`` (a slug), of ``status``, dated from
    ``start`` to ``end`` (inclusive).

    The many-to-many conditions (areas, partners) go through ``pk__in`` subqueries rather
    than joins, so an activity in several matching areas or with several partners is
    listed, counted and paginated once.
    """
    from cegah.activities.models import Activity

    if area_code:
        qs = qs.filter(pk__in=Activity.objects.filter(
            subtree_q([area_code], field="areas__code")).values("pk"))
    if organisation_id is not None:
        qs = qs.filter(pk__in=Activity.objects.filter(
            Q(lead_organisation_id=organisation_id) | Q(partners__id=organisation_id))
            .values("pk"))
    if intervention:
        qs = qs.filter(intervention__slug=intervention)
    if status:
        qs = qs.filter(status=status)
    if start is not None:
        qs = qs.filter(starts_on__gte=start)
    if end is not None:
        qs = qs.filter(starts_on__lte=end)
    return qs
