"""Bulk import and export of activities: the actions, then the CLI as a user runs it."""

from __future__ import annotations

import csv
import io
import sqlite3
from pathlib import Path

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import translation
from openpyxl import load_workbook

from cegah.activities.exports import do_export_activities
from cegah.activities.importing import ACTIVITY_HEADER, do_import_activities
from cegah.activities.models import Activity, Venue
from cegah.audit.models import AuditEvent
from tests.conftest import csv_bytes
from tests.test_smoke_cli import run_cli

SLUG = "h3-test-school-sessions"
TEBET = "31.74.01.1001"


def make_intervention(slug: str = SLUG):
    from cegah.catalogue.models import Intervention

    obj, _ = Intervention.objects.get_or_create(slug=slug, defaults={
        "name_id": "Sosialisasi di sekolah (uji)", "name_en": "School sessions (test)",
        "summary_id": "-", "summary_en": "-", "level": "primary",
        "evidence_strength": "practice", "source": "case_study",
        "audiences": ["adolescents"], "settings": ["school"]})
    return obj


def row(**values) -> list[str]:
    base = {"reference": "KEG-001", "title": "Sosialisasi TPKS di SMPN 115",
            "intervention": SLUG, "areas": TEBET, "status": "done", "date": "2024-08-12",
            "start_time": "09:00", "duration_minutes": "90", "audience": "adolescents",
            "girls_12_17": "40", "boys_12_17": "38", "topics": "body_safety; reporting",
            "laws": "uu_12_2022", "officer_count": "2", "officer_hours": "3",
            "cost": "1500000", "materials": "leaflet", "notes": "ruang aula",
            "synthetic": "no"}
    base.update(values)
    return [str(base.get(c, "")) for c in ACTIVITY_HEADER]


def read_csv_text(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))


def export_csv(actor, **filters) -> str:
    buf = io.StringIO()
    do_export_activities(actor, buf, "csv", **filters)
    return buf.getvalue()


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


@pytest.fixture
def intervention(db):
    return make_intervention()


GOOD = [row(), row(reference="KEG-002", title="Parenting session RW 05", audience="orang tua",
                   status="selesai", date="2024-09-01", girls_12_17="0", boys_12_17="0",
                   women_18_plus="25", men_18_plus="5", topics="pengasuhan",
                   laws="perlindungan anak", cost="", notes="")]


# --- the actions -------------------------------------------------------------------------

@pytest.mark.django_db
def test_it_imports_a_good_file_and_a_rerun_changes_nothing(alice, intervention):
    result = do_import_activities(alice, csv_bytes(ACTIVITY_HEADER, GOOD), "acts.csv")
    assert result.ok and result.applied, [str(p) for p in result.problems]
    assert (result.created, result.updated, result.unchanged) == (2, 0, 0)
    first = Activity.objects.get(external_id="KEG-001")
    assert first.lead_organisation == alice.organisation and first.created_by == alice
    assert first.reached_total == 78 and first.topics == ["body_safety", "reporting"]
    assert [a.code for a in first.areas.all()] == [TEBET] and first.cost == 1500000
    second = Activity.objects.get(external_id="KEG-002")
    assert second.audience == "parents" and second.laws == ["uu_35_2014"]
    assert second.topics == ["parenting"] and second.status == "done"
    assert AuditEvent.objects.get(object_type="activities", action="import").new["created"] == 2
    assert AuditEvent.objects.filter(object_type="activity", action="create").count() == 2

    again = do_import_activities(alice, csv_bytes(ACTIVITY_HEADER, GOOD), "acts.csv")
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)
    assert Activity.objects.count() == 2

    changed = do_import_activities(alice, csv_bytes(ACTIVITY_HEADER, [
        row(girls_12_17="41")]), "fix.csv")
    assert (changed.created, changed.updated, changed.unchanged) == (0, 1, 0)
    first.refresh_from_db()
    assert first.girls_12_17 == 41 and Activity.objects.count() == 2
    update = AuditEvent.objects.get(object_type="activity", action="update")
    assert update.old == {"girls_12_17": 40} and update.new == {"girls_12_17": 41}


