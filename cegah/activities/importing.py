"""Bulk import of prevention activities (CSV or XLSX), and the table reading shared with
the venue import (:mod:`cegah.activities.venues`).

The rules are the foundation's (``cegah.cases.importing``): header names in English or
Indonesian, every row checked and every problem reported with its line and column,
personal-data columns and ID-number-like cells refused, nothing changed unless the whole
file is good, and re-running a file changes nothing (a row's ``reference`` is its key
within the lead organisation).

Each row is checked by ``cegah.activities.actions.clean_activity`` (the rules of the web
forms and the quick form) after :func:`row_data` has turned its cells into the
validator's values; ``POST /api/v1/activities`` goes the same way
(:func:`do_submit_activity`), so a row, a form and an API call are judged alike.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from cegah import policy
from cegah.activities.models import REACH_FIELDS
from cegah.lib.cells import NIK, PERSONAL_COLUMN
from cegah.lib.tabular import TableError, read_table

MAX_REPORTED_PROBLEMS = 1000
TEXT_MAX = 200
LONG_TEXT_MAX = 5000
LIST_SEPARATOR = ";"


# --- problems and results --------------------------------------------------------------

class RowError(ValueError):
    """A cell's value is not acceptable; the message says what was expected."""


@dataclass(frozen=True)
class Problem:
    """Why a file (or one cell of it) was refused."""

    line: int | None
    column: str | None
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"line": self.line, "column": self.column, "message": self.message}

    def __str__(self) -> str:
        if self.line and self.column:
            return _("line %(line)s, column %(column)s: %(message)s") % {
                "line": self.line, "column": self.column, "message": self.message}
        if self.line:
            return _("line %(line)s: %(message)s") % {"line": self.line, "message": self.message}
        return self.message


@dataclass
class ImportResult:
    """What an import found and did (or, for a dry run or a refused file, would do)."""

    filename: str
    dry_run: bool = False
    rows_total: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    problems: list[Problem] = field(default_factory=list)
    problem_count: int = 0
    applied: bool = False

    @property
    def ok(self) -> bool:
        return self.problem_count == 0

    def add(self, line: int | None, column: str | None, message: str) -> None:
        self.problem_count += 1
        if len(self.problems) < MAX_REPORTED_PROBLEMS:
            self.problems.append(Problem(line, column, message))

    def summary(self) -> dict[str, Any]:
        return {"file": self.filename, "rows": self.rows_total, "created": self.created,
                "updated": self.updated, "unchanged": self.unchanged}


# --- reading a table -------------------------------------------------------------------

@dataclass(frozen=True)
class Column:
    name: str
    required: bool = False
    aliases: tuple[str, ...] = ()


def expected_header(columns: Iterable[Column]) -> str:
    return ", ".join(c.name if c.required else f"[{c.name}]" for c in columns)


def _norm_header(raw: str) -> str:
    return re.sub(r"[\s\-]+", "_", raw.strip().lower())


_NIK_MESSAGE = gettext_noop(
    "a cell holds a 16-digit number that looks like a national ID number (NIK); "
    "Cegah takes no personal data. The file was not imported.")


def read_rows(
    content: bytes, filename: str, columns: tuple[Column, ...], result: ImportResult,
) -> tuple[set[str], list[tuple[int, dict[str, str]]]]:
    """The file's columns (canonical names) and its rows as ``(line, {column: text})``.

    Header problems (unknown, doubled, missing or personal-data columns) and row problems
    that concern no one column (extra cells, ID-number-like cells) go to ``result``.
    """
    try:
        header, raw_rows = read_table(content, filename, to_the_day=True)
    except TableError as exc:
        result.add(None, None, str(exc))
        return set(), []
    names = {}
    for col in columns:
        for alias in (col.name, *col.aliases):
            names[_norm_header(alias)] = col.name
    positions: dict[str, int] = {}
    expected = expected_header(columns)
    for i, raw in enumerate(header):
        name = _norm_header(raw)
        if not name:
            continue
        if NIK.search(raw):
            result.add(1, None, _(_NIK_MESSAGE))
        elif name in names:
            canonical = names[name]
            if canonical in positions:
                result.add(1, canonical, _("the column appears twice"))
            positions[canonical] = i
        elif PERSONAL_COLUMN.search(name):
            result.add(1, raw[:40], _(
                "this column looks like personal data (names, birth dates, national ID "
                "numbers, addresses); Cegah takes no personal data. Remove the column and "
                "any personal data, then upload again."))
        else:
            result.add(1, raw[:40], _("unexpected column; expected %(expected)s")
                       % {"expected": expected})
    for col in columns:
        if col.required and col.name not in positions:
            result.add(1, col.name, _("missing column; expected %(expected)s")
                       % {"expected": expected})
    if not result.ok:
        return set(), []
    unnamed = [i for i, raw in enumerate(header) if not raw.strip()]
    out: list[tuple[int, dict[str, str]]] = []
    for line, cells in raw_rows:
        result.rows_total += 1
        if len(cells) > len(header) and any(cells[len(header):]):
            result.add(line, None, _("more cells than columns in the header"))
            continue
        if any(i < len(cells) and cells[i] for i in unnamed):
            result.add(line, None, _("a cell under a column without a name in the header"))
            continue
        if any(len(c) >= 16 and NIK.search(c) for c in cells):
            result.add(line, None, _(_NIK_MESSAGE))
            continue
        out.append((line, {name: unformula(cells[pos]) if pos < len(cells) else ""
                           for name, pos in positions.items()}))
    if result.rows_total == 0 and result.ok:
        result.add(None, None, _("the file has a header but no data rows"))
    return set(positions), out


