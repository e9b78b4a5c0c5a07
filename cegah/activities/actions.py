"""Recording prevention activities and their attachments.

One validator, :func:`clean_activity`, checks a dict of activity fields given as plain
values (area codes, intervention slugs, organisation ids or names, user ids or usernames,
numbers or numeric strings, ISO dates) and returns the cleaned values with model objects
plus the errors per field. The web forms, the quick form and the importer all use it, so
the rules live in one place. The ``do_*`` actions write inside a transaction together
with their audit row (object types ``activity`` and ``activity_attachment``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import re
import unicodedata
import zipfile
from collections.abc import Iterable, Mapping
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from cegah import policy
from cegah.activities.models import (
    ATTACHMENT_MAX_BYTES,
    ATTACHMENT_TYPES,
    REACH_FIELDS,
    Activity,
    ActivityStatus,
    Attachment,
    Law,
    Topic,
    Venue,
)
from cegah.audit.actions import record_event
from cegah.lib.cells import NIK

if TYPE_CHECKING:
    from cegah.accounts.models import Organisation, User
    from cegah.areas.models import Area
    from cegah.catalogue.models import Intervention

REACH = tuple(field for field, _sex, _age in REACH_FIELDS)
# Every key clean_activity() understands (the model's field names).
FIELDS = (
    "title", "intervention", "lead_organisation", "partners", "areas", "venue", "status",
    "starts_on", "start_time", "duration_minutes", "audience", *REACH, "topics", "laws",
    "officers", "officer_count", "officer_hours", "cost", "materials", "notes", "outcomes",
    "external_id", "is_synthetic",
)
MAX_REACH = 10_000_000          # a national broadcast, not a typo of ten digits
MAX_DURATION_MINUTES = 31 * 24 * 60
MAX_OFFICERS = 10_000
MAX_COST = Decimal(10) ** 13
MAX_OUTCOMES = 20
EARLIEST_DATE = dt.date(2000, 1, 1)
TEXT_LIMITS = {"title": 200, "materials": 5000, "notes": 5000, "external_id": 100}

Errors = dict[str, list[str]]
PERSONAL_DATA_MESSAGE = gettext_noop(
    "this holds a 16-digit number that looks like a national ID number (NIK); record no "
    "personal data about anyone: no names, ID numbers, addresses or birth dates")


# --- parsing plain values ----------------------------------------------------------------

def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _items(value: Any, separators: str = r"[;,\s]+") -> list[str]:
    """A list from a list/tuple/set (objects give their pk) or a separated string."""
    if value is None or value == "":
        return []
    if isinstance(value, str):
        parts = re.split(separators, value)
    elif isinstance(value, Iterable):
        parts = [getattr(v, "pk", v) for v in value]
    else:
        parts = [getattr(value, "pk", value)]
    out: list[str] = []
    for part in parts:
        text = _text(part)
        if text and text not in out:
            out.append(text)
    return out


def _int(errors: Errors, field: str, value: Any, *, default: int | None, minimum: int = 0,
         maximum: int) -> int | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return default
    if isinstance(value, bool):
        value = str(value)
    try:
        number = Decimal(str(value).strip())
        if number != number.to_integral_value():
            raise InvalidOperation
        number = int(number)
    except (InvalidOperation, ValueError):
        errors.setdefault(field, []).append(
            _("expected a whole number, got %(value)r") % {"value": value})
        return default
    if number < minimum:
        errors.setdefault(field, []).append(
            _("expected a number of at least %(min)s, got %(value)s")
            % {"min": minimum, "value": number})
    elif number > maximum:
        errors.setdefault(field, []).append(
            _("expected a number of at most %(max)s, got %(value)s")
            % {"max": maximum, "value": number})
    return number


def _decimal(errors: Errors, field: str, value: Any, *, places: int) -> Decimal | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        number = Decimal(str(value).strip().replace(",", "."))
        if not number.is_finite():
            raise InvalidOperation
    except (InvalidOperation, ValueError):
        errors.setdefault(field, []).append(
            _("expected a number, got %(value)r") % {"value": value})
        return None
    return number.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def _date(errors: Errors, field: str, value: Any) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = _text(value)
    if not text:
        errors.setdefault(field, []).append(_("a date is required (YYYY-MM-DD)"))
        return None
    try:
        return dt.date.fromisoformat(text[:10])
    except ValueError:
        errors.setdefault(field, []).append(
            _("expected a date as YYYY-MM-DD, got %(value)r") % {"value": text})
        return None


def _time(errors: Errors, field: str, value: Any) -> dt.time | None:
    if isinstance(value, dt.time):
        return value
    text = _text(value)
    if not text:
        return None
    try:
        return dt.time.fromisoformat(text)
    except ValueError:
        errors.setdefault(field, []).append(
            _("expected a time as HH:MM, got %(value)r") % {"value": text})
        return None


def _bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in {"1", "true", "yes", "ya", "y", "on"}
    return bool(value)


def _outcomes(errors: Errors, value: Any) -> dict[str, Any]:
    """Name/value pairs: a dict, a list of pairs, or ``name=value`` lines or ``;`` parts."""
    if value is None or value == "":
        return {}
    if isinstance(value, Mapping):
        pairs = list(value.items())
    elif isinstance(value, str):
        pairs = []
        for part in re.split(r"[;\n]+", value):
            if not part.strip():
                continue
            name, sep, val = part.partition("=")
            if not sep:
                name, sep, val = part.partition(":")
            if not sep:
                errors.setdefault("outcomes", []).append(
                    _("expected name=value, got %(value)r") % {"value": part.strip()})
                continue
            pairs.append((name, val))
    else:
        pairs = list(value)
    out: dict[str, Any] = {}
    for pair in pairs:
        try:
            name, val = pair
        except (TypeError, ValueError):
            errors.setdefault("outcomes", []).append(
                _("expected a name and a value, got %(value)r") % {"value": pair})
            continue
        name = _text(name)
        if isinstance(val, str):
            val = val.strip()
        if not name and (val in ("", None)):
            continue  # an empty row of the form
        if not name:
            errors.setdefault("outcomes", []).append(
                _("the outcome with value %(value)r has no name") % {"value": val})
            continue
        if len(name) > 100 or (isinstance(val, str) and len(val) > 200):
            errors.setdefault("outcomes", []).append(
                _("outcome %(name)r: names have at most 100 and values 200 characters")
                % {"name": name[:100]})
            continue
        if val in ("", None):
            errors.setdefault("outcomes", []).append(
                _("outcome %(name)r has no value") % {"name": name})
            continue
        out[name] = val
    if len(out) > MAX_OUTCOMES:
        errors.setdefault("outcomes", []).append(
            _("at most %(n)s outcome measures") % {"n": MAX_OUTCOMES})
    return out


def one_year_ahead(today: dt.date) -> dt.date:
    try:
        return today.replace(year=today.year + 1)
    except ValueError:  # 29 February
        return today.replace(year=today.year + 1, day=28)


# --- the validator -------------------------------------------------------------------------

class ActivityCleaner:
    """Validates activity data for one actor; caches look-ups, so an importer checking
    thousands of rows asks the database once per distinct code, slug or name."""

    def __init__(self, actor: Any):
        from cegah.accounts.models import Organisation, User
        from cegah.areas.models import Area
        from cegah.catalogue.models import Intervention

        self.actor = actor
        self.today = timezone.localdate()
        self._Area, self._Org, self._User, self._Intervention = (
            Area, Organisation, User, Intervention)
        self._areas: dict[str, Any] = {}
        self._interventions: dict[str, Any] = {}
        self._orgs: dict[str, Any] = {}
        self._venues: dict[str, Any] = {}
        self._members: dict[int, dict[str, Any]] = {}
        self._in_jurisdiction: dict[str, bool] = {}

    # look-ups (None when unknown)
    def area(self, code: str) -> Area | None:
        if code not in self._areas:
            self._areas[code] = self._Area.objects.filter(pk=code).first()
        return self._areas[code]

    def intervention(self, slug: str) -> Intervention | None:
        if slug not in self._interventions:
            self._interventions[slug] = self._Intervention.objects.filter(slug=slug).first()
        return self._interventions[slug]

    def organisation(self, key: str) -> Organisation | None:
        """An active organisation by id, name or short name."""
        if key not in self._orgs:
            orgs = self._Org.objects.filter(is_active=True)
            found = orgs.filter(pk=int(key)).first() if key.isdigit() else None
            found = found or orgs.filter(name__iexact=key).first() or orgs.filter(
                short_name__iexact=key).first()
            self._orgs[key] = found
        return self._orgs[key]

    def venue(self, key: str) -> Venue | None:
        if key not in self._venues:
            self._venues[key] = (Venue.objects.select_related("area").filter(pk=int(key)).first()
                                 if key.isdigit() else None)
        return self._venues[key]

    def members(self, organisation: Organisation) -> dict[str, User]:
        """Active users of the organisation by id (as text) and by username."""
        if organisation.pk not in self._members:
            users = list(self._User.objects.filter(organisation=organisation, is_active=True))
            table = {str(u.pk): u for u in users}
            table.update({u.username.lower(): u for u in users})
            self._members[organisation.pk] = table
        return self._members[organisation.pk]

    def may_record_in(self, code: str) -> bool:
        if code not in self._in_jurisdiction:
            self._in_jurisdiction[code] = policy.can_record_activity_in(self.actor, code)
        return self._in_jurisdiction[code]

    # the rules
    def clean(self, data: Mapping[str, Any], *, instance: Activity | None = None
              ) -> tuple[dict[str, Any], Errors]:
        actor = self.actor
        errors: Errors = {}
        cleaned: dict[str, Any] = {}

        def err(field: str, message: str) -> None:
            errors.setdefault(field, []).append(message)

        allowed = (policy.can_edit_activity(actor, instance) if instance is not None
                   else policy.can_record_activities(actor))
        if not allowed:
            err("__all__", _("You may not record or change this activity."))
            return cleaned, errors

        # Lead organisation: the actor's own; those acting everywhere name one.
        lead = self._lead(data, instance, err)
        cleaned["lead_organisation"] = lead

        # Intervention: an active catalogue entry (an edit may keep a retired one).
        slug = _text(getattr(data.get("intervention"), "slug", data.get("intervention")))
        intervention = None
        if not slug:
            err("intervention", _("choose the intervention (the catalogue entry) this "
                                  "activity delivered"))
        else:
            intervention = self.intervention(slug)
            if intervention is None:
                err("intervention", _("no intervention with key %(value)r in the catalogue")
                    % {"value": slug})
            elif not intervention.is_active and not (
                    instance is not None and instance.intervention_id == intervention.pk):
                err("intervention", _("the intervention %(value)r is no longer in use")
                    % {"value": slug})
                intervention = None
        cleaned["intervention"] = intervention

        # Areas: known codes within the actor's jurisdiction.
        areas = []
        codes = _items(data.get("areas"))
        if not codes:
            err("areas", _("give at least one area code (a village or district, e.g. "
                           "31.74.01.1001)"))
        for code in codes:
            area = self.area(code)
            if area is None:
                err("areas", _("no area with code %(code)r") % {"code": code})
            elif not self.may_record_in(area.code):
                err("areas", _("%(code)s %(name)s is outside your organisation's "
                               "jurisdiction") % {"code": area.code, "name": area.name})
            else:
                areas.append(area)
        cleaned["areas"] = areas

        # Partners: other active organisations (a joint activity).
        partners = []
        # Names hold spaces: a string of partners is split on semicolons or lines only.
        for key in _items(data.get("partners"), r"\s*[;\n]\s*"):
            org = self.organisation(key)
            if org is None:
                err("partners", _("no active organisation %(value)r") % {"value": key})
            elif lead is not None and org.pk == lead.pk:
                err("partners", _("%(org)s leads the activity; it cannot also be a partner")
                    % {"org": org})
            elif org not in partners:
                partners.append(org)
        cleaned["partners"] = partners

        # Venue: in one of the activity's areas.
        venue = None
        venue_key = _text(getattr(data.get("venue"), "pk", data.get("venue")))
        if venue_key:
            venue = self.venue(venue_key)
            if venue is None:
                err("venue", _("no venue with id %(value)r") % {"value": venue_key})
            elif areas and not any(venue.area_id == a.code
                                   or venue.area_id.startswith(a.code + ".") for a in areas):
                err("venue", _("the venue %(venue)s lies in %(code)s, outside the "
                               "activity's areas") % {"venue": venue, "code": venue.area_id})
        cleaned["venue"] = venue

        status = _text(data.get("status")) or ActivityStatus.DONE
        if status not in ActivityStatus.values:
            err("status", _("expected one of %(values)s, got %(value)r")
                % {"values": ", ".join(ActivityStatus.values), "value": status})
        cleaned["status"] = status

        starts_on = _date(errors, "starts_on", data.get("starts_on"))
        if starts_on is not None:
            latest = one_year_ahead(self.today)
            if starts_on > latest:
                err("starts_on", _("%(date)s is more than a year ahead (latest %(latest)s)")
                    % {"date": starts_on, "latest": latest})
            elif starts_on < EARLIEST_DATE:
                err("starts_on", _("%(date)s is before %(earliest)s")
                    % {"date": starts_on, "earliest": EARLIEST_DATE})
            elif status == ActivityStatus.DONE and starts_on > self.today:
                err("starts_on", _("%(date)s is in the future: record it as planned, or "
                                   "correct the date") % {"date": starts_on})
        cleaned["starts_on"] = starts_on
        cleaned["start_time"] = _time(errors, "start_time", data.get("start_time"))
        duration = _int(errors, "duration_minutes", data.get("duration_minutes"), default=60,
                        minimum=1, maximum=MAX_DURATION_MINUTES)
        cleaned["duration_minutes"] = duration

        from cegah.catalogue.models import Audience

        audience = _text(data.get("audience"))
        if not audience:
            err("audience", _("choose the audience"))
        elif audience not in Audience.values:
            err("audience", _("expected one of %(values)s, got %(value)r")
                % {"values": ", ".join(Audience.values), "value": audience})
        cleaned["audience"] = audience

        # Reach: counts per sex and age band; none yet for a planned activity.
        for field in REACH:
            count = _int(errors, field, data.get(field), default=0, maximum=MAX_REACH)
            cleaned[field] = count if count is not None and count >= 0 else 0
            if status == ActivityStatus.PLANNED and (count or 0) > 0:
                err(field, _("a planned activity has reached no one yet: leave 0, or "
                             "record it as done"))

        for field, choices in (("topics", Topic), ("laws", Law)):
            values = _items(data.get(field))
            unknown = [v for v in values if v not in choices.values]
            if unknown:
                err(field, _("unknown %(what)s %(values)s; expected some of %(allowed)s")
                    % {"what": field, "values": ", ".join(unknown),
                       "allowed": ", ".join(choices.values)})
            cleaned[field] = [v for v in values if v in choices.values]

        # Officers: people of the lead organisation; hours no more than they can have spent.
        officers = []
        if lead is not None:
            table = self.members(lead)
            for key in _items(data.get("officers")):
                user = table.get(key.lower())
                if user is None:
                    err("officers", _("%(value)r is not a member of %(org)s")
                        % {"value": key, "org": lead})
                elif user not in officers:
                    officers.append(user)
        cleaned["officers"] = officers
        count = _int(errors, "officer_count", data.get("officer_count"),
                     default=len(officers), maximum=MAX_OFFICERS)
        count = max(count or 0, 0)
        if count < len(officers):
            err("officer_count", _("%(n)s officers are named, but the count is %(count)s")
                % {"n": len(officers), "count": count})
        cleaned["officer_count"] = count
        possible = (Decimal(count) * Decimal(duration or 0) / 60).quantize(Decimal("0.1"))
        hours = _decimal(errors, "officer_hours", data.get("officer_hours"), places=1)
        if hours is None:
            hours = possible
        elif hours < 0:
            err("officer_hours", _("expected 0 or more, got %(value)s") % {"value": hours})
        elif hours > possible:
            err("officer_hours", _("%(hours)s officer-hours is more than %(count)s officers can "
                                   "spend in %(minutes)s minutes (at most %(max)s)")
                % {"hours": hours, "count": count, "minutes": duration, "max": possible})
        cleaned["officer_hours"] = hours

        cost = _decimal(errors, "cost", data.get("cost"), places=0)
        if cost is not None and not (0 <= cost < MAX_COST):
            err("cost", _("expected an amount in rupiah from 0 to %(max)s, got %(value)s")
                % {"max": MAX_COST - 1, "value": cost})
        cleaned["cost"] = cost

        for field, limit in TEXT_LIMITS.items():
            value = _text(data.get(field))
            if len(value) > limit:
                err(field, _("at most %(n)s characters, got %(got)s")
                    % {"n": limit, "got": len(value)})
            cleaned[field] = value[:limit]
        cleaned["outcomes"] = _outcomes(errors, data.get("outcomes"))
        # No personal data: free text that holds an ID number is refused, whether it came
        # from a form, the quick form, a file or the API (names cannot be detected; the
        # forms warn against them).
        for field in ("title", "materials", "notes", "external_id", "outcomes"):
            value = cleaned[field]
            texts = ([str(v) for pair in value.items() for v in pair]
                     if isinstance(value, dict) else [value])
            if any(NIK.search(t) for t in texts):
                err(field, _(PERSONAL_DATA_MESSAGE))
        cleaned["is_synthetic"] = _bool(data.get("is_synthetic"))

        if not cleaned["title"] and intervention is not None and areas:
            # The quick form's title: what was delivered, and where.
            cleaned["title"] = f"{intervention.name} — {areas[0].name}"[:200]
        elif not cleaned["title"] and "intervention" not in errors and "areas" not in errors:
            err("title", _("give the activity a title"))

        reference = cleaned["external_id"]
        if reference and lead is not None:
            clash = Activity.objects.filter(lead_organisation=lead, external_id=reference)
            if instance is not None:
                clash = clash.exclude(pk=instance.pk)
            if clash.exists():
                err("external_id", _("%(org)s already has an activity with reference %(ref)r")
                    % {"org": lead, "ref": reference})
        return cleaned, errors

    def _lead(self, data: Mapping[str, Any], instance: Activity | None, err):
        if instance is not None:
            return instance.lead_organisation
        actor = self.actor
        own = getattr(actor, "organisation", None) if getattr(actor, "pk", None) else None
        named = data.get("lead_organisation")
        key = _text(getattr(named, "pk", named))
        if not key:
            if own is None:
                err("lead_organisation", _("name the lead organisation (you belong to none)"))
            return own
        org = self.organisation(key)
        if org is None:
            err("lead_organisation", _("no active organisation %(value)r") % {"value": key})
            return own
        if own is not None and org.pk == own.pk:
            return own
        if policy.jurisdiction_codes(actor) is not None:  # not a system admin or operator
            err("lead_organisation", _("you record activities for your own organisation, "
                                       "%(org)s") % {"org": own})
            return own
        return org


def clean_activity(actor: Any, data: Mapping[str, Any], *, instance: Activity | None = None,
                   cleaner: ActivityCleaner | None = None) -> tuple[dict[str, Any], Errors]:
    """Validate one activity's fields for ``actor``.

    Parameters
    ----------
    actor : the user (or ``LocalOperator``) recording the activity.
    data : plain values keyed by :data:`FIELDS`: ``intervention`` a slug; ``areas`` a list
        of area codes (or one string separated by commas, semicolons or spaces);
        ``partners`` organisation ids or names (a string is split on ``;``);
        ``lead_organisation`` only for system admins and the operator; ``venue`` an id;
        ``officers`` user ids or usernames of the lead organisation; ``starts_on`` a date
        or ``YYYY-MM-DD``; ``start_time`` ``HH:MM``; counts as ints or numeric strings
        (blank = 0); ``topics``/``laws`` lists of codes; ``outcomes`` a dict, a list of
        pairs or ``name=value; ...``. Missing keys take their defaults (status ``done``,
        duration 60, officer count = officers named, officer-hours = count x duration).
    instance : the activity being changed, if any (keeps its lead organisation).
    cleaner : reuse one :class:`ActivityCleaner` across rows to cache look-ups.

    Returns
    -------
    (cleaned, errors) : ``cleaned`` maps the model's field names to values ready to save
        (``areas``, ``partners``, ``officers`` as lists of objects); ``errors`` maps a field
        name (or ``"__all__"``) to its messages. Save only when ``errors`` is empty.
    """
    return (cleaner or ActivityCleaner(actor)).clean(data, instance=instance)


# --- writing ----------------------------------------------------------------------------

def activity_to_data(activity: Activity) -> dict[str, Any]:
    """An activity as plain, JSON-safe values in the validator's vocabulary (for edit
    forms, and for the audit trail's old/new values)."""
    data: dict[str, Any] = {
        "title": activity.title,
        "intervention": activity.intervention.slug if activity.intervention_id else "",
        "lead_organisation": activity.lead_organisation_id,
        "partners": sorted(activity.partners.values_list("pk", flat=True)),
        "areas": sorted(activity.areas.values_list("code", flat=True)),
        "venue": activity.venue_id,
        "status": activity.status,
        "starts_on": activity.starts_on.isoformat() if activity.starts_on else None,
        "start_time": activity.start_time.strftime("%H:%M") if activity.start_time else None,
        "duration_minutes": activity.duration_minutes,
        "audience": activity.audience,
    }
    for field in REACH:
        data[field] = getattr(activity, field)
    data.update({
        "topics": list(activity.topics or []),
        "laws": list(activity.laws or []),
        "officers": sorted(activity.officers.values_list("pk", flat=True)),
        "officer_count": activity.officer_count,
        "officer_hours": str(activity.officer_hours),
        "cost": None if activity.cost is None else str(activity.cost),
        "materials": activity.materials,
        "notes": activity.notes,
        "outcomes": dict(activity.outcomes or {}),
        "external_id": activity.external_id,
        "is_synthetic": activity.is_synthetic,
    })
    return data