@pytest.mark.django_db
def test_a_file_with_only_some_columns_updates_only_those(alice, intervention):
    do_import_activities(alice, csv_bytes(ACTIVITY_HEADER, GOOD), "acts.csv")
    result = do_import_activities(alice, csv_bytes(["reference", "materials"], [
        ["KEG-001", "poster; quiz"]]), "materials.csv")
    assert result.ok and result.updated == 1, [str(p) for p in result.problems]
    first = Activity.objects.get(external_id="KEG-001")
    assert first.materials == "poster; quiz" and first.notes == "ruang aula"
    assert first.girls_12_17 == 40


@pytest.mark.django_db
def test_bad_rows_are_reported_by_line_and_column_and_nothing_changes(alice, intervention):
    rows = [row(), row(reference="B1", areas="99.99.99"),
            row(reference="B2", date="12/08/2024"),
            row(reference="B3", intervention="no-such-thing"),
            row(reference="B4", areas="71.71"),
            row(reference="B5", audience="martians"),
            row(reference="B6", venue="SD Khayalan"),
            row(reference="KEG-001"),
            row(reference="B7", girls_12_17="-3")]
    result = do_import_activities(alice, csv_bytes(ACTIVITY_HEADER, rows), "bad.csv")
    assert not result.ok and not result.applied
    where = [(p.line, p.column) for p in result.problems]
    assert where == [(3, "areas"), (4, "date"), (5, "intervention"), (6, "areas"),
                     (7, "audience"), (8, "venue"), (9, "reference"), (10, "girls_12_17")], [
        str(p) for p in result.problems]
    text = [str(p) for p in result.problems]
    assert text[0].startswith("line 3, column areas: ") and "99.99.99" in text[0]
    assert "YYYY-MM-DD" in text[1] and "12/08/2024" in text[1]
    assert "jurisdiction" in text[3]
    assert "adolescents" in text[4] and "martians" in text[4]
    assert "line 2" in text[6]
    assert Activity.objects.count() == 0
    assert not AuditEvent.objects.filter(object_type__in=["activity", "activities"]).exists()


@pytest.mark.django_db
def test_personal_data_columns_and_id_numbers_are_refused(alice, intervention):
    header = [*ACTIVITY_HEADER, "nama_korban"]
    result = do_import_activities(alice, csv_bytes(header, [row() + ["X"]]), "p.csv")
    assert not result.ok and result.problems[0].line == 1
    assert "personal data" in result.problems[0].message
    nik = do_import_activities(alice, csv_bytes(ACTIVITY_HEADER, [
        row(notes="saksi 3174012345678901")]), "nik.csv")
    assert not nik.ok and "3174012345678901" not in str(nik.problems[0])
    assert Activity.objects.count() == 0


@pytest.mark.django_db
def test_only_operators_and_system_admins_import_for_another_organisation(
        alice, bob, charlie, operator, sysadmin, intervention):
    other = csv_bytes(ACTIVITY_HEADER, [row(lead=charlie.organisation.name, areas="71.71")])
    refused = do_import_activities(alice, other, "other.csv")
    assert not refused.ok and refused.problems[0].column in ("lead", "areas")
    with pytest.raises(PermissionDenied):
        do_import_activities(bob, csv_bytes(ACTIVITY_HEADER, GOOD), "acts.csv")
    for actor, ref in ((operator, "OP-1"), (sysadmin, "SA-1")):
        result = do_import_activities(actor, csv_bytes(ACTIVITY_HEADER, [
            row(reference=ref, lead=charlie.organisation.name, areas="71.71")]), "x.csv")
        assert result.applied, [str(p) for p in result.problems]
    assert set(Activity.objects.values_list("lead_organisation", flat=True)) == {
        charlie.organisation.pk}
    # Charlie's references are his organisation's: alice cannot change them.
    hijack = do_import_activities(alice, csv_bytes(ACTIVITY_HEADER, [
        row(reference="OP-1", lead=charlie.organisation.name, areas=TEBET)]), "h.csv")
    assert not hijack.ok


