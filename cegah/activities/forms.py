"""Forms for recording activities: the full form and the phone quick form.

The fields are lenient (text and choices); the rules are in
:func:`cegah.activities.actions.clean_activity`, whose errors the forms attach to their
fields, so the web, the quick form and the importer refuse the same things.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from django import forms
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from cegah import policy
from cegah.activities.actions import REACH, ActivityCleaner, activity_to_data, clean_activity
from cegah.activities.models import Activity, ActivityStatus, Law, Topic
from cegah.areas.models import subtree_q

MAX_VENUE_CHOICES = 1000
QUICK_DURATIONS = (30, 60, 90, 120)
# Shown under every free-text field: Cegah holds no personal data about children.
NO_PERSONAL_DATA = _("No personal data: never write the names, addresses, birth dates or "
                     "ID numbers of children (or of anyone else).")
QUICK_REACH = ("girls_12_17", "boys_12_17", "girls_under_12", "boys_under_12",
               "women_18_plus", "men_18_plus")


def _number(**attrs) -> forms.TextInput:
    # type=number with inputmode: the phone shows digits; the server checks the values.
    return forms.NumberInput(attrs={"min": 0, "inputmode": "numeric", **attrs})


def _audience_choices() -> list[tuple[str, str]]:
    from cegah.catalogue.models import Audience

    return [("", _("— choose —")), *Audience.choices]


def _intervention_choices(current=None, organisation=None) -> list[tuple[str, str]]:
    """Active catalogue entries; the organisation's most used first."""
    from cegah.catalogue.models import Intervention

    entries = Intervention.objects.filter(Q(is_active=True) | Q(pk=getattr(current, "pk", None)))
    if organisation is not None:
        entries = entries.annotate(n=Count("activities", filter=Q(
            activities__lead_organisation=organisation)))
        ranked = sorted(entries, key=lambda i: (-i.n, i.name.lower()))
    else:
        ranked = sorted(entries, key=lambda i: i.name.lower())
    return [("", _("— choose —"))] + [(i.slug, i.name) for i in ranked]


def _map_errors(form: forms.Form, errors: dict[str, list[str]], aliases: dict[str, str]
                ) -> None:
    """Attach the validator's errors to the form's fields (or the top of the form, naming
    the field, when the form has no such field)."""
    for key, messages in errors.items():
        field = aliases.get(key, key)
        for message in messages:
            if field in form.fields:
                form.add_error(field, message)
            elif key == "__all__":
                form.add_error(None, message)
            else:
                label = Activity._meta.get_field(key).verbose_name if key in {
                    f.name for f in Activity._meta.get_fields()} else key
                form.add_error(None, f"{label}: {message}")


