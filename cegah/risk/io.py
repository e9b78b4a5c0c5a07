"""All file input and output of the risk engine: areas, populations, cases, factors,
boundaries in; result tables out.

Readers take a path and return validated pandas objects, or raise :class:`InputError`
listing every problem found with the file name and the line (a spreadsheet line: the
header is line 1) or the feature number. Tables may be CSV (UTF-8 with or without a
byte-order mark, comma-, semicolon- or tab-separated, optionally gzip-compressed as
``.csv.gz``) or XLSX (first worksheet). Header names are case-insensitive and accept the
same aliases as the web import (``cegah.cases.importing``): ``kode`` for ``code``,
``periode`` or ``bulan`` for ``period``, and so on. Validation is vectorised: each
distinct cell value of a column is checked once, so a file of a million case rows is
read and checked in about a second.

Error messages never echo long digit runs (11 digits or more, possibly split by spaces,
dots or dashes), so a national ID number (NIK, 16 digits) or a phone number typed into
a cell is not copied into logs or screens; a cell holding a 16-digit number is itself an
error, as in the web import, because Cegah takes aggregate counts only.

This module, like the rest of :mod:`cegah.risk`, never imports Django.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import functools
import gzip
import io
import json
import math
import os
import re
import tempfile
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import numpy as np
import pandas as pd

from cegah.lib.cells import NIK, PERSONAL_COLUMN, cell_text
from cegah.risk.windows import CATEGORIES

__all__ = [
    "AREA_LEVEL_NAMES",
    "InputError",
    "MAX_PROBLEMS",
    "Problem",
    "builtin_areas",
    "check_output_path",
    "looks_like_kemendagri",
    "read_areas",
    "read_boundaries",
    "read_cases",
    "read_factors",
    "read_population",
    "read_table",
    "write_table",
]

MAX_PROBLEMS = 1000  # problems kept in an InputError (all are counted)
_SHOWN_PROBLEMS = 20  # problems listed by str(InputError)
_MAX_WHOLE = 2_000_000_000  # larger counts are typing errors
_YEARS = (1990, 2100)

BUILTIN_DATA_DIR = Path(__file__).resolve().parent.parent / "areas" / "data" / "idn-area-data"

_KEMENDAGRI = re.compile(r"^\d{2}(\.\d{2}(\.\d{2}(\.\d{4})?)?)?$")
_PERIOD = re.compile(r"^(\d{4})-(\d{2})$")
_YEAR = re.compile(r"^\d{4}$")
_WHOLE = re.compile(r"^\d+(\.0)?$")  # "3", or "3.0" as float columns are written
_FACTOR_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
# Digit runs that may be personal numbers (NIK, family card, phone): never echoed.
_LONG_NUMBER = re.compile(r"\d(?:[ .\-]?\d){10,}")
_PLAIN_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")

#: Level names accepted in area files (besides integers 1, 2, 3, ...).
AREA_LEVEL_NAMES: dict[str, int] = {
    "province": 1, "provinsi": 1, "propinsi": 1,
    "regency": 2, "city": 2, "regency/city": 2, "kabupaten": 2, "kota": 2,
    "kabupaten/kota": 2, "kab/kota": 2,
    "district": 3, "subdistrict": 3, "kecamatan": 3,
    "village": 4, "desa": 4, "kelurahan": 4, "desa/kelurahan": 4, "kelurahan/desa": 4,
}

_TABLE_SUFFIXES = (".csv", ".csv.gz", ".xlsx")
_BOUNDARY_SUFFIXES = (".geojson", ".json", ".gpkg", ".shp", ".zip")
_OUTPUT_FORMATS = {".csv": "csv", ".geojson": "geojson", ".json": "json"}


# --------------------------------------------------------------------------- errors

Problem = tuple[str | None, int | str | None, str]


class InputError(ValueError):
    """One or more problems with an input file (or an output path).

    Parameters
    ----------
    problems : iterable of (path_name, line, message)
        ``path_name`` is the file's name (not its directory) or None; ``line`` is the
        spreadsheet line (header = line 1), a location such as ``"feature 12"``, or None
        for a problem with the whole file.
    total : int, optional
        How many problems there were, if more than ``problems`` holds (only the first
        :data:`MAX_PROBLEMS` are kept).

    Attributes
    ----------
    problems : list of (path_name, line, message)
    total : int
    """

    def __init__(self, problems: Iterable[Problem], *, total: int | None = None) -> None:
        self.problems: list[Problem] = list(problems)
        self.total: int = max(total or 0, len(self.problems))
        super().__init__(self._text())

    @staticmethod
    def _format(problem: Problem) -> str:
        path_name, line, message = problem
        where = ""
        if line is not None:
            where = f"line {line}" if isinstance(line, int | np.integer) else str(line)
        place = ", ".join(p for p in (path_name, where) if p)
        return f"{place}: {message}" if place else message

    def _text(self) -> str:
        lines = [self._format(p) for p in self.problems[:_SHOWN_PROBLEMS]]
        more = self.total - len(lines)
        if more > 0:
            lines.append(f"… and {more} more problem{'s' if more != 1 else ''}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self._text()

    def __reduce__(self):
        return self.__class__, (self.problems,), {"total": self.total}


def _file_error(path_name: str | None, message: str) -> InputError:
    return InputError([(path_name, None, message)])


def _show(value: Any, limit: int = 40) -> str:
    """A cell value for an error message: quoted, shortened, long numbers hidden."""
    text = _LONG_NUMBER.sub("<long number hidden>", str(value))
    if len(text) > limit:
        text = text[:limit] + "…"
    return repr(text)


class _Problems:
    """Collects row problems of one file; keeps the first :data:`MAX_PROBLEMS` by line."""

    def __init__(self, path_name: str, unit: str = "line") -> None:
        self.path_name = path_name
        self.unit = unit  # "line", or "feature" for boundary files
        self.found: list[tuple[int, str]] = []
        self.total = 0

    def rows(self, lines: np.ndarray, mask: np.ndarray, message: Callable[[int], str]) -> None:
        """Record ``message(i)`` for each row position ``i`` where ``mask`` is true."""
        where = np.flatnonzero(mask)
        self.total += where.size
        self.found.extend((int(lines[i]), message(int(i))) for i in where[:MAX_PROBLEMS])

    def add(self, line: int | None, message: str) -> None:
        self.total += 1
        self.found.append((line if line is not None else 0, message))

    def raise_if_any(self) -> None:
        if not self.total:
            return
        self.found.sort(key=lambda item: item[0])  # stable: a row's problems in column order
        kept = [(self.path_name, self._where(line), message)
                for line, message in self.found[:MAX_PROBLEMS]]
        raise InputError(kept, total=self.total)

    def _where(self, line: int) -> int | str | None:
        if not line:
            return None
        return line if self.unit == "line" else f"{self.unit} {line}"


# --------------------------------------------------------------------------- tables

def _table_suffix(path: Path) -> str:
    name = path.name.lower()
    for suffix in _TABLE_SUFFIXES:
        if name.endswith(suffix):
            return suffix
    if name.endswith(".xls"):
        raise _file_error(path.name, "old Excel .xls files are not read; save the sheet as "
                                     ".xlsx or as CSV UTF-8.")
    got = Path(name).suffix or "no extension"
    raise _file_error(path.name, f"expected a .csv or .xlsx file, got {got}.")


def read_table(path: str | os.PathLike) -> tuple[pd.DataFrame, int]:
    """Read a CSV or XLSX table with every cell as a stripped string.

    Parameters
    ----------
    path : str or path-like
        ``.csv``, ``.csv.gz`` or ``.xlsx``. CSV must be UTF-8 (a byte-order mark is
        allowed); the delimiter (comma, semicolon or tab) is the most frequent of the three
        in the first line. XLSX is read from its first worksheet; dates become ``YYYY-MM``
        and whole numbers lose their ``.0``.

    Returns
    -------
    table : DataFrame
        One column per header cell, named as in the header (stripped; duplicates kept),
        object dtype holding ``str`` (empty string for an empty cell). The index holds
        each row's line number (the header is line 1); empty rows are dropped, so the
        index may have gaps.
    first_data_line : int
        The line of the first row after the header (normally 2).

    Raises
    ------
    InputError
        The file cannot be read, is not UTF-8, is empty, or a row has more non-empty
        cells than the header has columns.
    """
    table = _read(path)
    frame = pd.DataFrame({i: cells.values() for i, cells in enumerate(table.columns)},
                         index=pd.Index(table.lines, name="line"), dtype=object)
    frame.columns = table.header
    return frame, table.first_data_line


@dataclass
class _Cells:
    """A column as distinct stripped values and, per row, the position of its value."""

    codes: np.ndarray
    uniques: np.ndarray

    def values(self) -> np.ndarray:
        return self.uniques[self.codes] if len(self.uniques) else np.array([], dtype=object)

    def nonblank(self) -> np.ndarray:
        return (self.uniques != "")[self.codes] if len(self.uniques) else np.zeros(0, bool)


@dataclass
class _Table:
    path_name: str
    header: list[str]
    lines: np.ndarray  # line number of each row
    columns: list[_Cells]
    first_data_line: int


def _read(path: str | os.PathLike) -> _Table:
    path = Path(path)
    suffix = _table_suffix(path)
    if not path.is_file():
        raise _file_error(path.name, "file not found.")
    if suffix == ".xlsx":
        rows = _xlsx_rows(path)
        return _table_from_rows(path.name, rows)
    try:
        data = gzip.decompress(path.read_bytes()) if suffix == ".csv.gz" else path.read_bytes()
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _file_error(path.name, f"not UTF-8 text (byte {exc.start}); save the file as "
                                     "CSV UTF-8.") from None
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise _file_error(path.name, f"cannot be read ({exc.__class__.__name__}).") from None
    if not text.strip():
        raise _file_error(path.name, "the file is empty.")
    first_line = text.split("\n", 1)[0]
    delimiter = max(",;\t", key=first_line.count)
    newline = "\n" if "\n" in text else "\r"
    n_lines = text.count(newline) + (not text.endswith(newline))
    try:
        frame = pd.read_csv(
            io.BytesIO(data), header=None, dtype=object, na_filter=False,
            skip_blank_lines=False, index_col=False, sep=delimiter, encoding="utf-8-sig",
            quotechar='"', engine="c",
        )
    except pd.errors.ParserError:
        frame = None  # ragged rows: the slow path below reports them by line
    except (ValueError, pd.errors.EmptyDataError) as exc:
        raise _file_error(path.name, f"cannot be read as CSV ({exc}).") from None
    if frame is None or len(frame) != n_lines:
        # Ragged rows or cells spanning lines: read row by row to get the lines right.
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        return _table_from_rows(path.name, _csv_rows(reader))
    frame.index = np.arange(1, len(frame) + 1)
    return _finish_table(path.name, frame)


def _csv_rows(reader) -> Iterator[tuple[int, list[str]]]:
    end = 0
    for cells in reader:
        start = end + 1
        end = reader.line_num
        yield start, cells


def _xlsx_rows(path: Path) -> Iterator[tuple[int, list[str]]]:
    import zipfile

    from openpyxl import load_workbook

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise _file_error(path.name, f"not a readable .xlsx workbook "
                                     f"({exc.__class__.__name__}).") from None
    try:
        sheet = book.worksheets[0]
        for line, values in enumerate(sheet.iter_rows(min_row=1, values_only=True), start=1):
            yield line, [cell_text(v) for v in values]
    finally:
        book.close()


def _table_from_rows(path_name: str, rows: Iterable[tuple[int, list[str]]]) -> _Table:
    """Build a table from ``(line, cells)``; cells beyond the header must be empty."""
    rows = iter(rows)
    header: list[str] | None = None
    lines: list[int] = []
    records: list[list[str]] = []
    problems = _Problems(path_name)
    for line, cells in rows:
        if header is None:
            header = [c.strip() for c in cells]
            while header and not header[-1]:
                header.pop()
            if not header:
                raise _file_error(path_name, "the first line (the header) is empty.")
            width = len(header)
            continue
        if len(cells) > width:
            if any(c.strip() for c in cells[width:]):
                problems.add(line, f"more cells than the {width} columns of the header.")
                continue
            cells = cells[:width]
        elif len(cells) < width:
            cells = [*cells, *([""] * (width - len(cells)))]
        lines.append(line)
        records.append(cells)
    if header is None:
        raise _file_error(path_name, "the file is empty.")
    problems.raise_if_any()
    frame = pd.DataFrame(records, columns=range(len(header)), dtype=object)
    frame.index = np.asarray(lines, dtype=np.int64)
    header_frame = pd.DataFrame([header], index=[1], dtype=object)
    return _finish_table(path_name, pd.concat([header_frame, frame]))


def _finish_table(path_name: str, frame: pd.DataFrame) -> _Table:
    """Header row -> column names; cells stripped and factorized; empty rows dropped."""
    header = [str(h).strip() for h in frame.iloc[0]]
    body = frame.iloc[1:]
    columns = []
    blank = np.ones(len(body), dtype=bool)
    for i in range(len(header)):
        codes, uniques = pd.factorize(body.iloc[:, i].to_numpy(dtype=object))
        stripped = np.array([str(u).strip() for u in uniques], dtype=object)
        if len(stripped):
            # Stripping may make two values equal (" a" and "a"): number them again.
            again, stripped = pd.factorize(stripped)
            codes = again[codes]
            blank &= (stripped == "")[codes]
        columns.append(_Cells(codes, np.asarray(stripped, dtype=object)))
    lines = body.index.to_numpy(dtype=np.int64)
    first = int(lines[0]) if len(lines) else 2
    if blank.any():
        keep = ~blank
        lines = lines[keep]
        columns = [_Cells(c.codes[keep], c.uniques) for c in columns]
    return _Table(path_name, header, lines, columns, first)


# --------------------------------------------------------------------------- columns

@dataclass(frozen=True)
class _Column:
    name: str
    aliases: tuple[str, ...] = ()
    required: bool = True


_CODE = _Column("code", ("kode", "kode_wilayah", "area_code"))
_SOURCE = _Column("source", ("sumber",), required=False)
_CASE_COLUMNS = (
    _CODE,
    _Column("period", ("periode", "bulan", "month")),
    _Column("category", ("kategori",)),
    _Column("count", ("jumlah", "jumlah_kasus", "cases")),
    _SOURCE,
)
_POPULATION_COLUMNS = (
    _CODE,
    _Column("year", ("tahun",)),
    _Column("children", ("anak", "jumlah_anak")),
    _SOURCE,
)
_FACTOR_COLUMNS = (
    _CODE,
    _Column("factor", ("faktor",)),
    _Column("value", ("nilai",)),
    _Column("year", ("tahun",), required=False),
    _SOURCE,
)
_AREA_COLUMNS = (
    _CODE,
    _Column("name", ("nama", "nama_wilayah", "area_name"), required=False),
    _Column("level", ("tingkat", "jenjang")),
    _Column("parent_code", ("parent", "kode_induk", "induk", "parent_kode"), required=False),
)


def _normal_name(name: str) -> str:
    return re.sub(r"[\s\-]+", "_", name.strip().lower())


def _expected(columns: tuple[_Column, ...]) -> str:
    return ", ".join(c.name if c.required else f"[{c.name}]" for c in columns)


def _map_columns(table: _Table, columns: tuple[_Column, ...], *,
                 strict: bool) -> dict[str, _Cells]:
    """Canonical column name -> its cells; header problems raise at once.

    ``strict`` refuses columns that are not in ``columns`` (data files, as in the web
    import); otherwise they are ignored (area files may carry extra attributes).
    """
    names = {alias: col.name for col in columns for alias in (col.name, *col.aliases)}
    expected = _expected(columns)
    problems = _Problems(table.path_name)
    found: dict[str, int] = {}
    for i, raw in enumerate(table.header):
        name = _normal_name(raw)
        if not name:
            filled = table.columns[i].nonblank()
            if filled.any():
                problems.add(int(table.lines[np.flatnonzero(filled)[0]]),
                             "a cell under a column without a name in the header.")
            continue
        if NIK.search(raw):
            problems.add(1, "the header holds a 16-digit number that looks like a national ID "
                            "number (NIK); Cegah takes no personal data.")
        elif name in names:
            canonical = names[name]
            if canonical in found:
                problems.add(1, f"column {canonical!r} appears twice.")
            else:
                found[canonical] = i
        elif not strict:
            continue
        elif PERSONAL_COLUMN.search(name):
            problems.add(1, f"column {_show(raw)} looks like personal data; Cegah accepts "
                            "only aggregate numbers per area. Remove the column.")
        else:
            problems.add(1, f"unexpected column {_show(raw)}; expected {expected}.")
    for col in columns:
        if col.required and col.name not in found:
            problems.add(1, f"missing column {col.name!r}; expected {expected}.")
    problems.raise_if_any()
    if not len(table.lines):
        raise _file_error(table.path_name, "the file has a header but no data rows.")
    return {name: table.columns[i] for name, i in found.items()}


class _Checked:
    """A column's values parsed once per distinct cell value.

    ``parse(raw) -> (value, problem)``, ``problem`` None when the cell is acceptable.
    """

    def __init__(self, cells: _Cells, parse: Callable[[str], tuple[Any, str | None]],
                 dtype: Any = object, fill: Any = None) -> None:
        self.codes = cells.codes
        parsed = [parse(u) for u in cells.uniques]
        self.values = np.array([fill if p is not None else v for v, p in parsed], dtype=dtype)
        self.problems = [p for _, p in parsed]
        bad = np.array([p is not None for p in self.problems], dtype=bool)
        self.bad = bad[self.codes] if bad.size else np.zeros(0, dtype=bool)

    def row_values(self) -> np.ndarray:
        return self.values[self.codes]

    def message(self, i: int) -> str:
        return self.problems[self.codes[i]]

    def key(self) -> np.ndarray:
        """Integer codes of the parsed values (equal values -> equal codes)."""
        value_codes, _ = pd.factorize(pd.Series(self.values, dtype=object), use_na_sentinel=False)
        return value_codes[self.codes]


def _known_codes(areas: pd.DataFrame | Collection[str]) -> pd.Index:
    if isinstance(areas, pd.DataFrame):
        codes = pd.Index(areas["code"] if "code" in areas.columns else areas.index)
        if not (pd.api.types.is_string_dtype(codes.dtype) and codes.is_unique and
                pd.api.types.infer_dtype(codes, skipna=False) == "string"):
            codes = pd.Index(pd.unique(codes.astype(str)))
        return codes
    return pd.Index(pd.unique(np.asarray([str(c) for c in areas], dtype=object)))


def _code_parser(known: pd.Index) -> Callable[[str], tuple[Any, str | None]]:
    values = np.asarray(known, dtype=object)  # plain str objects: fast to hash and iterate
    known_set = frozenset(values.tolist())
    example = next((str(c) for c in values[:1000] if "." in str(c)), None)

    def parse(raw: str) -> tuple[Any, str | None]:
        if not raw:
            return None, "code is empty."
        if raw in known_set:
            return raw, None
        hint = ""
        if example and raw.isdigit():
            hint = f" (area codes are written with dots, like {example!r})"
        return None, f"unknown area code {_show(raw, 20)}{hint}."
    return parse


def _whole_parser(name: str) -> Callable[[str], tuple[Any, str | None]]:
    def parse(raw: str) -> tuple[Any, str | None]:
        if not raw:
            return 0, f"{name} is empty."
        if not _WHOLE.match(raw):
            return 0, f"{name} must be a whole number >= 0, got {_show(raw, 20)}."
        number = int(raw.split(".")[0])
        if number > _MAX_WHOLE:
            return 0, f"{name} is implausibly large (more than {_MAX_WHOLE:,})."
        return number, None
    return parse


def _year(raw: str, *, required: bool = True) -> tuple[Any, str | None]:
    if not raw:
        return (0, "year is empty.") if required else (-1, None)
    if not _YEAR.match(raw) or not _YEARS[0] <= int(raw) <= _YEARS[1]:
        return 0, (f"year must be a year between {_YEARS[0]} and {_YEARS[1]} as YYYY, "
                   f"got {_show(raw, 20)}.")
    return int(raw), None


def _period(raw: str) -> tuple[Any, str | None]:
    if not raw:
        return None, "period is empty."
    match = _PERIOD.match(raw)
    if not match or not 1 <= int(match[2]) <= 12 or not _YEARS[0] <= int(match[1]) <= _YEARS[1]:
        return None, f"period must be a month as YYYY-MM, got {_show(raw, 20)}."
    return raw, None


def _category(raw: str) -> tuple[Any, str | None]:
    value = raw.lower()
    if value in CATEGORIES:
        return value, None
    if not raw:
        return None, "category is empty."
    return None, f"unknown category {_show(raw)}; expected one of {', '.join(CATEGORIES)}."


def _factor_name(raw: str) -> tuple[Any, str | None]:
    value = raw.lower()
    if not value:
        return None, "factor is empty."
    if not _FACTOR_NAME.match(value) or len(value) > 64:
        return None, ("factor names use lower-case letters, digits and underscores and start "
                      f"with a letter, got {_show(raw)}.")
    return value, None


def _number(raw: str) -> tuple[Any, str | None]:
    if not raw:
        return math.nan, "value is empty."
    text = raw.replace(",", ".") if raw.count(",") == 1 and "." not in raw else raw
    try:
        number = float(text)
    except ValueError:
        return math.nan, f"value must be a number, got {_show(raw, 20)}."
    if not math.isfinite(number):
        return math.nan, f"value must be a finite number, got {_show(raw, 20)}."
    return number, None


def _check_personal_cells(columns: Mapping[str, _Cells], lines: np.ndarray,
                          problems: _Problems) -> None:
    bad = np.zeros(len(lines), dtype=bool)
    for cells in columns.values():
        hit = np.array([len(u) >= 16 and NIK.search(u) is not None for u in cells.uniques],
                       dtype=bool)
        if hit.any():
            bad |= hit[cells.codes]
    problems.rows(lines, bad, lambda i: (
        "a cell holds a 16-digit number that looks like a national ID number (NIK); Cegah "
        "takes no personal data."))


def _check_duplicates(keys: list[np.ndarray], ok: np.ndarray, lines: np.ndarray,
                      problems: _Problems, what: str) -> None:
    """Rows (among ``ok``) whose key repeats an earlier row's."""
    if not ok.any():
        return
    frame = pd.DataFrame({i: k[ok] for i, k in enumerate(keys)})
    dup = frame.duplicated(keep="first").to_numpy()
    if not dup.any():
        return
    ok_lines = lines[ok]
    first = frame.assign(line=ok_lines).groupby(list(range(len(keys))), sort=False)[
        "line"].transform("first").to_numpy()
    positions = np.flatnonzero(ok)
    mask = np.zeros(len(lines), dtype=bool)
    mask[positions[dup]] = True
    first_of = dict(zip(positions[dup], first[dup], strict=True))
    problems.rows(lines, mask, lambda i: f"duplicate of line {first_of[i]} (same {what}).")