@pytest.mark.django_db
def test_a_venue_is_found_by_name_in_the_rows_areas(alice, intervention):
    Venue.objects.create(area_id=TEBET, type="school", name="SMPN 115")
    Venue.objects.create(area_id="71.71", type="school", name="SMPN 115")
    result = do_import_activities(alice, csv_bytes(ACTIVITY_HEADER, [
        row(venue="smpn 115", areas="31.74.01")]), "v.csv")
    assert result.applied, [str(p) for p in result.problems]
    assert Activity.objects.get().venue.area_id == TEBET


@pytest.mark.django_db
def test_export_round_trips_and_neutralises_formulas(alice, intervention):
    rows = [*GOOD, row(reference="F1", title="=HYPERLINK(\"http://x\",\"klik\")",
                       materials="+62 812 leaflet", notes="@admin cek")]
    assert do_import_activities(alice, csv_bytes(ACTIVITY_HEADER, rows), "a.csv").applied
    text = export_csv(alice)
    exported = read_csv_text(text)
    assert list(exported[0]) == ACTIVITY_HEADER and len(exported) == 3
    formula = next(r for r in exported if r["reference"] == "F1")
    assert formula["title"].startswith("'=") and formula["materials"].startswith("'+")
    assert formula["notes"].startswith("'@")
    assert formula["lead"] == alice.organisation.name and formula["cost"] == "1500000"
    again = do_import_activities(alice, text.encode("utf-8"), "export.csv", dry_run=True)
    assert again.ok and (again.created, again.updated, again.unchanged) == (0, 0, 3), [
        str(p) for p in again.problems]
    assert Activity.objects.get(external_id="F1").title.startswith("=HYPERLINK")

    buf = io.BytesIO()
    do_export_activities(alice, buf, "xlsx")
    sheet = load_workbook(io.BytesIO(buf.getvalue())).worksheets[0]
    assert [c.value for c in next(sheet.iter_rows())] == ACTIVITY_HEADER
    xlsx = do_import_activities(alice, buf.getvalue(), "export.xlsx", dry_run=True)
    assert xlsx.ok and xlsx.unchanged == 3, [str(p) for p in xlsx.problems]
    assert AuditEvent.objects.filter(object_type="activities", action="export").count() == 2


@pytest.mark.django_db
def test_activities_without_a_reference_export_as_their_id_and_update_in_place(
        alice, intervention):
    do_import_activities(alice, csv_bytes(ACTIVITY_HEADER, [row()]), "a.csv")
    Activity.objects.update(external_id="")
    activity = Activity.objects.get()
    text = export_csv(alice)
    assert read_csv_text(text)[0]["reference"] == f"cegah-{activity.pk}"
    edited = text.replace("ruang aula", "ruang kelas").encode("utf-8")
    result = do_import_activities(alice, edited, "export.csv")
    assert (result.created, result.updated) == (0, 1), [str(p) for p in result.problems]
    activity.refresh_from_db()
    assert activity.notes == "ruang kelas" and activity.external_id == ""


