"""Parsing and validating import files of case counts, child populations and risk factors.

Nothing here writes to the database: ``validate_file`` turns a file into rows keyed by
their natural key, or into a list of errors naming the line and the reason.
``cegah.cases.actions.do_import`` applies a valid file.
"""

from __future__ import annotations

import datetime as dt
import math
import operator
import re
from array import array
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from cegah.cases.models import CaseCount, Category, DataKind, FactorValue, Population
from cegah.lib.cells import NIK, PERSONAL_COLUMN
from cegah.lib.tabular import TableError, read_table

MAX_REPORTED_ERRORS = 1000

_FACTOR_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_PERIOD = re.compile(r"^(\d{4})-(\d{2})$")


class RowError(ValueError):
    """A cell's value is not acceptable; the message says what was expected."""


@dataclass(frozen=True)
class Column:
    name: str
    parse: Callable[[str], Any]
    required: bool = True
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class ImportSpec:
    kind: str
    model: type
    columns: tuple[Column, ...]
    key: tuple[str, ...]  # columns forming the natural key (area code first)
    values: tuple[str, ...]  # model fields replaced on re-import
    key_fields: tuple[str, ...]  # model fields of the natural key

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)

    @property
    def expected_header(self) -> str:
        return ", ".join(c.name if c.required else f"[{c.name}]" for c in self.columns)


def _text(value: str) -> str:
    if len(value) > 200:
        raise RowError(_("longer than 200 characters"))
    # Undo the apostrophe our exports put before text a spreadsheet would run as a
    # formula, so that re-importing an export changes nothing.
    if value[:1] == "'" and value[1:2] in ("=", "+", "-", "@"):
        return value[1:]
    return value


def _non_negative_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        try:
            as_float = float(value)
        except ValueError:
            raise RowError(_("expected a whole number, got %(value)r") % {"value": value[:20]}) \
                from None
        if not as_float.is_integer():
            raise RowError(_("expected a whole number, got %(value)r") % {"value": value[:20]}) \
                from None
        number = int(as_float)
    if number < 0:
        raise RowError(_("must not be negative, got %(value)s") % {"value": number})
    if number > 2_000_000_000:
        raise RowError(_("is implausibly large"))
    return number


def _period(value: str) -> dt.date:
    match = _PERIOD.match(value)
    if not match:
        raise RowError(_("expected a month as YYYY-MM, got %(value)r") % {"value": value[:20]})
    year, month = int(match[1]), int(match[2])
    if not 1 <= month <= 12 or year < 1990:
        raise RowError(_("%(value)r is not a valid month") % {"value": value})
    period = dt.date(year, month, 1)
    if period > timezone.localdate().replace(day=1):
        raise RowError(_("%(value)s is in the future") % {"value": value})
    return period


def _year(value: str) -> int:
    if not re.fullmatch(r"\d{4}", value):
        raise RowError(_("expected a year as YYYY, got %(value)r") % {"value": value[:20]})
    year = int(value)
    if not 1990 <= year <= timezone.localdate().year + 10:
        raise RowError(_("year %(value)s is out of range") % {"value": year})
    return year


def _optional_year(value: str) -> int | None:
    return _year(value) if value else None


def _category(value: str) -> str:
    value = value.lower()
    if value not in Category.values:
        raise RowError(
            _("unknown category %(value)r; expected one of %(choices)s")
            % {"value": value[:40], "choices": ", ".join(Category.values)}
        )
    return value


def _factor(value: str) -> str:
    value = value.lower()
    if not _FACTOR_NAME.match(value):
        raise RowError(
            _("factor names use lower-case letters, digits and underscores, got %(value)r")
            % {"value": value[:40]}
        )
    return value


def _number(value: str) -> float:
    try:
        number = float(value.replace(",", ".") if value.count(",") == 1 and "." not in value
                       else value)
    except ValueError:
        raise RowError(_("expected a number, got %(value)r") % {"value": value[:20]}) from None
    if not math.isfinite(number):
        raise RowError(_("expected a finite number"))
    return number


_CODE = Column("code", str, aliases=("kode", "kode_wilayah", "area_code"))
_SOURCE = Column("source", _text, required=False, aliases=("sumber",))

