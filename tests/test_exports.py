"""Exports: the import format, scoped to the jurisdiction, safe in spreadsheets, audited."""

from __future__ import annotations

import csv
import io

import pytest
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation
from openpyxl import load_workbook

from cegah.audit.models import AuditEvent
from cegah.cases.actions import check_file, do_export, do_import
from tests.conftest import csv_bytes

CASES = ["code", "period", "category", "count", "source"]
POPULATION = ["code", "year", "children", "source"]
FACTORS = ["code", "factor", "value", "year", "source"]
HEADERS = {"cases": CASES, "population": POPULATION, "factors": FACTORS}




def parse_csv(data: bytes | str) -> list[list[str]]:
    text = data.decode("utf-8-sig") if isinstance(data, bytes) else data
    return list(csv.reader(io.StringIO(text)))


def parse_xlsx(data: bytes) -> list[list]:
    ws = load_workbook(io.BytesIO(data)).worksheets[0]
    return [[c.value for c in row] for row in ws.iter_rows()]


SEED = {
    "cases": [
        ["31.74", "2024-01", "sexual_abuse", 3, "Unit PPA"],
        ["31.74.01", "2024-01", "trafficking", 0, ""],
        ["31.74.01.1001", "2023-12", "online_sexual_exploitation", 2, "P2TP2A"],
        ["31.71", "2024-01", "sexual_abuse", 6, ""],
        ["71.71", "2024-02", "online_sexual_exploitation", 12, "LSM"],
        ["35.17", "2024-02", "sexual_exploitation", 1, ""],
    ],
    "population": [
        ["31.74", 2023, 650000, "BPS"],
        ["31.74.01", 2023, 51000, ""],
        ["71.71", 2023, 120000, "BPS"],
    ],
    "factors": [
        ["31.74", "poverty_rate", "4.25", 2023, "BPS"],
        ["31.74", "poverty_rate", "-2.5", "", "estimate"],
        ["31.74.01", "child_marriage", "0.1", 2022, ""],
        ["71.71", "poverty_rate", "7", 2023, ""],
    ],
}


@pytest.fixture(autouse=True)
def _english(db):
    with translation.override("en"):
        yield


@pytest.fixture
def seeded(operator):
    for kind, rows in SEED.items():
        batch, _plan = do_import(operator, kind, csv_bytes(HEADERS[kind], rows), f"{kind}.csv")
        assert batch.status == "applied", batch.errors


def web(user) -> Client:
    client = Client()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"  # Indonesian is the default
    client.force_login(user)
    return client


def download(client, kind="cases", fmt="csv", area=""):
    return client.get(reverse("cases:export"), {"kind": kind, "format": fmt, "area": area})


def export_bytes(actor, kind, fmt, area=None) -> bytes:
    buf = io.StringIO() if fmt == "csv" else io.BytesIO()
    do_export(actor, kind, buf, fmt, area_code=area)
    value = buf.getvalue()
    return value.encode() if fmt == "csv" else value


# --- the format and round trips --------------------------------------------------------

def test_it_exports_cases_in_the_import_format(operator, seeded):
    rows = parse_csv(export_bytes(operator, "cases", "csv"))
    assert rows[0] == CASES
    assert rows[1:] == sorted([[str(c) for c in r] for r in SEED["cases"]],
                              key=lambda r: (r[0], r[1], r[2]))