_M2M = ("partners", "areas", "officers")


def write_activity(actor: Any, cleaned: Mapping[str, Any], *, instance: Activity | None = None,
                   audit: bool = True) -> tuple[Activity, dict | None, dict]:
    """Save cleaned values (from :func:`clean_activity` without errors) and record the
    audit row. Call inside ``transaction.atomic()`` (an importer wraps all its rows in one).

    Returns the activity and its old and new values (``old`` is ``None`` when created).
    """
    created = instance is None
    old = None if created else activity_to_data(instance)
    activity = instance or Activity(created_by=actor if getattr(actor, "pk", None) else None)
    for field, value in cleaned.items():
        if field not in _M2M:
            setattr(activity, field, value)
    activity.save()
    for field in _M2M:
        if field in cleaned:
            getattr(activity, field).set(cleaned[field])
    new = activity_to_data(activity)
    _tell_partners(actor, activity, old, new)
    if audit:
        if created:
            record_event(actor=actor, action="create", object_type="activity",
                         object_key=str(activity.pk), new=new)
        else:
            changed = sorted(k for k in new if new[k] != old.get(k))
            if changed:
                record_event(actor=actor, action="update", object_type="activity",
                             object_key=str(activity.pk),
                             old={k: old.get(k) for k in changed},
                             new={k: new[k] for k in changed})
    return activity, old, new


