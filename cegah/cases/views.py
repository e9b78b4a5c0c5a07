import io

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from cegah import policy
from cegah.cases import actions
from cegah.cases.forms import ExportForm, ImportForm
from cegah.cases.importing import SPECS
from cegah.cases.models import ImportStatus

_CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}



@login_required
def import_list(request: HttpRequest) -> HttpResponse:
    policy.require(policy.can_import(request.user))
    batches = policy.visible_imports(request.user).select_related("uploaded_by")[:200]
    return render(request, "cases/import_list.html", {"batches": batches})


@login_required
def import_new(request: HttpRequest) -> HttpResponse:
    policy.require(policy.can_import(request.user))
    form = ImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        batch = actions.do_preview_import(
            request.user, form.cleaned_data["kind"], upload.read(), upload.name)
        return redirect("cases:import-detail", batch.pk)
    specs = {kind: spec.expected_header for kind, spec in SPECS.items()}
    return render(request, "cases/import_new.html", {"form": form, "specs": specs})


@login_required
def import_detail(request: HttpRequest, pk: int) -> HttpResponse:
    batch = policy.access_import_by_id(request.user, pk)
    return render(request, "cases/import_detail.html", {
        "batch": batch, "is_preview": batch.status == ImportStatus.PREVIEW,
    })


@login_required
@require_POST
def import_confirm(request: HttpRequest, pk: int) -> HttpResponse:
    batch = policy.access_import_by_id(request.user, pk)
    if batch.status != ImportStatus.PREVIEW:
        messages.error(request, _("This import was already confirmed or discarded."))
        return redirect("cases:import-detail", pk)
    try:
        batch = actions.do_confirm_import(request.user, batch)
    except PermissionDenied:
        raise Http404 from None
    if batch.status == ImportStatus.APPLIED:
        messages.success(request, _("Imported: %(new)s new, %(upd)s replaced, %(same)s unchanged.")
                         % {"new": batch.rows_created, "upd": batch.rows_updated,
                            "same": batch.rows_unchanged})
    else:
        messages.error(request, _("The data changed since the preview and the file no longer "
                                  "passes the checks; nothing was imported."))
    return redirect("cases:import-detail", pk)


@login_required
@require_POST
def import_discard(request: HttpRequest, pk: int) -> HttpResponse:
    batch = policy.access_import_by_id(request.user, pk)
    if batch.status != ImportStatus.PREVIEW:
        # An applied import is not undone by "discard"; do not claim it was.
        messages.error(request, _("This import was already confirmed or discarded."))
        return redirect("cases:import-detail", pk)
    actions.do_discard_import(request.user, batch)
    messages.success(request, _("The upload was discarded; nothing was imported."))
    return redirect("cases:imports")


@login_required
def export(request: HttpRequest) -> HttpResponse:
    user = request.user
    policy.require(policy.can_export(user))
    form = ExportForm(request.GET or None)
    if request.GET and form.is_valid():
        kind, fmt = form.cleaned_data["kind"], form.cleaned_data["format"]
        area = form.cleaned_data["area"].strip() or None
        if area:
            policy.access_area_by_code(user, area)
            policy.require(policy.can_view_area_data(user, area))
        buffer = io.StringIO() if fmt == "csv" else io.BytesIO()
        actions.do_export(user, kind, buffer, fmt, area_code=area)
        body = buffer.getvalue()
        if fmt == "csv":
            body = "\ufeff" + body
        stamp = timezone.localdate().isoformat()
        name = f"cegah-{kind}{'-' + area if area else ''}-{stamp}.{fmt}"
        response = HttpResponse(body, content_type=_CONTENT_TYPES[fmt])
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response
    return render(request, "cases/export.html", {"form": form})
