"""Pages for venues (``/venues/``: list, export, import) and the activity import page.

Imports go in two steps without storing the upload: the file is checked (a dry run) and
the result shown; if it is valid the page carries the file back, signed for this user
and compressed, and "Import" applies it, checking it again against the data as they are
then. Views only parse input, ask :mod:`cegah.policy` and call the actions.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core import signing
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _

from cegah import policy
from cegah.activities.importing import ACTIVITY_COLUMNS, ImportResult, expected_header
from cegah.activities.models import VenueType
from cegah.activities.venues import (
    TYPE_ALIASES,
    VENUE_COLUMNS,
    do_export_venues,
    do_import_venues,
)
from cegah.areas.models import subtree_q
from cegah.lib.uploads import TableUploadForm

PAGE_SIZE = 100
UPLOAD_MAX_AGE = 3600  # seconds a checked file may wait for "Import"
_CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}



UploadForm = TableUploadForm


def _download(stem: str, area: str | None, fmt: str, write: Callable[[Any], int]
              ) -> HttpResponse:
    """A CSV (with a BOM, for Excel) or XLSX download of what ``write`` writes; the file
    is named after ``stem``, the area (a code the policy checked) and today's date."""
    buffer = io.StringIO() if fmt == "csv" else io.BytesIO()
    write(buffer)
    body = buffer.getvalue()
    if fmt == "csv":
        body = "\ufeff" + body
    name = f"{stem}{'-' + area if area else ''}-{timezone.localdate().isoformat()}.{fmt}"
    response = HttpResponse(body, content_type=_CONTENT_TYPES[fmt])
    response["Content-Disposition"] = content_disposition_header(True, name)
    response["X-Content-Type-Options"] = "nosniff"
    return response


# --- venues ----------------------------------------------------------------------------

@login_required
def venue_list(request: HttpRequest) -> HttpResponse:
    user = request.user
    qs = policy.visible_venues(user).select_related("area")
    area_code = request.GET.get("area", "").strip()
    area = None
    if area_code:
        try:
            area = policy.access_area_by_code(user, area_code)
        except Http404:
            messages.error(request, _("No area with code %(code)s.") % {"code": area_code[:20]})
        else:
            qs = qs.filter(subtree_q([area.code], field="area__code"))
    kind = request.GET.get("type", "")
    if kind in VenueType.values:
        qs = qs.filter(type=kind)
    else:
        kind = ""
    page = Paginator(qs.order_by("area_id", "type", "name"), PAGE_SIZE).get_page(
        request.GET.get("page"))
    query = {k: v for k, v in (("area", area.code if area else ""), ("type", kind)) if v}
    return render(request, "activities/venue_list.html", {
        "page": page, "area": area, "area_code": area_code, "kind": kind,
        "types": VenueType.choices, "query": query,
        "may_import": policy.can_import(user),
    })


@login_required
def venue_export(request: HttpRequest) -> HttpResponse:
    """The venues of the list's filter as CSV or XLSX (public reference data)."""
    user = request.user
    policy.require(policy.can_view_catalogue(user))
    fmt = request.GET.get("format", "csv")
    policy.require(fmt in _CONTENT_TYPES)
    area = request.GET.get("area", "").strip() or None
    if area:
        policy.access_area_by_code(user, area)
    return _download("cegah-venues", area, fmt, lambda out: do_export_venues(
        user, out, fmt, area_code=area))


# --- two-step imports ------------------------------------------------------------------

def _salt(kind: str, user: Any) -> str:
    # A checked file can be applied only by the user who checked it, for the same kind.
    return f"cegah.import.{kind}.{user.pk}"