def _load(path: str | os.PathLike, columns: tuple[_Column, ...], *, strict: bool = True):
    table = _read(path)
    cells = _map_columns(table, columns, strict=strict)
    return table.path_name, cells, table.lines


# --------------------------------------------------------------------------- data files

def read_cases(path: str | os.PathLike, areas: pd.DataFrame | Collection[str], *,
               as_of: str | None = None) -> pd.DataFrame:
    """Read monthly case counts per area and category.

    Parameters
    ----------
    path : str or path-like
        CSV or XLSX with columns ``code`` (aliases ``kode``, ``kode_wilayah``,
        ``area_code``), ``period`` (``periode``, ``bulan``, ``month``; ``YYYY-MM``),
        ``category`` (``kategori``; one of :data:`cegah.risk.windows.CATEGORIES`, any
        case), ``count`` (``jumlah``, ``jumlah_kasus``, ``cases``; a whole number >= 0)
        and optionally ``source`` (``sumber``; ignored). Other columns are refused.
    areas : DataFrame or collection of str
        The known areas (as from :func:`read_areas`: codes in the index or a ``code``
        column), or their codes.
    as_of : str, optional
        The last month of the analysis, ``YYYY-MM``. Rows after it are not errors and
        are kept; their number is in ``result.attrs["rows_after_as_of"]``.

    Returns
    -------
    DataFrame
        Columns ``code`` (str), ``period`` (``YYYY-MM`` str), ``category`` (str,
        lower-case), ``count`` (int64) and ``line`` (int64, the row's line in the file,
        for later messages), in file order.

    Raises
    ------
    InputError
        Naming the file and line of each unknown area code, malformed period, unknown
        category, count that is not a whole number >= 0, duplicate (code, period,
        category), and cell holding a 16-digit number.
    ValueError
        ``as_of`` is not a month as ``YYYY-MM``.
    """
    if as_of is not None and not (_PERIOD.match(str(as_of)) and _period(as_of)[1] is None):
        raise ValueError(f"as_of: expected a month as YYYY-MM, got {as_of!r}.")
    path_name, cells, lines = _load(path, _CASE_COLUMNS)
    problems = _Problems(path_name)
    _check_personal_cells(cells, lines, problems)
    checks = {
        "code": _Checked(cells["code"], _code_parser(_known_codes(areas))),
        "period": _Checked(cells["period"], _period),
        "category": _Checked(cells["category"], _category),
        "count": _Checked(cells["count"], _whole_parser("count"), dtype=np.int64, fill=0),
    }
    _report(checks, lines, problems)
    ok = ~np.logical_or.reduce([c.bad for c in checks.values()])
    _check_duplicates([checks[k].key() for k in ("code", "period", "category")], ok, lines,
                      problems, "code, period and category")
    problems.raise_if_any()
    result = pd.DataFrame({name: check.row_values() for name, check in checks.items()})
    result["count"] = result["count"].astype(np.int64)
    result["line"] = lines
    if as_of is not None:
        result.attrs["rows_after_as_of"] = int((result["period"] > as_of).sum())
    return result


