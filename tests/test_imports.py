"""Importing case counts, child populations and risk factors: validation, all-or-nothing,
idempotence, replacement by natural key, the audit trail and the web upload with preview."""

from __future__ import annotations

import datetime as dt
import hashlib
import io

import pytest
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation
from openpyxl import Workbook

from cegah.accounts.actions import do_save_organisation
from cegah.areas.models import Area
from cegah.audit.models import AuditEvent
from cegah.cases import actions
from cegah.cases.actions import check_file, do_import
from cegah.cases.models import CaseCount, Category, FactorValue, ImportBatch, Population
from tests.conftest import csv_bytes

CASES = ["code", "period", "category", "count", "source"]
POPULATION = ["code", "year", "children", "source"]
FACTORS = ["code", "factor", "value", "year", "source"]
NIK = "3174012345678901"




def xlsx_bytes(header, rows=()) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.append(list(header))
    for row in rows:
        ws.append(list(row))
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def errors(actor, kind, data, filename="data.csv") -> list[tuple[int | None, str]]:
    plan = check_file(actor, kind, data, filename)
    return [(e.line, e.message) for e in plan.validated.errors]


def next_month() -> str:
    today = timezone.localdate()
    return (today.replace(day=28) + dt.timedelta(days=4)).strftime("%Y-%m")


def counts() -> tuple[int, int, int]:
    return CaseCount.objects.count(), Population.objects.count(), FactorValue.objects.count()


def cases_in_db() -> dict[tuple, tuple]:
    return {(c.area_id, c.period.strftime("%Y-%m"), c.category): (c.count, c.source)
            for c in CaseCount.objects.all()}


@pytest.fixture(autouse=True)
def _english(db):
    with translation.override("en"):
        yield


@pytest.fixture
def jaksel_codes(db):
    return sorted(Area.objects.filter(Q(code="31.74") | Q(code__startswith="31.74."))
                  .values_list("code", flat=True))


GOOD_CASES = csv_bytes(CASES, [
    ["31.74", "2024-01", "sexual_abuse", 3, "Unit PPA"],
    ["31.74.01", "2024-01", "trafficking", 0, ""],
    ["71.71", "2024-02", "online_sexual_exploitation", 12, "LSM"],
])


# --- accepted files --------------------------------------------------------------------

def test_it_imports_a_valid_cases_file(operator):
    batch, plan = do_import(operator, "cases", GOOD_CASES, "cases.csv")
    assert batch.status == "applied"
    assert (plan.created, plan.updated, plan.unchanged) == (3, 0, 0)
    assert cases_in_db() == {
        ("31.74", "2024-01", "sexual_abuse"): (3, "Unit PPA"),
        ("31.74.01", "2024-01", "trafficking"): (0, ""),
        ("71.71", "2024-02", "online_sexual_exploitation"): (12, "LSM"),
    }
    row = CaseCount.objects.get(area_id="31.74", category="sexual_abuse")
    assert row.period == dt.date(2024, 1, 1)
    assert row.import_batch == batch and not row.is_synthetic


def test_it_accepts_the_current_month_and_upper_case_categories(operator):
    this_month = timezone.localdate().strftime("%Y-%m")
    data = csv_bytes(CASES[:4], [["31.74", this_month, "SEXUAL_Abuse", 1]])
    batch, _plan = do_import(operator, "cases", data, "cases.csv")
    assert batch.status == "applied"
    assert CaseCount.objects.get().category == "sexual_abuse"


def test_it_accepts_whole_numbers_written_with_a_decimal_point(operator):
    data = csv_bytes(CASES[:4], [["31.74", "2024-01", "sexual_abuse", "4.0"]])
    do_import(operator, "cases", data, "cases.csv")
    assert CaseCount.objects.get().count == 4


def test_it_accepts_semicolons_and_indonesian_header_aliases(operator):
    data = csv_bytes(["Kode", "Periode", "Kategori", "Jumlah", "Sumber"], [
        ["31.74", "2024-03", "trafficking", 2, "Polres; Jakarta Selatan"],
        ["31.74.01", "2024-03", "sexual_abuse", 5, ""],
    ], sep=";")
    batch, plan = do_import(operator, "cases", data, "kasus.csv")
    assert batch.status == "applied" and plan.created == 2
    assert cases_in_db()[("31.74", "2024-03", "trafficking")] == (2, "Polres; Jakarta Selatan")


def test_it_accepts_indonesian_aliases_for_population_and_factors(operator):
    pop = csv_bytes(["kode_wilayah", "tahun", "jumlah_anak"], [["31.74", 2023, 650000]], sep=";")
    assert do_import(operator, "population", pop, "anak.csv")[0].status == "applied"
    fac = csv_bytes(["kode", "faktor", "nilai", "tahun"], [["31.74", "kemiskinan", "4,5", ""]],
                    sep=";")
    assert do_import(operator, "factors", fac, "faktor.csv")[0].status == "applied"
    assert Population.objects.get().children == 650000
    fv = FactorValue.objects.get()
    assert (fv.factor, fv.value, fv.year) == ("kemiskinan", 4.5, None)


def test_it_accepts_utf8_with_a_byte_order_mark_and_crlf(operator):
    data = "\ufeffcode,period,category,count\r\n31.74,2024-01,sexual_abuse,1\r\n".encode()
    batch, _plan = do_import(operator, "cases", data, "excel.csv")
    assert batch.status == "applied" and CaseCount.objects.count() == 1