# A change partners need to hear about: when, where and whether it happens.
_NEWSWORTHY = ("title", "status", "starts_on", "start_time", "areas", "venue")


def _tell_partners(actor: Any, activity: Activity, old: dict | None, new: dict) -> None:
    """In-app notifications, in the same transaction: organisations just added as
    partners are told they take part; partners already there hear of a new date, place or
    status."""
    from cegah.coordination.actions import notify_activity_partners

    before = set(old["partners"]) if old else set()
    added = sorted(set(new["partners"]) - before)
    if added:
        notify_activity_partners(activity, "activity_partner_added", organisations=added,
                                 actor=actor)
    staying = sorted(before & set(new["partners"]))
    if old and staying and any(old.get(k) != new.get(k) for k in _NEWSWORTHY):
        kind = ("activity_cancelled" if new["status"] == ActivityStatus.CANCELLED
                else "activity_changed")
        notify_activity_partners(activity, kind, organisations=staying, actor=actor)


def do_record_activity(actor: Any, data: Mapping[str, Any]) -> Activity:
    """Record a new activity led by the actor's organisation.

    Raises ``PermissionDenied`` if the actor may not record activities and
    ``ValidationError`` (with ``message_dict`` per field) if the data do not pass.
    """
    if not policy.can_record_activities(actor):
        raise PermissionDenied
    cleaned, errors = clean_activity(actor, data)
    if errors:
        raise ValidationError(errors)
    try:
        with transaction.atomic():
            activity, _old, _new = write_activity(actor, cleaned)
    except IntegrityError:
        # The reference was free when checked and taken by a save at the same moment
        # (the only constraint the validator cannot see through to the end).
        raise ValidationError({"external_id": [_(
            "another activity with this reference was saved at the same moment; "
            "open it or use another reference")]}) from None
    return activity


