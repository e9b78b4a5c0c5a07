"""Every access decision in Cegah, in one place.

Views, API endpoints, exports and CLI commands ask this module two kinds of question:
"may this actor do X (to this object)?" (``can_*``) and "which objects may this actor
see?" (``visible_*`` querysets). The ``access_*`` helpers fetch one object or raise
``Http404``, so "forbidden" and "missing" look the same.

Rules:

* Areas and their names are public reference data: every signed-in user may browse them.
* Case counts, child populations and risk factors (the *protected data*) are visible only
  within the actor's jurisdiction: the areas of their organisation and all their
  descendants. System admins and the local CLI operator see everything.
* What a role adds: viewer — see; data entry — also import; manager — also export;
  organisation admin — also manage the organisation's people; system admin — everything,
  including Django admin.
* Risk results: every signed-in user sees every area's tier (prevention is planned
  together). Case counts and the figures derived from them are shown only where the
  actor may see the area's data (and to viewers only if ``CEGAH_VIEWERS_SEE_COUNTS``);
  everyone else, and the optional public summary, gets tiers and protected counts
  (disclosure control, ``cegah.lib.disclosure``).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from django.db.models import Q, QuerySet
from django.http import Http404

from cegah.accounts.models import Role
from cegah.areas.models import Area, is_within, subtree_q
from cegah.lib import rawsql


def require(allowed: bool) -> None:
    """For views: a refusal answers 404, like a missing object ("forbidden" looks like
    "not found")."""
    if not allowed:
        raise Http404


class Capability(StrEnum):
    VIEW_DATA = "view_data"
    IMPORT_DATA = "import_data"
    EXPORT_DATA = "export_data"
    MANAGE_ORGANISATION = "manage_organisation"
    ADMINISTER = "administer"


_ROLE_CAPABILITIES: dict[str, frozenset[Capability]] = {
    Role.VIEWER: frozenset({Capability.VIEW_DATA}),
    Role.DATA_ENTRY: frozenset({Capability.VIEW_DATA, Capability.IMPORT_DATA}),
    Role.MANAGER: frozenset(
        {Capability.VIEW_DATA, Capability.IMPORT_DATA, Capability.EXPORT_DATA}
    ),
    Role.ORG_ADMIN: frozenset(
        {Capability.VIEW_DATA, Capability.IMPORT_DATA, Capability.EXPORT_DATA,
         Capability.MANAGE_ORGANISATION}
    ),
    Role.SYSTEM_ADMIN: frozenset(Capability),
}


@dataclass(frozen=True)
class LocalOperator:
    """Whoever runs the ``cegah`` CLI without ``--user``: has shell access to the database
    already, so the policy grants everything; the audit trail names them by ``label``."""

    label: str = "cli"
    pk: None = None
    is_authenticated: bool = True


def _is_everywhere(actor: Any) -> bool:
    return isinstance(actor, LocalOperator) or (
        getattr(actor, "is_authenticated", False)
        and getattr(actor, "is_active", False)
        and getattr(actor, "role", None) == Role.SYSTEM_ADMIN
    )


def _active_user(actor: Any) -> bool:
    if isinstance(actor, LocalOperator):
        return True
    if not getattr(actor, "is_authenticated", False) or not actor.is_active:
        return False
    if actor.role == Role.SYSTEM_ADMIN:
        return True
    org = actor.organisation
    return org is not None and org.is_active


def has_capability(actor: Any, capability: Capability) -> bool:
    if isinstance(actor, LocalOperator):
        return True
    if not _active_user(actor):
        return False
    return capability in _ROLE_CAPABILITIES.get(actor.role, frozenset())


def jurisdiction_codes(actor: Any) -> list[str] | None:
    """The area codes whose subtrees the actor may see data of; ``None`` means all."""
    if _is_everywhere(actor):
        return None
    if not _active_user(actor):
        return []
    cache = getattr(actor, "_cegah_jurisdiction", None)
    if cache is None:
        through = type(actor.organisation).jurisdiction.through._meta.db_table
        cache = rawsql.column(  # on every request that shows data: fixed SQL
            f"SELECT area_id FROM {through} WHERE organisation_id = %s ORDER BY area_id",  # noqa: S608
            [actor.organisation_id])
        actor._cegah_jurisdiction = cache
    return cache


def data_filter(actor: Any, field: str = "area") -> Q:
    """A filter restricting rows whose ``field`` is an area to the actor's jurisdiction."""
    if not has_capability(actor, Capability.VIEW_DATA):
        return Q(pk__in=[])
    codes = jurisdiction_codes(actor)
    if codes is None:
        return Q()
    # "area__code" is answered from the foreign-key column itself, without a join.
    return subtree_q(codes, field=f"{field}__code" if field else "code")