def read_population(path: str | os.PathLike,
                    areas: pd.DataFrame | Collection[str]) -> pd.DataFrame:
    """Read child populations per area and year.

    Parameters
    ----------
    path : str or path-like
        CSV or XLSX with columns ``code`` (aliases as for cases), ``year`` (``tahun``;
        ``YYYY`` between 1990 and 2100), ``children`` (``anak``, ``jumlah_anak``; a whole
        number >= 0) and optionally ``source`` (ignored).
    areas : DataFrame or collection of str
        The known areas or their codes.

    Returns
    -------
    DataFrame
        Columns ``code`` (str), ``year`` (int64), ``children`` (int64) and ``line``
        (int64, the row's line in the file).

    Raises
    ------
    InputError
        Unknown code, bad year, bad children count, duplicate (code, year) naming both
        lines, cell holding a 16-digit number.
    """
    path_name, cells, lines = _load(path, _POPULATION_COLUMNS)
    problems = _Problems(path_name)
    _check_personal_cells(cells, lines, problems)
    checks = {
        "code": _Checked(cells["code"], _code_parser(_known_codes(areas))),
        "year": _Checked(cells["year"], _year, dtype=np.int64, fill=0),
        "children": _Checked(cells["children"], _whole_parser("children"), dtype=np.int64,
                             fill=0),
    }
    _report(checks, lines, problems)
    ok = ~np.logical_or.reduce([c.bad for c in checks.values()])
    _check_duplicates([checks["code"].key(), checks["year"].key()], ok, lines, problems,
                      "code and year")
    problems.raise_if_any()
    result = pd.DataFrame({name: check.row_values() for name, check in checks.items()})
    result["line"] = lines
    return result