def do_update_activity(actor: Any, activity: Activity, data: Mapping[str, Any]) -> Activity:
    """Change an activity; ``data`` holds every field (start from activity_to_data)."""
    if not policy.can_edit_activity(actor, activity):
        raise PermissionDenied
    cleaned, errors = clean_activity(actor, data, instance=activity)
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        activity, _old, _new = write_activity(actor, cleaned, instance=activity)
    return activity


def do_cancel_activity(actor: Any, activity: Activity, reason: str = "") -> Activity:
    """Mark a planned activity as cancelled (done work is corrected or deleted instead)."""
    if not policy.can_edit_activity(actor, activity):
        raise PermissionDenied
    if activity.status != ActivityStatus.PLANNED:
        raise ValidationError({"status": [_("only a planned activity can be cancelled; "
                                            "correct or delete a record made in error")]})
    reason = _text(reason)[:500]
    if NIK.search(reason):  # the reason goes into the notes: no personal data there either
        raise ValidationError({"reason": [_(PERSONAL_DATA_MESSAGE)]})
    with transaction.atomic():
        activity.status = ActivityStatus.CANCELLED
        fields = ["status", "updated_at"]
        if reason:
            note = _("Cancelled: %(reason)s") % {"reason": reason}
            activity.notes = f"{activity.notes}\n\n{note}".strip()
            fields.append("notes")
        activity.save(update_fields=fields)
        from cegah.coordination.actions import notify_activity_partners

        notify_activity_partners(activity, "activity_cancelled", actor=actor)
        record_event(actor=actor, action="cancel", object_type="activity",
                     object_key=str(activity.pk), old={"status": ActivityStatus.PLANNED},
                     new={"status": ActivityStatus.CANCELLED, "reason": reason})
    return activity