# --- areas -----------------------------------------------------------------------------

def visible_areas(actor: Any) -> QuerySet[Area]:
    """Areas are public reference data for every signed-in user."""
    if not _active_user(actor):
        return Area.objects.none()
    return Area.objects.all()


def access_area_by_code(actor: Any, code: str) -> Area:
    # What visible_areas(actor).filter(code=code).first() answers, in fixed SQL: every
    # area page, map.json and API detail request asks (cegah.lib.rawsql).
    area = rawsql.first(Area, "code = %s", [code]) if _active_user(actor) else None
    if area is None:
        raise Http404("No such area.")
    return area


def can_import_boundaries(actor: Any) -> bool:
    """Boundaries are shared reference data, shown to everyone: only system admins and
    the local operator import (or clear) them."""
    return _is_everywhere(actor)


def can_view_area_data(actor: Any, area: Area | str) -> bool:
    """May the actor see the protected data (counts) of this area and its subtree?"""
    if not has_capability(actor, Capability.VIEW_DATA):
        return False
    codes = jurisdiction_codes(actor)
    code = area if isinstance(area, str) else area.code
    return codes is None or is_within(code, codes)


# --- risk results ----------------------------------------------------------------------

def can_view_risk(actor: Any) -> bool:
    """Tiers and drivers: every signed-in user (and the local operator)."""
    return isinstance(actor, LocalOperator) or _active_user(actor)


def can_request_risk_run(actor: Any) -> bool:
    """Start a risk run by hand: those who may import data."""
    return can_import(actor)


def counts_entitlement_scope(actor: Any) -> tuple[str, ...] | None:
    """The subtrees whose case counts the actor may see: ``None`` for everywhere, ``()``
    for nowhere, else the jurisdiction's area codes (sorted; usable as a cache key)."""
    from django.conf import settings

    if not has_capability(actor, Capability.VIEW_DATA):
        return ()
    if (getattr(actor, "role", None) == Role.VIEWER
            and not settings.VIEWERS_SEE_COUNTS):
        return ()
    codes = jurisdiction_codes(actor)
    return None if codes is None else tuple(codes)


def counts_entitlement(actor: Any):
    """A function ``code -> bool``: may the actor see the case counts of that area?

    Built once per request, so a page of 1,000 areas asks the database once.
    """
    scope = counts_entitlement_scope(actor)
    if scope is None:
        return lambda code: True
    return lambda code: is_within(code, scope)


def public_summary_enabled() -> bool:
    from django.conf import settings

    return settings.PUBLIC_SUMMARY


# --- protected data --------------------------------------------------------------------

def visible_data(actor: Any, model) -> QuerySet:
    """Case counts, populations or factor values the actor may see."""
    return model.objects.filter(data_filter(actor))


def can_import(actor: Any) -> bool:
    return has_capability(actor, Capability.IMPORT_DATA)


def can_import_area(actor: Any, code: str) -> bool:
    """May the actor write data for this area? Same scope as seeing it."""
    return can_import(actor) and can_view_area_data(actor, code)


def can_export(actor: Any) -> bool:
    return has_capability(actor, Capability.EXPORT_DATA)


