"""Web pages of the activity registry: list, detail, full form, quick form, attachments.

Views parse input, ask :mod:`cegah.policy`, call an action and render. Whatever an actor
may not see or do answers 404, like something missing.
"""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from cegah import policy
from cegah.activities import actions
from cegah.activities.forms import (
    ActivityForm,
    AttachmentForm,
    CancelForm,
    QuickActivityForm,
    recordable_area,
)
from cegah.activities.models import (
    ATTACHMENT_MAX_BYTES,
    ATTACHMENT_TYPES,
    REACH_FIELDS,
    Activity,
    ActivityStatus,
    Law,
    Topic,
)
from cegah.activities.queries import filter_activities
from cegah.areas.models import Area, subtree_q

PAGE_SIZE = 50
QUICK_TOKENS = "cegah_quick_tokens"  # session key: form token -> activity saved with it
QUICK_TOKENS_KEPT = 20
AREA_HITS = 15



def _date_param(value: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if value else None
    except ValueError:
        return None


@login_required
def activity_list(request: HttpRequest) -> HttpResponse:
    """Activities the user may see, filtered by area (with its subtree), organisation
    (lead or partner), intervention, status and period."""
    from cegah.catalogue.models import Intervention

    user = request.user
    get = request.GET
    filters = {k: get.get(k, "").strip() for k in
               ("area", "organisation", "intervention", "status", "from", "to")}
    problems: list[str] = []
    area_code = None
    if filters["area"]:
        area = policy.visible_areas(user).filter(pk=filters["area"]).first()
        if area is None:
            problems.append(_("No area with code %(code)s.") % {"code": filters["area"]})
        else:
            area_code = area.code
    days: dict[str, dt.date | None] = {}
    for key in ("from", "to"):
        days[key] = _date_param(filters[key])
        if filters[key] and days[key] is None:
            problems.append(_("Expected a date as YYYY-MM-DD, got %(value)s.")
                            % {"value": filters[key]})
    activities = filter_activities(
        policy.visible_activities(user), area_code=area_code,
        organisation_id=int(filters["organisation"]) if filters["organisation"].isdigit()
        else None,
        intervention=filters["intervention"] or None,
        status=filters["status"] if filters["status"] in ActivityStatus.values else None,
        start=days["from"], end=days["to"])
    if filters["area"] and area_code is None:
        activities = activities.none()
    activities = (activities.select_related("intervention", "lead_organisation")
                  .prefetch_related("areas", "partners").order_by("-starts_on", "-pk"))
    page = Paginator(activities, PAGE_SIZE).get_page(get.get("page"))
    page.object_list = list(page.object_list)
    for activity in page.object_list:
        activity.audience_label = _audience_label(activity.audience)
    query = get.copy()
    query.pop("page", None)
    context = {
        "page": page, "filters": filters, "problems": problems, "query": query.urlencode(),
        "organisations": policy.visible_organisations(user).order_by("name"),
        "interventions": sorted(Intervention.objects.all(), key=lambda i: i.name.lower()),
        "statuses": ActivityStatus.choices,
        "can_record": policy.can_record_activities(user),
        "can_export_activities": policy.can_export_activities(user),
    }
    return render(request, "activities/activity_list.html", context)


def _reach_rows(activity: Activity) -> list[tuple[str, int]]:
    labels = {f.name: f.verbose_name for f in Activity._meta.fields}
    return [(labels[field], getattr(activity, field)) for field, _s, _a in REACH_FIELDS]


@login_required
def activity_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    activity = policy.access_activity_by_id(user, pk)
    details = policy.can_view_activity_details(user, activity)
    can_edit = policy.can_edit_activity(user, activity)
    topics, laws = dict(Topic.choices), dict(Law.choices)
    context = {
        "activity": activity, "details": details, "can_edit": can_edit,
        "partners": list(activity.partners.all()),
        "areas": list(activity.areas.all()),
        "reach": _reach_rows(activity),
        "topics": [topics.get(t, t) for t in activity.topics or []],
        "laws": [laws.get(law, law) for law in activity.laws or []],
        "audience": _audience_label(activity.audience),
        "can_cancel": can_edit and activity.status == ActivityStatus.PLANNED,
    }
    if details:
        context.update({
            "officers": list(activity.officers.all()),
            "attachments": list(activity.attachments.defer("content")),
            "attachment_form": AttachmentForm() if can_edit else None,
        })
    return render(request, "activities/activity_detail.html", context)


def _audience_label(code: str) -> str:
    from cegah.catalogue.models import Audience

    return dict(Audience.choices).get(code, code)


@login_required
def activity_new(request: HttpRequest) -> HttpResponse:
    user = request.user
    policy.require(policy.can_record_activities(user))
    area = recordable_area(user, request.GET.get("area"))  # opened from an area page
    form = ActivityForm(user, request.POST or None,
                        initial={"areas": area} if area else None)
    if request.method == "POST" and form.is_valid():
        try:
            activity = actions.do_record_activity(user, form.activity_data())
        except ValidationError as exc:  # changed between the check and the write
            form.add_error(None, exc)
        else:
            messages.success(request, _("The activity was recorded."))
            return redirect("activities:detail", activity.pk)
    return render(request, "activities/activity_form.html", {"form": form, "activity": None})


@login_required
def activity_edit(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    activity = policy.access_activity_by_id(user, pk)
    policy.require(policy.can_edit_activity(user, activity))
    form = ActivityForm(user, request.POST or None, instance=activity)
    if request.method == "POST" and form.is_valid():
        try:
            actions.do_update_activity(user, activity, form.activity_data())
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("The activity was saved."))
            return redirect("activities:detail", activity.pk)
    return render(request, "activities/activity_form.html",
                  {"form": form, "activity": activity})


@login_required
def quick(request: HttpRequest) -> HttpResponse:
    """The phone form: one activity in under a minute, for one's own organisation."""
    user = request.user
    policy.require(policy.can_record_activities(user) and user.organisation_id is not None)
    saved = None
    if request.method != "POST" and request.GET.get("saved", "").isdigit():
        saved = policy.visible_activities(user).filter(
            pk=int(request.GET["saved"]), created_by=user).select_related(
            "intervention").prefetch_related("areas").first()
        if saved is not None:
            return render(request, "activities/quick_form.html", {"saved": saved})
    form = QuickActivityForm(user, request.POST or None, area=request.GET.get("area"))
    token = request.POST.get("token", "")[:32]
    done = request.session.get(QUICK_TOKENS, {})
    if request.method == "POST" and token and token in done:
        return redirect(f"{reverse('activities:quick')}?saved={done[token]}")  # a double tap
    if request.method == "POST" and form.is_valid():
        try:
            activity = actions.do_record_activity(user, form.activity_data())
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            if token:
                done[token] = activity.pk
                request.session[QUICK_TOKENS] = dict(list(done.items())[-QUICK_TOKENS_KEPT:])
            return redirect(f"{reverse('activities:quick')}?saved={activity.pk}")
    return render(request, "activities/quick_form.html", {"form": form})


@login_required
def area_search(request: HttpRequest) -> HttpResponse:
    """Areas whose name or code matches, within the user's jurisdiction (htmx picker)."""
    user = request.user
    policy.require(policy.can_record_activities(user))
    q = request.GET.get("q", "").strip()
    hits: list[Area] = []
    if len(q) >= 2:
        areas = policy.visible_areas(user).filter(level__gte=3)
        codes = policy.jurisdiction_codes(user)
        if codes is not None:
            areas = areas.filter(subtree_q(codes))
        hits = list(areas.filter(Q(name__icontains=q) | Q(code__startswith=q))
                    .select_related("parent").order_by("level", "name")[:AREA_HITS])
    return render(request, "activities/_activity_area_hits.html", {"hits": hits, "q": q})


def _editable(request: HttpRequest, pk: int) -> Activity:
    activity = policy.access_activity_by_id(request.user, pk)
    policy.require(policy.can_edit_activity(request.user, activity))
    return activity


@login_required
def activity_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    activity = _editable(request, pk)
    form = CancelForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            actions.do_cancel_activity(request.user, activity, form.cleaned_data["reason"])
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _("The activity was cancelled."))
        return redirect("activities:detail", activity.pk)
    return render(request, "activities/activity_confirm.html",
                  {"activity": activity, "form": form, "what": "cancel"})


