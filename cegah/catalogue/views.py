"""The intervention catalogue pages: a filterable list, one page per intervention, and
for system admins the edit and create forms and (de)activation."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from cegah import policy
from cegah.catalogue import actions, vocab
from cegah.catalogue.forms import InterventionForm
from cegah.catalogue.models import Intervention
from cegah.catalogue.shipped import CatalogueError

# GET parameter -> (entry field, vocabulary); list fields match when they hold the value.
FILTERS = {"level": "level", "audience": "audiences", "setting": "settings",
           "driver": "drivers", "source": "source"}



def usage_counts(actor: Any, today: dt.date | None = None) -> dict[int, int]:
    """Activities the actor may see that used each intervention in the last 12 months
    (not cancelled), by intervention id."""
    from cegah.activities.models import ActivityStatus

    today = today or timezone.localdate()
    rows = (policy.visible_activities(actor)
            .filter(intervention__isnull=False, starts_on__gt=today - dt.timedelta(days=365),
                    starts_on__lte=today)
            .exclude(status=ActivityStatus.CANCELLED)
            .values("intervention_id").annotate(n=Count("pk", distinct=True)))
    return {row["intervention_id"]: row["n"] for row in rows}


def _access(actor: Any, slug: str) -> Intervention:
    policy.require(policy.can_view_catalogue(actor))
    # Interventions out of use stay readable: activities recorded with them link here.
    intervention = Intervention.objects.filter(slug=slug).first()
    if intervention is None:
        raise Http404("No such intervention.")
    return intervention


@login_required
def catalogue_list(request: HttpRequest) -> HttpResponse:
    user = request.user
    policy.require(policy.can_view_catalogue(user))
    can_edit = policy.can_edit_catalogue(user)
    chosen = {param: request.GET.get(param, "").strip() for param in FILTERS}
    items = list(Intervention.objects.all() if can_edit
                 else Intervention.objects.filter(is_active=True))
    for param, field in FILTERS.items():
        value = chosen[param]
        if not value:
            continue
        if field in vocab.LIST_FIELDS:
            items = [i for i in items if value in getattr(i, field)]
        else:
            items = [i for i in items if getattr(i, field) == value]
    items.sort(key=lambda i: (i.level, i.name.casefold()))
    counts = usage_counts(user)
    for i in items:
        i.used_count = counts.get(i.pk, 0)
    filters = [
        ("level", _("Prevention level"), vocab.choices("level")),
        ("audience", _("Audience"), vocab.choices("audiences")),
        ("setting", _("Setting"), vocab.choices("settings")),
        ("driver", _("Addresses the driver"), vocab.choices("drivers")),
        ("source", _("Source"), vocab.choices("source")),
    ]
    return render(request, "catalogue/list.html", {
        "items": items, "filters": filters, "chosen": chosen, "can_edit": can_edit,
        "filtered": any(chosen.values()),
    })


@login_required
def catalogue_detail(request: HttpRequest, slug: str) -> HttpResponse:
    user = request.user
    intervention = _access(user, slug)
    return render(request, "catalogue/detail.html", {
        "i": intervention, "used_count": usage_counts(user).get(intervention.pk, 0),
        "can_edit": policy.can_edit_catalogue(user),
    })


def _save(request: HttpRequest, intervention: Intervention | None) -> HttpResponse:
    creating = intervention is None
    initial = None if creating else InterventionForm.initial_from(intervention)
    form = InterventionForm(request.POST or None, initial=initial, creating=creating)
    if request.method == "POST" and form.is_valid():
        try:
            saved = actions.do_save_intervention(request.user, intervention, form.entry())
        except CatalogueError as exc:
            form.add_action_errors(exc.errors)
        else:
            messages.success(request, _("Saved.") if not creating else _("Intervention added."))
            return redirect("catalogue:detail", saved.slug)
    return render(request, "catalogue/form.html", {"form": form, "i": intervention,
                                                   "creating": creating})


@login_required
def catalogue_edit(request: HttpRequest, slug: str) -> HttpResponse:
    policy.require(policy.can_edit_catalogue(request.user))
    return _save(request, _access(request.user, slug))


@login_required
def catalogue_new(request: HttpRequest) -> HttpResponse:
    policy.require(policy.can_edit_catalogue(request.user))
    return _save(request, None)


def _set_active(request: HttpRequest, slug: str, active: bool) -> HttpResponse:
    policy.require(policy.can_edit_catalogue(request.user))
    intervention = _access(request.user, slug)
    actions.do_set_intervention_active(request.user, intervention, active)
    messages.success(request, _("Back in use: it shows in the catalogue and recommendations.")
                     if active else
                     _("No longer in use: hidden from the catalogue and recommendations; "
                       "activities that used it keep it."))
    return redirect("catalogue:detail", slug)


@login_required
@require_POST
def catalogue_deactivate(request: HttpRequest, slug: str) -> HttpResponse:
    return _set_active(request, slug, False)


@login_required
@require_POST
def catalogue_reactivate(request: HttpRequest, slug: str) -> HttpResponse:
    return _set_active(request, slug, True)
