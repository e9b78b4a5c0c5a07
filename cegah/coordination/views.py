"""Coordination pages: partner directory, shared calendar (and its .ics feed), joint
activities, requests between organisations and in-app notifications.

Views parse input, ask ``cegah.policy``, call ``cegah.coordination.actions`` and render;
"forbidden" and "missing" both give 404.
"""

from __future__ import annotations

import calendar
import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import formats, timezone
from django.utils.dates import WEEKDAYS_ABBR
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from cegah import policy
from cegah.accounts.models import Organisation
from cegah.activities.models import Activity
from cegah.coordination import actions, ical
from cegah.coordination.forms import AnswerForm, DirectoryFilter, RequestForm
from cegah.coordination.models import RequestStatus
from cegah.coordination.work import (
    CALENDAR_LIMIT,
    calendar_activities,
    month_days,
    organisation_work,
    organisations_in_area,
    since_date,
)


def _int_param(value: str | None) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def _own_org_id(user) -> int | None:
    return getattr(user, "organisation_id", None)


# --- partner directory -----------------------------------------------------------------

@login_required
def directory(request: HttpRequest) -> HttpResponse:
    user = request.user
    orgs = policy.visible_organisations(user)
    policy.require(policy.can_view_catalogue(user))
    form = DirectoryFilter(request.GET or None)
    since = since_date()
    work = organisation_work(user, since)
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        if data["type"]:
            orgs = orgs.filter(type=data["type"])
        if data["area"] is not None:
            orgs = organisations_in_area(orgs, data["area"].code, work)
        if data["intervention"] is not None:
            wanted = data["intervention"].pk
            orgs = orgs.filter(pk__in=[org for org, w in work.items()
                                       if any(i.pk == wanted for i, _n in w.interventions)])
    elif form.is_bound:
        orgs = orgs.none()
    orgs = orgs.prefetch_related("jurisdiction").order_by("name")
    rows = [{"org": org, "work": work.get(org.pk)} for org in orgs]
    return render(request, "coordination/directory.html", {
        "form": form, "rows": rows, "since": since,
        "can_send": policy.can_send_request(user), "own_org_id": _own_org_id(user),
        "section": "directory",
    })


@login_required
def organisation_detail(request: HttpRequest, org_id: int) -> HttpResponse:
    user = request.user
    org = policy.visible_organisations(user).filter(pk=org_id).first()
    policy.require(org is not None)
    since = since_date()
    work = organisation_work(user, since, org_ids=[org.pk]).get(org.pk)
    involved = Activity.objects.filter(Q(lead_organisation=org) | Q(partners=org)).values("pk")
    recent = (policy.visible_activities(user).filter(pk__in=involved, starts_on__gte=since)
              .select_related("lead_organisation", "intervention")
              .prefetch_related("partners", "areas").order_by("-starts_on", "-pk")[:30])
    return render(request, "coordination/organisation.html", {
        "org": org, "work": work, "since": since, "recent": recent,
        "jurisdiction": org.jurisdiction.order_by("code"),
        "can_send": policy.can_send_request(user) and org.pk != _own_org_id(user),
        "section": "directory",
    })


# --- calendar --------------------------------------------------------------------------

def _month(value: str | None) -> tuple[int, int]:
    today = timezone.localdate()
    if value:
        try:
            year, month = (int(p) for p in value.split("-", 1))
            if 1900 <= year <= 2999 and 1 <= month <= 12:
                return year, month
        except ValueError:
            pass
    return today.year, today.month


def _shift(year: int, month: int, by: int) -> str:
    index = year * 12 + (month - 1) + by
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def _month_range(year: int, month: int) -> tuple[datetime.date, datetime.date]:
    """The first and the last day of the month."""
    return (datetime.date(year, month, 1),
            datetime.date(year, month, calendar.monthrange(year, month)[1]))


def _calendar_filters(request: HttpRequest) -> tuple[str | None, Organisation | None]:
    """The area and organisation filters; an unknown area or organisation is a 404."""
    user = request.user
    code = (request.GET.get("area") or "").strip() or None
    if code:
        policy.access_area_by_code(user, code)
    org = None
    org_param = request.GET.get("org")
    if org_param:
        org_id = _int_param(org_param)
        org = policy.visible_organisations(user).filter(pk=org_id).first() if org_id else None
        policy.require(org is not None)
    return code, org


