"""Labels and colours of the risk map and the area pages' risk section, in the user's
language. Colours are colour-blind safe: Okabe–Ito for tiers and categories, a reversed
viridis ramp for the numeric layers."""

from __future__ import annotations

from django import template
from django.utils.formats import number_format
from django.utils.translation import gettext_lazy as _

from cegah.riskmap.models import Tier

register = template.Library()

TIER_ORDER = {"high": 0, "moderate": 1, "low": 2, "unknown": 3}
# Okabe–Ito vermillion, orange and sky blue; grey (with a hatch on the map) for unknown.
TIER_COLOURS = {"high": "#D55E00", "moderate": "#E69F00", "low": "#56B4E9",
                "unknown": "#8c8c8c"}
# Viridis, reversed: light yellow for the lowest class, dark purple for the highest.
RAMP = ("#fde725", "#5ec962", "#21918c", "#3b528b", "#440154")
NOT_AVAILABLE_COLOUR = "#d4d4d4"
# Okabe–Ito, one per category of reported case.
CATEGORY_COLOURS = {
    "sexual_abuse": "#0072B2",
    "sexual_exploitation": "#CC79A7",
    "online_sexual_exploitation": "#009E73",
    "trafficking": "#F0E442",
}

CONFIDENCE_LABELS = {"high": _("high"), "medium": _("medium"), "low": _("low")}
TREND_LABELS = {
    "new": _("new reports"),
    "intensifying": _("rising"),
    "diminishing": _("falling"),
    "persistent": _("steady"),
    "none": _("no reports"),
}
HOTSPOT_LABELS = {"hot": _("hotspot"), "cold": _("cold spot")}
LAYER_LABELS = {
    "tier": _("Risk tier"),
    "score": _("Score"),
    "smoothed_rate": _("Rate per 100,000 children (smoothed)"),
    "underreporting": _("Possible under-reporting"),
    "coverage": _("Prevention coverage (12 months)"),
}
# The coverage layer's classes (none, 1, 2-4, 5+ activities): ColorBrewer YlGnBu, a
# sequential scheme safe for colour-blind readers; pale yellow where nothing was done.
COVERAGE_COLOURS = ("#ffffcc", "#a1dab4", "#41b6c4", "#225ea8")


@register.filter
def tier_label(value):
    try:
        return Tier(value).label
    except ValueError:
        return value or "–"


@register.filter
def tier_rank(value):
    return TIER_ORDER.get(value, 4)


@register.filter
def confidence_label(value):
    return CONFIDENCE_LABELS.get(value, value or "–")


@register.filter
def trend_label(value):
    return TREND_LABELS.get(value, value or "")


@register.filter
def hotspot_label(value):
    return HOTSPOT_LABELS.get(value, "")


@register.filter
def layer_label(value):
    return LAYER_LABELS.get(value, value)


@register.filter
def plain_number(value):
    """A number for attributes and scripts: never localised ("1.5", not "1,5")."""
    if value is None or value == "":
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


@register.filter
def count_label(label):
    """A protected count's label ("1234", "<5", "x") with the language's grouping."""
    text = str(label or "")
    if text.isdigit():
        return number_format(int(text), force_grouping=True)
    return text or "–"