def read_factors(path: str | os.PathLike,
                 areas: pd.DataFrame | Collection[str]) -> pd.DataFrame:
    """Read risk-factor values per area (and optionally year).

    Parameters
    ----------
    path : str or path-like
        CSV or XLSX with columns ``code`` (aliases as for cases), ``factor`` (``faktor``;
        lower-case letters, digits and underscores, starting with a letter; upper case is
        lowered), ``value`` (``nilai``; a finite number, a decimal comma as in ``1,5`` is
        accepted), optionally ``year`` (``tahun``; may be empty) and ``source``
        (ignored).
    areas : DataFrame or collection of str
        The known areas or their codes.

    Returns
    -------
    DataFrame
        Columns ``code`` (str), ``factor`` (str), ``value`` (float64), ``year`` (Int64,
        missing when not given) and ``line`` (int64, the row's line in the file).

    Raises
    ------
    InputError
        Unknown code, bad factor name, value not a finite number, bad year, duplicate
        (code, factor, year), cell holding a 16-digit number.
    """
    path_name, cells, lines = _load(path, _FACTOR_COLUMNS)
    problems = _Problems(path_name)
    _check_personal_cells(cells, lines, problems)
    years = cells.get("year", _Cells(np.zeros(len(lines), np.intp), np.array([""], object)))
    checks = {
        "code": _Checked(cells["code"], _code_parser(_known_codes(areas))),
        "factor": _Checked(cells["factor"], _factor_name),
        "value": _Checked(cells["value"], _number, dtype=np.float64, fill=math.nan),
        "year": _Checked(years, functools.partial(_year, required=False), dtype=np.int64,
                         fill=0),
    }
    _report(checks, lines, problems)
    ok = ~np.logical_or.reduce([c.bad for c in checks.values()])
    _check_duplicates([checks[k].key() for k in ("code", "factor", "year")], ok, lines,
                      problems, "code, factor and year")
    problems.raise_if_any()
    result = pd.DataFrame({name: check.row_values() for name, check in checks.items()})
    result["year"] = result["year"].astype("Int64").mask(result["year"] < 0)
    result["line"] = lines
    return result