@pytest.mark.django_db
def test_details_are_exported_only_to_participants_and_viewers_cannot_export(
        alice, bob, charlie, intervention):
    do_import_activities(alice, csv_bytes(ACTIVITY_HEADER, GOOD), "a.csv")
    outsider = read_csv_text(export_csv(charlie))
    assert len(outsider) == 2  # done activities are shared with everyone
    assert all(r["cost"] == "" and r["notes"] == "" for r in outsider)
    assert outsider[0]["girls_12_17"] == "40" and outsider[0]["materials"] == "leaflet"
    assert read_csv_text(export_csv(alice))[0]["notes"] == "ruang aula"
    Activity.objects.get(external_id="KEG-001").partners.add(charlie.organisation)
    partner = {r["reference"]: r for r in read_csv_text(export_csv(charlie))}
    assert partner["KEG-001"]["notes"] == "ruang aula" and partner["KEG-002"]["notes"] == ""
    with pytest.raises(PermissionDenied):
        export_csv(bob)
    assert read_csv_text(export_csv(alice, area_code="71.71")) == []
    assert len(read_csv_text(export_csv(alice, area_code="31.74.01"))) == 2
    import datetime as dt

    assert len(read_csv_text(export_csv(alice, start=dt.date(2024, 9, 1)))) == 1


# --- the command line --------------------------------------------------------------------

SETUP = f"""
from cegah.accounts.actions import do_save_organisation, do_save_user
from cegah.activities.models import Venue
from cegah.catalogue.models import Intervention
from cegah.policy import LocalOperator
op = LocalOperator(label="cli:test")
org, _ = do_save_organisation(actor=op, name="Unit PPA Polres Jakarta Selatan", type="police",
                              jurisdiction=["31.74"])
do_save_user(actor=op, username="alice", organisation=org, role="manager", password_hash="!")
do_save_user(actor=op, username="bob", organisation=org, role="viewer", password_hash="!")
Intervention.objects.get_or_create(slug="{SLUG}", defaults=dict(
    name_id="Sosialisasi", name_en="Sessions", summary_id="-", summary_en="-",
    level="primary", evidence_strength="practice", source="case_study"))
Venue.objects.create(area_id="{TEBET}", type="school", name="SMPN 115")
"""


@pytest.fixture(scope="module")
def template_db(tmp_path_factory) -> Path:
    db = tmp_path_factory.mktemp("activities-cli") / "cli.sqlite3"
    env = {"DATABASE_URL": f"sqlite:///{db}", "CEGAH_VAR_DIR": str(db.parent)}
    for args in (("init",), ("areas", "load", "--only", "31.74"),
                 ("manage", "shell", "-c", SETUP)):
        result = run_cli(*args, env_extra=env)
        assert result.returncode == 0, result.stderr
    return db


@pytest.fixture
def cli_db(template_db, tmp_path) -> tuple[dict[str, str], Path]:
    db = tmp_path / "cli.sqlite3"
    src, dst = sqlite3.connect(template_db), sqlite3.connect(db)
    try:
        src.backup(dst)
    finally:
        src.close()
        dst.close()
    return {"DATABASE_URL": f"sqlite:///{db}", "CEGAH_VAR_DIR": str(tmp_path)}, tmp_path


def test_cli_imports_reruns_exports_and_round_trips(cli_db):
    env, folder = cli_db
    path = folder / "acts.csv"
    path.write_bytes(csv_bytes(ACTIVITY_HEADER, [*GOOD, row(reference="KEG-003",
                                                            venue="SMPN 115")]))
    dry = run_cli("activities", "import", str(path), "--dry-run", "--user", "alice",
                  env_extra=env)
    assert dry.returncode == 0, dry.stderr
    assert "3 activities valid; 3 would be created, 0 would be updated" in dry.stdout
    first = run_cli("activities", "import", str(path), "--user", "alice", env_extra=env)
    assert first.returncode == 0, first.stderr
    assert "3 activities valid; 3 created, 0 updated, 0 unchanged" in first.stdout
    again = run_cli("activities", "import", str(path), "--user", "alice", env_extra=env)
    assert "0 created, 0 updated, 3 unchanged" in again.stdout

    out_csv, out_xlsx = folder / "out.csv", folder / "out.xlsx"
    for out in (out_csv, out_xlsx):
        result = run_cli("activities", "export", "--out", str(out), "--area", "31.74",
                         "--from", "2024-01-01", "--user", "alice", env_extra=env)
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == f"{out}: 3 rows"
    rows = read_csv_text(out_csv.read_text(encoding="utf-8-sig"))
    assert {r["reference"] for r in rows} == {"KEG-001", "KEG-002", "KEG-003"}
    assert next(r for r in rows if r["reference"] == "KEG-003")["venue"] == "SMPN 115"
    for out in (out_csv, out_xlsx):
        result = run_cli("activities", "import", str(out), "--dry-run", env_extra=env)
        assert result.returncode == 0, result.stderr
        assert "0 would be created, 0 would be updated, 3 unchanged" in result.stdout

    refused = run_cli("activities", "export", "--out", str(folder / "bob.csv"), "--user",
                      "bob", env_extra=env)
    assert refused.returncode == 1 and "may not export" in refused.stderr
    assert not (folder / "bob.csv").exists() and not (folder / "bob.csv.part").exists()
    bad_date = run_cli("activities", "export", "--out", str(folder / "x.csv"), "--from",
                       "2024-13-01", env_extra=env)
    assert bad_date.returncode != 0 and "YYYY-MM-DD" in bad_date.stderr


