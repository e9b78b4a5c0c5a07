"""Writes of the coordination app: partner requests and in-app notifications.

Request actions check the policy, run in one transaction and write an audit row
(object_type ``partner_request``) with the change; each tells the people concerned with
a notification. Notifications themselves are not audited: they are derived messages,
and marking one read changes nothing anyone else sees.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from typing import Any, Literal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from cegah import policy
from cegah.accounts.models import Organisation, Role, User
from cegah.activities.models import Activity
from cegah.areas.models import Area
from cegah.audit.actions import record_event
from cegah.coordination.models import Notification, PartnerRequest, RequestStatus
from cegah.coordination.notifications import TEXTS

OBJECT_TYPE = "partner_request"
TITLE_MAX = 200
MESSAGE_MAX = 4000
# Who hears about requests to or from an organisation: those who may answer them.
COORDINATOR_ROLES = (Role.MANAGER, Role.ORG_ADMIN)


# --- helpers ---------------------------------------------------------------------------

def coordinators_of(organisation_ids: Iterable[int]) -> list[User]:
    """The active managers and organisation admins of these (active) organisations."""
    ids = [i for i in organisation_ids if i is not None]
    if not ids:
        return []
    return list(User.objects.filter(organisation_id__in=ids, organisation__is_active=True,
                                    is_active=True, role__in=COORDINATOR_ROLES))


def activity_link(activity: Activity) -> str:
    """The activity's page in the registry."""
    return reverse("activities:detail", args=[activity.pk])


def _request_values(req: PartnerRequest) -> dict[str, Any]:
    return {
        "from_organisation": req.from_organisation_id, "to_organisation": req.to_organisation_id,
        "activity": req.activity_id, "intervention": req.intervention_id, "area": req.area_id,
        "proposed_on": req.proposed_on.isoformat() if req.proposed_on else None,
        "title": req.title, "message": req.message, "status": req.status,
        "response": req.response,
    }


def _request_params(req: PartnerRequest) -> dict[str, Any]:
    return {"from_org": str(req.from_organisation), "to_org": str(req.to_organisation),
            "title": req.title, "request_id": req.pk}


def _is_safe_link(link: str) -> bool:
    # Only same-site relative paths: "/partners/…", never "//host" or "https://…".
    return link == "" or (link.startswith("/") and not link.startswith("//")
                          and "\\" not in link and "\n" not in link and "\r" not in link)


# --- notifications ---------------------------------------------------------------------

def do_notify(recipients: Iterable[User], kind: str, params: dict[str, Any] | None = None,
              link: str = "") -> list[Notification]:
    """Create one notification per (distinct) recipient.

    ``kind`` must be one of ``cegah.coordination.notifications.TEXTS``; ``params`` fill its
    format (plain strings, numbers and ISO dates only: they are stored as JSON); ``link``
    is a same-site path such as ``/partners/requests/3/``.
    """
    if kind not in TEXTS:
        raise ValueError(f"kind: expected one of {', '.join(sorted(TEXTS))}, got {kind!r}")
    if not _is_safe_link(link):
        raise ValueError(f"link: expected a path on this site starting with '/', got {link!r}")
    seen: set[int] = set()
    rows = []
    for user in recipients:
        if user is None or user.pk is None or user.pk in seen or not user.is_active:
            continue
        seen.add(user.pk)
        rows.append(Notification(recipient=user, kind=kind, params=dict(params or {}),
                                 link=link))
    return Notification.objects.bulk_create(rows)


def do_mark_read(actor: Any, notification_ids: Iterable[int] | Literal["all"]) -> int:
    """Mark the actor's own notifications read (those given, or ``"all"``); returns how
    many changed. Other people's notifications are silently left alone."""
    unread = policy.visible_notifications(actor).filter(read_at__isnull=True)
    if notification_ids != "all":
        unread = unread.filter(pk__in=list(notification_ids))
    return unread.update(read_at=timezone.now())


def notify_activity_partners(activity: Activity, kind: str = "activity_partner_added", *,
                             organisations: Iterable[Organisation | int] | None = None,
                             actor: Any = None) -> int:
    """Tell the partner organisations of an activity about it (their managers and
    organisation admins). Call it when an organisation is added as a partner
    (``organisations`` = the ones just added), or with ``"activity_changed"`` /
    ``"activity_cancelled"`` for all partners. The actor, if given, is not told about
    their own change. Returns the number of notifications created."""
    if organisations is None:
        org_ids = list(activity.partners.values_list("pk", flat=True))
    else:
        org_ids = [o if isinstance(o, int) else o.pk for o in organisations]
    org_ids = [i for i in org_ids if i != activity.lead_organisation_id]
    actor_pk = getattr(actor, "pk", None)
    recipients = [u for u in coordinators_of(org_ids) if u.pk != actor_pk]
    params = {"lead_org": str(activity.lead_organisation), "title": activity.title,
              "starts_on": activity.starts_on.isoformat(), "activity_id": activity.pk}
    return len(do_notify(recipients, kind, params, activity_link(activity)))


# --- partner requests ------------------------------------------------------------------

def _clean_area(area: Area | str | None) -> Area | None:
    if area is None or area == "":
        return None
    if isinstance(area, Area):
        return area
    found = Area.objects.filter(code=str(area).strip()).first()
    if found is None:
        raise ValidationError(f"area: unknown area code {area!r}")
    return found