def test_it_accepts_xlsx_files_with_excel_date_cells_for_the_period(operator):
    data = xlsx_bytes(CASES, [
        ["31.74", dt.date(2024, 1, 1), "sexual_abuse", 3, "Unit PPA"],
        ["31.74.01", dt.datetime(2024, 2, 15, 0, 0), "trafficking", 1.0, None],
        ["71.71", "2024-03", "sexual_exploitation", 7, None],
    ])
    batch, plan = do_import(operator, "cases", data, "kasus.xlsx")
    assert batch.status == "applied", batch.errors
    assert cases_in_db() == {
        ("31.74", "2024-01", "sexual_abuse"): (3, "Unit PPA"),
        ("31.74.01", "2024-02", "trafficking"): (1, ""),
        ("71.71", "2024-03", "sexual_exploitation"): (7, ""),
    }
    # Re-importing the same workbook changes nothing.
    _batch, again = do_import(operator, "cases", data, "kasus.xlsx")
    assert (again.created, again.updated, again.unchanged) == (0, 0, 3)


def test_it_reports_xlsx_errors_with_spreadsheet_row_numbers(operator):
    data = xlsx_bytes(CASES[:4], [
        ["31.74", dt.date(2024, 1, 1), "sexual_abuse", 3],
        [None, None, None, None],  # an empty row is skipped but still counted
        ["31.74", dt.date(2024, 1, 1), "sexual_abuse", -2],
    ])
    [(line, message)] = errors(operator, "cases", data, "kasus.xlsx")
    assert line == 4 and "must not be negative" in message


def test_it_imports_population_and_factor_files(operator):
    pop = csv_bytes(POPULATION, [["31.74", 2023, 650000, "BPS"], ["71.71", 2023, 120000, ""]])
    batch, plan = do_import(operator, "population", pop, "pop.csv")
    assert batch.status == "applied" and plan.created == 2
    assert Population.objects.get(area_id="31.74").children == 650000
    fac = csv_bytes(FACTORS, [
        ["31.74", "poverty_rate", "4.25", 2023, "BPS"],
        ["31.74", "poverty_rate", "4.5", 2022, ""],
        ["31.74", "poverty_rate", "4.4", "", "estimate"],
    ])
    batch, plan = do_import(operator, "factors", fac, "factors.csv")
    assert batch.status == "applied" and plan.created == 3
    values = {fv.year: fv.value for fv in FactorValue.objects.all()}
    assert values == {2023: 4.25, 2022: 4.5, None: 4.4}


def test_the_year_of_a_factor_is_optional(operator):
    data = csv_bytes(["code", "factor", "value"], [["31.74", "child_marriage", "0.12"]])
    batch, plan = do_import(operator, "factors", data, "f.csv")
    assert batch.status == "applied"
    assert FactorValue.objects.get().year is None
    # The natural key with no year matches on re-import, also on PostgreSQL (NULL).
    _batch, again = do_import(operator, "factors", data, "f.csv")
    assert (again.created, again.updated, again.unchanged) == (0, 0, 1)
    changed = csv_bytes(["code", "factor", "value"], [["31.74", "child_marriage", "0.2"]])
    _batch, replaced = do_import(operator, "factors", changed, "f.csv")
    assert (replaced.created, replaced.updated) == (0, 1)
    assert FactorValue.objects.get().value == 0.2


# --- every kind of error, with its line and reason -------------------------------------

def test_it_rejects_unknown_area_code(operator):
    data = csv_bytes(CASES[:4], [["31.74", "2024-01", "sexual_abuse", 1],
                                 ["99.99", "2024-01", "sexual_abuse", 1]])
    assert errors(operator, "cases", data) == [(3, "unknown area code '99.99'")]


def test_it_rejects_area_outside_the_users_jurisdiction(alice):
    data = csv_bytes(CASES[:4], [["31.74.01", "2024-01", "sexual_abuse", 1],
                                 ["71.71", "2024-01", "sexual_abuse", 1],
                                 ["31.71", "2024-01", "sexual_abuse", 1]])
    errs = errors(alice, "cases", data)
    assert [line for line, _ in errs] == [3, 4]
    assert errs[0][1] == "area 71.71 is outside your organisation's jurisdiction"
    assert "31.71" in errs[1][1] and "outside" in errs[1][1]


@pytest.mark.parametrize(("period", "reason"), [
    ("2024/01", "expected a month as YYYY-MM, got '2024/01'"),
    ("Jan 2024", "expected a month as YYYY-MM"),
    ("2024-1", "expected a month as YYYY-MM"),
    ("2024-13", "'2024-13' is not a valid month"),
    ("2024-00", "is not a valid month"),
    ("1989-12", "is not a valid month"),
])
def test_it_rejects_bad_periods(operator, period, reason):
    data = csv_bytes(CASES[:4], [["31.74", period, "sexual_abuse", 1]])
    [(line, message)] = errors(operator, "cases", data)
    assert line == 2 and message.startswith("period: ") and reason in message


def test_it_rejects_a_future_month(operator):
    future = next_month()
    data = csv_bytes(CASES[:4], [["31.74", "2024-01", "sexual_abuse", 1],
                                 ["31.74", future, "sexual_abuse", 1]])
    assert errors(operator, "cases", data) == [(3, f"period: {future} is in the future")]


def test_it_rejects_unknown_category(operator):
    data = csv_bytes(CASES[:4], [["31.74", "2024-01", "rape", 1]])
    [(line, message)] = errors(operator, "cases", data)
    assert line == 2
    assert message.startswith("category: unknown category 'rape'; expected one of ")
    assert all(c in message for c in Category.values)


def test_it_rejects_negative_count(operator):
    data = csv_bytes(CASES[:4], [["31.74", "2024-01", "sexual_abuse", -1]])
    assert errors(operator, "cases", data) == [(2, "count: must not be negative, got -1")]


@pytest.mark.parametrize("count", ["1.5", "abc", "1,5", "nan", "inf", "2 kasus"])
def test_it_rejects_non_integer_count(operator, count):
    data = csv_bytes(CASES[:4], [["31.74", "2024-01", "sexual_abuse", count]])
    [(line, message)] = errors(operator, "cases", data)
    assert line == 2 and message.startswith("count: expected a whole number, got ")
    assert repr(count) in message