@login_required
def calendar_view(request: HttpRequest) -> HttpResponse:
    user = request.user
    policy.require(policy.can_view_catalogue(user))
    year, month = _month(request.GET.get("month"))
    code, org = _calendar_filters(request)
    start, end = _month_range(year, month)
    acts = list(calendar_activities(user, start, end, area_code=code,
                                    org_id=org.pk if org else None)[:CALENDAR_LIMIT + 1])
    truncated = len(acts) > CALENDAR_LIMIT
    acts = acts[:CALENDAR_LIMIT]
    lead_blanks, days = month_days(year, month, acts, timezone.localdate())
    keep = {k: v for k, v in (("area", code), ("org", org.pk if org else None)) if v}
    query = "&".join(f"{k}={v}" for k, v in keep.items())
    return render(request, "coordination/calendar.html", {
        "days": days, "lead_blanks": range(lead_blanks), "weekdays": list(WEEKDAYS_ABBR.values()),
        "month_start": start, "month_label": formats.date_format(start, "YEAR_MONTH_FORMAT"),
        "month_value": f"{year:04d}-{month:02d}",
        "prev_month": _shift(year, month, -1), "next_month": _shift(year, month, 1),
        "query": query, "area_code": code or "", "org_filter": org,
        "organisations": policy.visible_organisations(user).order_by("name"),
        "count": len(acts), "truncated": truncated, "section": "calendar",
    })


