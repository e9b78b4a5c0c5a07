"""Template filters for numbers and labels in the user's language."""

from django import template
from django.utils.formats import number_format

from cegah.accounts.models import Role
from cegah.cases.models import Category

register = template.Library()


@register.filter
def thousands(value):
    """12345 -> "12.345" in Indonesian, "12,345" in English."""
    if value is None or value == "":
        return "–"
    return number_format(value, force_grouping=True)


@register.filter
def category_label(value):
    try:
        return Category(value).label
    except ValueError:
        return value


@register.filter
def role_label(value):
    try:
        return Role(value).label
    except ValueError:
        return value


@register.filter
def get_item(mapping, key):
    return mapping.get(key) if mapping else None


@register.filter
def audit_action(value):
    from cegah.audit.models import ACTION_LABELS

    return ACTION_LABELS.get(value, value)


@register.filter
def audit_object(value):
    from cegah.audit.models import OBJECT_LABELS

    return OBJECT_LABELS.get(value, value)