def test_it_rejects_implausibly_large_counts(operator):
    data = csv_bytes(CASES[:4], [["31.74", "2024-01", "sexual_abuse", 10**10]])
    assert errors(operator, "cases", data) == [(2, "count: is implausibly large")]


def test_it_rejects_empty_required_cells(operator):
    data = csv_bytes(CASES[:4], [["31.74", "", "sexual_abuse", ""]])
    assert errors(operator, "cases", data) == [(2, "period is empty; count is empty")]


def test_it_reports_every_problem_of_a_row_and_every_bad_row(operator):
    data = csv_bytes(CASES[:4], [["99.99", "2024-13", "rape", "-3"],
                                 ["31.74", "2024-01", "sexual_abuse", 1],
                                 ["31.74", "2024-02", "sexual_abuse", "x"]])
    errs = errors(operator, "cases", data)
    assert [line for line, _ in errs] == [2, 4]
    first = errs[0][1]
    for part in ("period:", "category:", "count:", "unknown area code '99.99'"):
        assert part in first


def test_it_rejects_duplicate_natural_keys_naming_the_first_line(operator):
    data = csv_bytes(CASES[:4], [["31.74", "2024-01", "sexual_abuse", 1],
                                 ["31.74", "2024-02", "sexual_abuse", 1],
                                 ["31.74", "2024-01", "SEXUAL_ABUSE", 2]])
    assert errors(operator, "cases", data) == [
        (4, "duplicate of line 2 (same code, period, category)")]


def test_it_rejects_duplicate_factor_rows_without_a_year(operator):
    data = csv_bytes(["code", "factor", "value", "year"], [["31.74", "poverty", "1", ""],
                                                          ["31.74", "poverty", "2", ""],
                                                          ["31.74", "poverty", "3", "2023"]])
    assert errors(operator, "factors", data) == [
        (3, "duplicate of line 2 (same code, factor, year)")]


def test_it_rejects_missing_required_column(operator):
    data = csv_bytes(["code", "period", "category"], [["31.74", "2024-01", "sexual_abuse"]])
    assert errors(operator, "cases", data) == [
        (1, "missing column 'count'; expected code, period, category, count, [source]")]


def test_it_rejects_unexpected_column(operator):
    data = csv_bytes([*CASES, "notes"], [["31.74", "2024-01", "sexual_abuse", 1, "", "x"]])
    assert errors(operator, "cases", data) == [
        (1, "unexpected column 'notes'; expected code, period, category, count, [source]")]


def test_it_rejects_a_column_given_twice(operator):
    data = csv_bytes(["code", "kode", "period", "category", "count"],
                     [["31.74", "31.74", "2024-01", "sexual_abuse", 1]])
    assert errors(operator, "cases", data) == [(1, "column 'code' appears twice")]


def test_it_rejects_rows_with_more_cells_than_the_header(operator):
    data = b"code,period,category,count\n31.74,2024-01,sexual_abuse,1,Budi\n"
    assert errors(operator, "cases", data) == [(2, "more cells than columns in the header")]


@pytest.mark.parametrize("column", [
    "nama", "Nama", "nama_korban", "Nama Korban", "tanggal_lahir", "Tanggal Lahir", "tgl_lahir",
    "nik", "NIK", "no_ktp", "alamat", "no_hp", "telepon", "email", "umur", "jenis_kelamin",
    "agama", "name", "date_of_birth", "address", "pelaku",
])
def test_it_refuses_personal_data_columns_with_a_clear_message(operator, column):
    data = csv_bytes([*CASES, column], [["31.74", "2024-01", "sexual_abuse", 1, "", "x"]])
    batch, _plan = do_import(operator, "cases", data, "data.csv")
    assert batch.status == "invalid" and CaseCount.objects.count() == 0
    [error] = batch.errors
    assert error["line"] == 1
    message = error["message"]
    assert f"column {column.lower()!r} looks like personal data" in message
    assert "Cegah accepts only aggregate counts" in message
    assert "Remove the column" in message


@pytest.mark.parametrize("kind", ["population", "factors"])
def test_it_refuses_personal_data_columns_for_every_kind(operator, kind):
    header = {"population": POPULATION, "factors": FACTORS}[kind]
    data = csv_bytes([*header, "nama_anak"], [["31.74", "x", "1", "", ""]])
    [(line, message)] = errors(operator, kind, data)
    assert line == 1 and "looks like personal data" in message


def test_it_refuses_a_nik_like_number_without_echoing_it(operator):
    data = csv_bytes(CASES, [
        ["31.74", "2024-01", "sexual_abuse", 1, f"laporan NIK {NIK}"],
        ["31.74", "2024-02", "sexual_abuse", 1, "ok"],
        ["31.74", "2024-03", "sexual_abuse", NIK, ""],
        [NIK, "2024-04", "sexual_abuse", 1, ""],
    ])
    batch, plan = do_import(operator, "cases", data, "data.csv")
    assert batch.status == "invalid" and CaseCount.objects.count() == 0
    assert [e["line"] for e in batch.errors] == [2, 4, 5]
    for e in batch.errors:
        assert "16-digit number" in e["message"] and "national ID number (NIK)" in e["message"]
    stored = str(list(ImportBatch.objects.values_list("errors", "filename")))
    assert NIK not in stored
    assert NIK not in str([str(e) for e in plan.validated.errors])
    assert not AuditEvent.objects.filter(object_type="cases").exists()


def test_a_factor_with_sixteen_decimals_is_not_mistaken_for_a_nik(operator):
    data = csv_bytes(FACTORS, [["31.74", "poverty_rate", "0.1234567890123456", "2024", ""]])
    assert errors(operator, "factors", data) == []


def test_it_refuses_a_nik_in_the_header_row_without_echoing_it(operator):
    # A file of personal records without a header row: its first record becomes the header.
    data = csv_bytes([NIK, "31.74", "2024-01"], [[NIK, "31.74", "2024-01"]])
    batch, _plan = do_import(operator, "cases", data, "data.csv")
    assert batch.status == "invalid"
    assert any("NIK" in e["message"] for e in batch.errors)
    assert NIK not in str(batch.errors)