def test_it_exports_factors_without_a_year_as_an_empty_cell(operator, seeded):
    rows = parse_csv(export_bytes(operator, "factors", "csv", area="31.74"))
    assert rows[0] == FACTORS
    assert ["31.74", "poverty_rate", "-2.5", "", "estimate"] in rows
    assert ["31.74", "poverty_rate", "4.25", "2023", "BPS"] in rows


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
@pytest.mark.parametrize("kind", ["cases", "population", "factors"])
def test_an_export_re_imports_unchanged(operator, seeded, kind, fmt):
    data = export_bytes(operator, kind, fmt)
    plan = check_file(operator, kind, data, f"export.{fmt}")
    assert plan.validated.ok, plan.validated.errors
    assert (plan.created, plan.updated, plan.unchanged) == (0, 0, len(SEED[kind]))
    batch, plan = do_import(operator, kind, data, f"export.{fmt}")
    assert batch.status == "applied" and plan.unchanged == len(SEED[kind])
    assert not AuditEvent.objects.filter(action="update").exists()


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_a_web_export_re_imports_unchanged_through_the_web(alice, seeded, fmt):
    client = web(alice)
    response = download(client, "cases", fmt)
    assert response.status_code == 200
    f = io.BytesIO(response.content)
    f.name = f"export.{fmt}"
    client.post(reverse("cases:import-new"), {"kind": "cases", "file": f})
    from cegah.cases.models import ImportBatch

    batch = ImportBatch.objects.get(uploaded_by=alice)
    assert batch.status == "preview", batch.errors
    assert (batch.rows_created, batch.rows_updated, batch.rows_unchanged) == (0, 0, 3)


def test_the_web_csv_export_is_an_attachment_with_a_byte_order_mark(alice, seeded):
    response = download(web(alice), "cases", "csv", area="31.74.01")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    stamp = timezone.localdate().isoformat()
    assert response["Content-Disposition"] == (
        f'attachment; filename="cegah-cases-31.74.01-{stamp}.csv"')
    assert response.content.startswith("\ufeff".encode())
    rows = parse_csv(response.content)
    assert rows[0] == CASES
    assert {r[0] for r in rows[1:]} == {"31.74.01", "31.74.01.1001"}


def test_the_web_xlsx_export_is_a_workbook(alice, seeded):
    response = download(web(alice), "factors", "xlsx")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert response["Content-Disposition"].endswith('.xlsx"')
    rows = parse_xlsx(response.content)
    assert rows[0] == FACTORS
    assert ["31.74", "poverty_rate", -2.5, None, "estimate"] in [
        [None if c == "" else c for c in r] for r in rows]


