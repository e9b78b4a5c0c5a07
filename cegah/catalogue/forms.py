"""The admin's intervention form: both languages side by side, list fields as choices
from the vocabularies. It only parses; ``cegah.catalogue.actions`` validates and saves."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from cegah.catalogue import vocab
from cegah.catalogue.validation import RESERVED_SLUGS

# Pairs shown side by side: (Indonesian field, English field, label).
PAIRS = (
    ("name_id", "name_en", _("Name")),
    ("summary_id", "summary_en", _("Summary")),
    ("cultural_notes_id", "cultural_notes_en", _("Cultural notes")),
    ("evidence_id", "evidence_en", _("Evidence")),
    ("measures_id", "measures_en", _("How to measure it")),
)
CHOICE_LISTS = ("audiences", "settings", "drivers", "lead_types")
_LIST_LABELS = {"audiences": _("Audiences"), "settings": _("Settings"),
                "drivers": _("Risk drivers addressed"), "lead_types": _("Who usually leads")}


class InterventionForm(forms.Form):
    slug = forms.SlugField(label=_("Key (short name in URLs, cannot change later)"),
                           max_length=80)
    name_id = forms.CharField(label=_("Indonesian"), max_length=200)
    name_en = forms.CharField(label=_("English"), max_length=200)
    summary_id = forms.CharField(label=_("Indonesian"), widget=forms.Textarea(attrs={"rows": 4}))
    summary_en = forms.CharField(label=_("English"), widget=forms.Textarea(attrs={"rows": 4}))
    level = forms.ChoiceField(label=_("Prevention level"), choices=vocab.choices("level"))
    audiences = forms.MultipleChoiceField(label=_LIST_LABELS["audiences"], required=False,
                                          choices=vocab.choices("audiences"),
                                          widget=forms.CheckboxSelectMultiple)
    settings = forms.MultipleChoiceField(label=_LIST_LABELS["settings"], required=False,
                                         choices=vocab.choices("settings"),
                                         widget=forms.CheckboxSelectMultiple)
    drivers = forms.MultipleChoiceField(label=_LIST_LABELS["drivers"], required=False,
                                        choices=vocab.choices("drivers"),
                                        widget=forms.CheckboxSelectMultiple)
    lead_types = forms.MultipleChoiceField(label=_LIST_LABELS["lead_types"], required=False,
                                           choices=vocab.choices("lead_types"),
                                           widget=forms.CheckboxSelectMultiple)
    cultural_notes_id = forms.CharField(label=_("Indonesian"), required=False,
                                        widget=forms.Textarea(attrs={"rows": 4}))
    cultural_notes_en = forms.CharField(label=_("English"), required=False,
                                        widget=forms.Textarea(attrs={"rows": 4}))
    evidence_id = forms.CharField(label=_("Indonesian"), required=False,
                                  widget=forms.Textarea(attrs={"rows": 4}))
    evidence_en = forms.CharField(label=_("English"), required=False,
                                  widget=forms.Textarea(attrs={"rows": 4}))
    evidence_strength = forms.ChoiceField(label=_("Strength of evidence"),
                                          choices=vocab.choices("evidence_strength"))
    citations = forms.CharField(
        label=_("Citations (one per line: authors, year, title, where published)"),
        required=False, widget=forms.Textarea(attrs={"rows": 5}))
    measures_id = forms.CharField(label=_("Indonesian"), required=False,
                                  widget=forms.Textarea(attrs={"rows": 3}))
    measures_en = forms.CharField(label=_("English"), required=False,
                                  widget=forms.Textarea(attrs={"rows": 3}))
    source = forms.ChoiceField(label=_("Source"), choices=vocab.choices("source"))

    def __init__(self, *args: Any, creating: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.creating = creating
        if not creating:
            del self.fields["slug"]

    @classmethod
    def initial_from(cls, intervention) -> dict[str, Any]:
        from cegah.catalogue.actions import values_of

        values = values_of(intervention)
        values["citations"] = "\n".join(values["citations"])
        return values

    def clean_slug(self) -> str:
        slug = self.cleaned_data["slug"]
        if slug in RESERVED_SLUGS:
            raise forms.ValidationError(_("This key is reserved; choose another."))
        return slug

    def clean_citations(self) -> list[str]:
        text = self.cleaned_data.get("citations") or ""
        return [line.strip() for line in text.splitlines() if line.strip()]

    def entry(self) -> dict[str, Any]:
        """The cleaned data as catalogue entry fields."""
        return {k: v for k, v in self.cleaned_data.items() if k in self.fields}

    def pairs(self) -> list[tuple[Any, forms.BoundField, forms.BoundField]]:
        """(label, Indonesian bound field, English bound field) for the template."""
        return [(label, self[a], self[b]) for a, b, label in PAIRS]

    def choice_lists(self) -> list[forms.BoundField]:
        return [self[name] for name in CHOICE_LISTS]

    def add_action_errors(self, errors: list[str]) -> None:
        """Put "field: problem" messages from the actions next to their fields."""
        for message in errors:
            name, sep, problem = message.partition(": ")
            if sep and name in self.fields:
                self.add_error(name, problem)
            else:
                self.add_error(None, message)