def test_it_does_not_mistake_longer_or_shorter_numbers_for_a_nik(operator):
    data = csv_bytes(CASES, [["31.74", "2024-01", "sexual_abuse", 1, "ref 123456789012345"]])
    assert errors(operator, "cases", data) == []


def test_it_rejects_an_empty_file(operator):
    assert errors(operator, "cases", b"", "empty.csv") == [(None, "empty.csv: the file is empty.")]


def test_it_rejects_a_file_with_only_a_header(operator):
    for data in (csv_bytes(CASES), csv_bytes(CASES) + b"\n\n ,,,,\n"):
        assert errors(operator, "cases", data) == [(None, "the file has a header but no data rows")]


def test_it_rejects_an_xlsx_file_with_only_a_header_or_nothing(operator):
    assert errors(operator, "cases", xlsx_bytes(CASES), "a.xlsx") == [
        (None, "the file has a header but no data rows")]
    wb = Workbook()
    buf = io.BytesIO()
    wb.save(buf)
    [(line, message)] = errors(operator, "cases", buf.getvalue(), "b.xlsx")
    assert line is None and "empty" in message


def test_it_rejects_non_utf8_csv(operator):
    data = csv_bytes(CASES, [["31.74", "2024-01", "sexual_abuse", 1, "Dinas Sosial Bekasi é"]],
                     encoding="latin-1")
    [(line, message)] = errors(operator, "cases", data, "latin.csv")
    assert line is None
    assert message.startswith("latin.csv: not UTF-8 text (byte ")
    assert "save the file as CSV UTF-8" in message


@pytest.mark.parametrize(("filename", "got"), [("data.txt", ".txt"), ("data.xls", ".xls"),
                                                ("data", "no extension")])
def test_it_rejects_a_wrong_extension(operator, filename, got):
    [(line, message)] = errors(operator, "cases", GOOD_CASES, filename)
    assert line is None
    assert message == f"{filename}: expected a .csv or .xlsx file, got {got}."


@pytest.mark.parametrize("data", [b"not a workbook", b"PK\x03\x04broken zip", GOOD_CASES])
def test_it_rejects_a_broken_xlsx_file(operator, data):
    [(line, message)] = errors(operator, "cases", data, "broken.xlsx")
    assert line is None and message.startswith("broken.xlsx: not a readable .xlsx workbook")


@pytest.mark.parametrize(("year", "reason"), [
    ("20x4", "year: expected a year as YYYY, got '20x4'"),
    ("23", "year: expected a year as YYYY, got '23'"),
    ("1800", "year: year 1800 is out of range"),
    ("2999", "year: year 2999 is out of range"),
])
def test_it_rejects_bad_population_years(operator, year, reason):
    data = csv_bytes(POPULATION, [["31.74", 2023, 100, ""], ["31.74", year, 100, ""]])
    assert errors(operator, "population", data) == [(3, reason)]


def test_it_rejects_negative_children(operator):
    data = csv_bytes(POPULATION, [["31.74", 2023, -5, ""]])
    assert errors(operator, "population", data) == [(2, "children: must not be negative, got -5")]


def test_it_rejects_duplicate_population_years(operator):
    data = csv_bytes(POPULATION, [["31.74", 2023, 5, ""], ["31.74", 2023, 6, ""]])
    assert errors(operator, "population", data) == [(3, "duplicate of line 2 (same code, year)")]


@pytest.mark.parametrize("factor", ["Poverty Rate", "1st_factor", "poverty-rate", "x" * 65,
                                    "kemiskinan%"])
def test_it_rejects_bad_factor_names(operator, factor):
    data = csv_bytes(FACTORS, [["31.74", factor, "1", "", ""]])
    [(line, message)] = errors(operator, "factors", data)
    assert line == 2
    assert message.startswith("factor: factor names use lower-case letters, digits and underscores")


@pytest.mark.parametrize("value", ["high", "1.2.3", "nan", "inf", "5%"])
def test_it_rejects_non_numeric_factor_values(operator, value):
    data = csv_bytes(FACTORS, [["31.74", "poverty", value, "", ""]])
    [(line, message)] = errors(operator, "factors", data)
    assert line == 2 and message.startswith("value: expected a ")


def test_it_rejects_a_bad_optional_factor_year(operator):
    data = csv_bytes(FACTORS, [["31.74", "poverty", "1", "tahun lalu", ""]])
    assert errors(operator, "factors", data) == [
        (2, "year: expected a year as YYYY, got 'tahun lalu'")]


def test_it_counts_lines_as_an_editor_shows_them(operator):
    data = (b"code,period,category,count\n"
            b"31.74,2024-01,sexual_abuse,1\n"
            b"\n"
            b"31.74,2024-02,sexual_abuse,-1\n")
    assert errors(operator, "cases", data) == [(4, "count: must not be negative, got -1")]


# --- permissions -----------------------------------------------------------------------

def test_a_viewer_may_not_import(bob):
    with pytest.raises(PermissionDenied):
        check_file(bob, "cases", GOOD_CASES, "cases.csv")
    with pytest.raises(PermissionDenied):
        do_import(bob, "cases", GOOD_CASES, "cases.csv")
    assert not ImportBatch.objects.exists() and CaseCount.objects.count() == 0


def test_it_refuses_an_unknown_kind(operator):
    with pytest.raises(ValueError, match="kind: expected one of"):
        check_file(operator, "victims", GOOD_CASES, "x.csv")


# --- all or nothing --------------------------------------------------------------------