# --- cell parsers (each raises RowError with what was expected) ------------------------

def _shown(value: str, limit: int = 30) -> str:
    """A value quoted in an error message: short, so a message never carries much of what
    a cell held."""
    return repr(value if len(value) <= limit else value[:limit] + "…")


def unformula(value: str) -> str:
    """Undo the apostrophe exports put before text a spreadsheet would run as a formula
    (``cegah.lib.tabular.neutralise_formula``), so re-importing an export changes
    nothing."""
    if value[:1] == "'" and value[1:2] in ("=", "+", "-", "@"):
        return value[1:]
    return value


def text(value: str, limit: int = TEXT_MAX) -> str:
    if len(value) > limit:
        raise RowError(_("expected at most %(n)s characters, got %(got)s")
                       % {"n": limit, "got": len(value)})
    return value


def split_list(value: str) -> list[str]:
    """``"a; b;;c"`` -> ``["a", "b", "c"]`` (order kept, repeats dropped)."""
    seen: dict[str, None] = {}
    for part in value.split(LIST_SEPARATOR):
        part = part.strip()
        if part:
            seen.setdefault(part, None)
    return list(seen)


def decimal_number(value: str, *, places: int, high: int) -> Decimal:
    raw = value
    if re.fullmatch(r"\d{1,3}(\.\d{3})+", value) and places == 0:
        value = value.replace(".", "")  # 1.500.000: Indonesian thousands separators
    elif re.fullmatch(r"\d{1,3}(,\d{3})+", value):
        value = value.replace(",", "")
    elif value.count(",") == 1 and "." not in value:
        value = value.replace(",", ".")  # 2,5: a decimal comma
    try:
        number = Decimal(value)
    except InvalidOperation:
        number = None
    if number is None or not number.is_finite() or number < 0 or number > high:
        raise RowError(_("expected a number from 0 to %(high)s, got %(got)s")
                       % {"high": f"{high:,}", "got": _shown(raw, 20)})
    step = Decimal(1).scaleb(-places)
    if number != number.quantize(step):
        raise RowError(_("expected at most %(places)s decimal places, got %(got)s")
                       % {"places": places, "got": _shown(raw, 20)})
    return number.quantize(step)


def a_date(value: str) -> dt.date:
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        day = None
    if day is None or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        raise RowError(_("expected a date as YYYY-MM-DD, got %(got)s") % {"got": _shown(value, 20)})
    if day.year < 2000:
        raise RowError(_("expected a date from 2000 on, got %(got)s") % {"got": value})
    return day


def a_time(value: str) -> dt.time:
    match = re.fullmatch(r"(\d{1,2})[:.](\d{2})(?::00)?", value)
    if not match or int(match[1]) > 23 or int(match[2]) > 59:
        raise RowError(_("expected a time as HH:MM, got %(got)s") % {"got": _shown(value, 20)})
    return dt.time(int(match[1]), int(match[2]))


_YES = {"yes", "y", "true", "1", "ya", "benar"}
_NO = {"no", "n", "false", "0", "tidak", "bukan", ""}