def visible_imports(actor: Any) -> QuerySet:
    from cegah.cases.models import ImportBatch

    if not can_import(actor):
        return ImportBatch.objects.none()
    if _is_everywhere(actor):
        return ImportBatch.objects.all()
    return ImportBatch.objects.filter(organisation_id=actor.organisation_id)


def access_import_by_id(actor: Any, import_id: int):
    batch = visible_imports(actor).filter(pk=import_id).first()
    if batch is None:
        raise Http404("No such import.")
    return batch


# --- organisations, people, audit ------------------------------------------------------

def visible_members(actor: Any) -> QuerySet:
    """People an actor may list: their own organisation's, or all for system admins."""
    from cegah.accounts.models import User

    if _is_everywhere(actor):
        return User.objects.all()
    if not has_capability(actor, Capability.MANAGE_ORGANISATION):
        return User.objects.none()
    return User.objects.filter(organisation_id=actor.organisation_id)


def assignable_roles(actor: Any) -> list[str]:
    """Roles an actor may give people: organisation admins any but system admin."""
    if _is_everywhere(actor):
        return list(Role.values)
    if not has_capability(actor, Capability.MANAGE_ORGANISATION):
        return []
    return [r for r in Role.values if r != Role.SYSTEM_ADMIN]


def access_member_by_id(actor: Any, user_id: int):
    member = visible_members(actor).filter(pk=user_id).first()
    if member is None or member.role not in assignable_roles(actor):
        # A system admin's account is not an organisation admin's to change.
        raise Http404("No such person.")
    return member


def visible_audit_events(actor: Any) -> QuerySet:
    from cegah.audit.models import AuditEvent

    if _is_everywhere(actor):
        return AuditEvent.objects.all()
    if not has_capability(actor, Capability.MANAGE_ORGANISATION):
        return AuditEvent.objects.none()
    return AuditEvent.objects.filter(organisation_id=actor.organisation_id)


def can_use_admin(actor: Any) -> bool:
    return not isinstance(actor, LocalOperator) and has_capability(actor, Capability.ADMINISTER)


# --- prevention: catalogue, venues, activities -----------------------------------------
#
# Prevention work is shared so partners can plan together: every signed-in user sees
# what was done where, for which audience and how many people it reached (counts only;
# no personal data). Planned and cancelled activities show to the organisations taking
# part and to those working in the activity's areas. Cost, notes, named officers,
# outcomes and attachments stay with the lead organisation and its partners.

def can_view_catalogue(actor: Any) -> bool:
    return isinstance(actor, LocalOperator) or _active_user(actor)


def can_edit_catalogue(actor: Any) -> bool:
    """The catalogue is shared reference content: system admins keep it."""
    return _is_everywhere(actor)


def visible_venues(actor: Any) -> QuerySet:
    from cegah.activities.models import Venue

    return Venue.objects.all() if can_view_catalogue(actor) else Venue.objects.none()


def access_venue_by_id(actor: Any, venue_id: int):
    venue = visible_venues(actor).filter(pk=venue_id).first()
    if venue is None:
        raise Http404("No such venue.")
    return venue


def can_manage_venue_in(actor: Any, area: Area | str) -> bool:
    """Add, import or change venues: those who may import data for the area."""
    return can_import(actor) and can_view_area_data(actor, area)


def _organisation_id(actor: Any) -> int | None:
    return getattr(actor, "organisation_id", None) if _active_user(actor) else None


def visible_activities(actor: Any) -> QuerySet:
    """Done activities for every signed-in user; planned and cancelled ones for the lead
    organisation, its partners and the organisations working in one of its areas."""
    from cegah.activities.models import Activity, ActivityStatus

    if not can_view_catalogue(actor):
        return Activity.objects.none()
    if _is_everywhere(actor):
        return Activity.objects.all()
    org = actor.organisation_id
    shared = Q(status=ActivityStatus.DONE) | Q(lead_organisation_id=org) | Q(partners__id=org)
    codes = jurisdiction_codes(actor) or []
    if codes:  # one of its areas lies in the actor's jurisdiction, or contains part of it
        above = {c.rsplit(".", k)[0] for c in codes for k in range(1, c.count(".") + 1)}
        shared |= subtree_q(codes, field="areas__code") | Q(areas__code__in=sorted(above))
    ids = Activity.objects.filter(shared).values("pk")
    return Activity.objects.filter(pk__in=ids)