def test_cli_reports_bad_rows_on_stderr_and_imports_nothing(cli_db):
    env, folder = cli_db
    bad = folder / "bad.csv"
    bad.write_bytes(csv_bytes(ACTIVITY_HEADER, [row(), row(reference="B1", areas="99.99"),
                                                row(reference="B2", date="2024-02-30")]))
    result = run_cli("activities", "import", str(bad), "--user", "alice", env_extra=env)
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert lines[0].startswith(f"{bad}: line 3, column areas: ") and "99.99" in lines[0]
    assert lines[1].startswith(f"{bad}: line 4, column date: ")
    assert lines[-1] == f"error: 2 problem(s) in {bad}; nothing was imported."
    viewer = run_cli("activities", "import", str(bad), "--user", "bob", env_extra=env)
    assert viewer.returncode == 1 and "may not import" in viewer.stderr
    export = folder / "none.csv"
    empty = run_cli("activities", "export", "--out", str(export), env_extra=env)
    assert empty.returncode == 0 and empty.stdout.strip() == f"{export}: 0 rows"


def test_cli_imports_and_exports_venues(cli_db):
    env, folder = cli_db
    venues = folder / "venues.csv"
    venues.write_bytes(csv_bytes(["kode", "jenis", "nama", "lat", "lon"], [
        [TEBET, "sekolah", "SMPN 115", "-6.23", "106.85"],
        ["31.74.01", "RPTRA", "RPTRA Tebet", "", ""]]))
    result = run_cli("venues", "import", str(venues), "--user", "alice", env_extra=env)
    assert result.returncode == 0, result.stderr
    assert "2 venues valid; 1 created, 1 updated, 0 unchanged" in result.stdout
    out = folder / "venues-out.csv"
    exported = run_cli("venues", "export", "--out", str(out), "--area", "31.74.01",
                       env_extra=env)
    assert exported.returncode == 0 and exported.stdout.strip() == f"{out}: 2 rows"
    assert out.read_text(encoding="utf-8-sig").splitlines()[0] == (
        "code,type,name,latitude,longitude")
    viewer = run_cli("venues", "import", str(venues), "--user", "bob", env_extra=env)
    assert viewer.returncode == 1 and "may not import" in viewer.stderr


# --- the upload page (wired by the lead as activities:import; here on a test URL) -------

def _urls():
    from django.urls import path

    from cegah.activities.views_venues import activity_export, activity_import
    from cegah.urls import urlpatterns as site

    return [path("test-activity-import/", activity_import),
            path("test-activity-export/", activity_export), *site]


urlpatterns = _urls()


