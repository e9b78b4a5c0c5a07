from django import forms
from django.contrib.auth.decorators import login_required
from django.db.models import Count, Max, Q, Sum
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _

from cegah import policy
from cegah.areas.models import Level, subtree_q
from cegah.cases.models import CaseCount, FactorValue, Population
from cegah.lib.uploads import check_upload_size

SEARCH_LIMIT = 50


@login_required
def browse(request: HttpRequest) -> HttpResponse:
    """Provinces, or areas matching a name or code search (htmx swaps the results)."""
    q = request.GET.get("q", "").strip()
    areas = policy.visible_areas(request.user)
    if q:
        results = areas.filter(Q(name__icontains=q) | Q(code__startswith=q)).order_by(
            "level", "code")[: SEARCH_LIMIT + 1]
    else:
        results = areas.filter(level=Level.PROVINCE).order_by("code")
    results = list(results.annotate(n_children=Count("children")))
    context = {"q": q, "results": results[:SEARCH_LIMIT], "more": len(results) > SEARCH_LIMIT}
    if request.headers.get("HX-Request"):
        return render(request, "areas/_results.html", context)
    return render(request, "areas/browse.html", context)


@login_required
def detail(request: HttpRequest, code: str) -> HttpResponse:
    user = request.user
    area = policy.access_area_by_code(user, code)
    children = list(area.children.annotate(n_children=Count("children")).order_by("code"))
    context = {"area": area, "ancestors": area.ancestors(), "children": children,
               "entitled": policy.can_view_area_data(user, area)}
    if context["entitled"]:
        context.update(_area_data(user, area, children))
    from cegah.riskmap.views import area_risk_context

    context["risk"] = area_risk_context(user, area)
    return render(request, "areas/detail.html", context)


def _subtree(qs, code: str):
    return qs.filter(subtree_q([code], field="area__code"))


def _area_data(user, area, children) -> dict:
    """Case counts (last 12 months), child population and factors of an area's subtree."""
    cases = _subtree(policy.visible_data(user, CaseCount), area.code)
    latest = cases.aggregate(m=Max("period"))["m"]
    data: dict = {"latest": latest, "by_category": [], "child_totals": {}}
    if latest:
        start = latest.replace(year=latest.year - 1)
        window = cases.filter(period__gt=start, period__lte=latest)
        data["by_category"] = list(
            window.values("category").annotate(total=Sum("count")).order_by("category"))
        data["synthetic"] = window.filter(is_synthetic=True).exists()
        # Per child area totals, from one grouped query over the window.
        depth = len(area.code) + 1
        totals: dict[str, int] = {}
        for child in children:
            totals[child.code] = 0
        for code, total in window.values_list("area_id").annotate(t=Sum("count")).values_list(
                "area_id", "t"):
            prefix = code[: code.find(".", depth) if code.find(".", depth) > 0 else len(code)]
            if prefix in totals:
                totals[prefix] += total
        data["child_totals"] = totals
    pop = _subtree(policy.visible_data(user, Population), area.code)
    year = pop.aggregate(y=Max("year"))["y"]
    data["population"] = (
        {"year": year, "children": pop.filter(year=year).aggregate(s=Sum("children"))["s"],
         "synthetic": pop.filter(year=year, is_synthetic=True).exists()}
        if year else None
    )
    data["factors"] = list(
        policy.visible_data(user, FactorValue).filter(area=area).order_by("factor", "-year")
    )
    return data


class BoundaryUploadForm(forms.Form):
    file = forms.FileField(label=_("Boundary file (GeoJSON, GeoPackage or zipped Shapefile)"))
    dissolve = forms.BooleanField(
        label=_("Fill in parents without a boundary from their children"), required=False,
        initial=True)
    dry_run = forms.BooleanField(label=_("Only check the file; change nothing"),
                                 required=False)

    def clean_file(self):
        from cegah.areas.boundaries import UPLOAD_SUFFIXES

        f = self.cleaned_data["file"]
        if not f.name.lower().endswith(UPLOAD_SUFFIXES):
            raise forms.ValidationError(
                _("Expected a .geojson, .json, .gpkg or .zip file (a Shapefile zipped with "
                  "its .shx, .dbf and .prj files)."))
        check_upload_size(f)
        return f


@login_required
def boundaries_import(request: HttpRequest) -> HttpResponse:
    """Upload area boundaries (system admins): checked per feature, then imported."""
    from cegah.areas.actions import do_import_boundaries
    from cegah.areas.boundaries import SIMPLIFY_TOLERANCE, check_boundaries, describe_counts

    if not policy.can_import_boundaries(request.user):
        raise Http404
    form = BoundaryUploadForm(request.POST or None, request.FILES or None)
    context: dict = {"form": form, "tolerances": [
        (Level(level).label, tolerance) for level, tolerance in SIMPLIFY_TOLERANCE.items()]}
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        plan = check_boundaries(upload.read(), upload.name,
                                dissolve=form.cleaned_data["dissolve"])
        imported = plan.ok and not form.cleaned_data["dry_run"]
        if imported:
            do_import_boundaries(request.user, plan)
        counts = [(Level.from_name(key).label, c) for key, c in describe_counts(plan)]
        context.update(plan=plan, imported=imported, counts=counts,
                       more_problems=plan.problem_count - len(plan.problems[:200]),
                       problems=plan.problems[:200])
    return render(request, "areas/boundaries.html", context)