def test_an_invalid_export_request_shows_the_form(alice, seeded):
    response = web(alice).get(reverse("cases:export"), {"kind": "cases", "format": "pdf"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert not AuditEvent.objects.filter(action="export").exists()


# --- scope -----------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_exports_are_scoped_to_the_jurisdiction(alice, charlie, seeded, fmt):
    def codes(user, kind):
        response = download(web(user), kind, fmt)
        assert response.status_code == 200
        rows = parse_csv(response.content) if fmt == "csv" else parse_xlsx(response.content)
        return {r[0] for r in rows[1:]}

    for kind in ("cases", "population", "factors"):
        alice_codes, charlie_codes = codes(alice, kind), codes(charlie, kind)
        assert alice_codes and all(c == "31.74" or c.startswith("31.74.") for c in alice_codes)
        assert charlie_codes == {"71.71"}
    assert codes(alice, "cases") == {"31.74", "31.74.01", "31.74.01.1001"}


def test_a_system_admin_and_the_operator_export_everything(sysadmin, operator, seeded):
    response = download(web(sysadmin), "cases")
    assert len(parse_csv(response.content)) == 1 + len(SEED["cases"])
    assert len(parse_csv(export_bytes(operator, "cases", "csv"))) == 1 + len(SEED["cases"])


def test_an_export_of_one_area_includes_its_sub_areas_only(operator, seeded):
    rows = parse_csv(export_bytes(operator, "cases", "csv", area="31.74.01"))
    assert {r[0] for r in rows[1:]} == {"31.74.01", "31.74.01.1001"}
    rows = parse_csv(export_bytes(operator, "cases", "csv", area="31.7"))
    assert rows == [CASES]


@pytest.mark.parametrize("area", ["71.71", "31.71", "31", "99.99", "../31.74"])
def test_exporting_an_area_outside_the_jurisdiction_is_404(alice, seeded, area):
    assert download(web(alice), "cases", "csv", area=area).status_code == 404
    assert not AuditEvent.objects.filter(action="export").exists()


def test_do_export_refuses_an_area_outside_the_jurisdiction(alice, seeded):
    out = io.StringIO()
    with pytest.raises(PermissionDenied):
        do_export(alice, "cases", out, "csv", area_code="71.71")
    assert out.getvalue() == ""
    assert not AuditEvent.objects.filter(action="export").exists()


def test_a_viewer_cannot_export(bob, seeded):
    client = web(bob)
    assert client.get(reverse("cases:export")).status_code == 404
    assert download(client, "cases", "csv").status_code == 404
    assert download(client, "cases", "xlsx", area="31.74").status_code == 404
    with pytest.raises(PermissionDenied):
        do_export(bob, "cases", io.StringIO(), "csv")
    assert not AuditEvent.objects.filter(action="export").exists()


def test_the_export_page_needs_a_login(db):
    response = Client().get(reverse("cases:export"), {"kind": "cases", "format": "csv"})
    assert response.status_code == 302 and "login" in response["Location"]


# --- spreadsheet safety ----------------------------------------------------------------

DANGEROUS = ['=HYPERLINK("http://example.com/x","klik")', "+1+1", "-2+3", "@SUM(A1:A2)",
             "=cmd|' /C calc'!A0"]


@pytest.fixture
def dangerous(operator):
    rows = [["31.74", f"2024-0{i + 1}", "sexual_abuse", i, source]
            for i, source in enumerate(DANGEROUS)]
    batch, _plan = do_import(operator, "cases", csv_bytes(CASES, rows), "x.csv")
    assert batch.status == "applied", batch.errors


def test_formula_injection_is_neutralised_in_csv(alice, dangerous):
    rows = parse_csv(download(web(alice), "cases", "csv").content)
    assert [r[4] for r in rows[1:]] == ["'" + s for s in DANGEROUS]
    assert [r[3] for r in rows[1:]] == [str(i) for i in range(len(DANGEROUS))]


def test_formula_injection_is_neutralised_in_xlsx(operator, dangerous):
    ws = load_workbook(io.BytesIO(export_bytes(operator, "cases", "xlsx"))).worksheets[0]
    sources = [row[4] for row in ws.iter_rows(min_row=2)]
    assert [c.value for c in sources] == ["'" + s for s in DANGEROUS]
    assert {c.data_type for c in sources} == {"s"}  # text, not formulas
    assert [row[3].value for row in ws.iter_rows(min_row=2)] == list(range(len(DANGEROUS)))


def test_a_neutralised_export_re_imports_unchanged(alice, dangerous):
    data = download(web(alice), "cases", "csv").content
    plan = check_file(alice, "cases", data, "again.csv")
    assert plan.validated.ok
    assert (plan.created, plan.updated, plan.unchanged) == (0, 0, len(DANGEROUS))


# --- audit -----------------------------------------------------------------------------

def test_every_export_is_audited(alice, operator, seeded):
    client = web(alice)
    download(client, "cases", "csv")
    download(client, "population", "xlsx", area="31.74.01")
    export_bytes(operator, "factors", "csv")
    events = list(AuditEvent.objects.filter(action="export").order_by("id"))
    assert [(e.object_type, e.object_key, e.new) for e in events] == [
        ("cases", "", {"rows": 3, "format": "csv"}),
        ("population", "31.74.01", {"rows": 1, "format": "xlsx"}),
        ("factors", "", {"rows": 4, "format": "csv"}),
    ]
    assert events[0].actor == alice and events[0].actor_label == "alice"
    assert events[0].organisation_id == alice.organisation_id
    assert events[2].actor is None and events[2].actor_label == "cli:test"


def test_an_empty_export_is_audited_too(charlie, db):
    response = download(web(charlie), "cases", "csv")
    assert parse_csv(response.content) == [CASES]
    [event] = AuditEvent.objects.filter(action="export")
    assert event.actor == charlie and event.new == {"rows": 0, "format": "csv"}
