"""An iCalendar (RFC 5545) feed of activities.

Kept deliberately small: one VEVENT per activity, times in UTC (so no VTIMEZONE is
needed), all-day events when no start time was recorded. Text values are escaped
(3.3.11) and lines folded at 75 octets without splitting a UTF-8 character (3.1).
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable
from zoneinfo import ZoneInfo

from django.conf import settings

from cegah.activities.models import Activity, ActivityStatus

CRLF = "\r\n"
LINE_OCTETS = 75

# Indonesia spans three time zones. A start time is recorded as local time where the
# activity happens, which the province part of an area code tells (Kemendagri codes).
_WITA_PROVINCES = {"51", "52", "53", "63", "64", "65", "71", "72", "73", "74", "75", "76"}


def zone_for_area(code: str | None) -> ZoneInfo:
    province = (code or "").split(".")[0]
    if province.startswith(("8", "9")):
        return ZoneInfo("Asia/Jayapura")  # WIT: Maluku and Papua
    if province in _WITA_PROVINCES:
        # WITA: Bali, Nusa Tenggara, east/south/north Kalimantan, Sulawesi
        return ZoneInfo("Asia/Makassar")
    if province:
        return ZoneInfo("Asia/Jakarta")  # WIB
    return ZoneInfo(settings.TIME_ZONE)


def escape_text(value: str) -> str:
    """Escape a TEXT value: backslash, semicolon, comma and newlines."""
    return (str(value).replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
            .replace("\r\n", "\\n").replace("\r", "\\n").replace("\n", "\\n"))


def fold(line: str) -> str:
    """Fold a content line into chunks of at most 75 octets, continuation lines starting
    with one space; never splits a multi-byte character."""
    out: list[str] = []
    current, size, limit = [], 0, LINE_OCTETS
    for ch in line:
        n = len(ch.encode("utf-8"))
        if size + n > limit:
            out.append("".join(current))
            current, size, limit = [" "], 1, LINE_OCTETS
        current.append(ch)
        size += n
    out.append("".join(current))
    return CRLF.join(out)


def _utc(dt: datetime.datetime) -> str:
    return dt.astimezone(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")


def _organisations(activity: Activity) -> list[str]:
    return [str(activity.lead_organisation)] + [str(p) for p in activity.partners.all()]


def event_lines(activity: Activity, *, host: str, stamp: datetime.datetime,
                url: str | None = None, labels: dict[str, str] | None = None) -> list[str]:
    """The unfolded content lines of one VEVENT. ``labels`` holds translated words for
    the description (``organisations``, ``status``, ``intervention``)."""
    labels = labels or {}
    areas = list(activity.areas.all())
    lines = ["BEGIN:VEVENT", f"UID:activity-{activity.pk}@{host}", f"DTSTAMP:{_utc(stamp)}"]
    if activity.start_time is not None:
        zone = zone_for_area(areas[0].code if areas else None)
        start = datetime.datetime.combine(activity.starts_on, activity.start_time, zone)
        end = start + datetime.timedelta(minutes=activity.duration_minutes or 60)
        lines += [f"DTSTART:{_utc(start)}", f"DTEND:{_utc(end)}"]
    else:
        next_day = activity.starts_on + datetime.timedelta(days=1)
        lines += [f"DTSTART;VALUE=DATE:{activity.starts_on:%Y%m%d}",
                  f"DTEND;VALUE=DATE:{next_day:%Y%m%d}"]
    lines.append(f"SUMMARY:{escape_text(activity.title)}")
    where = ([activity.venue.name] if activity.venue else []) + [a.name for a in areas[:5]]
    if where:
        lines.append(f"LOCATION:{escape_text(', '.join(where))}")
    description = [f"{labels.get('organisations', 'Organisations')}: "
                   f"{', '.join(_organisations(activity))}",
                   f"{labels.get('status', 'Status')}: {activity.get_status_display()}"]
    if activity.intervention_id:
        description.append(f"{labels.get('intervention', 'Intervention')}: "
                           f"{activity.intervention.name}")
    lines.append(f"DESCRIPTION:{escape_text(chr(10).join(description))}")
    lines.append("STATUS:" + ("TENTATIVE" if activity.status == ActivityStatus.PLANNED
                              else "CONFIRMED"))
    if url:
        lines.append(f"URL:{url}")
    if activity.updated_at:
        lines.append(f"LAST-MODIFIED:{_utc(activity.updated_at)}")
    lines.append("END:VEVENT")
    return lines


def build_calendar(activities: Iterable[Activity], *, host: str, name: str,
                   stamp: datetime.datetime,
                   url_for: Callable[[Activity], str] | None = None,
                   labels: dict[str, str] | None = None) -> str:
    """The whole feed as a string with CRLF line ends (encode as UTF-8)."""
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Cegah//Prevention calendar//EN",
             "CALSCALE:GREGORIAN", "METHOD:PUBLISH", f"X-WR-CALNAME:{escape_text(name)}"]
    for activity in activities:
        lines += event_lines(activity, host=host, stamp=stamp,
                             url=url_for(activity) if url_for else None, labels=labels)
    lines.append("END:VCALENDAR")
    return "".join(fold(line) + CRLF for line in lines)