def do_send_request(
    actor: Any, to_organisation: Organisation, title: str, message: str = "",
    area: Area | str | None = None, proposed_on: datetime.date | None = None,
    activity: Activity | None = None, intervention: Any = None,
) -> PartnerRequest:
    """Ask another organisation to take part (in one of our activities, or in general).

    Raises ``PermissionDenied`` if the actor may not send requests and ``ValidationError``
    (naming the field) for a bad request: the actor's own or an inactive organisation,
    an empty title, an activity the actor's organisation does not lead or that the
    receiving organisation already takes part in, or a duplicate open request.
    """
    if not policy.can_send_request(actor):
        raise PermissionDenied
    from_org_id = actor.organisation_id
    if to_organisation is None or not policy.visible_organisations(actor).filter(
            pk=to_organisation.pk).exists():
        raise ValidationError("to_organisation: expected an active organisation")
    if to_organisation.pk == from_org_id:
        raise ValidationError("to_organisation: a request goes to another organisation, "
                              "not your own")
    title = (title or "").strip()
    if not title:
        raise ValidationError("title: required, say what you ask for")
    if len(title) > TITLE_MAX:
        raise ValidationError(f"title: at most {TITLE_MAX} characters, got {len(title)}")
    message = (message or "").strip()
    if len(message) > MESSAGE_MAX:
        raise ValidationError(f"message: at most {MESSAGE_MAX} characters, got {len(message)}")
    area_obj = _clean_area(area)
    with transaction.atomic():
        if activity is not None:
            if activity.lead_organisation_id != from_org_id:
                raise ValidationError("activity: expected an activity your organisation leads")
            if (activity.lead_organisation_id == to_organisation.pk
                    or activity.partners.filter(pk=to_organisation.pk).exists()):
                raise ValidationError(f"activity: {to_organisation} already takes part in it")
            if PartnerRequest.objects.filter(activity=activity, to_organisation=to_organisation,
                                             status=RequestStatus.OPEN).exists():
                raise ValidationError(f"activity: a request to {to_organisation} for this "
                                      "activity is already waiting for an answer")
            if proposed_on is None:
                proposed_on = activity.starts_on
            if intervention is None:
                intervention = activity.intervention
        req = PartnerRequest.objects.create(
            from_organisation_id=from_org_id, to_organisation=to_organisation,
            activity=activity, intervention=intervention, area=area_obj,
            proposed_on=proposed_on, title=title, message=message, requested_by=actor)
        record_event(actor=actor, action="create", object_type=OBJECT_TYPE,
                     object_key=str(req.pk), new=_request_values(req))
        do_notify(coordinators_of([to_organisation.pk]), "request_received",
                  _request_params(req), reverse("coordination:request_detail", args=[req.pk]))
    return req


def _lock_open(req: PartnerRequest) -> PartnerRequest:
    """Re-read the request under a row lock: two people answering at once get one answer."""
    fresh = (PartnerRequest.objects.select_for_update()
             .select_related("from_organisation", "to_organisation").get(pk=req.pk))
    if fresh.status != RequestStatus.OPEN:
        raise ValidationError(f"status: this request is already {fresh.get_status_display()}")
    return fresh


def do_answer_request(actor: Any, request: PartnerRequest, accept: bool,
                      response: str = "") -> PartnerRequest:
    """Accept or decline a request sent to the actor's organisation.

    Accepting a request tied to an activity makes the receiving organisation a partner of
    it (a joint activity; audited as an ``activity`` update). The requester and the
    sending organisation's managers are told.
    """
    if not policy.can_answer_request(actor, request):
        raise PermissionDenied
    response = (response or "").strip()
    if len(response) > MESSAGE_MAX:
        raise ValidationError(f"response: at most {MESSAGE_MAX} characters, got {len(response)}")
    with transaction.atomic():
        req = _lock_open(request)
        old = _request_values(req)
        req.status = RequestStatus.ACCEPTED if accept else RequestStatus.DECLINED
        req.response = response
        req.responded_by = actor
        req.responded_at = timezone.now()
        req.save(update_fields=["status", "response", "responded_by", "responded_at"])
        record_event(actor=actor, action="update", object_type=OBJECT_TYPE,
                     object_key=str(req.pk), old=old, new=_request_values(req))
        activity = req.activity
        if (accept and activity is not None
                and activity.lead_organisation_id != req.to_organisation_id):
            before = sorted(activity.partners.values_list("pk", flat=True))
            if req.to_organisation_id not in before:
                activity.partners.add(req.to_organisation_id)
                record_event(actor=actor, action="update", object_type="activity",
                             object_key=str(activity.pk), old={"partners": before},
                             new={"partners": sorted([*before, req.to_organisation_id])})
        recipients = [u for u in coordinators_of([req.from_organisation_id]) if u.pk != actor.pk]
        requester = req.requested_by
        # The requester hears of it only while still in the (active) sending organisation:
        # someone who moved elsewhere may no longer see the request the link opens.
        if (requester is not None and requester.pk != actor.pk
                and requester.organisation_id == req.from_organisation_id
                and req.from_organisation.is_active):
            recipients.insert(0, requester)
        do_notify(recipients, "request_accepted" if accept else "request_declined",
                  _request_params(req), reverse("coordination:request_detail", args=[req.pk]))
    request.refresh_from_db()
    return req


def do_withdraw_request(actor: Any, request: PartnerRequest) -> PartnerRequest:
    """Withdraw an open request the actor's organisation sent; the receiving
    organisation's managers are told."""
    if not policy.can_withdraw_request(actor, request):
        raise PermissionDenied
    with transaction.atomic():
        req = _lock_open(request)
        old = _request_values(req)
        req.status = RequestStatus.WITHDRAWN
        req.responded_at = timezone.now()
        req.save(update_fields=["status", "responded_at"])
        record_event(actor=actor, action="update", object_type=OBJECT_TYPE,
                     object_key=str(req.pk), old=old, new=_request_values(req))
        do_notify(coordinators_of([req.to_organisation_id]), "request_withdrawn",
                  _request_params(req), reverse("coordination:request_detail", args=[req.pk]))
    request.refresh_from_db()
    return req