def yes_no(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in _YES:
        return True
    if lowered in _NO:
        return False
    raise RowError(_("expected yes or no, got %(got)s") % {"got": _shown(value, 20)})


def _key(value: str) -> str:
    return re.sub(r"[\s\-_/]+", " ", value.strip().lower())


def choice(value: str, choices: Iterable[str], aliases: dict[str, str] | None = None) -> str:
    """A vocabulary value: its key (``bus_terminal``), with spaces or dashes instead of
    underscores, or one of the ``aliases`` (Indonesian names)."""
    table = {_key(c): c for c in choices}
    table.update({_key(k): v for k, v in (aliases or {}).items()})
    found = table.get(_key(value))
    if found is None:
        raise RowError(_("expected one of %(choices)s, got %(got)s")
                       % {"choices": ", ".join(choices), "got": _shown(value)})
    return found


# --- activities ------------------------------------------------------------------------

REACH_COLUMNS = tuple(f for f, _sex, _age in REACH_FIELDS)  # the model's, in its order

ACTIVITY_COLUMNS: tuple[Column, ...] = (
    Column("reference", True, ("ref", "referensi", "external_id", "id", "nomor", "no_ref")),
    Column("title", False, ("judul", "nama_kegiatan", "kegiatan", "activity")),
    Column("intervention", False, ("intervensi", "strategi", "program")),
    Column("lead", False, ("lead_organisation", "penyelenggara", "lembaga", "organisasi",
                           "organisation")),
    Column("partners", False, ("mitra", "partner")),
    Column("areas", False, ("area", "code", "codes", "kode", "kode_wilayah", "wilayah")),
    Column("venue", False, ("tempat", "lokasi")),
    Column("status", False, ()),
    Column("date", False, ("tanggal", "starts_on")),
    Column("start_time", False, ("jam", "jam_mulai", "waktu", "time")),
    Column("duration_minutes", False, ("duration", "durasi", "durasi_menit", "menit")),
    Column("audience", False, ("sasaran", "peserta", "kelompok_sasaran")),
    Column("girls_under_12", False, ("anak_perempuan_di_bawah_12", "perempuan_0_11")),
    Column("boys_under_12", False, ("anak_laki_laki_di_bawah_12", "laki_laki_0_11")),
    Column("girls_12_17", False, ("anak_perempuan_12_17", "perempuan_12_17")),
    Column("boys_12_17", False, ("anak_laki_laki_12_17", "laki_laki_12_17")),
    Column("women_18_plus", False, ("perempuan_dewasa", "perempuan_18")),
    Column("men_18_plus", False, ("laki_laki_dewasa", "laki_laki_18")),
    Column("reached_unknown", False, ("tidak_diketahui", "lainnya")),
    Column("topics", False, ("topik", "materi_topik")),
    Column("laws", False, ("undang_undang", "uu", "hukum")),
    Column("officer_count", False, ("officers_involved", "jumlah_petugas", "petugas")),
    Column("officer_hours", False, ("jam_petugas",)),
    Column("cost", False, ("biaya", "biaya_rp", "cost_idr")),
    Column("materials", False, ("bahan", "materi")),
    Column("notes", False, ("catatan", "keterangan")),
    Column("outcomes", False, ("hasil", "outcome_measures")),
    Column("officers", False, ("officer_usernames", "nama_pengguna_petugas")),
    Column("synthetic", False, ("sintetis", "is_synthetic")),
)
ACTIVITY_HEADER = [c.name for c in ACTIVITY_COLUMNS]
# Only the lead organisation and its partners see (and so export) these.
DETAIL_COLUMNS = ("cost", "notes", "outcomes", "officers")

STATUS_ALIASES = {
    "rencana": "planned", "direncanakan": "planned", "terjadwal": "planned",
    "selesai": "done", "terlaksana": "done", "dilaksanakan": "done", "sudah": "done",
    "batal": "cancelled", "dibatalkan": "cancelled", "canceled": "cancelled",
}
AUDIENCE_ALIASES = {
    "anak": "children", "anak anak": "children", "remaja": "adolescents",
    "siswa": "adolescents", "pelajar": "adolescents", "orang tua": "parents",
    "orangtua": "parents", "guru": "teachers", "tokoh masyarakat": "community_leaders",
    "rt rw": "community_leaders", "tokoh agama": "religious_leaders",
    "pkk": "women_groups", "dasa wisma": "women_groups", "keluarga rentan": "vulnerable_families",
    "penumpang": "travellers", "pekerja transportasi": "transport_tourism_workers",
    "pekerja pariwisata": "transport_tourism_workers", "petugas": "officers",
    "masyarakat": "general_public", "masyarakat umum": "general_public",
    "warganet": "online_users", "anak berhadapan dengan hukum": "children_in_conflict",
    "abh": "children_in_conflict", "korban": "victims",
}
TOPIC_ALIASES = {
    "keamanan tubuh": "body_safety", "sentuhan aman": "body_safety",
    "persetujuan": "consent", "keamanan daring": "online_safety",
    "keamanan online": "online_safety", "sextortion": "online_safety",
    "grooming": "grooming", "pelaporan": "reporting", "cara melapor": "reporting",
    "layanan": "services", "perdagangan orang": "trafficking", "eksploitasi": "trafficking",
    "pengasuhan": "parenting", "pengasuhan positif": "parenting",
    "perkawinan anak": "child_marriage", "pernikahan anak": "child_marriage",
    "hukum": "law",
}
LAW_ALIASES = {
    "tpks": "uu_12_2022", "uu tpks": "uu_12_2022", "12 2022": "uu_12_2022",
    "uu 12 2022": "uu_12_2022", "perlindungan anak": "uu_35_2014", "35 2014": "uu_35_2014",
    "uu 35 2014": "uu_35_2014", "uu perlindungan anak": "uu_35_2014",
    "sppa": "uu_11_2012", "uu sppa": "uu_11_2012", "11 2012": "uu_11_2012",
    "uu 11 2012": "uu_11_2012", "tppo": "uu_21_2007", "uu tppo": "uu_21_2007",
    "21 2007": "uu_21_2007", "uu 21 2007": "uu_21_2007", "ite": "uu_1_2024",
    "uu ite": "uu_1_2024", "1 2024": "uu_1_2024", "uu 1 2024": "uu_1_2024",
    "pornografi": "uu_44_2008", "uu pornografi": "uu_44_2008", "44 2008": "uu_44_2008",
    "uu 44 2008": "uu_44_2008", "perkawinan": "uu_16_2019", "uu perkawinan": "uu_16_2019",
    "16 2019": "uu_16_2019", "uu 16 2019": "uu_16_2019",
}
_OWN_REFERENCE = re.compile(r"^cegah-(\d{1,12})$")
# Import columns whose model field (the validator's key) has another name.
FIELD_OF = {"reference": "external_id", "lead": "lead_organisation", "date": "starts_on",
            "synthetic": "is_synthetic"}
COLUMN_OF = {f: c for c, f in FIELD_OF.items()}
_TEXT_COLUMNS = ("title", "materials", "notes")
_RAW_COLUMNS = ("duration_minutes", *REACH_COLUMNS, "officer_count", "officer_hours")


def _venue_id(name: str, area_codes: list[str], cache: dict[str, list]) -> int:
    """The venue of that name in (or around) the row's areas."""
    from cegah.activities.models import Venue
    from cegah.areas.models import is_within

    key = name.casefold()
    if key not in cache:
        cache[key] = list(Venue.objects.filter(name__iexact=name))
    # The venue lies in one of the areas (a village's school for a district's activity).
    found = [v for v in cache[key] if is_within(v.area_id, area_codes)]
    if not found:
        raise RowError(_("no venue named %(got)s in the areas of this row; import the "
                         "venue first (cegah venues import)") % {"got": _shown(name, 60)})
    if len(found) > 1:
        raise RowError(_("several venues named %(got)s in these areas; give a smaller "
                         "area") % {"got": _shown(name, 60)})
    return found[0].pk


def _outcomes(value: str) -> Any:
    """Exports write outcomes as a JSON object (keeping numbers numbers); people may also
    write ``name=value; name=value``, which the validator reads."""
    if not value.startswith("{"):
        return value
    try:
        data = json.loads(value)
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise RowError(_('expected a JSON object such as {"quiz_correct_pct": 80}, or '
                         "name=value; name=value"))
    return data


def row_data(
    cells: dict[str, str], present: Collection[str], *, base: dict[str, Any] | None,
    venues: dict[str, list],
) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """A row's cells as the validator's data (``cegah.activities.actions.clean_activity``):
    aliases (Indonesian names) resolved, a venue name found in the row's areas, the
    apostrophe exports put before formula-like text removed. ``base`` holds the stored
    values of the activity the row updates: columns the file lacks keep them."""
    from cegah.activities.models import ActivityStatus, Law, Topic
    from cegah.catalogue.models import Audience

    data: dict[str, Any] = dict(base or {})
    problems: list[tuple[str, str]] = []

    def put(column: str, parse: Callable[[str], Any]) -> None:
        if column not in present:
            return
        try:
            data[FIELD_OF.get(column, column)] = parse(cells.get(column, "").strip())
        except RowError as exc:
            problems.append((column, str(exc)))

    def listed(choices, aliases) -> Callable[[str], list[str]]:
        return lambda v: list(dict.fromkeys(choice(p, choices, aliases) for p in split_list(v)))

    for column in _TEXT_COLUMNS:
        put(column, lambda v: text(v, 10 * LONG_TEXT_MAX))
    for column in _RAW_COLUMNS:
        put(column, lambda v: v)
    put("intervention", lambda v: v.lower())
    put("status", lambda v: choice(v, ActivityStatus.values, STATUS_ALIASES) if v else "")
    put("audience", lambda v: choice(v, Audience.values, AUDIENCE_ALIASES) if v else "")
    put("topics", listed(Topic.values, TOPIC_ALIASES))
    put("laws", listed(Law.values, LAW_ALIASES))
    put("date", lambda v: a_date(v) if v else "")
    put("start_time", lambda v: a_time(v) if v else None)
    put("cost", lambda v: decimal_number(v, places=0, high=10**13) if v else None)
    put("outcomes", _outcomes)
    put("synthetic", yes_no)
    put("partners", split_list)
    put("areas", split_list)
    put("officers", split_list)
    if base is None:
        put("lead", lambda v: v)
    if "venue" in present:
        name = cells.get("venue", "").strip()
        data["venue"] = None
        if name:
            codes = [str(c) for c in data.get("areas") or []]
            try:
                data["venue"] = _venue_id(name, codes, venues) if codes else None
            except RowError as exc:
                problems.append(("venue", str(exc)))
    return data, problems


def _lead_for(cleaner, actor: Any, label: str):
    """The lead organisation a row names (for finding the activity its reference names);
    the validator decides whether the actor may record for it."""
    if label:
        return cleaner.organisation(label)
    return getattr(actor, "organisation", None) if getattr(actor, "organisation_id", None) \
        else None


def find_existing(lead: Any, reference: str) -> Any:
    """The activity a reference names within the lead organisation: its own reference
    (``external_id``), or ``cegah-<id>``, as exports write for activities recorded
    without one."""
    from cegah.activities.models import Activity

    qs = Activity.objects.filter(lead_organisation=lead)
    found = qs.filter(external_id=reference).first()
    own = _OWN_REFERENCE.match(reference)
    if found is None and own:
        found = qs.filter(external_id="", pk=int(own[1])).first()
    return found


def _same(field: str, stored: Any, new: Any) -> bool:
    if field in ("partners", "areas", "officers"):
        return {getattr(v, "pk", v) for v in stored.all()} == {getattr(v, "pk", v) for v in new}
    if field in ("topics", "laws"):
        return set(stored or ()) == set(new or ())
    if hasattr(new, "pk") or hasattr(stored, "pk"):
        return getattr(stored, "pk", stored) == getattr(new, "pk", new)
    return stored == new


def changed_fields(activity: Any, cleaned: dict[str, Any]) -> list[str]:
    """The fields whose cleaned value differs from the stored activity."""
    return [f for f, value in cleaned.items() if not _same(f, getattr(activity, f), value)]


def _problems_of(errors: dict[str, list[str]]) -> list[tuple[str | None, str]]:
    out = []
    for name, messages in errors.items():
        column = COLUMN_OF.get(name, name)
        for message in messages:
            out.append((None if name == "__all__" else column, message))
    return out


def check_activity(
    actor: Any, cells: dict[str, str], present: Collection[str], *, cleaner,
    venues: dict[str, list],
) -> tuple[Any, dict[str, Any] | None, list[tuple[str | None, str]], tuple | None]:
    """One activity given as text cells (a file row or an API call), checked.

    Returns ``(existing activity or None, cleaned values or None, problems, key)`` where
    ``key`` is ``(lead organisation id, reference)`` when the row has a reference.
    """
    from cegah.activities.actions import activity_to_data, clean_activity

    reference = text(cells.get("reference", "").strip(), 100) if "reference" in present else ""
    lead = _lead_for(cleaner, actor, cells.get("lead", "").strip() if "lead" in present else "")
    existing = find_existing(lead, reference) if lead is not None and reference else None
    if existing is not None and not policy.can_edit_activity(actor, existing):
        # Judged as a new row: another organisation's references are not revealed by a
        # message of their own (the validator refuses the lead, or names the clash
        # within one's own organisation).
        existing = None
    base = activity_to_data(existing) if existing is not None else None
    data, problems = row_data(cells, present, base=base, venues=venues)
    if existing is None:
        data["external_id"] = reference
        if _OWN_REFERENCE.match(reference):
            # Exports name activities without a reference "cegah-<id>"; a new activity
            # with such a reference would be exported under another's name.
            problems.append(("reference", _(
                "%(ref)s is how Cegah's exports name one of your activities, and you have "
                "none you may change with that number; leave the reference empty or give "
                "your own") % {"ref": _shown(reference, 40)}))
    cleaned, errors = clean_activity(actor, data, instance=existing, cleaner=cleaner)
    # A cell refused here is not handed on, so the validator would call it missing.
    refused = {column for column, _message in problems}
    problems = [*problems, *(p for p in _problems_of(errors) if p[0] not in refused)]
    key = (lead.pk, reference) if lead is not None and reference else None
    return existing, (None if problems else cleaned), problems, key


@dataclass
class _Planned:
    existing: Any
    cleaned: dict[str, Any]


def do_import_activities(
    actor: Any, content: bytes, filename: str, dry_run: bool = False,
) -> ImportResult:
    """Check an activity file and, unless ``dry_run`` or any row is bad, apply it.

    One row per activity, checked by ``cegah.activities.actions.clean_activity`` (the
    rules of the web forms). A row whose ``reference`` the lead organisation already used
    updates that activity (only the columns the file has); re-running a file changes
    nothing. Every row is checked before anything is written, in one transaction.
    Raises ``PermissionDenied`` if the actor may not record activities at all.
    """
    from cegah.activities.actions import ActivityCleaner, write_activity
    from cegah.audit.actions import record_event

    if not policy.can_record_activities(actor):
        raise PermissionDenied
    result = ImportResult(filename=filename, dry_run=dry_run)
    with transaction.atomic():
        present, rows = read_rows(content, filename, ACTIVITY_COLUMNS, result)
        if not result.ok:
            return result
        cleaner, venues = ActivityCleaner(actor), {}
        planned: list[_Planned] = []
        first_line: dict[tuple, int] = {}
        for line, cells in rows:
            existing, cleaned, problems, key = check_activity(
                actor, cells, present, cleaner=cleaner, venues=venues)
            for column, message in problems:
                result.add(line, column, message)
            if key is not None and key in first_line:
                result.add(line, "reference", _("the same reference as line %(line)s")
                           % {"line": first_line[key]})
                continue
            if key is not None:
                first_line[key] = line
            if cleaned is not None:
                planned.append(_Planned(existing, cleaned))
        if not result.ok:
            return result
        todo = []
        for item in planned:
            if item.existing is None:
                result.created += 1
            elif changed_fields(item.existing, item.cleaned):
                result.updated += 1
            else:
                result.unchanged += 1
                continue
            todo.append(item)
        if dry_run:
            return result
        for item in todo:
            write_activity(actor, item.cleaned, instance=item.existing)
        result.applied = True
        record_event(actor=actor, action="import", object_type="activities",
                     object_key=filename[:200], new=result.summary())
    return result


class ActivityInvalid(ValueError):
    """An activity given as cells (an API call) failed its checks."""

    def __init__(self, problems: list[tuple[str | None, str]]) -> None:
        super().__init__("; ".join(f"{c or '-'}: {m}" for c, m in problems))
        self.problems = problems


def do_submit_activity(actor: Any, cells: dict[str, str | None]) -> tuple[Any, bool]:
    """Record (or, with a reference the lead organisation used before, update) one
    activity given as text cells in the import's columns, checked exactly like an import
    row. Returns ``(activity, created)``; raises ``ActivityInvalid`` with ``(column,
    problem)`` pairs, or ``PermissionDenied``."""
    from cegah.activities.actions import ActivityCleaner, write_activity

    if not policy.can_record_activities(actor):
        raise PermissionDenied
    present = {k for k, v in cells.items() if v is not None}
    with transaction.atomic():
        existing, cleaned, problems, _key = check_activity(
            actor, {k: v or "" for k, v in cells.items()}, present,
            cleaner=ActivityCleaner(actor), venues={})
        if problems:
            raise ActivityInvalid(problems)
        if existing is not None and not changed_fields(existing, cleaned):
            return existing, False
        activity, _old, _new = write_activity(actor, cleaned, instance=existing)
    return activity, existing is None