@login_required
def activity_delete(request: HttpRequest, pk: int) -> HttpResponse:
    activity = _editable(request, pk)
    if request.method == "POST":
        actions.do_delete_activity(request.user, activity)
        messages.success(request, _("The activity was deleted."))
        return redirect("activities:list")
    return render(request, "activities/activity_confirm.html",
                  {"activity": activity, "what": "delete"})


@login_required
@require_POST
def attachment_add(request: HttpRequest, pk: int) -> HttpResponse:
    activity = _editable(request, pk)
    form = AttachmentForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, " ".join(form.errors.get("file", [])))
        return redirect("activities:detail", activity.pk)
    upload = form.cleaned_data["file"]
    # One byte past the limit is enough for the action to refuse a file that is too big.
    content = upload.read(ATTACHMENT_MAX_BYTES + 1)
    try:
        actions.do_add_attachment(request.user, activity, upload.name, content)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    except PermissionDenied:
        raise Http404 from None
    else:
        messages.success(request, _("The file was added."))
    return redirect(reverse("activities:detail", args=[activity.pk]) + "#attachments")


def _attachment(request: HttpRequest, pk: int, attachment_id: int):
    activity = policy.access_activity_by_id(request.user, pk)
    policy.require(policy.can_view_activity_details(request.user, activity))
    attachment = activity.attachments.filter(pk=attachment_id).first()
    policy.require(attachment is not None)
    return activity, attachment


@login_required
def attachment_download(request: HttpRequest, pk: int, attachment_id: int) -> HttpResponse:
    """Always a download (never shown inline), only for the organisations taking part."""
    _activity, attachment = _attachment(request, pk, attachment_id)
    actions.do_note_attachment_download(request.user, attachment)
    # The type comes from the whitelist by the file's extension, never from what was
    # stored or uploaded; anything else is an opaque download.
    extension = attachment.filename.rpartition(".")[2].lower()
    content_type = ATTACHMENT_TYPES.get(extension, "application/octet-stream")
    response = HttpResponse(bytes(attachment.content), content_type=content_type)
    response["Content-Disposition"] = content_disposition_header(True, attachment.filename)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
@require_POST
def attachment_remove(request: HttpRequest, pk: int, attachment_id: int) -> HttpResponse:
    activity, attachment = _attachment(request, pk, attachment_id)
    policy.require(policy.can_edit_activity(request.user, activity))
    actions.do_remove_attachment(request.user, attachment)
    messages.success(request, _("The file was removed."))
    return redirect(reverse("activities:detail", args=[activity.pk]) + "#attachments")
