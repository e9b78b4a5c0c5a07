"""The texts of in-app notifications.

A notification stores only its ``kind`` and ``params`` (names, titles, dates); the text is
rendered when someone reads it, through gettext, so it follows the reader's language
rather than the sender's.
"""

from __future__ import annotations

import contextlib
import datetime
from typing import Any

from django.utils import formats
from django.utils.translation import gettext, gettext_noop

# kind -> English format string (translated at display time with gettext). Params are
# plain strings; keys ending in "_on" hold ISO dates, shown in the reader's date format.
TEXTS: dict[str, str] = {
    "request_received": gettext_noop(
        "%(from_org)s asks your organisation to take part: “%(title)s”."),
    "request_accepted": gettext_noop(
        "%(to_org)s accepted your request “%(title)s”."),
    "request_declined": gettext_noop(
        "%(to_org)s declined your request “%(title)s”."),
    "request_withdrawn": gettext_noop(
        "%(from_org)s withdrew its request “%(title)s”."),
    "activity_partner_added": gettext_noop(
        "%(lead_org)s added your organisation as a partner of “%(title)s” on %(starts_on)s."),
    "activity_changed": gettext_noop(
        "%(lead_org)s changed the joint activity “%(title)s” on %(starts_on)s."),
    "activity_cancelled": gettext_noop(
        "%(lead_org)s cancelled the joint activity “%(title)s” on %(starts_on)s."),
}
FALLBACK = gettext_noop("You have a new notification.")


def _display_params(params: dict[str, Any]) -> dict[str, str]:
    shown: dict[str, str] = {}
    for key, value in (params or {}).items():
        if key.endswith("_on") and isinstance(value, str):
            with contextlib.suppress(ValueError):  # not a date after all: show as is
                value = formats.date_format(datetime.date.fromisoformat(value), "DATE_FORMAT")
        shown[key] = "" if value is None else str(value)
    return shown


def render_text(kind: str, params: dict[str, Any] | None) -> str:
    """The notification's text in the active language.

    A kind we no longer know, or params that do not fill its format (an older row), give
    a generic text rather than an error page.
    """
    template = TEXTS.get(kind)
    if template is None:
        return gettext(FALLBACK)

    class _Missing(dict):
        def __missing__(self, key: str) -> str:
            return "…"

    return gettext(template) % _Missing(_display_params(params or {}))