@pytest.mark.django_db
@pytest.mark.urls("tests.test_activity_imports")
def test_the_upload_page_checks_then_imports_for_those_allowed(alice, bob, intervention):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from tests.conftest import client_for

    url = "/test-activity-import/"
    assert client_for(bob).get(url).status_code == 404
    client = client_for(alice, "en")
    assert client.get(url).status_code == 200
    bad = client.post(url, {"file": SimpleUploadedFile(
        "bad.csv", csv_bytes(ACTIVITY_HEADER, [row(areas="99.99")]))})
    assert b'data-ok="false"' in bad.content and b'data-column="areas"' in bad.content
    checked = client.post(url, {"file": SimpleUploadedFile(
        "acts.csv", csv_bytes(ACTIVITY_HEADER, GOOD))})
    assert b'data-ok="true"' in checked.content and Activity.objects.count() == 0
    done = client.post(url, {"payload": checked.context["payload"]})
    assert done.status_code == 302 and Activity.objects.count() == 2


@pytest.mark.django_db
@pytest.mark.urls("tests.test_activity_imports")
def test_the_export_download_is_for_managers(alice, bob, intervention):
    from tests.conftest import client_for

    do_import_activities(alice, csv_bytes(ACTIVITY_HEADER, GOOD), "a.csv")
    url = "/test-activity-export/"
    assert client_for(bob).get(url).status_code == 404
    response = client_for(alice).get(url, {"area": "31.74", "from": "2024-09-01"})
    assert response.status_code == 200 and "attachment" in response["Content-Disposition"]
    rows = read_csv_text(response.content.decode("utf-8-sig"))
    assert [r["reference"] for r in rows] == ["KEG-002"]
    xlsx = client_for(alice).get(url, {"format": "xlsx"})
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    assert client_for(alice).get(url, {"from": "soon"}).status_code == 404


# --- review fixes ----------------------------------------------------------------------

def _messages(result) -> list[str]:
    return sorted(f"{p.column}: {p.message}" for p in result.problems)


@pytest.mark.django_db
def test_another_organisations_references_are_not_revealed(alice, charlie, intervention):
    assert do_import_activities(charlie, csv_bytes(ACTIVITY_HEADER, [
        row(reference="M-7", areas="71.71")]), "m.csv").applied
    lead = charlie.organisation.name
    used = do_import_activities(alice, csv_bytes(ACTIVITY_HEADER, [
        row(reference="M-7", lead=lead)]), "probe.csv", dry_run=True)
    unused = do_import_activities(alice, csv_bytes(ACTIVITY_HEADER, [
        row(reference="M-8", lead=lead)]), "probe.csv", dry_run=True)
    assert not used.ok and _messages(used) == _messages(unused)
    assert Activity.objects.get(external_id="M-7").areas.get().code == "71.71"


@pytest.mark.django_db
def test_a_new_row_may_not_take_a_reference_cegah_uses_for_ids(alice, intervention):
    result = do_import_activities(alice, csv_bytes(ACTIVITY_HEADER, [
        row(reference="cegah-999999")]), "c.csv")
    assert not result.ok and result.problems[0].column == "reference"
    assert "cegah-999999" in result.problems[0].message
    assert not Activity.objects.exists()


@pytest.mark.django_db
def test_xlsx_exports_hold_formula_like_text_as_text(alice, intervention):
    assert do_import_activities(alice, csv_bytes(ACTIVITY_HEADER, [
        row(title='=HYPERLINK("http://x","klik")', materials="@SUM(A1)")]), "a.csv").applied
    buf = io.BytesIO()
    do_export_activities(alice, buf, "xlsx")
    sheet = load_workbook(io.BytesIO(buf.getvalue())).worksheets[0]
    header = [c.value for c in next(sheet.iter_rows())]
    cells = list(sheet.iter_rows(min_row=2))[0]
    title = cells[header.index("title")]
    materials = cells[header.index("materials")]
    assert title.data_type == "s" and title.value.startswith("'=")
    assert materials.data_type == "s" and materials.value.startswith("'@")