def _many_rows(kind, codes):
    if kind == "cases":
        header = CASES
        rows = [[c, f"2023-{m:02d}", cat, m, "bulk"] for c in codes for cat in Category.values
                for m in range(1, 5)]
        bad = ["31.74", "2022-12", "sexual_abuse", "-1", ""]
    elif kind == "population":
        header = POPULATION
        rows = [[c, y, 1000 + y, "bulk"] for c in codes for y in range(2010, 2024)]
        bad = ["31.74", "1900", "1", ""]
    else:
        header = FACTORS
        rows = [[c, f"factor_{i}", i / 4, 2023, "bulk"] for c in codes for i in range(14)]
        bad = ["31.74", "Bad Factor", "1", "", ""]
    return header, rows[:999], bad


@pytest.mark.parametrize("kind", ["cases", "population", "factors"])
def test_a_file_with_one_bad_row_among_999_changes_nothing(operator, jaksel_codes, kind):
    header, rows, bad = _many_rows(kind, jaksel_codes)
    # Some data already there, including values the bad file would replace.
    seed = [[*r[:-2], r[-2] if kind != "cases" else 99, "seed"] for r in rows[:5]]
    seed_batch, _plan = do_import(operator, kind, csv_bytes(header, seed), "seed.csv")
    assert seed_batch.status == "applied"
    before = counts()
    events_before = AuditEvent.objects.count()
    rows.insert(500, bad)
    data = csv_bytes(header, rows)
    batch, plan = do_import(operator, kind, data, "big.csv")
    assert batch.status == "invalid"
    assert batch.rows_total == 1000 and batch.error_count == 1
    assert [e["line"] for e in batch.errors] == [502]
    assert (batch.rows_created, batch.rows_updated, batch.rows_unchanged) == (0, 0, 0)
    assert batch.file_sha256 == hashlib.sha256(data).hexdigest()
    assert batch.applied_at is None and batch.content is None
    assert counts() == before
    assert AuditEvent.objects.count() == events_before
    model = {"cases": CaseCount, "population": Population, "factors": FactorValue}[kind]
    assert set(model.objects.values_list("source", flat=True)) == {"seed"}
    assert not model.objects.filter(import_batch=batch).exists()
    # The same rows without the bad one go in.
    rows.pop(500)
    good, plan = do_import(operator, kind, csv_bytes(header, rows), "big.csv")
    assert good.status == "applied"
    assert (plan.created, plan.updated, plan.unchanged) == (994, 5, 0)


def test_a_failure_while_writing_rolls_everything_back(operator, monkeypatch):
    do_import(operator, "cases", GOOD_CASES, "cases.csv")
    before, events = cases_in_db(), AuditEvent.objects.count()
    batches = ImportBatch.objects.count()

    def broken(**kwargs):
        raise RuntimeError("disk full")

    # The "import" event is the last write: if it fails, the replaced values and their
    # "update" events must go too, because they share one transaction.
    monkeypatch.setattr(actions, "record_event", broken)
    changed = csv_bytes(CASES, [["31.74", "2024-01", "sexual_abuse", 30, "corrected"],
                                ["31.71", "2024-01", "sexual_abuse", 1, "new"]])
    with pytest.raises(RuntimeError):
        do_import(operator, "cases", changed, "cases.csv")
    assert cases_in_db() == before
    assert AuditEvent.objects.count() == events
    assert ImportBatch.objects.count() == batches


# --- idempotence and replacement -------------------------------------------------------

@pytest.mark.parametrize(("kind", "data"), [
    ("cases", GOOD_CASES),
    ("population", csv_bytes(POPULATION, [["31.74", 2023, 650000, "BPS"],
                                          ["71.71", 2022, 1, ""]])),
    ("factors", csv_bytes(FACTORS, [["31.74", "poverty", "0.1", 2023, "BPS"],
                                    ["31.74", "poverty", "-2.75", "", ""],
                                    ["71.71", "poverty", "1e-3", 2023, ""]])),
])
def test_importing_the_same_file_twice_changes_nothing(operator, kind, data):
    first, plan1 = do_import(operator, kind, data, f"{kind}.csv")
    assert first.status == "applied" and plan1.created > 0
    model = {"cases": CaseCount, "population": Population, "factors": FactorValue}[kind]
    snapshot = sorted(model.objects.values_list())
    events = AuditEvent.objects.count()
    second, plan2 = do_import(operator, kind, data, f"{kind}.csv")
    assert second.status == "applied"
    assert (plan2.created, plan2.updated, plan2.unchanged) == (0, 0, plan1.created)
    assert (second.rows_created, second.rows_updated, second.rows_unchanged) == (
        0, 0, plan1.created)
    assert sorted(model.objects.values_list()) == snapshot  # even updated_at and import_batch
    # Only the "import" event of the second file is new: no "update" events.
    assert AuditEvent.objects.count() == events + 1
    assert AuditEvent.objects.order_by("-id").first().action == "import"


