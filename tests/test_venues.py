"""Venues: saving one, importing many (CSV/XLSX, all or nothing, re-runnable), the pages."""

from __future__ import annotations

import io

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import translation
from openpyxl import Workbook

from cegah.activities.models import Venue
from cegah.activities.venues import do_import_venues, do_save_venue
from cegah.audit.models import AuditEvent
from tests.conftest import client_for, csv_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english():
    """Messages are checked in English (the actions speak the active language)."""
    with translation.override("en"):
        yield

HEADER = ["code", "type", "name", "latitude", "longitude"]
TEBET = "31.74.01.1001"
GOOD = csv_bytes(HEADER, [
    [TEBET, "school", "SDN Tebet Timur 01", "-6.2311", "106.8553"],
    [TEBET, "sekolah", "SMPN 115", "", ""],
    ["31.74.01", "RPTRA", "RPTRA Tebet Eco Park", "-6.2350", "106.8510"],
    ["31.74", "terminal", "Terminal Blok M", "-6.2434", "106.8006"],
])


def _xlsx(rows) -> bytes:
    wb = Workbook()
    ws = wb.active
    for row in rows:
        ws.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def test_it_imports_a_good_file_and_a_rerun_changes_nothing(alice):
    result = do_import_venues(alice, GOOD, "venues.csv")
    assert result.ok and result.applied, [str(p) for p in result.problems]
    assert (result.created, result.updated, result.unchanged) == (4, 0, 0)
    smp = Venue.objects.get(name="SMPN 115")
    assert smp.type == "school" and smp.area_id == TEBET and smp.latitude is None
    assert Venue.objects.get(name="RPTRA Tebet Eco Park").type == "rptra"
    assert Venue.objects.get(name="Terminal Blok M").type == "bus_terminal"
    event = AuditEvent.objects.get(object_type="venues", action="import")
    assert event.new["created"] == 4 and event.actor_label == "alice"
    assert AuditEvent.objects.filter(object_type="venue", action="create").count() == 4

    again = do_import_venues(alice, GOOD, "venues.csv")
    assert again.ok and (again.created, again.updated, again.unchanged) == (0, 0, 4)
    assert Venue.objects.count() == 4


def test_it_updates_coordinates_by_area_type_and_name_never_duplicating(alice):
    do_import_venues(alice, GOOD, "venues.csv")
    moved = csv_bytes(HEADER, [[TEBET, "school", "SMPN 115", "-6.2400", "106.8600"],
                               [TEBET, "school", "SDN Tebet Timur 01", "", ""]])
    result = do_import_venues(alice, moved, "moved.csv")
    assert (result.created, result.updated, result.unchanged) == (0, 1, 1)
    smp = Venue.objects.get(name="SMPN 115")
    assert (smp.latitude, smp.longitude) == (-6.24, 106.86)
    # No coordinates in the file: the stored ones stay.
    assert Venue.objects.get(name="SDN Tebet Timur 01").latitude == -6.2311
    assert Venue.objects.count() == 4
    update = AuditEvent.objects.get(object_type="venue", action="update")
    assert update.old["latitude"] is None and update.new["latitude"] == -6.24


def test_it_reports_bad_rows_with_line_and_column_and_changes_nothing(alice):
    bad = csv_bytes(HEADER, [
        [TEBET, "school", "SDN 01", "-6.2", "106.8"],
        ["99.99.99", "school", "Nowhere", "", ""],
        [TEBET, "castle", "Istana", "", ""],
        [TEBET, "school", "SDN 02", "-6.2", ""],
        [TEBET, "school", "SDN 03", "52.5", "13.4"],
        [TEBET, "school", "SDN 01", "", ""],
        [TEBET, "school", "", "", ""],
    ])
    result = do_import_venues(alice, bad, "bad.csv")
    assert not result.ok and not result.applied
    lines = [(p.line, p.column) for p in result.problems]
    assert lines == [(3, "code"), (4, "type"), (5, "longitude"), (6, "latitude"),
                     (6, "longitude"), (7, None), (8, "name")]
    text = [str(p) for p in result.problems]
    assert text[0].startswith("line 3, column code: ") and "99.99.99" in text[0]
    assert "castle" in text[1] and "pesantren" in text[1]
    assert "inside Indonesia" in text[3]
    assert "duplicate of line 2" in text[5]
    assert Venue.objects.count() == 0
    assert not AuditEvent.objects.filter(object_type__in=["venue", "venues"]).exists()


def test_it_refuses_personal_data_columns_and_id_numbers(alice):
    result = do_import_venues(alice, csv_bytes(HEADER + ["nama_kepala_sekolah"], [
        [TEBET, "school", "SDN 01", "", "", "Budi"]]), "people.csv")
    assert not result.ok and result.problems[0].line == 1
    assert "personal data" in str(result.problems[0])
    nik = do_import_venues(alice, csv_bytes(HEADER, [
        [TEBET, "school", "SDN 3174012345678901", "", ""]]), "nik.csv")
    assert not nik.ok and "3174012345678901" not in str(nik.problems[0])
    assert Venue.objects.count() == 0