SPECS: dict[str, ImportSpec] = {
    DataKind.CASES: ImportSpec(
        kind=DataKind.CASES, model=CaseCount,
        columns=(_CODE, Column("period", _period, aliases=("periode", "bulan", "month")),
                 Column("category", _category, aliases=("kategori",)),
                 Column("count", _non_negative_int, aliases=("jumlah", "jumlah_kasus", "cases")),
                 _SOURCE),
        key=("code", "period", "category"), key_fields=("area_id", "period", "category"),
        values=("count", "source"),
    ),
    DataKind.POPULATION: ImportSpec(
        kind=DataKind.POPULATION, model=Population,
        columns=(_CODE, Column("year", _year, aliases=("tahun",)),
                 Column("children", _non_negative_int, aliases=("anak", "jumlah_anak")),
                 _SOURCE),
        key=("code", "year"), key_fields=("area_id", "year"), values=("children", "source"),
    ),
    DataKind.FACTORS: ImportSpec(
        kind=DataKind.FACTORS, model=FactorValue,
        columns=(_CODE, Column("factor", _factor, aliases=("faktor",)),
                 Column("value", _number, aliases=("nilai",)),
                 Column("year", _optional_year, required=False, aliases=("tahun",)),
                 _SOURCE),
        key=("code", "factor", "year"), key_fields=("area_id", "factor", "year"),
        values=("value", "source"),
    ),
}


@dataclass
class ImportError_:
    line: int | None
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"line": self.line, "message": self.message}

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}" if self.line else self.message


@dataclass
class ValidatedFile:
    spec: ImportSpec
    rows: dict[tuple, tuple] = field(default_factory=dict)  # natural key -> values
    errors: list[ImportError_] = field(default_factory=list)
    error_count: int = 0
    rows_total: int = 0

    @property
    def ok(self) -> bool:
        return self.error_count == 0

    def add_error(self, line: int | None, message: str) -> None:
        self.error_count += 1
        if len(self.errors) < MAX_REPORTED_ERRORS:
            self.errors.append(ImportError_(line, message))


def _map_header(spec: ImportSpec, header: list[str], result: ValidatedFile) -> dict[str, int]:
    names = {}
    for col in spec.columns:
        for alias in (col.name, *col.aliases):
            names[alias] = col.name
    positions: dict[str, int] = {}
    for i, raw in enumerate(header):
        name = raw.strip().lower().replace(" ", "_")
        if not name:
            continue
        if NIK.search(raw):
            # A file of personal records without a header row: never echo the number.
            result.add_error(1, _(
                "a cell holds a 16-digit number that looks like a national ID number (NIK); "
                "Cegah takes no personal data. The file was not imported."
            ))
            continue
        if name in names:
            canonical = names[name]
            if canonical in positions:
                result.add_error(1, _("column %(name)r appears twice") % {"name": canonical})
            positions[canonical] = i
        elif PERSONAL_COLUMN.search(name):
            result.add_error(1, _(
                "column %(name)r looks like personal data (names, birth dates, national ID "
                "numbers, addresses); Cegah accepts only aggregate counts per area, period and "
                "category. Remove the column and any personal data, then upload again."
            ) % {"name": raw[:40]})
        else:
            result.add_error(1, _("unexpected column %(name)r; expected %(expected)s")
                             % {"name": raw[:40], "expected": spec.expected_header})
    for col in spec.columns:
        if col.required and col.name not in positions:
            result.add_error(1, _("missing column %(name)r; expected %(expected)s")
                             % {"name": col.name, "expected": spec.expected_header})
    return positions


_MISSING = object()
_MEMO_LIMIT = 100_000  # distinct values remembered per column


class _Problem:
    """Why a cell was refused (kept in the per-column memo like a parsed value)."""

    __slots__ = ("message",)

    def __init__(self, message: str) -> None:
        self.message = message


def _parse_cell(name: str, parse: Callable[[str], Any], required: bool, raw: str) -> Any:
    if raw == "":
        if required:
            return _Problem(_("%(name)s is empty") % {"name": name})
        return parse("") if name == "year" else ""
    if name == "code":
        return raw
    try:
        return parse(raw)
    except RowError as exc:
        return _Problem(f"{name}: {exc}")


def _code_problem(code: str, known_codes, may_write: Callable[[str], bool]) -> str | None:
    if code not in known_codes:
        return _("unknown area code %(code)r") % {"code": code[:20]}
    if not may_write(code):
        return _("area %(code)s is outside your organisation's jurisdiction") % {"code": code}
    return None