def _report(checks: Mapping[str, _Checked], lines: np.ndarray, problems: _Problems) -> None:
    for check in checks.values():
        problems.rows(lines, check.bad, check.message)


# --------------------------------------------------------------------------- areas

def _level(raw: str) -> tuple[Any, str | None]:
    if raw.isdigit():
        if int(raw) >= 1:
            return int(raw), None
    else:
        name = re.sub(r"\s*/\s*", "/", raw.lower())
        name = re.sub(r"\s+", "_", name)
        if name in AREA_LEVEL_NAMES:
            return AREA_LEVEL_NAMES[name], None
    if not raw:
        return 0, "level is empty."
    return 0, ("level must be a whole number from 1 (the top) or one of province, regency, "
               f"district, village (provinsi, kabupaten/kota, kecamatan, desa/kelurahan), "
               f"got {_show(raw, 20)}.")


def read_areas(path: str | os.PathLike) -> pd.DataFrame:
    """Read an area hierarchy of any depth.

    Parameters
    ----------
    path : str or path-like
        CSV or XLSX with columns ``code`` (aliases as for cases), ``level`` (``tingkat``,
        ``jenjang``; 1 for the top, 2 below it, ...; or the names province, regency,
        district, village and their Indonesian names provinsi, kabupaten, kota,
        kabupaten/kota, kecamatan, desa, kelurahan, desa/kelurahan), and optionally
        ``name`` (``nama``, ``nama_wilayah``, ``area_name``; defaults to the code) and
        ``parent_code`` (``parent``, ``kode_induk``, ``induk``). Other columns are
        ignored.

    Returns
    -------
    DataFrame
        Indexed by ``code`` (str, the index is named ``code``), with columns ``name``
        (str), ``level`` (int64) and ``parent_code`` (str, missing (NaN) at the top
        level); in file order. ``areas.reset_index()`` gives ``code`` as a column.

    Raises
    ------
    InputError
        Empty or duplicate codes, bad levels, an empty ``parent_code`` below the top
        level (the smallest level in the file), a parent that is not in the file, a
        parent whose level is not one less than the area's, and cycles of parents.
    """
    path_name, cells, lines = _load(path, _AREA_COLUMNS, strict=False)
    problems = _Problems(path_name)
    n = len(lines)
    codes = cells["code"].values()
    names = cells["name"].values() if "name" in cells else codes
    names = np.where(names == "", codes, names)
    parents = cells["parent_code"].values() if "parent_code" in cells else np.full(n, "", object)
    level_check = _Checked(cells["level"], _level, dtype=np.int64, fill=0)
    levels = level_check.row_values()

    empty_code = codes == ""
    problems.rows(lines, empty_code, lambda i: "code is empty.")
    code_series = pd.Series(codes)
    duplicate = code_series.duplicated(keep="first").to_numpy() & ~empty_code
    if duplicate.any():
        first_line = dict(zip(codes[::-1], lines[::-1], strict=True))
        problems.rows(lines, duplicate,
                      lambda i: f"duplicate code {_show(codes[i], 20)} (also on line "
                                f"{first_line[codes[i]]}).")
    problems.rows(lines, level_check.bad, level_check.message)

    # Parents, by position of the first row with each code (n = no parent / unknown).
    first = ~duplicate & ~empty_code
    index = pd.Index(codes[first])
    position = np.flatnonzero(first)
    has_parent = parents != ""
    found = np.where(has_parent, index.get_indexer(parents), -1)
    parent_pos = np.where(found >= 0, position[np.maximum(found, 0)], n)
    missing = has_parent & (found < 0)
    problems.rows(lines, missing, lambda i: (
        f"parent_code {_show(parents[i], 20)} is not a code in this file."))
    valid_level = ~level_check.bad
    top = int(levels[valid_level].min()) if valid_level.any() else 1
    orphan = ~has_parent & valid_level & (levels != top)
    problems.rows(lines, orphan, lambda i: (
        f"parent_code is empty, but only areas at the top level ({top}) may have no parent; "
        f"this one is at level {levels[i]}."))

    cyclic = _cycle_members(np.where(duplicate, n, parent_pos), n)
    problems.rows(lines, cyclic, lambda i: (
        f"area {_show(codes[i], 20)} is its own ancestor through parent_code (a cycle)."))
    linked = has_parent & ~missing & valid_level & ~cyclic
    parent_level = np.append(levels, 0)[parent_pos]
    parent_valid = np.append(valid_level, False)[parent_pos]
    wrong = linked & parent_valid & (parent_level != levels - 1)
    problems.rows(lines, wrong, lambda i: (
        f"parent {_show(parents[i], 20)} is at level {parent_level[i]}, expected level "
        f"{levels[i] - 1} (one above this area's level {levels[i]})."))
    problems.raise_if_any()

    result = pd.DataFrame({
        "name": pd.array(names, dtype="str"),
        "level": levels.astype(np.int64),
        "parent_code": pd.array(np.where(has_parent, parents, None), dtype="str"),
    }, index=pd.Index(codes, name="code", dtype="str"))
    return result