def do_delete_activity(actor: Any, activity: Activity) -> None:
    """Delete an activity and its attachments; the audit row keeps its values."""
    if not policy.can_edit_activity(actor, activity):
        raise PermissionDenied
    with transaction.atomic():
        old = activity_to_data(activity)
        old["attachments"] = list(activity.attachments.values_list("filename", flat=True))
        key = str(activity.pk)
        activity.delete()
        record_event(actor=actor, action="delete", object_type="activity", object_key=key,
                     old=old)


# --- attachments ------------------------------------------------------------------------

_OOXML_PART = {"docx": "word/", "xlsx": "xl/", "pptx": "ppt/"}


def _looks_like(extension: str, content: bytes) -> bool:
    """Do the file's first bytes (and, for Office files, its zip directory) match?"""
    if extension == "pdf":
        return content.startswith(b"%PDF-")
    if extension in ("jpg", "jpeg"):
        return content.startswith(b"\xff\xd8\xff")
    if extension == "png":
        return content.startswith(b"\x89PNG\r\n\x1a\n")
    if extension in _OOXML_PART:
        if not content.startswith(b"PK\x03\x04"):
            return False
        try:  # reads the central directory only: nothing is decompressed
            with zipfile.ZipFile(io.BytesIO(content)) as archive:
                names = archive.namelist()
        except (zipfile.BadZipFile, ValueError):
            return False
        return "[Content_Types].xml" in names and any(
            n.startswith(_OOXML_PART[extension]) for n in names)
    return False