def test_a_corrected_file_replaces_values_by_natural_key(alice):
    first = csv_bytes(CASES, [
        ["31.74", "2024-01", "sexual_abuse", 3, "Unit PPA"],
        ["31.74", "2024-01", "trafficking", 1, "Unit PPA"],
        ["31.74.01", "2024-01", "sexual_abuse", 2, ""],
        ["31.74.02", "2024-01", "sexual_abuse", 8, "kept"],
    ])
    batch1, _plan = do_import(alice, "cases", first, "jan.csv")
    corrected = csv_bytes(CASES, [
        ["31.74", "2024-01", "sexual_abuse", 4, "Unit PPA"],  # count corrected
        ["31.74", "2024-01", "trafficking", 1, "Unit PPA (revisi)"],  # source corrected
        ["31.74.01", "2024-01", "sexual_abuse", 2, ""],  # unchanged
        ["31.74.01", "2024-02", "sexual_abuse", 5, ""],  # new
    ])
    before = timezone.now()
    batch2, plan = do_import(alice, "cases", corrected, "jan-revisi.csv")
    assert (plan.created, plan.updated, plan.unchanged) == (1, 2, 1)
    assert cases_in_db() == {
        ("31.74", "2024-01", "sexual_abuse"): (4, "Unit PPA"),
        ("31.74", "2024-01", "trafficking"): (1, "Unit PPA (revisi)"),
        ("31.74.01", "2024-01", "sexual_abuse"): (2, ""),
        ("31.74.01", "2024-02", "sexual_abuse"): (5, ""),
        ("31.74.02", "2024-01", "sexual_abuse"): (8, "kept"),  # not in the file: stays
    }
    assert CaseCount.objects.count() == 5
    by_batch = {(c.area_id, c.period.month, c.category): c.import_batch_id
                for c in CaseCount.objects.all()}
    assert by_batch[("31.74", 1, "sexual_abuse")] == batch2.pk
    assert by_batch[("31.74.01", 1, "sexual_abuse")] == batch1.pk
    assert by_batch[("31.74.02", 1, "sexual_abuse")] == batch1.pk

    # One "update" event per replaced value, with old and new values.
    updates = {e.object_key: e for e in AuditEvent.objects.filter(action="update",
                                                                  object_type="cases")}
    assert set(updates) == {"31.74/2024-01/sexual_abuse", "31.74/2024-01/trafficking"}
    e = updates["31.74/2024-01/sexual_abuse"]
    assert e.old == {"count": 3, "source": "Unit PPA"}
    assert e.new == {"count": 4, "source": "Unit PPA", "import": batch2.pk}
    assert e.actor == alice and e.actor_label == "alice"
    assert e.organisation_id == alice.organisation_id
    e = updates["31.74/2024-01/trafficking"]
    assert e.old == {"count": 1, "source": "Unit PPA"}
    assert e.new["source"] == "Unit PPA (revisi)"

    # The "import" event names the file by its hash and gives the counts.
    [imported] = AuditEvent.objects.filter(action="import", object_key=f"import {batch2.pk}")
    assert imported.object_type == "cases" and imported.actor == alice
    assert imported.new == {
        "import": batch2.pk, "file": "jan-revisi.csv",
        "sha256": hashlib.sha256(corrected).hexdigest(), "rows": 4, "created": 1,
        "updated": 2, "unchanged": 1, "synthetic": False,
    }

    # The import batch records who, when, which file and the row counts.
    batch2.refresh_from_db()
    assert batch2.status == "applied" and batch2.kind == "cases"
    assert batch2.uploaded_by == alice and batch2.actor_label == "alice"
    assert batch2.organisation_id == alice.organisation_id
    assert batch2.filename == "jan-revisi.csv"
    assert batch2.file_sha256 == hashlib.sha256(corrected).hexdigest()
    assert before <= batch2.created_at <= timezone.now()
    assert before <= batch2.applied_at <= timezone.now()
    assert (batch2.rows_total, batch2.rows_created, batch2.rows_updated,
            batch2.rows_unchanged, batch2.error_count) == (4, 1, 2, 1, 0)
    assert batch2.errors == [] and batch2.content is None


def test_replacing_population_and_factor_values_is_audited(operator):
    do_import(operator, "population", csv_bytes(POPULATION, [["31.74", 2023, 100, ""]]), "p.csv")
    do_import(operator, "population", csv_bytes(POPULATION, [["31.74", 2023, 120, ""]]), "p.csv")
    [e] = AuditEvent.objects.filter(action="update", object_type="population")
    assert e.object_key == "31.74/2023" and e.actor is None and e.actor_label == "cli:test"
    assert e.old == {"children": 100, "source": ""}
    assert e.new["children"] == 120
    do_import(operator, "factors", csv_bytes(FACTORS, [["31.74", "poverty", "1.5", "", ""]]),
              "f.csv")
    do_import(operator, "factors", csv_bytes(FACTORS, [["31.74", "poverty", "2.5", "", ""]]),
              "f.csv")
    [e] = AuditEvent.objects.filter(action="update", object_type="factors")
    assert e.object_key == "31.74/poverty/"
    assert (e.old["value"], e.new["value"]) == (1.5, 2.5)
    assert Population.objects.get().children == 120 and FactorValue.objects.get().value == 2.5


def test_an_operator_import_is_recorded_with_its_label(operator):
    batch, _plan = do_import(operator, "cases", GOOD_CASES, "cases.csv")
    assert batch.uploaded_by is None and batch.actor_label == "cli:test"
    [e] = AuditEvent.objects.filter(action="import")
    assert e.actor_label == "cli:test" and e.new["created"] == 3


# --- dry run ---------------------------------------------------------------------------

def test_check_file_changes_nothing(operator):
    do_import(operator, "cases", GOOD_CASES, "cases.csv")
    snapshot = sorted(CaseCount.objects.values_list())
    n_batches, n_events = ImportBatch.objects.count(), AuditEvent.objects.count()
    data = csv_bytes(CASES, [["31.74", "2024-01", "sexual_abuse", 30, "Unit PPA"],
                             ["31.74.01", "2024-01", "trafficking", 0, ""],
                             ["35.17", "2024-01", "trafficking", 2, ""]])
    plan = check_file(operator, "cases", data, "cases.csv")
    assert plan.validated.ok
    assert (plan.created, plan.updated, plan.unchanged) == (1, 1, 1)
    bad = check_file(operator, "cases", data + b"99.99,2024-01,trafficking,1,\n", "cases.csv")
    assert not bad.validated.ok and bad.validated.errors[0].line == 5
    assert sorted(CaseCount.objects.values_list()) == snapshot
    assert (ImportBatch.objects.count(), AuditEvent.objects.count()) == (n_batches, n_events)


# --- the web upload with preview -------------------------------------------------------

def web(user) -> Client:
    client = Client()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"  # Indonesian is the default
    client.force_login(user)
    return client


def upload(client, data, name="cases.csv", kind="cases"):
    f = io.BytesIO(data)
    f.name = name
    return client.post(reverse("cases:import-new"), {"kind": kind, "file": f})


def test_the_upload_page_lists_the_columns(alice):
    response = web(alice).get(reverse("cases:import-new"))
    assert response.status_code == 200
    assert "code, period, category, count, [source]" in response.content.decode()


