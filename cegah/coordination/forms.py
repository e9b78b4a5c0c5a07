"""Forms of the coordination pages; choices are limited to what the actor may use."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cegah import policy
from cegah.accounts.models import OrganisationType
from cegah.activities.models import Activity, ActivityStatus
from cegah.areas.models import Area
from cegah.catalogue.models import Intervention
from cegah.coordination.actions import MESSAGE_MAX, TITLE_MAX

AREA_CODE = re.compile(r"^\d{2}(\.\d{2}(\.\d{2}(\.\d{4})?)?)?$")


class _ActivityChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj: Activity) -> str:
        return f"{obj.starts_on:%Y-%m-%d} · {obj.title}"


class _InterventionChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj: Intervention) -> str:
        return obj.name


class AreaCodeField(forms.CharField):
    """A Kemendagri area code (e.g. 31.74.01); empty allowed."""

    def clean(self, value: Any) -> Area | None:
        code = (super().clean(value) or "").strip()
        if not code:
            return None
        if not AREA_CODE.match(code):
            raise forms.ValidationError(
                _("Expected an area code such as 31.74 or 31.74.01, got “%(code)s”."),
                params={"code": code})
        area = Area.objects.filter(code=code).first()
        if area is None:
            raise forms.ValidationError(_("No area has the code “%(code)s”."),
                                        params={"code": code})
        return area


class RequestForm(forms.Form):
    to_organisation = forms.ModelChoiceField(label=_("To"), queryset=None)
    title = forms.CharField(label=_("What do you ask for?"), max_length=TITLE_MAX,
                            help_text=_("For example: “Speak about online safety at our "
                                        "school session”."))
    message = forms.CharField(label=_("Message"), required=False, max_length=MESSAGE_MAX,
                              widget=forms.Textarea(attrs={"rows": 5}))
    activity = _ActivityChoice(label=_("For our planned activity"), queryset=None,
                               required=False, empty_label=_("(none)"))
    proposed_on = forms.DateField(label=_("Proposed date"), required=False,
                                  widget=forms.DateInput(attrs={"type": "date"}))
    area = AreaCodeField(label=_("Area code"), required=False, max_length=20,
                         help_text=_("Optional, for example 31.74.01."))
    intervention = _InterventionChoice(label=_("Intervention"), queryset=None,
                                       required=False, empty_label=_("(none)"))

    def __init__(self, actor: Any, *args: Any, activity_id: int | None = None,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        own = getattr(actor, "organisation_id", None)
        self.fields["to_organisation"].queryset = (
            policy.visible_organisations(actor).exclude(pk=own).order_by("name"))
        # Planned activities the actor's organisation leads, from today on, and the one
        # the link names (any the organisation leads, also a past one).
        upcoming = Q(status=ActivityStatus.PLANNED, starts_on__gte=timezone.localdate())
        if activity_id:
            upcoming |= Q(pk=activity_id)
        self.fields["activity"].queryset = (
            Activity.objects.filter(upcoming, lead_organisation_id=own)
            .order_by("starts_on", "pk") if own else Activity.objects.none())
        self.fields["intervention"].queryset = Intervention.objects.filter(is_active=True)


class AnswerForm(forms.Form):
    decision = forms.ChoiceField(choices=[("accept", _("Accept")), ("decline", _("Decline"))])
    response = forms.CharField(label=_("Answer (optional)"), required=False,
                               max_length=MESSAGE_MAX,
                               widget=forms.Textarea(attrs={"rows": 3}))


class DirectoryFilter(forms.Form):
    type = forms.ChoiceField(label=_("Type"), required=False,
                             choices=[("", _("all types")), *OrganisationType.choices])
    area = AreaCodeField(label=_("Area code"), required=False, max_length=20)
    intervention = _InterventionChoice(label=_("Intervention"), required=False,
                                       queryset=Intervention.objects.filter(is_active=True),
                                       empty_label=_("all interventions"))