def _cycle_members(parent: np.ndarray, root: int) -> np.ndarray:
    """Positions on a cycle of ``parent`` pointers (``root`` marks "no parent")."""
    n = len(parent)
    jump = np.append(parent, root).astype(np.int64)
    steps = 1
    while steps <= n:
        jump = jump[jump]  # 2**k steps at once
        steps *= 2
    end = jump[:n]
    members = np.zeros(n, dtype=bool)
    members[np.unique(end[end != root])] = True
    return members


@functools.lru_cache(maxsize=1)
def _builtin_all() -> pd.DataFrame:
    parts = []
    specs = [("provinces.csv", None), ("regencies.csv", "province_code"),
             ("districts.csv", "regency_code"), ("villages.csv", "district_code")]
    for level, (filename, parent_column) in enumerate(specs, start=1):
        path = BUILTIN_DATA_DIR / filename
        try:
            frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
        except OSError as exc:
            raise _file_error(filename, f"bundled area file cannot be read ({exc}).") from None
        parts.append(pd.DataFrame({
            "code": frame["code"].str.strip(),
            "name": frame["name"].str.strip(),
            "level": np.int64(level),
            "parent_code": frame[parent_column].str.strip() if parent_column else None,
        }))
    table = pd.concat(parts, ignore_index=True)
    table["parent_code"] = table["parent_code"].astype(str).where(table["parent_code"].notna())
    table["level"] = table["level"].astype(np.int64)
    return table.set_index("code")


def builtin_areas(prefixes: Iterable[str] | None = None) -> pd.DataFrame:
    """The bundled Indonesian hierarchy (Kemendagri codes, from idn-area-data).

    Parameters
    ----------
    prefixes : iterable of str, optional
        Area codes such as ``"31"`` or ``"35.17"``: keep only these areas, everything
        below them and their ancestors. All areas when None.

    Returns
    -------
    DataFrame
        Same shape as :func:`read_areas`: indexed by ``code``, columns ``name``,
        ``level`` (1 province, 2 regency/city, 3 district, 4 village) and
        ``parent_code``. All of it has 38 provinces, 514 regencies, 7,277 districts
        and 83,763 villages.

    Raises
    ------
    InputError
        A prefix is not a code of the bundled hierarchy.
    """
    table = _builtin_all()
    if prefixes is None:
        return table.copy()
    wanted = [str(p).strip() for p in prefixes]
    unknown = [p for p in wanted if p not in table.index]
    if unknown:
        raise InputError([(None, None, f"unknown area code {_show(p, 20)}; expected a "
                                       f"Kemendagri code such as '31' or '35.17'.")
                          for p in unknown])
    if not wanted:
        return table.iloc[:0].copy()
    # Descendants: walk down the levels, keeping each area whose parent is kept (a few
    # set look-ups instead of string operations on every code).
    inside = table.index.isin(wanted)
    level = table["level"].to_numpy()
    parent = table["parent_code"]
    for depth in range(int(level.min()) + 1, int(level.max()) + 1):
        kept_above = table.index[inside & (level == depth - 1)]
        inside |= (level == depth) & parent.isin(kept_above).to_numpy()
    ancestors = {".".join(p.split(".")[:k]) for p in wanted for k in range(1, p.count(".") + 1)}
    return table[inside | table.index.isin(ancestors)].copy()


def looks_like_kemendagri(codes: Iterable[str]) -> bool:
    """Whether every code looks like a Kemendagri code (``31``, ``31.71``, ``31.71.01``,
    ``31.71.01.1001``); False for no codes."""
    values = pd.Series(list(codes), dtype=object)
    if values.empty:
        return False
    return bool(values.astype(str).str.fullmatch(_KEMENDAGRI.pattern).all())


# --------------------------------------------------------------------------- boundaries

def _boundary_code_text(values: np.ndarray) -> np.ndarray:
    if values.dtype.kind in "iu":
        return values.astype(str).astype(object)
    if values.dtype.kind == "f":
        return np.array(["" if not math.isfinite(v) else str(int(v)) if float(v).is_integer()
                         else repr(float(v)) for v in values], dtype=object)
    return np.array(["" if v is None else str(v).strip() for v in values], dtype=object)


