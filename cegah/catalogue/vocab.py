"""The catalogue's controlled vocabularies in one place: what an entry's list fields may
hold (validation, forms, filters) and how each value reads in plain words.

Risk drivers use the risk engine's vocabulary (``cegah.riskmap.figures.AreaFigures
.driver_kinds``): ``factor:<name>`` for the contextual factors the risk engine is given
(the demo's factor names), the area-level kinds and ``category:<case category>``.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from cegah.accounts.models import OrganisationType
from cegah.catalogue.models import Audience, EvidenceStrength, PreventionLevel, Setting, Source

# The factor names of the demo data and the import template (cegah.demo.generator.FACTORS).
FACTORS = (
    "poverty_rate", "internet_penetration", "port", "bus_terminal", "airport",
    "tourism_site", "pesantren_count", "industrial_zone", "entertainment_venues",
    "school_count",
)
# Case categories (cegah.risk.windows.CATEGORIES; not imported: that module needs pandas).
CATEGORIES = ("sexual_abuse", "sexual_exploitation", "online_sexual_exploitation",
              "trafficking")
AREA_DRIVERS = ("hotspot", "trend", "underreporting", "parent_ratio", "reference_ratio")

DRIVERS = (*(f"factor:{f}" for f in FACTORS), *AREA_DRIVERS,
           *(f"category:{c}" for c in CATEGORIES))

DRIVER_LABELS = {
    "factor:poverty_rate": _("poverty"),
    "factor:internet_penetration": _("internet use"),
    "factor:port": _("ferry or sea port"),
    "factor:bus_terminal": _("bus terminal"),
    "factor:airport": _("airport"),
    "factor:tourism_site": _("tourism site"),
    "factor:pesantren_count": _("pesantren (boarding schools)"),
    "factor:industrial_zone": _("industrial zone"),
    "factor:entertainment_venues": _("entertainment venues"),
    "factor:school_count": _("schools"),
    "hotspot": _("hotspot (high-risk cluster)"),
    "trend": _("rising reports"),
    "underreporting": _("possible under-reporting"),
    "parent_ratio": _("high rate compared with the wider area"),
    "reference_ratio": _("high rate compared with the national reference"),
    "category:sexual_abuse": _("sexual abuse"),
    "category:sexual_exploitation": _("sexual exploitation"),
    "category:online_sexual_exploitation": _("online sexual exploitation"),
    "category:trafficking": _("trafficking"),
}

# Fields of an entry (the shipped JSON, `cegah catalogue load|export`), in file order.
TEXT_FIELDS = ("name_id", "name_en", "summary_id", "summary_en", "cultural_notes_id",
               "cultural_notes_en", "evidence_id", "evidence_en", "measures_id",
               "measures_en")
REQUIRED_TEXT = ("name_id", "name_en", "summary_id", "summary_en")
LIST_FIELDS = ("audiences", "settings", "drivers", "lead_types", "citations")
CHOICE_FIELDS = ("level", "evidence_strength", "source")
ENTRY_FIELDS = (
    "slug", "name_id", "name_en", "summary_id", "summary_en", "level", "audiences",
    "settings", "drivers", "lead_types", "cultural_notes_id", "cultural_notes_en",
    "evidence_id", "evidence_en", "evidence_strength", "citations", "measures_id",
    "measures_en", "source",
)
OPTIONAL_FIELDS = ("is_active",)  # written by export, read back by load


def vocabularies() -> dict[str, tuple[str, ...]]:
    """The allowed values of each choice and vocabulary-list field."""
    return {
        "level": tuple(PreventionLevel.values),
        "evidence_strength": tuple(EvidenceStrength.values),
        "source": tuple(Source.values),
        "audiences": tuple(Audience.values),
        "settings": tuple(Setting.values),
        "drivers": DRIVERS,
        "lead_types": tuple(OrganisationType.values),
    }


def choices(field: str) -> list[tuple[str, str]]:
    """``(value, label)`` pairs for a form or filter."""
    if field == "drivers":
        return [(d, DRIVER_LABELS[d]) for d in DRIVERS]
    enum = {"level": PreventionLevel, "evidence_strength": EvidenceStrength,
            "source": Source, "audiences": Audience, "settings": Setting,
            "lead_types": OrganisationType}[field]
    return list(enum.choices)


def label(field: str, value: str) -> str:
    """The plain-words label of one value (the value itself when unknown)."""
    return str(dict(choices(field)).get(value, value))