def _two_step(
    request: HttpRequest, *, kind: str, run: Callable[..., ImportResult],
    context: dict[str, Any], done_url: str,
) -> HttpResponse:
    user = request.user
    result: ImportResult | None = None
    payload = ""
    form = UploadForm()
    if request.method == "POST" and request.POST.get("payload"):
        try:
            data = signing.loads(request.POST["payload"], salt=_salt(kind, user),
                                 max_age=UPLOAD_MAX_AGE)
        except signing.BadSignature:
            messages.error(request, _("The checked file has expired; upload it again."))
            return redirect(request.path)
        content = base64.b64decode(data["content"])
        try:
            result = run(user, content, data["name"], dry_run=False)
        except PermissionDenied:
            raise Http404 from None
        if result.applied:
            messages.success(request, _(
                "Imported %(file)s: %(new)s new, %(upd)s updated, %(same)s unchanged.")
                % {"file": result.filename, "new": result.created, "upd": result.updated,
                   "same": result.unchanged})
            return redirect(done_url)
        messages.error(request, _("The data changed since the check and the file no longer "
                                  "passes; nothing was imported."))
    elif request.method == "POST":
        form = UploadForm(request.POST, request.FILES)
        if form.is_valid():
            upload = form.cleaned_data["file"]
            content = upload.read()
            try:
                result = run(user, content, upload.name, dry_run=True)
            except PermissionDenied:
                raise Http404 from None
            if result.ok:
                payload = signing.dumps(
                    {"name": upload.name, "content": base64.b64encode(content).decode()},
                    salt=_salt(kind, user), compress=True)
    return render(request, "activities/import.html", {
        **context, "form": form, "result": result, "payload": payload,
    })


@login_required
def venue_import(request: HttpRequest) -> HttpResponse:
    policy.require(policy.can_import(request.user))
    aliases = ", ".join(sorted(TYPE_ALIASES))
    return _two_step(request, kind="venues", run=do_import_venues, done_url=reverse(
        "venues:list"), context={
        "title": _("Import venues"), "back_url": reverse("venues:list"),
        "back_label": _("Venues"), "columns": expected_header(VENUE_COLUMNS),
        "notes": [
            _("code: the area code (village, district, ...) within your organisation's "
              "jurisdiction."),
            _("type: one of %(types)s; Indonesian names are understood too (%(aliases)s).")
            % {"types": ", ".join(VenueType.values), "aliases": aliases},
            _("latitude and longitude: decimal degrees inside Indonesia, both or neither. "
              "A venue already recorded with the same area, type and name gets the new "
              "coordinates; it is never duplicated."),
        ],
    })


@login_required
def activity_import(request: HttpRequest) -> HttpResponse:
    """Bulk import of activities (wired as ``activities:import``)."""
    from cegah.activities.importing import do_import_activities

    policy.require(policy.can_record_activities(request.user))
    done_url = reverse("activities:list")
    return _two_step(request, kind="activities", run=do_import_activities, done_url=done_url,
                     context={
        "title": _("Import activities"), "back_url": done_url, "back_label": _("Activities"),
        "columns": expected_header(ACTIVITY_COLUMNS),
        "notes": [
            _("One row per activity. reference: your own identifier for the row; "
              "importing a row with a reference used before updates that activity, so "
              "re-running a file changes nothing."),
            _("intervention: the catalogue key; lead: your organisation if empty; "
              "partners, areas, topics, laws and officers: several separated by ';'; "
              "venue: a venue's name in the row's areas; date: YYYY-MM-DD; "
              "start_time: HH:MM; synthetic: yes or no."),
            _("Export your activities to get a file in exactly these columns."),
        ],
    })


@login_required
def activity_export(request: HttpRequest) -> HttpResponse:
    """The activities the user may see as CSV or XLSX, in the import's columns
    (``?format=csv|xlsx&area=CODE&from=YYYY-MM-DD&to=YYYY-MM-DD``; wired as
    ``activities:export``). Managers and up (``can_export_activities``)."""
    import datetime as dt

    from cegah.activities.exports import do_export_activities

    user = request.user
    policy.require(policy.can_export_activities(user))
    fmt = request.GET.get("format", "csv")
    policy.require(fmt in _CONTENT_TYPES)
    area = request.GET.get("area", "").strip() or None
    if area:
        policy.access_area_by_code(user, area)
    days = {}
    for key in ("from", "to"):
        value = request.GET.get(key, "").strip()
        try:
            days[key] = dt.date.fromisoformat(value) if value else None
        except ValueError:
            raise Http404 from None
    return _download("cegah-activities", area, fmt, lambda out: do_export_activities(
        user, out, fmt, area_code=area, start=days["from"], end=days["to"]))