@login_required
def calendar_ics(request: HttpRequest) -> HttpResponse:
    """The same activities as an iCalendar feed: the given month, or by default from a
    month ago to a year ahead."""
    user = request.user
    policy.require(policy.can_view_catalogue(user))
    code, org = _calendar_filters(request)
    if request.GET.get("month"):
        start, end = _month_range(*_month(request.GET.get("month")))
    else:
        today = timezone.localdate()
        start, end = today - datetime.timedelta(days=31), today + datetime.timedelta(days=366)
    acts = calendar_activities(user, start, end, area_code=code,
                               org_id=org.pk if org else None)[:CALENDAR_LIMIT]
    host = request.get_host().split(":")[0] or "cegah"

    def url_for(activity: Activity) -> str:
        return request.build_absolute_uri(actions.activity_link(activity))

    body = ical.build_calendar(
        acts, host=host, name=_("Cegah prevention calendar"), stamp=timezone.now(),
        url_for=url_for, labels={"organisations": _("Organisations"), "status": _("Status"),
                                 "intervention": _("Intervention")})
    response = HttpResponse(body.encode("utf-8"), content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="cegah-calendar.ics"'
    return response


# --- joint activities ------------------------------------------------------------------

@login_required
def joint(request: HttpRequest) -> HttpResponse:
    user = request.user
    policy.require(policy.can_view_catalogue(user))
    acts = (policy.visible_activities(user)
            .annotate(n_partners=Count("partners")).filter(n_partners__gt=0)
            .select_related("lead_organisation", "intervention")
            .prefetch_related("partners", "areas").order_by("-starts_on", "-pk"))
    page = Paginator(acts, 50).get_page(request.GET.get("page"))
    return render(request, "coordination/joint.html", {"page": page, "section": "joint"})


# --- requests --------------------------------------------------------------------------

@login_required
def request_list(request: HttpRequest) -> HttpResponse:
    user = request.user
    visible = (policy.visible_requests(user)
               .select_related("from_organisation", "to_organisation", "activity"))
    own = _own_org_id(user)
    if own is None:  # system admins see every request, in one list
        incoming, outgoing, everything = [], [], visible[:200]
    else:
        incoming = visible.filter(to_organisation_id=own)[:200]
        outgoing = visible.filter(from_organisation_id=own)[:200]
        everything = []
    return render(request, "coordination/requests.html", {
        "incoming": incoming, "outgoing": outgoing, "everything": everything,
        "can_send": policy.can_send_request(user), "section": "requests",
    })


@login_required
def request_new(request: HttpRequest) -> HttpResponse:
    user = request.user
    policy.require(policy.can_send_request(user))
    initial = {}
    to_id = _int_param(request.GET.get("to"))
    if to_id:
        initial["to_organisation"] = to_id
    activity_id = _int_param(request.GET.get("activity"))
    if activity_id:
        initial["activity"] = activity_id
    form = RequestForm(user, request.POST or None, initial=initial, activity_id=activity_id)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            req = actions.do_send_request(
                user, data["to_organisation"], data["title"], data["message"],
                area=data["area"], proposed_on=data["proposed_on"], activity=data["activity"],
                intervention=data["intervention"])
        except ValidationError as exc:
            form.add_error(None, "; ".join(exc.messages))
        else:
            messages.success(request, _("Your request was sent to %(org)s.")
                             % {"org": req.to_organisation})
            return redirect("coordination:request_detail", req.pk)
    return render(request, "coordination/request_new.html", {"form": form,
                                                              "section": "requests"})


@login_required
def request_detail(request: HttpRequest, request_id: int) -> HttpResponse:
    user = request.user
    req = policy.access_request_by_id(user, request_id)
    is_open = req.status == RequestStatus.OPEN
    return render(request, "coordination/request_detail.html", {
        "req": req, "answer_form": AnswerForm(),
        "can_answer": is_open and policy.can_answer_request(user, req),
        "can_withdraw": is_open and policy.can_withdraw_request(user, req),
        "activity_link": actions.activity_link(req.activity) if req.activity_id else "",
        "activity_visible": bool(req.activity_id) and policy.visible_activities(user)
        .filter(pk=req.activity_id).exists(),
        "section": "requests",
    })


@login_required
@require_POST
def request_answer(request: HttpRequest, request_id: int) -> HttpResponse:
    user = request.user
    req = policy.access_request_by_id(user, request_id)
    policy.require(policy.can_answer_request(user, req))
    form = AnswerForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose to accept or decline."))
        return redirect("coordination:request_detail", req.pk)
    accept = form.cleaned_data["decision"] == "accept"
    try:
        actions.do_answer_request(user, req, accept, form.cleaned_data["response"])
    except PermissionDenied:
        raise Http404 from None
    except ValidationError:
        messages.error(request, _("This request was already answered or withdrawn."))
    else:
        messages.success(request, _("You accepted the request.") if accept
                         else _("You declined the request."))
    return redirect("coordination:request_detail", req.pk)


@login_required
@require_POST
def request_withdraw(request: HttpRequest, request_id: int) -> HttpResponse:
    user = request.user
    req = policy.access_request_by_id(user, request_id)
    policy.require(policy.can_withdraw_request(user, req))
    try:
        actions.do_withdraw_request(user, req)
    except PermissionDenied:
        raise Http404 from None
    except ValidationError:
        messages.error(request, _("This request was already answered or withdrawn."))
    else:
        messages.success(request, _("You withdrew the request."))
    return redirect("coordination:request_detail", req.pk)


# --- notifications ---------------------------------------------------------------------

@login_required
def notification_list(request: HttpRequest) -> HttpResponse:
    notes = policy.visible_notifications(request.user)
    page = Paginator(notes, 50).get_page(request.GET.get("page"))
    return render(request, "coordination/notifications.html", {
        "page": page, "unread": notes.filter(read_at__isnull=True).exists(),
        "section": "notifications",
    })


@login_required
@require_POST
def notification_mark_all(request: HttpRequest) -> HttpResponse:
    count = actions.do_mark_read(request.user, "all")
    if count:
        messages.success(request, _("All notifications are marked read."))
    return redirect("coordination:notifications")


@login_required
def notification_open(request: HttpRequest, notification_id: int) -> HttpResponse:
    """Mark one notification read and follow its link (same-site paths only)."""
    note = policy.visible_notifications(request.user).filter(pk=notification_id).first()
    policy.require(note is not None)
    actions.do_mark_read(request.user, [note.pk])
    link = note.link
    if (link and link.startswith("/") and not link.startswith("//")
            and url_has_allowed_host_and_scheme(link, allowed_hosts={request.get_host()},
                                                require_https=request.is_secure())):
        return redirect(link)
    return redirect("coordination:notifications")

