from django.contrib.auth.decorators import login_required
from django.db import connection
from django.db.models import Count, Max, Sum
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from cegah import policy
from cegah.areas.models import Area
from cegah.cases.models import CaseCount, ImportBatch, Population


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """One home page; each role sees the sections its capabilities allow."""
    user = request.user
    codes = policy.jurisdiction_codes(user)
    jurisdiction = (
        list(Area.objects.filter(code__in=codes)) if codes is not None else None
    )
    context: dict = {"jurisdiction": jurisdiction}
    if policy.has_capability(user, policy.Capability.VIEW_DATA):
        cases = policy.visible_data(user, CaseCount)
        latest = cases.aggregate(latest=Max("period"))["latest"]
        summary = None
        if latest:
            start = latest.replace(year=latest.year - 1)
            summary = {
                "latest": latest,
                "by_category": list(
                    cases.filter(period__gt=start, period__lte=latest)
                    .values("category").annotate(total=Sum("count")).order_by("category")
                ),
                "synthetic": cases.filter(is_synthetic=True).exists(),
            }
        pop = policy.visible_data(user, Population)
        pop_year = pop.aggregate(y=Max("year"))["y"]
        context["summary"] = summary
        context["population"] = (
            {"year": pop_year, "children": pop.filter(year=pop_year).aggregate(
                s=Sum("children"))["s"]}
            if pop_year else None
        )
    if policy.can_import(user):
        context["imports"] = policy.visible_imports(user).select_related("uploaded_by")[:5]
    if policy.has_capability(user, policy.Capability.MANAGE_ORGANISATION):
        context["members"] = (
            policy.visible_members(user).values("role").annotate(n=Count("id")).order_by("role")
        )
    if policy.can_use_admin(user):
        context["import_count"] = ImportBatch.objects.count()
    return render(request, "web/home.html", context)


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """For load balancers: the process is up and the database answers."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})
