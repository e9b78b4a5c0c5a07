"""Exports of the risk picture (tier table as CSV/XLSX, map as PNG/PDF) and the public
summary: who may fetch them, what they show, and that counts stay protected.

The data are SYNTHETIC (the ``scored_jaksel`` fixture: South Jakarta, 31.74)."""

from __future__ import annotations

import csv
import io
import json

import pytest
from django.test import Client, override_settings
from django.utils import translation

from cegah.areas.models import Area
from cegah.audit.models import AuditEvent
from cegah.riskmap import exports, render
from cegah.riskmap.actions import latest_run
from tests.conftest import client_for

pytestmark = pytest.mark.django_db

CATEGORIES = ["sexual_abuse", "sexual_exploitation", "online_sexual_exploitation",
              "trafficking"]


def read_csv(response) -> list[dict[str, str]]:
    text = b"".join(response.streaming_content if response.streaming else
                    [response.content]).decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(text[1:])))


def square(x: float, y: float, size: float = 0.02) -> str:
    ring = [[x, y], [x + size, y], [x + size, y + size], [x, y + size], [x, y]]
    return '{"illustrative":true,"type":"Polygon","coordinates":' + json.dumps([ring]) + "}"


@pytest.fixture
def jaksel_squares(scored_jaksel):
    """ILLUSTRATIVE square boundaries (not real) for the districts of South Jakarta."""
    codes = sorted(Area.objects.filter(parent_id="31.74").values_list("code", flat=True))
    for i, code in enumerate(codes):
        Area.objects.filter(code=code).update(
            geometry=square(106.75 + 0.02 * (i % 4), -6.30 + 0.02 * (i // 4)))
    return codes


def is_small(label: str) -> bool:
    return label.isdigit() and 1 <= int(label) <= 4


# --- the tier table ----------------------------------------------------------------------

def test_it_exports_the_tier_table_as_csv_with_everything_for_an_entitled_manager(
        scored_jaksel, alice):
    response = client_for(alice).get("/risk/export/table.csv?parent=31.74")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == (
        'attachment; filename="cegah-risk-table-31.74-2026-10-synthetic.csv"')
    assert "no-store" in response["Cache-Control"]
    rows = read_csv(response)
    assert list(rows[0]) == exports.TABLE_HEADER
    assert len(rows) == 10 and {r["parent_code"] for r in rows} == {"31.74"}
    for row in rows:
        assert row["cases"].isdigit()  # alice is entitled: every count as it is
        assert int(row["cases"]) == sum(int(row[c]) for c in CATEGORIES)
        assert row["score"] and row["smoothed_rate"] and row["children"]
        assert row["tier"] in ("high", "moderate", "low", "unknown")
        assert row["as_of"] == "2026-10" and row["synthetic"] == "yes"
    event = AuditEvent.objects.get(action="export", object_type="risk_table")
    assert event.actor == alice and event.object_key == "31.74"
    assert event.new == {"rows": 10, "format": "csv", "run": scored_jaksel.pk}


def test_it_protects_the_counts_of_an_unentitled_manager_as_the_api_does(
        scored_jaksel, charlie):
    client = client_for(charlie)
    rows = read_csv(client.get("/risk/export/table.csv?parent=31.74"))
    api = {item["code"]: item for item in
           client.get("/api/v1/risk/areas?parent=31.74").json()["items"]}
    assert len(rows) == 10
    for row in rows:
        assert row["score"] == row["smoothed_rate"] == row["children"] == ""
        for column in ("cases", *CATEGORIES):
            assert not is_small(row[column]), row
            assert row[column] in ("0", "<5", "x") or int(row[column]) >= 5
        item = api[row["code"]]
        assert row["cases"] == item["cases_label"]
        assert [row[c] for c in CATEGORIES] == [item["categories"][c] for c in CATEGORIES]
        assert row["tier"] == item["tier"]


def test_it_exports_xlsx_with_numbers_as_numbers(scored_jaksel, alice):
    from openpyxl import load_workbook

    response = client_for(alice).get("/risk/export/table.xlsx?parent=31.74")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(io.BytesIO(response.content)).worksheets[0]
    values = list(sheet.iter_rows(values_only=True))
    assert list(values[0]) == exports.TABLE_HEADER and len(values) == 11
    cases = exports.TABLE_HEADER.index("cases")
    assert all(isinstance(v[cases], int) for v in values[1:])


def test_it_exports_the_provinces_without_a_parent(scored_jaksel, alice):
    rows = read_csv(client_for(alice).get("/risk/export/table.csv"))
    assert [r["code"] for r in rows] == ["31"] and rows[0]["level"] == "province"


def test_it_neutralises_spreadsheet_formulas(scored_jaksel, alice):
    Area.objects.filter(code="31.74.01").update(name='=HYPERLINK("http://x","y")')
    rows = read_csv(client_for(alice).get("/risk/export/table.csv?parent=31.74"))
    names = {r["code"]: r["name"] for r in rows}
    assert names["31.74.01"] == "'=HYPERLINK(\"http://x\",\"y\")"


def test_it_answers_not_found_to_viewers_unknown_areas_and_before_any_run(
        scored_jaksel, bob, alice):
    for url in ("/risk/export/table.csv?parent=31.74", "/risk/export/map.pdf"):
        assert client_for(bob).get(url).status_code == 404
        response = Client().get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert client_for(alice).get("/risk/export/table.csv?parent=99.99").status_code == 404
    assert client_for(alice).get("/risk/export/table.txt").status_code == 404
    scored_jaksel.delete()
    assert client_for(alice).get("/risk/export/table.csv").status_code == 404
    assert not AuditEvent.objects.filter(object_type__in=["risk_table", "risk_map"]).exists()


# --- the map -----------------------------------------------------------------------------

def test_it_draws_the_map_as_an_a4_landscape_pdf_and_a_png(jaksel_squares, alice):
    client = client_for(alice)
    response = client.get("/risk/export/map.pdf?parent=31.74")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF-")
    assert b"/MediaBox [ 0 0 841.68 595.44 ]" in response.content  # 11.69 x 8.27 in
    assert response["Content-Disposition"].endswith('-31.74-2026-10-synthetic.pdf"')
    response = client.get("/risk/export/map.png?parent=31.74")
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    assert response.content.startswith(b"\x89PNG\r\n\x1a\n")
    events = AuditEvent.objects.filter(action="export", object_type="risk_map")
    assert sorted(e.new["format"] for e in events) == ["pdf", "png"]
    assert all(e.new["boundaries"] and e.object_key == "31.74" for e in events)


def test_it_labels_the_map_in_the_users_language_with_its_notes(jaksel_squares, alice):
    run = latest_run()
    parent = Area.objects.get(code="31.74")
    with translation.override("id"):
        doc = exports.map_document(exports.risk_table(alice, run, parent))
        texts = render.figure_texts(doc, "pdf")
    joined = "\n".join(texts)
    assert doc.illustrative and doc.synthetic and not doc.message
    assert len([a for a in doc.areas if a.geometry]) == 10
    assert doc.title in texts and "Oktober 2026" in joined
    assert "DATA demo SINTETIS".lower() in joined.lower()
    assert "ilustratif" in joined.lower()
    assert "Tingkat risiko" in joined  # the legend's title
    assert {"Tinggi", "Sedang", "Rendah"} & set(texts)
    assert "<5" in joined and "tempat" in joined  # the footer
    with translation.override("en"):
        doc = exports.map_document(exports.risk_table(alice, run, parent))
        texts = render.figure_texts(doc, "png")
        assert render.footer_text() in texts
    joined = "\n".join(texts)
    assert "October 2026" in joined and "SYNTHETIC demo data" in joined
    assert "Illustrative boundaries, not real" in joined
    assert "Risk is about places, never about people; counts 1–4 shown as <5" in texts
    assert {"High", "Moderate", "Low"} & set(texts)


def test_it_shows_only_protected_labels_on_the_map_of_an_unentitled_manager(
        jaksel_squares, charlie):
    run = latest_run()
    with translation.override("en"):
        table = exports.risk_table(charlie, run, Area.objects.get(code="31.74"))
        doc = exports.map_document(table)
        texts = render.figure_texts(doc, "pdf")
    api = {i["code"]: i["cases_label"] for i in client_for(charlie).get(
        "/api/v1/risk/areas?parent=31.74").json()["items"]}
    assert {a.code: a.cases_label for a in doc.table} == api
    assert not [t for t in texts if is_small(t.strip())]


def test_it_renders_the_table_alone_when_no_boundaries_are_loaded(scored_jaksel, alice):
    client = client_for(alice)
    for fmt in ("pdf", "png"):
        response = client.get(f"/risk/export/map.{fmt}?parent=31.74")
        assert response.status_code == 200 and len(response.content) > 1000
    with translation.override("en"):
        doc = exports.map_document(exports.risk_table(alice, latest_run(),
                                                      Area.objects.get(code="31.74")))
        texts = render.figure_texts(doc, "png")
    assert doc.message == "No boundaries loaded: the table only."
    assert doc.message in texts and "Reported cases" in texts
    assert not doc.illustrative
    assert AuditEvent.objects.filter(object_type="risk_map",
                                     new__boundaries=False).count() == 2


def test_it_lists_the_top_areas_by_tier(scored_jaksel, alice):
    with translation.override("en"):
        doc = exports.map_document(exports.risk_table(alice, latest_run(),
                                                      Area.objects.get(code="31.74")))
    ranks = [exports.TIER_RANK[a.tier] for a in doc.table]
    assert ranks == sorted(ranks) and len(doc.table) == 10 and not doc.table_note


# --- the public summary ------------------------------------------------------------------

def test_it_hides_the_public_summary_unless_switched_on(scored_jaksel):
    assert Client().get("/public/").status_code == 404


@override_settings(PUBLIC_SUMMARY=True)
def test_it_shows_regency_tiers_and_protected_counts_to_anyone(scored_jaksel):
    response = Client().get("/public/")
    assert response.status_code == 200
    body = response.content.decode()
    assert '<html lang="id">' in body and "Ringkasan publik" in body
    assert "dki jakarta" in body.lower() and "jakarta selatan" in body.lower()
    assert "Oktober 2026" in body and "SINTETIS" in body
    assert 'data-code="31.74"' in body and 'data-code="31.74.01"' not in body
    import re

    cells = re.findall(r"<td class=\"num\" data-cases>([^<]*)</td>", body)
    assert cells and not [c for c in cells if is_small(c.replace(".", ""))]
    # Nothing but tiers and counts: no scores, no rates, no drivers.
    assert "score" not in body.lower() and "skor" not in body.lower()


@override_settings(PUBLIC_SUMMARY=True)
def test_it_makes_the_public_summary_cache_friendly_and_english_on_request(scored_jaksel):
    client = Client()
    response = client.get("/public/")
    assert "public" in response["Cache-Control"] and "max-age=300" in response["Cache-Control"]
    assert not response.cookies  # no session, no CSRF cookie: shared caches may keep it
    etag = response["ETag"]
    again = client.get("/public/", HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304
    english = client.get("/public/?lang=en")
    assert english.status_code == 200 and english["ETag"] != etag
    body = english.content.decode()
    assert '<html lang="en">' in body and "Public summary" in body
    assert "Reports are not incidence" in body and "October 2026" in body


@override_settings(PUBLIC_SUMMARY=True)
def test_it_says_so_when_there_are_no_results_yet(db):
    response = Client().get("/public/")
    assert response.status_code == 200 and "Belum ada hasil" in response.content.decode()