def test_an_upload_is_previewed_then_confirmed(alice):
    client = web(alice)
    data = csv_bytes(CASES, [["31.74", "2024-01", "sexual_abuse", 3, ""],
                             ["31.74.01", "2024-01", "sexual_abuse", 1, ""]])
    response = upload(client, data)
    batch = ImportBatch.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("cases:import-detail", args=[batch.pk])
    assert batch.status == "preview" and bytes(batch.content) == data
    assert batch.uploaded_by == alice and batch.rows_created == 2
    assert CaseCount.objects.count() == 0  # nothing yet

    page = client.get(response["Location"]).content.decode()
    assert "The file is valid. Importing it will:" in page
    assert "add 2 new values" in page and "replace 0 existing values" in page
    assert reverse("cases:import-confirm", args=[batch.pk]) in page
    assert reverse("cases:import-discard", args=[batch.pk]) in page
    assert batch.file_sha256 in page

    response = client.post(reverse("cases:import-confirm", args=[batch.pk]), follow=True)
    page = response.content.decode()
    assert "Imported: 2 new, 0 replaced, 0 unchanged." in page
    batch.refresh_from_db()
    assert batch.status == "applied" and batch.content is None and batch.applied_at
    assert CaseCount.objects.count() == 2
    assert AuditEvent.objects.filter(action="import", object_key=f"import {batch.pk}",
                                     actor=alice).exists()
    assert reverse("cases:import-confirm", args=[batch.pk]) not in page

    # Confirming again does not import twice.
    response = client.post(reverse("cases:import-confirm", args=[batch.pk]), follow=True)
    assert "already confirmed or discarded" in response.content.decode()
    assert AuditEvent.objects.filter(action="import").count() == 1

    # The list shows the import.
    assert "cases.csv" in client.get(reverse("cases:imports")).content.decode()


def test_an_upload_with_errors_shows_them_and_cannot_be_confirmed(alice):
    client = web(alice)
    data = csv_bytes(CASES, [["31.74", "2024-01", "sexual_abuse", 3, ""],
                             ["71.71", "2024-13", "sexual_abuse", 1, ""]])
    response = upload(client, data)
    batch = ImportBatch.objects.get()
    assert batch.status == "invalid" and batch.content is None
    page = client.get(response["Location"]).content.decode()
    assert "1 error — nothing was imported" in page
    assert "line 3: period: &#x27;2024-13&#x27; is not a valid month" in page
    assert "area 71.71 is outside your organisation&#x27;s jurisdiction" in page
    assert reverse("cases:import-confirm", args=[batch.pk]) not in page
    response = client.post(reverse("cases:import-confirm", args=[batch.pk]), follow=True)
    assert "already confirmed or discarded" in response.content.decode()
    assert CaseCount.objects.count() == 0


def test_an_upload_with_personal_data_shows_the_reason(alice):
    client = web(alice)
    data = csv_bytes([*CASES, "nama_korban"], [["31.74", "2024-01", "sexual_abuse", 3, "", "x"]])
    page = client.get(upload(client, data)["Location"]).content.decode()
    assert "looks like personal data" in page and "line 1" in page


def test_an_upload_with_a_wrong_extension_is_refused_by_the_form(alice):
    response = upload(web(alice), GOOD_CASES, name="cases.txt")
    assert response.status_code == 200
    assert "expected a .csv or .xlsx file, got .txt" in response.content.decode()
    assert not ImportBatch.objects.exists()


def test_an_xlsx_upload_is_previewed(alice):
    client = web(alice)
    data = xlsx_bytes(CASES[:4], [["31.74", dt.date(2024, 5, 1), "trafficking", 2]])
    response = upload(client, data, name="kasus.xlsx")
    batch = ImportBatch.objects.get()
    assert batch.status == "preview" and batch.rows_created == 1
    client.post(reverse("cases:import-confirm", args=[batch.pk]))
    assert cases_in_db() == {("31.74", "2024-05", "trafficking"): (2, "")}
    assert response.status_code == 302


def test_an_upload_can_be_discarded(alice):
    client = web(alice)
    upload(client, GOOD_CASES.replace(b"71.71", b"31.74"))
    batch = ImportBatch.objects.get()
    assert batch.status == "preview"
    response = client.post(reverse("cases:import-discard", args=[batch.pk]), follow=True)
    assert "The upload was discarded; nothing was imported." in response.content.decode()
    batch.refresh_from_db()
    assert batch.status == "discarded" and batch.content is None
    response = client.post(reverse("cases:import-confirm", args=[batch.pk]), follow=True)
    assert "already confirmed or discarded" in response.content.decode()
    batch.refresh_from_db()
    assert batch.status == "discarded"
    assert CaseCount.objects.count() == 0
    assert not AuditEvent.objects.filter(action__in=["import", "update"]).exists()


def test_discarding_an_applied_import_does_not_claim_it_was_undone(alice):
    client = web(alice)
    data = csv_bytes(CASES[:4], [["31.74", "2024-01", "sexual_abuse", 3]])
    upload(client, data)
    batch = ImportBatch.objects.get()
    client.post(reverse("cases:import-confirm", args=[batch.pk]))
    response = client.post(reverse("cases:import-discard", args=[batch.pk]), follow=True)
    page = response.content.decode()
    assert "nothing was imported" not in page
    assert "already confirmed or discarded" in page
    batch.refresh_from_db()
    assert batch.status == "applied" and CaseCount.objects.count() == 1


def test_confirm_and_discard_need_post(alice):
    client = web(alice)
    upload(client, csv_bytes(CASES[:4], [["31.74", "2024-01", "sexual_abuse", 3]]))
    batch = ImportBatch.objects.get()
    assert client.get(reverse("cases:import-confirm", args=[batch.pk])).status_code == 405
    assert client.get(reverse("cases:import-discard", args=[batch.pk])).status_code == 405
    batch.refresh_from_db()
    assert batch.status == "preview"