def access_activity_by_id(actor: Any, activity_id: int):
    activity = visible_activities(actor).filter(pk=activity_id).first()
    if activity is None:
        raise Http404("No such activity.")
    return activity


def takes_part_in(actor: Any, activity) -> bool:
    """Is the actor's organisation the lead or a partner of the activity?"""
    if _is_everywhere(actor):
        return True
    org = _organisation_id(actor)
    if org is None:
        return False
    # Through the (usually prefetched) partners: lists and exports ask for every row.
    return activity.lead_organisation_id == org or any(
        p.pk == org for p in activity.partners.all())


def can_view_activity_details(actor: Any, activity) -> bool:
    """Cost, notes, named officers, outcomes and attachments."""
    return takes_part_in(actor, activity)


def can_record_activities(actor: Any) -> bool:
    """Record prevention work for one's own organisation (data entry and up)."""
    return can_import(actor) and (_is_everywhere(actor) or _organisation_id(actor) is not None)


def can_record_activity_in(actor: Any, area: Area | str) -> bool:
    """Activities are recorded in the lead organisation's jurisdiction."""
    return can_record_activities(actor) and can_view_area_data(actor, area)


def can_edit_activity(actor: Any, activity) -> bool:
    """The lead organisation's managers, and whoever recorded it (data entry)."""
    if not can_record_activities(actor):
        return False
    if _is_everywhere(actor):
        return True
    if activity.lead_organisation_id != actor.organisation_id:
        return False
    return has_capability(actor, Capability.EXPORT_DATA) or activity.created_by_id == actor.pk


def can_export_activities(actor: Any) -> bool:
    return can_export(actor)


def can_view_coverage_rate(actor: Any, area: Area | str) -> bool:
    """People reached per 1,000 children reveals the child population with the reach:
    only where the actor may see the area's data."""
    return can_view_area_data(actor, area)


# --- coordination: partner requests and notifications ----------------------------------

def visible_organisations(actor: Any) -> QuerySet:
    """The partner directory: every active organisation, for every signed-in user."""
    from cegah.accounts.models import Organisation

    if not can_view_catalogue(actor):
        return Organisation.objects.none()
    return Organisation.objects.filter(is_active=True)


def can_send_request(actor: Any) -> bool:
    return can_record_activities(actor) and _organisation_id(actor) is not None


def visible_requests(actor: Any) -> QuerySet:
    from cegah.coordination.models import PartnerRequest

    if _is_everywhere(actor):
        return PartnerRequest.objects.all()
    org = _organisation_id(actor)
    if org is None:
        return PartnerRequest.objects.none()
    return PartnerRequest.objects.filter(Q(from_organisation_id=org) | Q(to_organisation_id=org))


def access_request_by_id(actor: Any, request_id: int):
    found = visible_requests(actor).filter(pk=request_id).first()
    if found is None:
        raise Http404("No such request.")
    return found


def can_answer_request(actor: Any, partner_request) -> bool:
    """The receiving organisation's managers and organisation admins accept or decline,
    while the sending organisation is active (accepting joins its activity)."""
    return (has_capability(actor, Capability.EXPORT_DATA)
            and _organisation_id(actor) == partner_request.to_organisation_id
            and partner_request.from_organisation.is_active)


def can_withdraw_request(actor: Any, partner_request) -> bool:
    return (can_send_request(actor)
            and _organisation_id(actor) == partner_request.from_organisation_id)


def visible_notifications(actor: Any) -> QuerySet:
    from cegah.coordination.models import Notification

    if not _active_user(actor) or isinstance(actor, LocalOperator):
        return Notification.objects.none()
    return Notification.objects.filter(recipient_id=actor.pk)