def _has_nik(cells: list[str], memo: dict[str, bool]) -> bool:
    for cell in cells:
        if len(cell) >= 16:
            hit = memo.get(cell)
            if hit is None:
                hit = NIK.search(cell) is not None
                if len(memo) < _MEMO_LIMIT:
                    memo[cell] = hit
            if hit:
                return True
    return False


def _getter(indexes: list[int]) -> Callable[[list[Any]], tuple]:
    """``record -> tuple`` of the items at ``indexes`` (always a tuple)."""
    if len(indexes) == 1:
        i = indexes[0]
        return lambda record: (record[i],)
    return operator.itemgetter(*indexes)


def validate_file(
    kind: str,
    data: bytes,
    filename: str,
    *,
    known_codes: set[str] | frozenset[str],
    may_write: Callable[[str], bool],
) -> ValidatedFile:
    """Check every row of an import file; collect the rows or the errors.

    ``known_codes`` is the set of area codes; ``may_write(code)`` says whether the actor may
    write data for an area (the policy module answers it).
    """
    spec = SPECS[kind]
    result = ValidatedFile(spec)
    try:
        header, rows = read_table(data, filename)
    except TableError as exc:
        result.add_error(None, str(exc))
        return result
    positions = _map_header(spec, header, result)
    if not result.ok:
        return result

    # Every parse is pure, so each distinct cell value of a column is parsed (and its
    # problem worded) once per file; a large file repeats its codes, months, categories,
    # counts and sources many times. Values come back as the same objects, which also
    # keeps the rows of a large file small in memory.
    columns = []
    for col in spec.columns:
        memo: dict[str, Any] = {}
        columns.append((col.name, col.parse, positions.get(col.name), col.required, memo))
    names = [c[0] for c in columns]
    key_get = _getter([names.index(k) for k in spec.key])
    values_get = _getter([names.index(v) for v in spec.values])
    code_index = names.index("code")
    code_problem: dict[str, str | None] = {}  # code -> why it may not be used, or None
    nik_memo: dict[str, bool] = {}
    # The line of each accepted row, in order; made into a dict only if a duplicate shows.
    lines = array("L")
    first_line: dict[tuple, int] | None = None
    key_names = spec.key
    n_header = len(header)
    # Cells under a column without a name would otherwise be dropped without a word.
    unnamed = [i for i, name in enumerate(header) if not name.strip()]
    rows_out = result.rows
    for line, cells in rows:
        result.rows_total += 1
        n_cells = len(cells)
        if n_cells > n_header and any(cells[n_header:]):
            result.add_error(line, _("more cells than columns in the header"))
            continue
        if unnamed and any(i < n_cells and cells[i] for i in unnamed):
            result.add_error(line, _("a cell under a column without a name in the header"))
            continue
        if _has_nik(cells, nik_memo):
            result.add_error(line, _(
                "a cell holds a 16-digit number that looks like a national ID number (NIK); "
                "Cegah takes no personal data. The file was not imported."
            ))
            continue
        record: list[Any] = []
        problems: list[str] | None = None
        for name, parse, pos, required, memo in columns:
            raw = cells[pos] if pos is not None and pos < n_cells else ""
            value = memo.get(raw, _MISSING)
            if value is _MISSING:
                value = _parse_cell(name, parse, required, raw)
                if len(memo) < _MEMO_LIMIT:
                    memo[raw] = value
            if value.__class__ is _Problem:
                if problems is None:
                    problems = []
                problems.append(value.message)
            record.append(value)
        code = record[code_index]
        if code.__class__ is not _Problem:
            why = code_problem.get(code, _MISSING)
            if why is _MISSING:
                why = code_problem[code] = _code_problem(code, known_codes, may_write)
            if why is not None:
                if problems is None:
                    problems = []
                problems.append(why)
        if problems is not None:
            result.add_error(line, "; ".join(problems))
            continue
        key = key_get(record)
        if key in rows_out:
            if first_line is None:
                first_line = dict(zip(rows_out, lines, strict=True))
            result.add_error(line, _("duplicate of line %(line)s (same %(key)s)")
                             % {"line": first_line[key], "key": ", ".join(key_names)})
            continue
        rows_out[key] = values_get(record)
        if first_line is None:
            lines.append(line)
        else:
            first_line[key] = line
    if result.rows_total == 0 and result.ok:
        result.add_error(None, _("the file has a header but no data rows"))
    if not result.ok:
        result.rows = {}
    return result