class ActivityForm(forms.Form):
    """Every field of an activity (new or edit)."""

    title = forms.CharField(label=_("Title"), required=False, max_length=200,
                            help_text=_("Left empty: the intervention and the first area."))
    intervention = forms.ChoiceField(label=_("Intervention"), required=False)
    lead_organisation = forms.ChoiceField(label=_("Lead organisation"), required=False)
    partners = forms.MultipleChoiceField(
        label=_("Partner organisations (a joint activity)"), required=False,
        widget=forms.CheckboxSelectMultiple)
    areas = forms.CharField(
        label=_("Areas (codes)"), required=False,
        help_text=_("Village or district codes separated by commas, e.g. 31.74.01.1001"),
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}))
    venue = forms.ChoiceField(label=_("Venue"), required=False)
    status = forms.ChoiceField(label=_("Status"), choices=ActivityStatus.choices)
    starts_on = forms.CharField(label=_("Date"), widget=forms.DateInput(attrs={"type": "date"}),
                                required=False)
    start_time = forms.CharField(label=_("Start time"), required=False,
                                 widget=forms.TimeInput(attrs={"type": "time"}))
    duration_minutes = forms.CharField(label=_("Duration (minutes)"), required=False,
                                       widget=_number(step=5))
    audience = forms.ChoiceField(label=_("Audience"), required=False)
    girls_under_12 = forms.CharField(label=_("Girls under 12"), required=False, widget=_number())
    boys_under_12 = forms.CharField(label=_("Boys under 12"), required=False, widget=_number())
    girls_12_17 = forms.CharField(label=_("Girls 12-17"), required=False, widget=_number())
    boys_12_17 = forms.CharField(label=_("Boys 12-17"), required=False, widget=_number())
    women_18_plus = forms.CharField(label=_("Women 18+"), required=False, widget=_number())
    men_18_plus = forms.CharField(label=_("Men 18+"), required=False, widget=_number())
    reached_unknown = forms.CharField(label=_("Sex or age not recorded"), required=False,
                                      widget=_number())
    topics = forms.MultipleChoiceField(label=_("Topics covered"), required=False,
                                       choices=Topic.choices,
                                       widget=forms.CheckboxSelectMultiple)
    laws = forms.MultipleChoiceField(label=_("Laws explained"), required=False,
                                     choices=Law.choices, widget=forms.CheckboxSelectMultiple)
    officers = forms.MultipleChoiceField(label=_("Officers"), required=False,
                                         widget=forms.CheckboxSelectMultiple)
    officer_count = forms.CharField(label=_("Officers involved"), required=False,
                                    widget=_number(),
                                    help_text=_("Empty: the number of officers named."))
    officer_hours = forms.CharField(label=_("Officer-hours"), required=False,
                                    widget=_number(step="0.5", inputmode="decimal"),
                                    help_text=_("Empty: officers × duration."))
    cost = forms.CharField(label=_("Cost (IDR)"), required=False, widget=_number())
    materials = forms.CharField(label=_("Materials"), required=False,
                                widget=forms.Textarea(attrs={"rows": 2}),
                                help_text=NO_PERSONAL_DATA)
    notes = forms.CharField(label=_("Notes"), required=False,
                            widget=forms.Textarea(attrs={"rows": 3}),
                            help_text=NO_PERSONAL_DATA)
    external_id = forms.CharField(label=_("Your reference"), required=False, max_length=100)

    reach_fields = REACH

    def __init__(self, actor: Any, *args, instance: Activity | None = None, **kwargs):

        self.actor, self.instance = actor, instance
        bound = bool(args) and args[0] is not None
        if instance is not None and not bound and "initial" not in kwargs:
            kwargs["initial"] = self.initial_for(instance)
        super().__init__(*args, **kwargs)
        own = getattr(actor, "organisation", None) if getattr(actor, "pk", None) else None
        lead = instance.lead_organisation if instance is not None else own
        self.lead = lead
        self.fields["intervention"].choices = _intervention_choices(
            instance.intervention if instance else None, lead)
        self.fields["audience"].choices = _audience_choices()
        orgs = list(policy.visible_organisations(actor).order_by("name"))
        if instance is None and own is None:
            self.fields["lead_organisation"].choices = [("", _("— choose —"))] + [
                (str(o.pk), o.name) for o in orgs]
        else:
            del self.fields["lead_organisation"]
        if instance is not None:
            extra = instance.partners.exclude(pk__in=[o.pk for o in orgs])
            orgs += list(extra)  # an inactive partner stays visible
        self.fields["partners"].choices = [(str(o.pk), o.name) for o in orgs
                                           if lead is None or o.pk != lead.pk]
        if lead is not None:
            members = lead.members.filter(is_active=True).order_by("first_name", "username")
            self.fields["officers"].choices = [
                (str(u.pk), u.get_full_name() or u.username) for u in members]
        else:
            del self.fields["officers"]
        if instance is None:
            self.fields["status"].choices = [c for c in ActivityStatus.choices
                                             if c[0] != ActivityStatus.CANCELLED]
            self.fields["status"].initial = ActivityStatus.DONE
            self.fields["starts_on"].initial = timezone.localdate().isoformat()
            self.fields["duration_minutes"].initial = 60
        self._venue_choices(instance)
        self._outcome_fields(instance)

    def _venue_choices(self, instance: Activity | None) -> None:
        venues = policy.visible_venues(self.actor).select_related("area")
        codes = policy.jurisdiction_codes(self.actor)
        if codes is not None:
            venues = venues.filter(subtree_q(codes, field="area__code"))
        venues = list(venues.order_by("area__name", "name")[: MAX_VENUE_CHOICES + 1])
        if instance is not None and instance.venue_id and instance.venue not in venues:
            venues.append(instance.venue)
        if len(venues) > MAX_VENUE_CHOICES:  # too many for a list: the venue's number
            self.fields["venue"] = forms.CharField(
                label=_("Venue number"), required=False, widget=_number(),
                help_text=_("The number shown on the venue's page."))
            return
        self.fields["venue"].choices = [("", _("— none —"))] + [
            (str(v.pk), f"{v.name} ({v.get_type_display()}, {v.area.name})") for v in venues]

    def _outcome_fields(self, instance: Activity | None) -> None:
        existing = list((instance.outcomes or {}).items()) if instance else []
        posted = sum(1 for k in (self.data or {}) if k.startswith("outcome_name_"))
        rows = min(max(len(existing) + 2, posted, 3), 20)
        self.outcome_rows = []
        for i in range(rows):
            name_key, value_key = f"outcome_name_{i}", f"outcome_value_{i}"
            self.fields[name_key] = forms.CharField(
                label=_("Measure"), required=False, max_length=100)
            self.fields[value_key] = forms.CharField(
                label=_("Value"), required=False, max_length=200)
            if i < len(existing) and not self.is_bound:
                self.initial[name_key], self.initial[value_key] = existing[i]
            self.outcome_rows.append((self[name_key], self[value_key]))

    @staticmethod
    def initial_for(instance: Activity) -> dict[str, Any]:
        data = activity_to_data(instance)
        data["areas"] = ", ".join(data["areas"])
        for key in ("partners", "officers"):
            data[key] = [str(v) for v in data[key]]
        data["venue"] = "" if data["venue"] is None else str(data["venue"])
        return data

    def activity_data(self) -> dict[str, Any]:
        """The form's values in the validator's vocabulary."""
        cd = self.cleaned_data
        data = {k: cd.get(k) for k in (
            "title", "intervention", "partners", "areas", "venue", "status", "starts_on",
            "start_time", "duration_minutes", "audience", *REACH, "topics", "laws",
            "officer_count", "officer_hours", "cost", "materials", "notes", "external_id")}
        if "lead_organisation" in self.fields:
            data["lead_organisation"] = cd.get("lead_organisation")
        if "officers" in self.fields:
            data["officers"] = cd.get("officers")
        elif self.instance is not None:
            data["officers"] = list(self.instance.officers.values_list("pk", flat=True))
        data["outcomes"] = [(cd.get(f"outcome_name_{i}"), cd.get(f"outcome_value_{i}"))
                            for i in range(len(self.outcome_rows))]
        if self.instance is not None:
            data["is_synthetic"] = self.instance.is_synthetic
        return data

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if not self.errors:
            _cleaned, errors = clean_activity(self.actor, self.activity_data(),
                                              instance=self.instance)
            _map_errors(self, errors, {"outcomes": "outcome_name_0"})
        return cleaned

    def reach_rows(self) -> list[forms.BoundField]:
        return [self[f] for f in self.reach_fields]