def test_it_refuses_areas_outside_the_jurisdiction_and_viewers(alice, bob, charlie):
    result = do_import_venues(charlie, GOOD, "venues.csv")
    assert not result.ok
    assert all(p.column == "code" and "jurisdiction" in p.message for p in result.problems), [
        str(p) for p in result.problems]
    assert Venue.objects.count() == 0
    with pytest.raises(PermissionDenied):
        do_import_venues(bob, GOOD, "venues.csv")
    own = csv_bytes(HEADER, [["71.71", "pelabuhan", "Pelabuhan Manado", "1.4931", "124.8413"]])
    assert do_import_venues(charlie, own, "manado.csv").applied
    assert Venue.objects.get().type == "port"


def test_it_reads_xlsx_with_indonesian_headers_and_a_dry_run_writes_nothing(alice):
    data = _xlsx([["Kode", "Jenis", "Nama", "Lintang", "Bujur"],
                  [TEBET, "Pondok Pesantren", "Ponpes Al-Hikmah", -6.23, 106.85],
                  [TEBET, "balai warga", "Balai Warga RW 05", None, None]])
    dry = do_import_venues(alice, data, "venues.xlsx", dry_run=True)
    assert dry.ok and dry.created == 2 and not dry.applied
    assert Venue.objects.count() == 0
    result = do_import_venues(alice, data, "venues.xlsx")
    assert result.applied
    assert set(Venue.objects.values_list("type", flat=True)) == {"pesantren",
                                                                 "community_centre"}


def test_save_venue_validates_and_checks_rights(alice, bob, charlie):
    venue, created = do_save_venue(alice, area=TEBET, type="bandara", name="  Halim  ",
                                   latitude="-6.2655", longitude="106.8909")
    assert created and venue.type == "airport" and venue.name == "Halim"
    same, created = do_save_venue(alice, area=TEBET, type="airport", name="Halim",
                                  latitude=-6.2655, longitude=106.8909)
    assert same.pk == venue.pk and not created
    with pytest.raises(ValidationError) as exc:
        do_save_venue(alice, area="99.99", type="zoo", name="", latitude="1")
    assert set(exc.value.message_dict) == {"area", "type", "name", "longitude"}
    with pytest.raises(PermissionDenied):
        do_save_venue(charlie, area=TEBET, type="school", name="SDN 9")
    with pytest.raises(PermissionDenied):
        do_save_venue(bob, area=TEBET, type="school", name="SDN 9")
    assert AuditEvent.objects.filter(object_type="venue").count() == 1


def test_the_list_filters_by_area_and_type_for_every_signed_in_user(alice, bob, charlie):
    do_import_venues(alice, GOOD, "venues.csv")
    for user in (alice, bob, charlie):
        response = client_for(user, "en").get("/venues/")
        assert response.status_code == 200
        assert response.content.count(b"data-venue=") == 4
    client = client_for(bob, "en")
    body = client.get("/venues/", {"area": "31.74.01"}).content
    assert body.count(b"data-venue=") == 3 and b"Terminal Blok M" not in body
    body = client.get("/venues/", {"area": "31.74", "type": "school"}).content
    assert body.count(b"data-venue=") == 2
    assert b'id="venue-import-link"' not in body  # a viewer does not import
    assert b'id="venue-import-link"' in client_for(alice, "en").get("/venues/").content
    assert client.get("/venues/", {"area": "99.99"}).status_code == 200
    csv_text = client.get("/venues/export/", {"area": "31.74.01"}).content.decode("utf-8-sig")
    assert csv_text.splitlines()[0] == ",".join(HEADER) and len(csv_text.splitlines()) == 4


def test_the_upload_page_checks_then_imports_for_those_allowed(alice, bob):
    assert client_for(bob).get("/venues/import/").status_code == 404
    client = client_for(alice, "en")
    assert client.get("/venues/import/").status_code == 200
    response = client.post("/venues/import/", {
        "file": SimpleUploadedFile("venues.csv", GOOD, content_type="text/csv")})
    assert response.status_code == 200
    assert b'data-ok="true"' in response.content and Venue.objects.count() == 0
    payload = response.context["payload"]
    # The checked file belongs to the user who checked it.
    client_for(bob).post("/venues/import/", {"payload": payload})
    assert Venue.objects.count() == 0
    response = client.post("/venues/import/", {"payload": payload})
    assert response.status_code == 302 and response.url == "/venues/"
    assert Venue.objects.count() == 4
    tampered = client.post("/venues/import/", {"payload": payload[:-2] + "xx"})
    assert tampered.status_code == 302 and Venue.objects.count() == 4


def test_the_upload_page_lists_problems(alice):
    bad = csv_bytes(HEADER, [["99.99.99", "school", "X", "", ""]])
    response = client_for(alice, "en").post("/venues/import/", {
        "file": SimpleUploadedFile("bad.csv", bad, content_type="text/csv")})
    assert b'data-ok="false"' in response.content
    assert b'data-line="2" data-column="code"' in response.content
    assert response.context["payload"] == ""
