"""The intervention catalogue: the shipped data, loading and validation, the pages and
who may edit them, the audit trail and the CLI."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

import pytest

from cegah.audit.models import AuditEvent
from cegah.catalogue import vocab
from cegah.catalogue.actions import do_save_intervention, do_sync_catalogue
from cegah.catalogue.models import Intervention
from cegah.catalogue.shipped import CatalogueError, install_missing, shipped_entries
from cegah.catalogue.validation import check_entries
from tests.conftest import client_for
from tests.test_smoke_cli import run_cli

CASE_STUDY = (
    "school-sessions-mpls", "bhabinkamtibmas-village-education", "polisi-rw",
    "jumat-curhat", "dasa-wisma-webinars", "village-paralegals", "p3-officers-rptra",
    "whatsapp-broadcasts", "social-media-campaigns", "transit-monitoring",
    "vulnerable-area-patrols", "community-centres-vulnerable-families",
    "legal-aid-counselling", "children-in-conflict-with-the-law",
)
EVIDENCE = ("body-safety-education", "parenting-support", "dating-violence-prevention",
            "situational-prevention-institutions", "online-deterrence-messaging")


@pytest.fixture(autouse=True)
def _shipped_catalogue(request):
    """The data migration installs the catalogue; transactional (browser) tests flush it,
    so put back what is missing, unaudited, as the migration does."""
    if "db" in request.fixturenames:  # also through alice, bob, charlie, operator ...
        request.getfixturevalue("db")
        install_missing(Intervention)


def entry(**changes):
    base = dict(next(e for e in shipped_entries() if e["slug"] == "transit-monitoring"))
    base.update(changes)
    return base


# --- the shipped data --------------------------------------------------------------------

def test_the_shipped_catalogue_is_valid_and_uses_only_the_vocabularies():
    entries = shipped_entries()
    assert check_entries(entries) == []
    vocabularies = vocab.vocabularies()
    for e in entries:
        for field in ("audiences", "settings", "drivers", "lead_types"):
            assert e[field], (e["slug"], field)
            assert set(e[field]) <= set(vocabularies[field]), (e["slug"], field)
        for field in ("level", "evidence_strength", "source"):
            assert e[field] in vocabularies[field]


def test_every_case_study_strategy_and_evidence_programme_is_shipped():
    by_slug = {e["slug"]: e for e in shipped_entries()}
    for slug in CASE_STUDY:
        assert by_slug[slug]["source"] == "case_study", slug
        assert any("ECPAT Indonesia" in c and "p." in c for c in by_slug[slug]["citations"])
    for slug in EVIDENCE:
        assert by_slug[slug]["source"] == "evidence", slug
    assert by_slug["children-in-conflict-with-the-law"]["level"] == "tertiary"
    assert "factor:port" in by_slug["transit-monitoring"]["drivers"]
    assert "pesantren" in by_slug["situational-prevention-institutions"]["settings"]
    body_safety = by_slug["body-safety-education"]["citations"]
    assert any("Walsh" in c and "Cochrane" in c for c in body_safety)
    assert any("Foshee" in c for c in by_slug["dating-violence-prevention"]["citations"])
    assert any("INSPIRE" in c for c in by_slug["parenting-support"]["citations"])
    assert any("Wortley" in c for c in by_slug["situational-prevention-institutions"]["citations"])
    assert any("Prichard" in c for c in by_slug["online-deterrence-messaging"]["citations"])


def test_every_entry_is_written_in_both_languages():
    for e in shipped_entries():
        for field in vocab.TEXT_FIELDS:
            assert e[field].strip(), (e["slug"], field)
        assert e["name_id"] != e["name_en"], e["slug"]
        assert e["summary_id"] != e["summary_en"]
        assert e["citations"] and all(c.strip() for c in e["citations"])
        assert "http" not in json.dumps(e), e["slug"]  # no invented addresses


def test_the_vocabularies_match_the_risk_engine_the_demo_and_the_venues():
    from cegah.activities.models import VENUE_SETTING
    from cegah.catalogue.recommend import VENUE_SETTING as RECOMMEND_VENUE_SETTING
    from cegah.demo.generator import FACTORS
    from cegah.risk.windows import CATEGORIES

    assert vocab.FACTORS == FACTORS
    assert vocab.CATEGORIES == CATEGORIES
    assert set(vocab.DRIVER_LABELS) == set(vocab.DRIVERS)
    assert {k: v for k, v in VENUE_SETTING.items() if v} == RECOMMEND_VENUE_SETTING


def test_the_data_migration_installs_the_shipped_catalogue(db):
    import importlib

    from django.apps import apps

    migration = importlib.import_module("cegah.catalogue.migrations.0002_shipped_catalogue")
    Intervention.objects.filter(slug__in=["polisi-rw", "jumat-curhat"]).delete()
    Intervention.objects.filter(slug="transit-monitoring").update(name_en="Kept")
    migration.load_shipped(apps, None)
    assert set(Intervention.objects.values_list("slug", flat=True)) == {
        e["slug"] for e in shipped_entries()}
    assert Intervention.objects.get(slug="transit-monitoring").name_en == "Kept"
    assert not AuditEvent.objects.filter(object_type="intervention").exists()


# --- loading and validation --------------------------------------------------------------

def test_it_reports_bad_entries_by_number_slug_and_field():
    bad = [entry(slug="a"), entry(slug="b", level="quaternary"),
           entry(slug="c", audiences=["children", "aliens"]), {"slug": "d"},
           entry(slug="a"), "not an object", entry(slug="e", citations="one")]
    errors = check_entries(bad)
    assert "entry 2 (b): level: expected one of primary, secondary, tertiary, got 'quaternary'" \
        in errors
    assert any(e.startswith("entry 3 (c): audiences: expected values from ") and
               e.endswith("got 'aliens'") for e in errors)
    assert "entry 4 (d): name_id: expected a value, got nothing (missing field)" in errors
    assert any(e.startswith("entry 5 (a): slug: expected a key used once") for e in errors)
    assert any(e.startswith("entry 6: expected an object") for e in errors)
    assert "entry 7 (e): citations: expected a list of texts, got 'one'" in errors
    # "new" is the URL of the add form: an entry with that key could never be opened.
    assert check_entries([entry(slug="new")]) == [
        "entry 1 (new): slug: expected a key other than 'new' (a page of its own)"]


def test_a_bad_list_changes_nothing(db, operator):
    before = Intervention.objects.count()
    with pytest.raises(CatalogueError) as raised:
        do_sync_catalogue(operator, [entry(slug="new-one"), entry(slug="x", source="blog")],
                          update=True)
    assert raised.value.errors == [
        "entry 2 (x): source: expected one of case_study, evidence, got 'blog'"]
    assert Intervention.objects.count() == before
    assert not AuditEvent.objects.filter(object_type="intervention").exists()


def test_loading_inserts_missing_slugs_and_overwrites_only_with_update(db, operator):
    assert do_sync_catalogue(operator) == (0, 0, len(shipped_entries()))
    changed = entry(name_en="Transit watch")
    assert do_sync_catalogue(operator, [changed, entry(slug="ferry-watch")]) == (1, 0, 1)
    assert Intervention.objects.get(slug="transit-monitoring").name_en != "Transit watch"
    assert do_sync_catalogue(operator, [changed], update=True) == (0, 1, 0)
    assert Intervention.objects.get(slug="transit-monitoring").name_en == "Transit watch"
    event = AuditEvent.objects.get(object_type="intervention", action="update")
    assert event.new == {"slug": "transit-monitoring", "name_en": "Transit watch"}
    assert set(event.old) == {"slug", "name_en"}
    assert AuditEvent.objects.filter(object_type="intervention", action="create").count() == 1


def test_only_system_admins_may_load_or_save(db, alice, sysadmin):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        do_sync_catalogue(alice)
    with pytest.raises(PermissionDenied):
        do_save_intervention(alice, Intervention.objects.first(), {"name_en": "x"})
    assert do_sync_catalogue(sysadmin)[0] == 0


# --- pages ---------------------------------------------------------------------------------

def test_the_list_shows_cards_and_filters(alice):
    client = client_for(alice, "en")
    page = client.get("/catalogue/").content.decode()
    assert page.count('class="card cat-card"') == Intervention.objects.count()
    assert "Transit monitoring at ports, airports and bus terminals" in page
    assert "/catalogue/new/" not in page  # no admin links for alice
    ports = client.get("/catalogue/", {"setting": "port"}).content.decode()
    assert 'data-slug="transit-monitoring"' in ports
    assert 'data-slug="school-sessions-mpls"' not in ports
    tertiary = client.get("/catalogue/", {"level": "tertiary"}).content.decode()
    assert tertiary.count('class="card cat-card"') == 1
    driver = client.get("/catalogue/", {"driver": "factor:pesantren_count"}).content.decode()
    assert 'data-slug="situational-prevention-institutions"' in driver
    evidence = client.get("/catalogue/", {"source": "evidence"}).content.decode()
    assert evidence.count('class="card cat-card"') == len(EVIDENCE)


def test_the_detail_page_speaks_the_readers_language(alice):
    english = client_for(alice, "en").get("/catalogue/transit-monitoring/").content.decode()
    assert "<h1>Transit monitoring at ports, airports and bus terminals</h1>" in english
    assert 'id="cat-measures"' in english and "Hours of monitoring per site" in english
    assert "Monitoring and patrolling" in english  # the case-study citation
    assert 'id="cat-admin"' not in english
    indonesian = client_for(alice, "id").get("/catalogue/transit-monitoring/").content.decode()
    assert "<h1>Pemantauan transit di pelabuhan, bandara, dan terminal</h1>" in indonesian
    assert "Jam pemantauan per lokasi" in indonesian
    assert client_for(alice).get("/catalogue/no-such-thing/").status_code == 404


def test_pages_need_a_login(client):
    assert client.get("/catalogue/").status_code == 302


def test_activities_of_the_last_12_months_are_counted(alice, org_jaksel):
    from cegah.activities.models import Activity, ActivityStatus

    intervention = Intervention.objects.get(slug="polisi-rw")
    today = dt.date.today()
    for days, status in ((10, ActivityStatus.DONE), (30, ActivityStatus.DONE),
                         (400, ActivityStatus.DONE), (5, ActivityStatus.CANCELLED)):
        activity = Activity.objects.create(
            title="Sosialisasi", intervention=intervention, lead_organisation=org_jaksel,
            starts_on=today - dt.timedelta(days=days), audience="parents", status=status)
        activity.areas.set(["31.74.01.1001"])
    page = client_for(alice, "en").get("/catalogue/polisi-rw/").content.decode()
    assert '<dd id="cat-used">2</dd>' in page
    listing = client_for(alice, "en").get("/catalogue/").content.decode()
    assert "Used by 2 activities in the last 12 months" in listing


@pytest.mark.parametrize("who", ["alice", "bob", "charlie"])
def test_only_system_admins_reach_the_edit_pages(request, who):
    client = client_for(request.getfixturevalue(who))
    slug = "polisi-rw"
    assert client.get(f"/catalogue/{slug}/edit/").status_code == 404
    assert client.post(f"/catalogue/{slug}/edit/", {"name_en": "x"}).status_code == 404
    assert client.get("/catalogue/new/").status_code == 404
    assert client.post(f"/catalogue/{slug}/deactivate/").status_code == 404
    assert client.post(f"/catalogue/{slug}/reactivate/").status_code == 404
    assert Intervention.objects.get(slug=slug).is_active
    assert not AuditEvent.objects.filter(object_type="intervention").exists()


def _form_data(intervention: Intervention, **changes) -> dict:
    from cegah.catalogue.forms import InterventionForm

    data = InterventionForm.initial_from(intervention)
    data.pop("is_active")
    data.update(changes)
    return data


def test_a_system_admin_edits_an_intervention_and_it_is_audited(sysadmin):
    client = client_for(sysadmin, "en")
    form = client.get("/catalogue/polisi-rw/edit/").content.decode()
    assert 'name="name_id"' in form and 'name="name_en"' in form
    assert 'value="factor:port"' in form  # drivers offered from the vocabulary
    assert 'name="slug"' not in form
    intervention = Intervention.objects.get(slug="polisi-rw")
    response = client.post("/catalogue/polisi-rw/edit/", _form_data(
        intervention, name_en="Neighbourhood police (Polisi RW)",
        settings=["village", "rptra"]))
    assert response.status_code == 302 and response["Location"] == "/catalogue/polisi-rw/"
    intervention.refresh_from_db()
    assert intervention.name_en == "Neighbourhood police (Polisi RW)"
    assert intervention.settings == ["village", "rptra"]
    event = AuditEvent.objects.get(object_type="intervention", action="update")
    assert event.object_key == str(intervention.pk) and event.actor == sysadmin
    assert event.old == {"slug": "polisi-rw", "name_en": "Rukun Warga police (Polisi RW)",
                         "settings": ["village"]}
    assert event.new == {"slug": "polisi-rw", "name_en": "Neighbourhood police (Polisi RW)",
                         "settings": ["village", "rptra"]}


def test_the_edit_form_shows_what_is_wrong_and_saves_nothing(sysadmin):
    intervention = Intervention.objects.get(slug="polisi-rw")
    response = client_for(sysadmin, "en").post("/catalogue/polisi-rw/edit/", _form_data(
        intervention, name_en="", drivers=["factor:volcano"]))
    assert response.status_code == 200
    page = response.content.decode()
    assert "errorlist" in page and "factor:volcano" in page
    intervention.refresh_from_db()
    assert intervention.name_en == "Rukun Warga police (Polisi RW)"
    assert not AuditEvent.objects.filter(object_type="intervention").exists()


def test_a_system_admin_adds_deactivates_and_reactivates(sysadmin, alice):
    client = client_for(sysadmin, "en")
    assert client.get("/catalogue/new/").status_code == 200
    data = _form_data(Intervention.objects.get(slug="transit-monitoring"),
                      slug="harbour-watch", name_en="Harbour watch", name_id="Pantau pelabuhan")
    response = client.post("/catalogue/new/", data)
    assert response.status_code == 302, response.content.decode()[:2000]
    created = Intervention.objects.get(slug="harbour-watch")
    assert AuditEvent.objects.get(object_type="intervention", action="create").new["name_en"] \
        == "Harbour watch"
    assert client.post("/catalogue/new/", data).status_code == 200  # the key is taken
    assert client.get("/catalogue/harbour-watch/deactivate/").status_code == 405
    client.post("/catalogue/harbour-watch/deactivate/")
    created.refresh_from_db()
    assert not created.is_active
    assert 'data-slug="harbour-watch"' not in client_for(alice).get("/catalogue/").content.decode()
    assert 'data-slug="harbour-watch"' in client.get("/catalogue/").content.decode()
    detail = client_for(alice, "en").get("/catalogue/harbour-watch/").content.decode()
    assert 'id="cat-inactive"' in detail  # activities that used it still link here
    client.post("/catalogue/harbour-watch/reactivate/")
    created.refresh_from_db()
    assert created.is_active
    events = AuditEvent.objects.filter(object_type="intervention", action="update")
    assert [e.new for e in events.order_by("pk")] == [
        {"slug": "harbour-watch", "is_active": False}, {"slug": "harbour-watch", "is_active": True}]


# --- the command line ----------------------------------------------------------------------

def test_the_cli_loads_idempotently_updates_refuses_bad_files_and_exports(cli_env, tmp_path):
    assert run_cli("init", env_extra=cli_env).returncode == 0  # installs the catalogue
    n = len(shipped_entries())
    again = run_cli("catalogue", "load", env_extra=cli_env)
    assert again.returncode == 0, again.stderr
    assert f"0 created, 0 updated, {n} unchanged" in again.stdout

    out = tmp_path / "catalogue.json"
    export = run_cli("catalogue", "export", "--out", str(out), env_extra=cli_env)
    assert export.returncode == 0, export.stderr
    assert f"{n} interventions" in export.stdout
    entries = json.loads(out.read_text(encoding="utf-8"))
    assert [e["slug"] for e in entries] == sorted(e["slug"] for e in shipped_entries())

    edited = tmp_path / "edited.json"
    entries[0]["name_en"] = "Changed name"
    entries.append({**entries[1], "slug": "brand-new"})
    edited.write_text(json.dumps(entries), encoding="utf-8")
    keep = run_cli("catalogue", "load", str(edited), env_extra=cli_env)
    assert f"1 created, 0 updated, {n} unchanged" in keep.stdout, keep.stderr
    dry = run_cli("catalogue", "load", str(edited), "--update", "--dry-run", env_extra=cli_env)
    assert "0 would be created, 1 would be updated" in dry.stdout, dry.stderr
    update = run_cli("catalogue", "load", str(edited), "--update", env_extra=cli_env)
    assert f"0 created, 1 updated, {n} unchanged" in update.stdout, update.stderr

    bad = tmp_path / "bad.json"
    entries[2]["level"] = "quaternary"
    entries[0]["name_en"] = "Should not be saved"
    bad.write_text(json.dumps(entries), encoding="utf-8")
    refused = run_cli("catalogue", "load", str(bad), "--update", env_extra=cli_env)
    assert refused.returncode == 1
    assert (f"entry 3 ({entries[2]['slug']}): level: expected one of primary, secondary, "
            "tertiary, got 'quaternary'") in refused.stderr
    assert "nothing was loaded" in refused.stderr
    broken = tmp_path / "broken.json"
    broken.write_text('[{"slug": "x",}]', encoding="utf-8")
    syntax = run_cli("catalogue", "load", str(broken), env_extra=cli_env)
    assert syntax.returncode == 1 and "broken.json: line 1, column" in syntax.stderr

    as_csv = tmp_path / "catalogue.csv"
    export = run_cli("catalogue", "export", "--out", str(as_csv), env_extra=cli_env)
    assert export.returncode == 0, export.stderr
    rows = list(csv.reader(io.StringIO(as_csv.read_text(encoding="utf-8-sig"))))
    assert rows[0][:3] == ["slug", "name_id", "name_en"] and len(rows) == n + 2
    by_slug = {r[0]: dict(zip(rows[0], r, strict=True)) for r in rows[1:]}
    assert by_slug[entries[0]["slug"]]["name_en"] == "Changed name"  # the bad file changed nothing
    assert by_slug["transit-monitoring"]["settings"] == "port | airport | bus_terminal"
    wrong = run_cli("catalogue", "export", "--out", str(tmp_path / "x.txt"), env_extra=cli_env)
    assert wrong.returncode == 2 and "expected a .json or .csv file" in wrong.stderr