class QuickActivityForm(forms.Form):
    """The phone form of a community police officer: one screen, under a minute."""

    intervention = forms.ChoiceField(
        label=pgettext_lazy("quick form: the intervention done", "What"), required=False)
    area = forms.ChoiceField(label=_("Where"), required=False)
    area_code = forms.CharField(
        label=_("Area code"), required=False, max_length=20,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false",
                                      "inputmode": "decimal",
                                      "placeholder": _("or a code: 31.74.01.1001")}))
    starts_on = forms.CharField(label=_("Date"), required=False,
                                widget=forms.DateInput(attrs={"type": "date"}))
    duration_minutes = forms.ChoiceField(
        label=_("Duration"), choices=[(str(m), _("%(n)s min") % {"n": m})
                                      for m in QUICK_DURATIONS],
        initial="60", widget=forms.RadioSelect)
    audience = forms.ChoiceField(label=_("Audience"), required=False)
    girls_12_17 = forms.CharField(label=_("Girls 12-17"), required=False, widget=_number())
    boys_12_17 = forms.CharField(label=_("Boys 12-17"), required=False, widget=_number())
    girls_under_12 = forms.CharField(label=_("Girls under 12"), required=False,
                                     widget=_number())
    boys_under_12 = forms.CharField(label=_("Boys under 12"), required=False, widget=_number())
    women_18_plus = forms.CharField(label=_("Women"), required=False, widget=_number())
    men_18_plus = forms.CharField(label=_("Men"), required=False, widget=_number())
    notes = forms.CharField(label=_("Note (optional)"), required=False, max_length=5000,
                            widget=forms.Textarea(attrs={"rows": 1}),
                            help_text=NO_PERSONAL_DATA)
    # One token per form shown: a second tap on Save (slow network) saves nothing twice.
    token = forms.CharField(required=False, max_length=32, widget=forms.HiddenInput)

    def __init__(self, actor: Any, *args, area: str | None = None, **kwargs):
        """``area``: the code of the area the form was opened for (the area page's
        "Record an activity"); it is filled in if the actor may record there."""
        super().__init__(*args, **kwargs)
        self.actor = actor
        organisation = getattr(actor, "organisation", None)
        self.fields["intervention"].choices = _intervention_choices(organisation=organisation)
        self.fields["audience"].choices = _audience_choices()
        # Only areas the officer may still record in (an officer may have moved unit).
        recent = [(code, name) for code, name in recent_areas(actor)
                  if policy.can_record_activity_in(actor, code)]
        self.has_recent_areas = bool(recent)
        self.fields["area"].choices = [("", _("— another area: type its code —"))] + [
            (code, f"{name} ({code})") for code, name in recent]
        if not self.is_bound:
            self.fields["token"].initial = uuid.uuid4().hex
            self.fields["starts_on"].initial = timezone.localdate().isoformat()
            opened_for = recordable_area(actor, area)
            if opened_for is not None and opened_for in dict(recent):
                self.fields["area"].initial = opened_for
            elif opened_for is not None:
                # Typed in as a code: the list holds only areas recorded before.
                self.fields["area"].initial = ""
                self.fields["area_code"].initial = opened_for
            elif recent:
                self.fields["area"].initial = recent[0][0]
            last = (Activity.objects.filter(created_by=actor).order_by("-created_at", "-pk")
                    .values_list("audience", flat=True).first()) if actor.pk else None
            if last:
                self.fields["audience"].initial = last

    def area_field(self) -> str:
        return "area_code" if (self.data.get("area_code") or "").strip() or not \
            self.has_recent_areas else "area"

    def activity_data(self) -> dict[str, Any]:
        cd = self.cleaned_data
        code = (cd.get("area_code") or "").strip() or cd.get("area") or ""
        minutes = int(cd.get("duration_minutes") or 60)
        data = {k: cd.get(k) for k in ("intervention", "starts_on", "audience", "notes",
                                       *QUICK_REACH)}
        data.update({
            "areas": [code] if code else [], "duration_minutes": minutes,
            "status": ActivityStatus.DONE, "officers": [self.actor.pk], "officer_count": 1,
            "officer_hours": (Decimal(minutes) / 60).quantize(Decimal("0.1")),
        })
        return data

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if not self.errors:
            _cleaned, errors = clean_activity(self.actor, self.activity_data(),
                                              cleaner=ActivityCleaner(self.actor))
            _map_errors(self, errors, {"areas": self.area_field()})
        return cleaned

    def bands(self) -> list[str]:
        return [gettext("12-17"), gettext("under 12"), gettext("18+")]

    def reach_grid(self) -> list[tuple[str, list[forms.BoundField]]]:
        """(label, [12-17, under 12, 18+ fields]) rows of the reach grid."""
        return [(gettext("Girls / women"),
                 [self["girls_12_17"], self["girls_under_12"], self["women_18_plus"]]),
                (gettext("Boys / men"),
                 [self["boys_12_17"], self["boys_under_12"], self["men_18_plus"]])]