def read_boundaries(path: str | os.PathLike, areas: pd.DataFrame | Collection[str]) -> tuple[
        np.ndarray, np.ndarray]:
    """Read area boundaries from GeoJSON, GeoPackage or Shapefile.

    Parameters
    ----------
    path : str or path-like
        ``.geojson`` / ``.json``, ``.gpkg`` (first layer), ``.shp`` or a ``.zip``
        holding a Shapefile. Each feature needs a code property named ``code``,
        ``kode``, ``kode_wilayah`` (``kode_wilay`` in a Shapefile) or ``area_code`` (any
        case); numeric codes are read
        as their digits (``3171``). Coordinates are taken as they are (no reprojection).
    areas : DataFrame or collection of str
        The known areas or their codes.

    Returns
    -------
    codes : ndarray of str (object dtype)
    geometries : ndarray of shapely Polygon or MultiPolygon (object dtype)
        In file order. Invalid geometries (self-intersections, such as a bow-tie) are
        repaired with :func:`shapely.make_valid`, keeping their polygonal parts.

    Raises
    ------
    InputError
        The file cannot be read or has no code property; per feature (numbered from 1
        in file order): empty or unknown code, duplicate code, missing or empty
        geometry, geometry that is not a polygon.
    """
    import pyogrio
    import shapely
    from pyogrio.errors import DataLayerError, DataSourceError

    path = Path(path)
    name = path.name
    if not any(name.lower().endswith(s) for s in _BOUNDARY_SUFFIXES):
        got = path.suffix or "no extension"
        raise _file_error(name, "expected a boundary file ending in "
                                f"{', '.join(_BOUNDARY_SUFFIXES)}, got {got}.")
    if not path.is_file():
        raise _file_error(name, "file not found.")
    try:
        info = pyogrio.read_info(path)
        fields = [str(f) for f in info["fields"]]
        lowered = {f.lower(): f for f in reversed(fields)}
        aliases = (_CODE.name, *_CODE.aliases, "kode_wilay")  # Shapefile: 10 characters
        field = next((lowered[a] for a in aliases if a in lowered), None)
        if field is None:
            raise _file_error(name, f"no 'code' property; expected one of "
                                    f"{', '.join(aliases)} (found: "
                                    f"{', '.join(fields[:10]) or 'none'}).")
        _, _, wkb, field_data = pyogrio.raw.read(path, columns=[field], force_2d=True)
    except (DataSourceError, DataLayerError) as exc:
        message = str(exc).replace(str(path), name).splitlines()[0][:200]
        raise _file_error(name, f"not a readable boundary file ({message}).") from None
    codes = _boundary_code_text(np.asarray(field_data[0]))
    n = len(codes)
    where = np.arange(1, n + 1)
    problems = _Problems(name, unit="feature")

    def feature_rows(mask: np.ndarray, message: Callable[[int], str]) -> None:
        problems.rows(where, mask, message)

    known = frozenset(_known_codes(areas))
    empty_code = codes == ""
    unknown = ~empty_code & ~np.array([c in known for c in codes], dtype=bool)
    feature_rows(empty_code, lambda i: "code is empty.")
    feature_rows(unknown, lambda i: f"unknown area code {_show(codes[i], 20)}.")
    duplicate = pd.Series(codes).duplicated(keep="first").to_numpy() & ~empty_code
    if duplicate.any():
        first = dict(zip(codes[::-1], where[::-1], strict=True))
        feature_rows(duplicate, lambda i: (
            f"duplicate code {_show(codes[i], 20)} (also feature {first[codes[i]]})."))

    geoms = shapely.from_wkb(np.asarray(wkb, dtype=object), on_invalid="ignore")
    missing = shapely.is_missing(geoms)
    feature_rows(missing, lambda i: "no geometry.")
    empty = ~missing & shapely.is_empty(geoms)
    feature_rows(empty, lambda i: "empty geometry.")
    present = ~missing & ~empty
    kinds = shapely.get_type_id(geoms)
    polygonal = np.isin(kinds, (3, 6))
    collection = kinds == 7
    wrong = present & ~polygonal & ~collection
    feature_rows(wrong, lambda i: f"expected a Polygon or MultiPolygon, got {geoms[i].geom_type}.")
    usable = present & (polygonal | collection)
    invalid = usable & ~shapely.is_valid(geoms)
    if invalid.any():
        geoms[invalid] = shapely.make_valid(geoms[invalid], method="structure",
                                            keep_collapsed=False)
    fix = np.flatnonzero(usable & (invalid | collection))
    for i in fix:
        geoms[i] = _polygonal_part(geoms[i])
    no_area = np.zeros(n, dtype=bool)
    if fix.size:
        no_area[fix] = shapely.is_missing(geoms[fix])
    feature_rows(no_area, lambda i: (
        "the geometry has no polygon (or no area left after repairing it)."))
    problems.raise_if_any()
    return codes, geoms


def _polygonal_part(geometry):
    """The Polygon/MultiPolygon part of a geometry, or None if it has none."""
    import shapely

    parts = shapely.get_parts(geometry)
    polygons = []
    for part in parts:
        kind = shapely.get_type_id(part)
        if kind == 3 and not part.is_empty:
            polygons.append(part)
        elif kind in (6, 7):
            found = _polygonal_part(part)
            if found is not None:
                polygons.extend(shapely.get_parts(found))
    if not polygons:
        return None
    if len(polygons) == 1:
        return polygons[0]
    return shapely.MultiPolygon(polygons)


# --------------------------------------------------------------------------- output

def check_output_path(path: str | os.PathLike) -> str:
    """Check where a result will be written, before any work is done.

    Parameters
    ----------
    path : str or path-like
        Ends in ``.csv``, ``.geojson`` or ``.json``; its directory must exist and be
        writable.

    Returns
    -------
    str
        ``"csv"``, ``"geojson"`` or ``"json"``.

    Raises
    ------
    InputError
        Other extension, missing or read-only directory, or a directory at ``path``.
    """
    path = Path(path)
    fmt = _OUTPUT_FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise _file_error(path.name, "expected an output file ending in .csv, .geojson or "
                                     f".json, got {path.suffix or 'no extension'}.")
    directory = path.parent if str(path.parent) else Path(".")
    if not directory.is_dir():
        raise _file_error(path.name, f"the directory {str(directory)!r} does not exist.")
    if path.is_dir():
        raise _file_error(path.name, "is a directory; expected a file name.")
    if not os.access(directory, os.W_OK):
        raise _file_error(path.name, f"the directory {str(directory)!r} is not writable.")
    return fmt