def test_a_file_valid_at_preview_but_invalid_at_confirm_is_refused(alice, operator):
    client = web(alice)
    upload(client, csv_bytes(CASES[:4], [["31.74.01", "2024-01", "sexual_abuse", 3]]))
    batch = ImportBatch.objects.get()
    assert batch.status == "preview"
    # Meanwhile the organisation's jurisdiction moves to Central Jakarta.
    do_save_organisation(actor=operator, name=alice.organisation.name,
                         type=alice.organisation.type, jurisdiction=["31.71"])
    response = client.post(reverse("cases:import-confirm", args=[batch.pk]), follow=True)
    page = response.content.decode()
    assert "no longer passes the checks; nothing was imported" in page
    batch.refresh_from_db()
    assert batch.status == "invalid" and batch.content is None and batch.applied_at is None
    assert batch.errors == [{"line": 2, "message": "area 31.74.01 is outside your "
                                                   "organisation's jurisdiction"}]
    assert CaseCount.objects.count() == 0
    assert not AuditEvent.objects.filter(action="import").exists()


def test_confirm_checks_against_the_data_as_they_are_now(alice, operator):
    client = web(alice)
    data = csv_bytes(CASES[:4], [["31.74", "2024-01", "sexual_abuse", 3],
                                 ["31.74", "2024-02", "sexual_abuse", 4]])
    upload(client, data)
    batch = ImportBatch.objects.get()
    assert (batch.rows_created, batch.rows_updated) == (2, 0)
    # Someone else imports one of the values in the meantime.
    do_import(operator, "cases", csv_bytes(CASES[:4], [["31.74", "2024-01", "sexual_abuse", 9]]),
              "other.csv")
    client.post(reverse("cases:import-confirm", args=[batch.pk]))
    batch.refresh_from_db()
    assert batch.status == "applied"
    assert (batch.rows_created, batch.rows_updated, batch.rows_unchanged) == (1, 1, 0)
    assert cases_in_db()[("31.74", "2024-01", "sexual_abuse")] == (3, "")
    [e] = AuditEvent.objects.filter(action="update")
    assert e.old == {"count": 9, "source": ""} and e.actor == alice


def test_a_viewer_gets_404_on_the_import_pages(alice, bob):
    upload(web(alice), GOOD_CASES.replace(b"71.71", b"31.74"))
    batch = ImportBatch.objects.get()
    client = web(bob)
    assert client.get(reverse("cases:imports")).status_code == 404
    assert client.get(reverse("cases:import-new")).status_code == 404
    assert upload(client, GOOD_CASES).status_code == 404
    assert client.get(reverse("cases:import-detail", args=[batch.pk])).status_code == 404
    assert client.post(reverse("cases:import-confirm", args=[batch.pk])).status_code == 404
    assert client.post(reverse("cases:import-discard", args=[batch.pk])).status_code == 404
    batch.refresh_from_db()
    assert batch.status == "preview" and ImportBatch.objects.count() == 1
    assert CaseCount.objects.count() == 0


def test_another_organisation_cannot_see_an_import(alice, charlie):
    upload(web(alice), GOOD_CASES.replace(b"71.71", b"31.74"))
    batch = ImportBatch.objects.get()
    client = web(charlie)
    assert client.get(reverse("cases:imports")).status_code == 200
    assert "cases.csv" not in client.get(reverse("cases:imports")).content.decode()
    assert client.get(reverse("cases:import-detail", args=[batch.pk])).status_code == 404
    assert client.post(reverse("cases:import-confirm", args=[batch.pk])).status_code == 404
    assert client.post(reverse("cases:import-discard", args=[batch.pk])).status_code == 404
    assert client.get(reverse("cases:import-detail", args=[batch.pk + 1000])).status_code == 404
    batch.refresh_from_db()
    assert batch.status == "preview" and CaseCount.objects.count() == 0


def test_a_system_admin_sees_every_import(alice, sysadmin):
    upload(web(alice), GOOD_CASES.replace(b"71.71", b"31.74"))
    batch = ImportBatch.objects.get()
    assert web(sysadmin).get(reverse("cases:import-detail", args=[batch.pk])).status_code == 200


def test_the_import_pages_need_a_login(db):
    response = Client().get(reverse("cases:import-new"))
    assert response.status_code == 302 and "login" in response["Location"]


def test_new_rows_store_their_update_time_like_django_does(operator):
    do_import(operator, "cases", csv_bytes(CASES[:4], [["31.74", "2024-01", "sexual_abuse", 1]]),
              "a.csv")
    batch, plan = do_import(operator, "cases", csv_bytes(CASES[:4], [
        ["31.74", "2024-01", "sexual_abuse", 2],  # replaced
        ["31.74", "2024-02", "sexual_abuse", 3],  # new
    ]), "b.csv")
    assert (plan.created, plan.updated) == (1, 1)
    # Update times are stored the way Django stores them, so lookups on them work for
    # new rows (written with plain INSERTs) as for replaced ones.
    for row in CaseCount.objects.filter(import_batch=batch):
        assert CaseCount.objects.filter(pk=row.pk, updated_at=row.updated_at).exists()
        assert CaseCount.objects.filter(pk=row.pk, updated_at__lte=row.updated_at).exists()


def test_it_rejects_data_under_a_column_without_a_name(operator):
    data = b"code,period,,category,count\n31.74.01.1001,2026-01,x,sexual_abuse,1\n"
    with translation.override("en"):
        plan = check_file(operator, "cases", data, "blank.csv")
    assert not plan.validated.ok
    assert plan.validated.errors[0].line == 2
    assert "without a name" in plan.validated.errors[0].message
    empty = b"code,period,,category,count\n31.74.01.1001,2026-01,,sexual_abuse,1\n"
    assert check_file(operator, "cases", empty, "blank.csv").validated.ok