def recordable_area(actor: Any, code: str | None) -> str | None:
    """``code`` if it names an area where the actor may record activities, else None."""
    from cegah.areas.models import Area

    code = (code or "").strip()[:40]
    if not code or not policy.can_record_activity_in(actor, code):
        return None
    return code if Area.objects.filter(pk=code).exists() else None


def recent_areas(actor: Any, limit: int = 12) -> list[tuple[str, str]]:
    """The areas of the actor's own recent activities, newest first: (code, name)."""
    if not getattr(actor, "pk", None):
        return []
    seen: dict[str, str] = {}
    rows = (Activity.objects.filter(created_by=actor).order_by("-created_at", "-pk")
            .values_list("areas__code", "areas__name")[:200])
    for code, name in rows:
        if code and code not in seen:
            seen[code] = name
            if len(seen) >= limit:
                break
    return list(seen.items())


class AttachmentForm(forms.Form):
    file = forms.FileField(
        label=_("Add a file (PDF, JPG, PNG, DOCX, XLSX or PPTX, at most 10 MB)"),
        help_text=_("No personal data: no attendance lists with names, and no photos in "
                    "which a child can be recognised. Black out names before you scan."))


class CancelForm(forms.Form):
    reason = forms.CharField(label=_("Reason (optional)"), required=False, max_length=500)

