"""Venues: the schools, pesantren, RPTRA, ports, terminals and other places where
prevention happens. Saving one, importing many (CSV or XLSX), exporting.

A venue's natural key is (area, type, name): importing a file again updates the
coordinates of the venues it names and never duplicates them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from cegah import policy
from cegah.activities.importing import (
    Column,
    ImportResult,
    RowError,
    choice,
    read_rows,
    text,
)
from cegah.activities.models import Venue, VenueType
from cegah.areas.models import Area, subtree_q
from cegah.audit.actions import record_event

# Indonesia, generously: Sabang to Merauke, Miangas to Rote.
LAT_RANGE = (-11.5, 6.5)
LON_RANGE = (94.5, 141.5)

TYPE_ALIASES = {
    "sekolah": "school", "sd": "school", "smp": "school", "sma": "school", "smk": "school",
    "madrasah": "school", "mi": "school", "mts": "school", "ma": "school",
    "pondok pesantren": "pesantren", "ponpes": "pesantren", "pesantren": "pesantren",
    "ruang publik terpadu ramah anak": "rptra", "rptra": "rptra",
    "ruang bermain ramah anak": "rptra", "rbra": "rptra",
    "child friendly public space": "rptra",
    "pelabuhan": "port", "bandara": "airport", "bandar udara": "airport",
    "terminal": "bus_terminal", "terminal bus": "bus_terminal",
    "wisata": "tourism_site", "tempat wisata": "tourism_site", "objek wisata": "tourism_site",
    "tourism": "tourism_site", "balai warga": "community_centre",
    "pusat komunitas": "community_centre", "community center": "community_centre",
    "balai desa": "village_hall", "kantor desa": "village_hall",
    "balai kelurahan": "village_hall", "kantor kelurahan": "village_hall",
    "tempat ibadah": "place_of_worship", "masjid": "place_of_worship",
    "musala": "place_of_worship", "mushola": "place_of_worship", "gereja": "place_of_worship",
    "pura": "place_of_worship", "vihara": "place_of_worship", "klenteng": "place_of_worship",
    "lainnya": "other", "lain lain": "other",
}

VENUE_COLUMNS: tuple[Column, ...] = (
    Column("code", True, ("kode", "kode_wilayah", "area_code", "area", "wilayah")),
    Column("type", True, ("jenis", "tipe", "venue_type", "jenis_tempat")),
    Column("name", True, ("nama", "nama_tempat", "venue", "tempat")),
    Column("latitude", False, ("lat", "lintang")),
    Column("longitude", False, ("lon", "lng", "long", "bujur")),
)
VENUE_HEADER = [c.name for c in VENUE_COLUMNS]


def venue_type(value: str) -> str:
    """A venue type from its key (``bus_terminal``) or an Indonesian name (``terminal``)."""
    return choice(value, VenueType.values, TYPE_ALIASES)


def venue_name(value: str) -> str:
    name = re.sub(r"\s+", " ", text(value.strip())).strip()
    if not name:
        raise RowError(_("required, got an empty cell"))
    return name


def _degrees(value: str, low: float, high: float, what: str) -> float:
    try:
        number = float(value.replace(",", ".") if value.count(",") == 1 else value)
    except ValueError:
        number = math.nan
    if not math.isfinite(number):
        raise RowError(_("expected a %(what)s in decimal degrees, got %(got)r")
                       % {"what": what, "got": value[:20]})
    if not low <= number <= high:
        raise RowError(_("expected a %(what)s inside Indonesia (%(low)s to %(high)s), got "
                         "%(got)s") % {"what": what, "low": low, "high": high, "got": value[:20]})
    return round(number, 6)


def coordinates(lat: str, lon: str) -> tuple[float | None, float | None]:
    """Both or neither; inside Indonesia's bounding box. Raises ``ValidationError`` keyed
    by field."""
    lat, lon = (lat or "").strip(), (lon or "").strip()
    errors: dict[str, str] = {}
    if bool(lat) != bool(lon):
        missing = "longitude" if lat else "latitude"
        raise ValidationError({missing: _("give both latitude and longitude, or neither")})
    if not lat:
        return None, None
    values: list[float | None] = []
    for name, raw, (low, high), what in (("latitude", lat, LAT_RANGE, _("latitude")),
                                         ("longitude", lon, LON_RANGE, _("longitude"))):
        try:
            values.append(_degrees(raw, low, high, what))
        except RowError as exc:
            errors[name] = str(exc)
            values.append(None)
    if errors:
        raise ValidationError(errors)
    return values[0], values[1]


def _venue_values(venue: Venue) -> dict[str, Any]:
    return {"area": venue.area_id, "type": venue.type, "name": venue.name,
            "latitude": venue.latitude, "longitude": venue.longitude}


def do_save_venue(
    actor: Any, *, area: Area | str, type: str, name: str,
    latitude: float | str | None = None, longitude: float | str | None = None,
    venue: Venue | None = None, synthetic: bool = False,
) -> tuple[Venue, bool]:
    """Create a venue, or update ``venue`` (or the one with the same area, type and name).

    Returns ``(venue, created)``. Raises ``ValidationError`` (keyed by field) for bad
    values and ``PermissionDenied`` outside the actor's rights (``can_manage_venue_in``
    for the new area and, when moving a venue, the old one).
    """
    code = area if isinstance(area, str) else area.code
    errors: dict[str, str] = {}
    area_obj = Area.objects.filter(code=code).first()
    if area_obj is None:
        errors["area"] = _("expected a known area code, got %(got)r") % {"got": code[:20]}
    try:
        type = venue_type(type)
    except RowError as exc:
        errors["type"] = str(exc)
    try:
        name = venue_name(name or "")
    except RowError as exc:
        errors["name"] = str(exc)
    try:
        lat, lon = coordinates("" if latitude is None else str(latitude),
                               "" if longitude is None else str(longitude))
    except ValidationError as exc:
        errors.update({k: v[0] for k, v in exc.message_dict.items()})
    if errors:
        raise ValidationError(errors)
    if not policy.can_manage_venue_in(actor, area_obj):
        raise PermissionDenied
    if venue is not None and not policy.can_manage_venue_in(actor, venue.area_id):
        raise PermissionDenied
    with transaction.atomic():
        if venue is None:
            venue = Venue.objects.filter(area=area_obj, type=type, name=name).first()
        elif Venue.objects.filter(area=area_obj, type=type, name=name).exclude(
                pk=venue.pk).exists():
            raise ValidationError({"name": _("a venue of this type and name is already "
                                             "recorded in this area")})
        created = venue is None
        old = None if created else _venue_values(venue)
        if created:
            venue = Venue(is_synthetic=synthetic)
        venue.area, venue.type, venue.name = area_obj, type, name
        venue.latitude, venue.longitude = lat, lon
        new = _venue_values(venue)
        if old == new:
            return venue, False
        venue.save()
        record_event(actor=actor, action="create" if created else "update",
                     object_type="venue", object_key=str(venue.pk), old=old, new=new)
    return venue, created


def do_import_venues(
    actor: Any, content: bytes, filename: str, dry_run: bool = False,
) -> ImportResult:
    """Check a venue file and, unless ``dry_run`` or any row is bad, apply it.

    Columns ``code, type, name[, latitude, longitude]``. A row naming a venue already
    recorded (same area, type and name) updates its coordinates; a row without
    coordinates leaves the stored ones as they are. All or nothing, audited.
    Raises ``PermissionDenied`` if the actor may not import at all.
    """
    if not policy.can_import(actor):
        raise PermissionDenied
    result = ImportResult(filename=filename, dry_run=dry_run)
    with transaction.atomic():
        present, rows = read_rows(content, filename, VENUE_COLUMNS, result)
        if not result.ok:
            return result
        codes = sorted({cells.get("code", "") for _line, cells in rows} - {""})
        areas: dict[str, Area] = {}
        for i in range(0, len(codes), 500):
            areas.update((a.code, a) for a in Area.objects.filter(code__in=codes[i:i + 500]))
        allowed: dict[str, bool] = {}
        clean: list[tuple[int, Area, str, str, float | None, float | None]] = []
        first_line: dict[tuple[str, str, str], int] = {}
        for line, cells in rows:
            problems_before = result.problem_count
            code = cells.get("code", "")
            area = areas.get(code)
            if not code:
                result.add(line, "code", _("required, got an empty cell"))
            elif area is None:
                result.add(line, "code", _("expected a known area code, got %(got)r")
                           % {"got": code[:20]})
            else:
                if code not in allowed:
                    allowed[code] = policy.can_manage_venue_in(actor, area)
                if not allowed[code]:
                    result.add(line, "code", _(
                        "area %(code)s is outside your organisation's jurisdiction")
                        % {"code": code})
            kind = name = ""
            try:
                kind = venue_type(cells.get("type", ""))
            except RowError as exc:
                result.add(line, "type", str(exc))
            try:
                name = venue_name(cells.get("name", ""))
            except RowError as exc:
                result.add(line, "name", str(exc))
            lat = lon = None
            try:
                lat, lon = coordinates(cells.get("latitude", ""), cells.get("longitude", ""))
            except ValidationError as exc:
                for column, messages in exc.message_dict.items():
                    result.add(line, column, messages[0])
            if result.problem_count > problems_before:
                continue
            key = (code, kind, name)
            if key in first_line:
                result.add(line, None, _("duplicate of line %(line)s (same code, type and "
                                         "name)") % {"line": first_line[key]})
                continue
            first_line[key] = line
            clean.append((line, area, kind, name, lat, lon))
        if not result.ok:
            return result
        stored: dict[tuple[str, str, str], Venue] = {}
        for i in range(0, len(codes), 500):
            for v in Venue.objects.filter(area_id__in=codes[i:i + 500]):
                stored[(v.area_id, v.type, v.name)] = v
        todo: list[tuple[Venue | None, Area, str, str, float | None, float | None]] = []
        for _line, area, kind, name, lat, lon in clean:
            existing = stored.get((area.code, kind, name))
            if existing is None:
                result.created += 1
            elif lat is None or (existing.latitude, existing.longitude) == (lat, lon):
                result.unchanged += 1
                continue
            else:
                result.updated += 1
            todo.append((existing, area, kind, name, lat, lon))
        if dry_run:
            return result
        for existing, area, kind, name, lat, lon in todo:
            venue = existing or Venue(area=area, type=kind, name=name)
            old = None if existing is None else _venue_values(existing)
            venue.latitude, venue.longitude = lat, lon
            venue.save()
            record_event(actor=actor, action="update" if existing else "create",
                         object_type="venue", object_key=str(venue.pk), old=old,
                         new=_venue_values(venue))
        result.applied = True
        record_event(actor=actor, action="import", object_type="venues",
                     object_key=filename[:200], new=result.summary())
    return result


def venue_rows(actor: Any, area_code: str | None = None,
               type: str | None = None) -> Iterator[list[Any]]:
    """The venues the actor may see, in the import's columns."""
    qs = policy.visible_venues(actor)
    if area_code:
        qs = qs.filter(subtree_q([area_code], field="area__code"))
    if type:
        qs = qs.filter(type=type)
    for v in qs.order_by("area_id", "type", "name").iterator(2000):
        yield [v.area_id, v.type, v.name,
               "" if v.latitude is None else v.latitude,
               "" if v.longitude is None else v.longitude]


def do_export_venues(actor: Any, out: Any, fmt: str, area_code: str | None = None) -> int:
    """Write the venues (public reference data) to ``out`` as CSV or XLSX; audited."""
    from cegah.lib.tabular import write_table

    if not policy.can_view_catalogue(actor):
        raise PermissionDenied
    count = 0

    def counted():
        nonlocal count
        for row in venue_rows(actor, area_code):
            count += 1
            yield row

    write_table(out, fmt, VENUE_HEADER, counted())
    record_event(actor=actor, action="export", object_type="venues", object_key=area_code or "",
                 new={"rows": count, "format": fmt})
    return count