def write_table(df: pd.DataFrame, path: str | os.PathLike, *,
                geometries: Mapping[str, Any] | None = None,
                metadata: Mapping[str, Any] | None = None) -> None:
    """Write a result table as CSV, GeoJSON or JSON (chosen by extension), atomically.

    The table is written to a temporary file in the target's directory, which then
    replaces the target, so a reader never sees a partial file and a failure leaves no
    file behind (an existing target is left as it was). The new file is readable by its
    owner only, like the temporary file it was.

    Parameters
    ----------
    df : DataFrame
        One row per area. A named or non-default index (such as ``code``) is written as
        the first column(s).
    path : str or path-like
        ``.csv``: UTF-8 with a byte-order mark (so Excel reads it right), a header,
        list cells joined with ``"; "``, missing values empty, and text cells that a
        spreadsheet would run as a formula (starting with ``=``, ``+``, ``-``, ``@``, tab
        or carriage return, and not a plain number) prefixed with an apostrophe;
        ``metadata`` is not written. ``.geojson``: a FeatureCollection whose features
        have the row as properties, the area code as ``id`` and the geometry of the code
        from ``geometries`` (null if it has none), with ``metadata`` in a top-level
        ``"cegah"`` member. ``.json``: ``{"metadata": ..., "areas": [rows]}``. Floats are
        rounded to 6 significant digits; NaN is null in JSON.
    geometries : mapping of str to shapely geometry, optional
        Geometry by area code; needed for GeoJSON.
    metadata : mapping, optional
        JSON-serialisable description of the run.

    Raises
    ------
    InputError
        Bad output path (see :func:`check_output_path`), GeoJSON without geometries or
        without a ``code`` column.
    """
    fmt = check_output_path(path)
    path = Path(path)
    table = _with_index(df)
    if fmt == "geojson":
        if geometries is None:
            raise _file_error(path.name, "GeoJSON output needs --boundaries.")
        if "code" not in table.columns:
            raise _file_error(path.name, "GeoJSON output needs a 'code' column.")
    if fmt == "csv":
        with _atomic(path, encoding="utf-8-sig") as fh:
            _csv_frame(table).to_csv(fh, index=False, na_rep="", lineterminator="\n")
        return
    with _atomic(path, encoding="utf-8") as fh:
        meta = json.dumps(_jsonable(dict(metadata or {})), ensure_ascii=False,
                          allow_nan=False)
        rows = _json_rows(table)
        if fmt == "json":
            fh.write('{"metadata": ' + meta + ', "areas": [')
            for i, row in enumerate(rows):
                fh.write(("\n" if i == 0 else ",\n") + row)
            fh.write("\n]}\n")
            return
        import shapely

        codes = table["code"].astype(str).to_numpy()
        shapes = np.array([geometries.get(c) for c in codes], dtype=object)
        geojson = shapely.to_geojson(shapes)
        fh.write('{"type": "FeatureCollection", "cegah": ' + meta + ', "features": [')
        for i, (row, code, geometry) in enumerate(zip(rows, codes, geojson, strict=True)):
            fh.write(("\n" if i == 0 else ",\n")
                     + '{"type": "Feature", "id": ' + json.dumps(code, ensure_ascii=False)
                     + ', "properties": ' + row + ', "geometry": '
                     + (geometry if geometry is not None else "null") + "}")
        fh.write("\n]}\n")


@contextlib.contextmanager
def _atomic(path: Path, *, encoding: str) -> Iterator[TextIO]:
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "w", encoding=encoding, newline="") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
        raise


def _with_index(df: pd.DataFrame) -> pd.DataFrame:
    default = isinstance(df.index, pd.RangeIndex) and df.index.name is None
    return df.copy() if default else df.reset_index()


def _round_floats(values: np.ndarray, digits: int = 6) -> np.ndarray:
    """Round to ``digits`` significant digits (like ``float(f"{x:.6g}")``)."""
    x = np.asarray(values, dtype=np.float64)
    out = x.copy()
    finite = np.isfinite(x) & (x != 0)
    if not finite.any():
        return out
    v = x[finite]
    shift = digits - 1 - np.floor(np.log10(np.abs(v))).astype(np.int64)
    up = shift >= 0
    small = np.abs(shift) <= 22  # powers of ten exact in binary64
    rounded = np.empty_like(v)
    with np.errstate(all="ignore"):
        pos = up & small
        rounded[pos] = np.round(v[pos] * 10.0 ** shift[pos]) / 10.0 ** shift[pos]
        neg = ~up & small
        rounded[neg] = np.round(v[neg] / 10.0 ** -shift[neg]) * 10.0 ** -shift[neg]
    other = ~small
    rounded[other] = [float(f"{t:.{digits}g}") for t in v[other]]
    out[finite] = rounded
    return out


def _csv_cell(value: Any) -> Any:
    if isinstance(value, list | tuple | np.ndarray | set):
        value = "; ".join("" if _is_missing(v) else str(v) for v in value)
    if isinstance(value, str):
        if value[:1] in ("=", "+", "-", "@", "\t", "\r") and not _PLAIN_NUMBER.match(value):
            return "'" + value
        return value
    if _is_missing(value):
        return ""
    if isinstance(value, float | np.floating):
        return float(_round_floats(np.array([value]))[0])
    return value


def _csv_frame(table: pd.DataFrame) -> pd.DataFrame:
    out = {}
    for name in table.columns:
        column = table[name]
        if pd.api.types.is_float_dtype(column.dtype):
            out[name] = pd.Series(_round_floats(column.to_numpy(dtype=np.float64,
                                                                na_value=np.nan)),
                                  index=column.index)
        elif pd.api.types.is_bool_dtype(column.dtype) or pd.api.types.is_integer_dtype(
                column.dtype):
            out[name] = column
        else:
            out[name] = column.astype(object).map(_csv_cell)
    return pd.DataFrame(out, index=table.index)


def _is_missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float | np.floating) and math.isnan(value)


def _jsonable(value: Any) -> Any:
    """Plain Python for ``json``: NaN and inf -> None, numpy scalars -> Python numbers."""
    if isinstance(value, str | bool) or value is None:
        return value
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | np.ndarray | pd.Series | pd.Index):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        number = float(value)
        return float(_round_floats(np.array([number]))[0]) if math.isfinite(number) else None
    if _is_missing(value):
        return None
    if isinstance(value, dt.datetime | dt.date | pd.Timestamp):
        return value.isoformat()
    return value  # json.dumps refuses anything else


def _json_rows(table: pd.DataFrame) -> list[str]:
    columns = {}
    for name in table.columns:
        column = table[name]
        if pd.api.types.is_float_dtype(column.dtype):
            values = _round_floats(column.to_numpy(dtype=np.float64, na_value=np.nan))
            columns[str(name)] = [None if not math.isfinite(v) else v for v in values.tolist()]
        elif pd.api.types.is_integer_dtype(column.dtype) and not column.hasnans:
            columns[str(name)] = column.to_numpy().tolist()
        else:
            columns[str(name)] = [_jsonable(v) for v in column.astype(object).tolist()]
    names = list(columns)
    return [json.dumps(dict(zip(names, row, strict=True)), ensure_ascii=False,
                       allow_nan=False)
            for row in zip(*columns.values(), strict=True)] if names else [
        "{}" for _ in range(len(table))]
