"""Reading and writing simple tables as CSV or XLSX, chosen by file extension."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from django.utils.translation import gettext as _

from cegah.lib.cells import cell_text

FORMATS = ("csv", "xlsx")


class TableError(ValueError):
    """The file cannot be read as a table at all."""


def format_for(filename: str) -> str:
    suffix = Path(filename).suffix.lower().lstrip(".")
    if suffix not in FORMATS:
        raise TableError(
            _("%(file)s: expected a .csv or .xlsx file, got %(suffix)s.")
            % {"file": Path(filename).name,
               "suffix": "." + suffix if suffix else _("no extension")}
        )
    return suffix


def read_table(data: bytes, filename: str, *, to_the_day: bool = False,
               ) -> tuple[list[str], Iterator[tuple[int, list[str]]]]:
    """Return the header (lower-cased, stripped) and ``(line number, cells)`` for each row.

    Line numbers are those a person sees in a text editor or a spreadsheet, so error
    reports can point at them. CSV may be comma-, semicolon- or tab-separated (Excel in
    Indonesian locales writes semicolons) and UTF-8 with or without a byte-order mark.
    Spreadsheet date cells read as months, or to the day with ``to_the_day``
    (:func:`cegah.lib.cells.cell_text`).
    """
    fmt = format_for(filename)
    if fmt == "xlsx":
        return _read_xlsx(data, filename, to_the_day)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise TableError(
            _("%(file)s: not UTF-8 text (byte %(byte)s); save the file as CSV UTF-8.")
            % {"file": filename, "byte": exc.start}
        ) from None
    first_line = text.split("\n", 1)[0]
    delimiter = max(",;\t", key=first_line.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        raise TableError(_("%(file)s: the file is empty.") % {"file": filename}) from None

    def rows() -> Iterator[tuple[int, list[str]]]:
        for cells in reader:
            if not any(c.strip() for c in cells):
                continue
            yield reader.line_num, [c.strip() for c in cells]

    return [h.strip().lower() for h in header], rows()


def _read_xlsx(data: bytes, filename: str, to_the_day: bool = False):
    import zipfile

    from openpyxl import load_workbook

    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise TableError(_("%(file)s: not a readable .xlsx workbook (%(error)s).")
                         % {"file": filename, "error": exc}) from None
    ws = wb.worksheets[0]
    it = ws.iter_rows(values_only=True)
    try:
        header = [cell_text(c).lower() for c in next(it)]
    except StopIteration:
        raise TableError(
            _("%(file)s: the first worksheet is empty.") % {"file": filename}) from None
    while header and header[-1] == "":
        header.pop()

    def rows() -> Iterator[tuple[int, list[str]]]:
        for line, values in enumerate(it, start=2):
            cells = [cell_text(v, to_the_day=to_the_day) for v in values]
            while cells and cells[-1] == "":
                cells.pop()  # a sheet pads every row to its widest one
            if not cells:
                continue
            yield line, cells

    return header, rows()


def neutralise_formula(value: Any) -> Any:
    """Stop spreadsheet programs from running a text cell as a formula (CSV injection)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def write_table(path_or_file, fmt: str, header: Sequence[str], rows: Iterable[Sequence[Any]]):
    """Write a table as CSV (UTF-8 with BOM, so Excel opens it right) or XLSX."""
    if fmt == "csv":
        fh = path_or_file
        close = False
        if isinstance(path_or_file, str | Path):
            fh = open(path_or_file, "w", newline="", encoding="utf-8-sig")  # noqa: SIM115
            close = True
        try:
            writer = csv.writer(fh)
            writer.writerow(header)
            for row in rows:
                writer.writerow([neutralise_formula(v) for v in row])
        finally:
            if close:
                fh.close()
        return
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet()
    ws.append(list(header))
    for row in rows:
        ws.append([neutralise_formula(v) for v in row])
    wb.save(path_or_file)