def clean_filename(filename: str) -> str:
    """The last path component, without control characters, at most 255 characters."""
    name = re.split(r"[\\/]", filename or "")[-1]
    name = "".join(c for c in name if unicodedata.category(c)[0] != "C").strip().strip(".")
    if len(name) > 255:
        stem, dot, ext = name.rpartition(".")
        name = (stem[: 254 - len(ext)] + dot + ext) if dot else name[:255]
    return name


def check_attachment(filename: str, content: bytes) -> tuple[str, str]:
    """Return (safe filename, content type), or raise ``ValidationError`` saying why not."""
    name = clean_filename(filename)
    extension = name.rpartition(".")[2].lower() if "." in name else ""
    allowed = ", ".join(sorted(ATTACHMENT_TYPES))
    if extension not in ATTACHMENT_TYPES:
        raise ValidationError(_("%(name)s: files of type %(ext)r are not accepted; expected "
                                "one of %(allowed)s") % {"name": name or "?",
                                                         "ext": extension, "allowed": allowed})
    if not content:
        raise ValidationError(_("%(name)s is empty") % {"name": name})
    if len(content) > ATTACHMENT_MAX_BYTES:
        raise ValidationError(
            _("%(name)s is %(size)s bytes; attachments may have at most %(max)s bytes "
              "(%(mb)s MB)") % {"name": name, "size": len(content), "max": ATTACHMENT_MAX_BYTES,
                                "mb": ATTACHMENT_MAX_BYTES // (1024 * 1024)})
    if not _looks_like(extension, content):
        raise ValidationError(_("%(name)s is not a real .%(ext)s file (its content does not "
                                "match its name)") % {"name": name, "ext": extension})
    return name, ATTACHMENT_TYPES[extension]


def do_add_attachment(actor: Any, activity: Activity, filename: str, content: bytes
                      ) -> Attachment:
    """Keep a file with an activity, after checking its type (name and content) and size."""
    if not policy.can_edit_activity(actor, activity):
        raise PermissionDenied
    name, content_type = check_attachment(filename, content)
    digest = hashlib.sha256(content).hexdigest()
    with transaction.atomic():
        attachment = Attachment.objects.create(
            activity=activity, filename=name, content_type=content_type, size=len(content),
            sha256=digest, content=content,
            uploaded_by=actor if getattr(actor, "pk", None) else None)
        record_event(actor=actor, action="create", object_type="activity_attachment",
                     object_key=str(attachment.pk),
                     new={"activity": activity.pk, "filename": name, "size": len(content),
                          "content_type": content_type, "sha256": digest})
    return attachment


def do_note_attachment_download(actor: Any, attachment: Attachment) -> None:
    """Attachments may hold sensitive material (attendance sheets, reports): every
    download is in the audit trail."""
    record_event(actor=actor, action="download", object_type="activity_attachment",
                 object_key=str(attachment.pk),
                 new={"activity": attachment.activity_id, "file": attachment.filename})


def do_remove_attachment(actor: Any, attachment: Attachment) -> None:
    if not policy.can_edit_activity(actor, attachment.activity):
        raise PermissionDenied
    with transaction.atomic():
        key = str(attachment.pk)
        old = {"activity": attachment.activity_id, "filename": attachment.filename,
               "size": attachment.size, "sha256": attachment.sha256}
        attachment.delete()
        record_event(actor=actor, action="delete", object_type="activity_attachment",
                     object_key=key, old=old)
