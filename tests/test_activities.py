"""The activity registry: the validator, the quick form, the full form, cancel/delete and
attachments (type, size and who may download them), with their audit rows."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from cegah.accounts.models import Role
from cegah.activities.actions import (
    clean_activity,
    do_add_attachment,
    do_cancel_activity,
    do_record_activity,
)
from cegah.activities.models import ATTACHMENT_MAX_BYTES, Activity, Attachment, Venue
from cegah.audit.models import AuditEvent
from cegah.catalogue.models import Intervention
from tests.conftest import client_for, make_user

VILLAGE = "31.74.01.1001"  # Tebet Timur, South Jakarta (alice's jurisdiction)
OTHER_VILLAGE = "31.74.01.1002"
MANADO_VILLAGE = "71.71.01.1001"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def make_intervention(slug: str, name: str, *, active: bool = True) -> Intervention:
    return Intervention.objects.create(
        slug=slug, name_id=f"{name} (id)", name_en=name, summary_id="-", summary_en="-",
        level="primary", evidence_strength="practice", source="case_study", is_active=active)


@pytest.fixture
def catalogue(db):
    return {
        "talk": make_intervention("school-talk", "School talk"),
        "village": make_intervention("village-education", "Village education"),
        "retired": make_intervention("old-programme", "Old programme", active=False),
    }


@pytest.fixture
def dina(org_jaksel, operator):
    """A data-entry user of South Jakarta police."""
    return make_user(operator, "dina", org_jaksel, Role.DATA_ENTRY)


def today() -> dt.date:
    return timezone.localdate()


def base_data(**overrides) -> dict:
    data = {"intervention": "school-talk", "areas": [VILLAGE], "starts_on": today(),
            "audience": "adolescents", "girls_12_17": 12, "boys_12_17": 10}
    data.update(overrides)
    return data


def quick_post(**overrides) -> dict:
    data = {"intervention": "school-talk", "area": "", "area_code": VILLAGE,
            "starts_on": today().isoformat(), "duration_minutes": "90",
            "audience": "adolescents", "girls_12_17": "14", "boys_12_17": "11",
            "girls_under_12": "", "boys_under_12": "", "women_18_plus": "2",
            "men_18_plus": "1", "notes": ""}
    data.update(overrides)
    return data


def errors_of(response) -> dict[str, list[str]]:
    form = response.context["form"]
    return {k: [str(m) for m in v] for k, v in form.errors.items()}


# --- the quick form ------------------------------------------------------------------

def test_the_quick_form_records_a_done_activity_for_the_officer(alice, catalogue):
    client = client_for(alice, "en")
    response = client.post("/activities/quick/", quick_post())
    assert response.status_code == 302
    activity = Activity.objects.get()
    assert response["Location"] == f"/activities/quick/?saved={activity.pk}"
    assert activity.lead_organisation == alice.organisation
    assert activity.status == "done" and activity.created_by == alice
    assert list(activity.officers.all()) == [alice]
    assert activity.officer_count == 1 and activity.officer_hours == Decimal("1.5")
    assert activity.duration_minutes == 90
    assert activity.reached_total == 28
    assert [a.code for a in activity.areas.all()] == [VILLAGE]
    assert activity.title.startswith("School talk") and "TEBET TIMUR" in activity.title.upper()
    event = AuditEvent.objects.get(object_type="activity", action="create")
    assert event.object_key == str(activity.pk) and event.new["areas"] == [VILLAGE]

    confirmation = client.get(response["Location"])
    body = confirmation.content.decode()
    assert 'id="quick-saved"' in body and 'id="record-another"' in body
    assert "28 people reached" in body


def test_a_double_tap_on_save_records_the_activity_once(alice, catalogue):
    client = client_for(alice, "en")
    token = client.get("/activities/quick/").context["form"]["token"].value()
    assert len(token) == 32
    first = client.post("/activities/quick/", quick_post(token=token))
    second = client.post("/activities/quick/", quick_post(token=token))
    assert Activity.objects.count() == 1
    assert first["Location"] == second["Location"]
    client.post("/activities/quick/", quick_post(token="another-form"))
    assert Activity.objects.count() == 2


def test_the_quick_form_remembers_the_last_area_and_orders_interventions_by_use(
        alice, catalogue):
    do_record_activity(alice, base_data(intervention="village-education",
                                        areas=[OTHER_VILLAGE], audience="parents"))
    page = client_for(alice, "en").get("/activities/quick/")
    form = page.context["form"]
    assert form.fields["area"].initial == OTHER_VILLAGE
    assert form.fields["audience"].initial == "parents"
    slugs = [value for value, _label in form.fields["intervention"].choices]
    assert slugs[:2] == ["", "village-education"]  # the most used first
    assert "school-talk" in slugs
    assert "old-programme" not in slugs
    # The remembered area is used when no code is typed.
    client_for(alice).post("/activities/quick/", quick_post(area=OTHER_VILLAGE, area_code=""))
    assert [a.pk for a in Activity.objects.latest("pk").areas.all()] == [OTHER_VILLAGE]


@pytest.mark.parametrize(("overrides", "field", "message"), [
    ({"area_code": "31.74.99.9999"}, "area_code", "no area with code '31.74.99.9999'"),
    ({"area_code": MANADO_VILLAGE}, "area_code", "outside your organisation's jurisdiction"),
    ({"girls_12_17": "-3"}, "girls_12_17", "at least 0"),
    ({"boys_12_17": "many"}, "boys_12_17", "expected a whole number"),
    ({"starts_on": (dt.date.today() + dt.timedelta(days=400)).isoformat()}, "starts_on",
     "more than a year ahead"),
    ({"starts_on": "next week"}, "starts_on", "expected a date as YYYY-MM-DD"),
    ({"intervention": ""}, "intervention", "choose the intervention"),
    ({"audience": ""}, "audience", "choose the audience"),
])
def test_the_quick_form_rejects_bad_input_naming_the_field(
        alice, catalogue, overrides, field, message):
    response = client_for(alice, "en").post("/activities/quick/", quick_post(**overrides))
    assert response.status_code == 200
    errors = errors_of(response)
    assert any(message in m for m in errors.get(field, [])), errors
    assert f'id="id_{field}_error"' in response.content.decode()
    assert not Activity.objects.exists()
    assert not AuditEvent.objects.filter(object_type="activity").exists()


def test_the_quick_form_is_not_for_viewers_or_people_without_an_organisation(
        bob, sysadmin, catalogue):
    assert client_for(bob).get("/activities/quick/").status_code == 404
    assert client_for(bob).post("/activities/quick/", quick_post()).status_code == 404
    assert client_for(sysadmin).get("/activities/quick/").status_code == 404
    assert not Activity.objects.exists()


def test_the_confirmation_shows_only_ones_own_activity(alice, dina, catalogue):
    activity = do_record_activity(alice, base_data())
    page = client_for(dina, "en").get(f"/activities/quick/?saved={activity.pk}")
    assert 'id="quick-saved"' not in page.content.decode()


# --- the validator -------------------------------------------------------------------

def test_the_validator_accepts_plain_values_and_derives_defaults(alice, charlie, catalogue):
    cleaned, errors = clean_activity(alice, {
        "intervention": "school-talk", "areas": f"{VILLAGE}, {OTHER_VILLAGE}",
        "starts_on": today().isoformat(), "audience": "parents", "women_18_plus": "20",
        "partners": "LSM Perlindungan Anak Manado", "officers": "alice", "duration_minutes": 120,
        "topics": "body_safety;reporting", "laws": ["uu_12_2022"],
        "outcomes": "quiz correct (%)=82; referrals=2", "cost": "150000"})
    assert errors == {}
    assert cleaned["lead_organisation"] == alice.organisation
    assert cleaned["partners"] == [charlie.organisation]
    assert [a.code for a in cleaned["areas"]] == [VILLAGE, OTHER_VILLAGE]
    assert cleaned["officer_count"] == 1 and cleaned["officer_hours"] == Decimal("2.0")
    assert cleaned["outcomes"] == {"quiz correct (%)": "82", "referrals": "2"}
    assert cleaned["topics"] == ["body_safety", "reporting"]
    assert cleaned["cost"] == Decimal(150000) and cleaned["status"] == "done"


@pytest.mark.parametrize(("overrides", "field", "message"), [
    ({"partners": ["Unit PPA Polres Jakarta Selatan"]}, "partners", "cannot also be a partner"),
    ({"partners": ["Nobody"]}, "partners", "no active organisation"),
    ({"status": "planned"}, "girls_12_17", "planned activity has reached no one"),
    ({"starts_on": today() + dt.timedelta(days=3)}, "starts_on", "record it as planned"),
    ({"intervention": "old-programme"}, "intervention", "no longer in use"),
    ({"intervention": "nope"}, "intervention", "no intervention with key"),
    ({"audience": "aliens"}, "audience", "expected one of"),
    ({"topics": ["astrology"]}, "topics", "unknown topics astrology"),
    ({"laws": ["uu_1_1900"]}, "laws", "unknown laws"),
    ({"officer_count": 2, "officer_hours": "9", "duration_minutes": 60}, "officer_hours",
     "more than 2 officers can spend"),
    ({"officer_hours": "-1"}, "officer_hours", "0 or more"),
    ({"officers": ["charlie"]}, "officers", "is not a member of"),
    ({"officers": ["alice"], "officer_count": 0}, "officer_count", "officers are named"),
    ({"cost": "-5"}, "cost", "from 0"),
    ({"areas": []}, "areas", "at least one area"),
    ({"lead_organisation": "LSM Perlindungan Anak Manado"}, "lead_organisation",
     "your own organisation"),
    ({"outcomes": {"": "3"}}, "outcomes", "has no name"),
])
def test_the_validator_names_the_field(alice, charlie, catalogue, overrides, field, message):
    _cleaned, errors = clean_activity(alice, base_data(**overrides))
    assert any(message in m for m in errors.get(field, [])), errors


def test_a_venue_must_lie_in_one_of_the_activitys_areas(alice, catalogue):
    from cegah.areas.models import Area

    venue = Venue.objects.create(name="SMPN 1", type="school", area=Area.objects.get(pk=VILLAGE))
    _c, errors = clean_activity(alice, base_data(venue=venue.pk))
    assert errors == {}
    _c, errors = clean_activity(alice, base_data(venue=venue.pk, areas=["31.74.01"]))
    assert errors == {}  # the district holds the village
    _c, errors = clean_activity(alice, base_data(venue=venue.pk, areas=[OTHER_VILLAGE]))
    assert "outside the activity's areas" in errors["venue"][0]


def test_system_admins_name_the_lead_organisation(sysadmin, org_manado, catalogue):
    _c, errors = clean_activity(sysadmin, base_data())
    assert "name the lead organisation" in errors["lead_organisation"][0]
    cleaned, errors = clean_activity(sysadmin, base_data(lead_organisation=org_manado.pk,
                                                         areas=[MANADO_VILLAGE]))
    assert errors == {} and cleaned["lead_organisation"] == org_manado


def test_the_local_operator_records_for_a_named_organisation(operator, org_manado, catalogue):
    activity = do_record_activity(operator, base_data(
        lead_organisation="LSM Perlindungan Anak Manado", areas=[MANADO_VILLAGE]))
    assert activity.lead_organisation == org_manado and activity.created_by is None
    event = AuditEvent.objects.get(object_type="activity")
    assert event.actor_label == "cli:test" and event.new["lead_organisation"] == org_manado.pk


def test_one_cleaner_checks_many_rows(alice, catalogue, django_assert_max_num_queries):
    from cegah.activities.actions import ActivityCleaner

    cleaner = ActivityCleaner(alice)
    clean_activity(alice, base_data(), cleaner=cleaner)
    with django_assert_max_num_queries(0):  # every look-up is cached after the first row
        for _i in range(10):
            _c, errors = clean_activity(alice, base_data(), cleaner=cleaner)
            assert errors == {}


def test_viewers_may_not_record(bob, catalogue):
    _c, errors = clean_activity(bob, base_data())
    assert "__all__" in errors


# --- the full form -------------------------------------------------------------------

def full_post(**overrides) -> dict:
    data = {"title": "Body safety at SDN 01", "intervention": "school-talk", "status": "done",
            "areas": VILLAGE, "venue": "", "starts_on": today().isoformat(),
            "start_time": "09:30", "duration_minutes": "120", "audience": "children",
            "girls_under_12": "30", "boys_under_12": "28", "girls_12_17": "",
            "boys_12_17": "", "women_18_plus": "", "men_18_plus": "", "reached_unknown": "",
            "topics": ["body_safety", "reporting"], "laws": ["uu_35_2014"],
            "officer_count": "2", "officer_hours": "", "cost": "250000",
            "materials": "Posters", "notes": "Headmaster asked for a parents' session.",
            "external_id": "", "outcome_name_0": "quiz correct (%)", "outcome_value_0": "80",
            "outcome_name_1": "", "outcome_value_1": "", "outcome_name_2": "",
            "outcome_value_2": ""}
    data.update(overrides)
    return data


def test_the_full_form_creates_and_edits_an_activity(alice, charlie, catalogue):
    client = client_for(alice, "en")
    assert client.get("/activities/new/").status_code == 200
    response = client.post("/activities/new/", full_post(
        partners=[str(charlie.organisation_id)], officers=[str(alice.pk)]))
    assert response.status_code == 302, errors_of(response)
    activity = Activity.objects.get()
    assert response["Location"] == f"/activities/{activity.pk}/"
    assert list(activity.partners.all()) == [charlie.organisation]
    assert list(activity.officers.all()) == [alice]
    assert activity.start_time == dt.time(9, 30) and activity.reached_total == 58
    assert activity.officer_hours == Decimal("4.0") and activity.cost == 250000
    assert activity.outcomes == {"quiz correct (%)": "80"}
    assert activity.topics == ["body_safety", "reporting"] and activity.laws == ["uu_35_2014"]

    page = client.get(f"/activities/{activity.pk}/edit/")
    assert page.status_code == 200
    assert page.context["form"]["areas"].value() == VILLAGE
    response = client.post(f"/activities/{activity.pk}/edit/", full_post(
        title="Body safety at SDN 01 (two classes)", girls_under_12="31",
        partners=[str(charlie.organisation_id)], officers=[str(alice.pk)]))
    assert response.status_code == 302, errors_of(response)
    activity.refresh_from_db()
    assert activity.title.endswith("(two classes)") and activity.reached_total == 59
    update = AuditEvent.objects.get(object_type="activity", action="update")
    assert update.old == {"girls_under_12": 30, "title": "Body safety at SDN 01"}
    assert update.new["girls_under_12"] == 31


def test_the_full_form_shows_errors_and_saves_nothing(alice, catalogue):
    response = client_for(alice, "en").post("/activities/new/", full_post(
        areas="31.74.01.1001, 99.99", girls_under_12="-1", status="planned"))
    assert response.status_code == 200
    errors = errors_of(response)
    assert "no area with code '99.99'" in errors["areas"][0]
    assert errors["girls_under_12"] and 'id="form-has-errors"' in response.content.decode()
    assert not Activity.objects.exists()


def test_the_area_picker_finds_areas_in_the_jurisdiction(alice, catalogue):
    client = client_for(alice, "en")
    body = client.get("/activities/areas/", {"q": "Tebet"}).content.decode()
    assert f'data-code="{VILLAGE}"' in body
    body = client.get("/activities/areas/", {"q": "71.71"}).content.decode()
    assert "data-code" not in body


# --- list ----------------------------------------------------------------------------

def test_the_list_filters_by_area_organisation_status_and_period(alice, charlie, catalogue):
    old = do_record_activity(alice, base_data(title="Old talk",
                                              starts_on=today() - dt.timedelta(days=200)))
    joint = do_record_activity(alice, base_data(title="Joint talk", areas=[OTHER_VILLAGE],
                                                partners=[charlie.organisation_id]))
    planned = do_record_activity(alice, base_data(
        title="Planned talk", status="planned", girls_12_17=0, boys_12_17=0,
        starts_on=today() + dt.timedelta(days=20)))
    client = client_for(alice, "en")

    def titles(**params):
        page = client.get("/activities/", params)
        assert page.status_code == 200
        return [a.title for a in page.context["page"]]

    assert titles() == ["Planned talk", "Joint talk", "Old talk"]
    assert titles(area="31.74.01") == ["Planned talk", "Joint talk", "Old talk"]
    assert titles(area=OTHER_VILLAGE) == ["Joint talk"]
    assert titles(organisation=charlie.organisation_id) == ["Joint talk"]
    assert titles(status="planned") == ["Planned talk"]
    assert titles(**{"from": (today() - dt.timedelta(days=30)).isoformat(),
                     "to": today().isoformat()}) == ["Joint talk"]
    body = client.get("/activities/").content.decode()
    assert 'class="badge joint"' in body and "22 people reached" in body
    assert old.pk and joint.pk and planned.pk


# --- cancel and delete ---------------------------------------------------------------

def test_cancelling_and_deleting_are_confirmed_posts_and_audited(alice, catalogue):
    planned = do_record_activity(alice, base_data(status="planned", girls_12_17=0,
                                                  boys_12_17=0))
    client = client_for(alice, "en")
    assert client.get(f"/activities/{planned.pk}/cancel/").status_code == 200
    planned.refresh_from_db()
    assert planned.status == "planned"  # a GET only asks
    client.post(f"/activities/{planned.pk}/cancel/", {"reason": "school closed"})
    planned.refresh_from_db()
    assert planned.status == "cancelled" and "school closed" in planned.notes
    assert AuditEvent.objects.filter(object_type="activity", action="cancel").exists()

    done = do_record_activity(alice, base_data())
    with pytest.raises(Exception, match="only a planned activity"):
        do_cancel_activity(alice, done)
    assert client.get(f"/activities/{done.pk}/delete/").status_code == 200
    assert Activity.objects.filter(pk=done.pk).exists()
    response = client.post(f"/activities/{done.pk}/delete/")
    assert response.status_code == 302
    assert not Activity.objects.filter(pk=done.pk).exists()
    deleted = AuditEvent.objects.get(object_type="activity", action="delete")
    assert deleted.object_key == str(done.pk) and deleted.old["girls_12_17"] == 12


# --- attachments ---------------------------------------------------------------------

def office_file(part: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr(f"{part}/document.xml", "<x/>")
    return buf.getvalue()


@pytest.mark.parametrize(("name", "content", "message"), [
    ("setup.exe", b"MZ\x90\x00", "are not accepted"),
    ("report.pdf", b"MZ\x90\x00 not a pdf", "not a real .pdf file"),
    ("photo.png", b"\xff\xd8\xff\xe0 a jpeg", "not a real .png file"),
    ("sheet.docx", office_file("xl"), "not a real .docx file"),
    ("notes.txt", b"hello", "are not accepted"),
    ("empty.pdf", b"", "is empty"),
    ("big.pdf", b"%PDF-" + b"0" * ATTACHMENT_MAX_BYTES, "at most"),
])
def test_attachments_of_the_wrong_type_or_size_are_refused(alice, catalogue, name, content,
                                                           message):
    activity = do_record_activity(alice, base_data())
    client = client_for(alice, "en")
    upload = io.BytesIO(content)
    upload.name = name
    response = client.post(f"/activities/{activity.pk}/attachments/", {"file": upload},
                           follow=True)
    assert message in response.content.decode()
    assert not Attachment.objects.exists()
    assert not AuditEvent.objects.filter(object_type="activity_attachment").exists()


def test_attachments_are_downloaded_only_by_the_organisations_taking_part(
        alice, bob, charlie, catalogue):
    activity = do_record_activity(alice, base_data())
    client = client_for(alice, "en")
    upload = io.BytesIO(PDF)
    upload.name = "../../attendance sheet.pdf"
    client.post(f"/activities/{activity.pk}/attachments/", {"file": upload})
    attachment = Attachment.objects.get()
    assert attachment.filename == "attendance sheet.pdf" and attachment.size == len(PDF)
    event = AuditEvent.objects.get(object_type="activity_attachment", action="create")
    assert event.new["sha256"] == attachment.sha256

    url = f"/activities/{activity.pk}/attachments/{attachment.pk}/"
    for user in (alice, bob):
        response = client_for(user).get(url)
        assert response.status_code == 200
        assert response["Content-Disposition"].startswith("attachment;")
        assert response["Content-Type"] == "application/pdf"
        assert response.content == PDF
    assert client_for(charlie).get(url).status_code == 404
    assert client_for(charlie).get(f"/activities/{activity.pk}/").status_code == 200
    downloads = AuditEvent.objects.filter(object_type="activity_attachment",
                                          action="download")
    assert sorted(downloads.values_list("actor_label", flat=True)) == ["alice", "bob"]

    # An Office file is accepted when its zip holds the right parts.
    do_add_attachment(alice, activity, "plan.docx", office_file("word"))
    client.post(f"{url}remove/")
    assert list(Attachment.objects.values_list("filename", flat=True)) == ["plan.docx"]
    assert AuditEvent.objects.filter(object_type="activity_attachment",
                                     action="delete").exists()


# --- review fixes ----------------------------------------------------------------------

def test_the_quick_form_opens_on_the_area_it_was_opened_for(alice, catalogue):
    do_record_activity(alice, base_data(areas=[OTHER_VILLAGE]))
    client = client_for(alice, "en")
    # The area page's "Record an activity" opens the form for its area.
    form = client.get("/activities/quick/", {"area": VILLAGE}).context["form"]
    assert form["area_code"].value() == VILLAGE and not form["area"].value()
    form = client.get("/activities/quick/", {"area": OTHER_VILLAGE}).context["form"]
    assert form["area"].value() == OTHER_VILLAGE and not form["area_code"].value()
    # Not an area outside the jurisdiction, nor an unknown code: the usual default then.
    for code in (MANADO_VILLAGE, "31.74.99.9999", "<script>"):
        form = client.get("/activities/quick/", {"area": code}).context["form"]
        assert form["area"].value() == OTHER_VILLAGE and not form["area_code"].value()
    # Saving the pre-filled form records the activity there.
    client.post("/activities/quick/", quick_post(area="", area_code=VILLAGE))
    assert [a.code for a in Activity.objects.latest("pk").areas.all()] == [VILLAGE]
    # The full form too.
    full = client.get("/activities/new/", {"area": VILLAGE}).context["form"]
    assert full["areas"].value() == VILLAGE


def test_the_quick_form_offers_only_areas_the_officer_may_still_record_in(
        alice, charlie, catalogue):
    # Recorded by charlie before he moved to the NGO in Manado: no longer his to record in.
    old = Activity.objects.create(title="Before the move", lead_organisation=alice.organisation,
                                  starts_on=today(), audience="adolescents", created_by=charlie)
    old.areas.set([VILLAGE])
    form = client_for(charlie, "en").get("/activities/quick/").context["form"]
    assert VILLAGE not in dict(form.fields["area"].choices)
    assert not form.has_recent_areas and not form["area"].value()


@pytest.mark.parametrize("field", ["notes", "materials", "title", "external_id"])
def test_free_text_holding_an_id_number_is_refused(alice, catalogue, field):
    _cleaned, errors = clean_activity(alice, base_data(**{field: "NIK 3174012345678901"}))
    assert "national ID number" in " ".join(errors[field])
    _cleaned, errors = clean_activity(alice, base_data(outcomes={"3174012345678901": 1}))
    assert "national ID number" in " ".join(errors["outcomes"])
    # A long reference that is not an ID number passes.
    _cleaned, errors = clean_activity(alice, base_data(notes="Leaflet 2024-000123, 40 pages"))
    assert not errors


def test_the_quick_form_refuses_an_id_number_in_the_note_and_warns_against_names(
        alice, catalogue):
    client = client_for(alice, "en")
    page = client.get("/activities/quick/").content.decode()
    assert 'id="quick-notes-help"' in page and "No personal data" in page
    response = client.post("/activities/quick/", quick_post(notes="anak 3174012345678901"))
    assert "national ID number" in " ".join(errors_of(response)["notes"])
    assert not Activity.objects.exists()
    full = client.get("/activities/new/").content.decode()
    assert full.count("No personal data") >= 2  # materials and notes
    activity = do_record_activity(alice, base_data())
    detail = client.get(f"/activities/{activity.pk}/").content.decode()
    assert 'id="attachment-help"' in detail and "no photos in which a child" in detail


def test_an_attachment_is_served_with_the_type_its_extension_allows(alice, catalogue):
    activity = do_record_activity(alice, base_data())
    # A row written some other way with a dangerous type is still served as its extension.
    stored = Attachment.objects.create(activity=activity, filename="report.pdf",
                                       content_type="text/html", size=len(PDF), sha256="-",
                                       content=PDF)
    response = client_for(alice).get(f"/activities/{activity.pk}/attachments/{stored.pk}/")
    assert response["Content-Type"] == "application/pdf"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Disposition"].startswith("attachment;")
    stored.filename = "page.html"
    stored.save()
    response = client_for(alice).get(f"/activities/{activity.pk}/attachments/{stored.pk}/")
    assert response["Content-Type"] == "application/octet-stream"


def test_the_list_page_makes_a_fixed_number_of_queries(
        alice, charlie, catalogue, django_assert_max_num_queries):
    from cegah.activities.actions import ActivityCleaner, write_activity

    cleaner = ActivityCleaner(alice)
    for i in range(50):
        cleaned, errors = clean_activity(alice, base_data(
            title=f"Talk {i}", areas=[VILLAGE, OTHER_VILLAGE],
            partners=[charlie.organisation_id] if i % 2 else []), cleaner=cleaner)
        assert not errors
        write_activity(alice, cleaned)
    for user in (alice, charlie):
        client = client_for(user, "en")
        client.get("/activities/")  # the session and the user, once
        with django_assert_max_num_queries(15):
            page = client.get("/activities/", {"area": "31.74.01"})
        assert page.status_code == 200 and len(page.context["page"].object_list) == 50
        # Two areas each: still 50 activities, listed once.
        assert page.context["page"].paginator.count == 50


def test_a_cancellation_reason_holding_an_id_number_is_refused(alice, catalogue):
    planned = do_record_activity(alice, base_data(status="planned", girls_12_17=0,
                                                  boys_12_17=0))
    response = client_for(alice, "en").post(f"/activities/{planned.pk}/cancel/",
                                             {"reason": "anak NIK 3174012345678901 sakit"},
                                             follow=True)
    assert "national ID number" in response.content.decode()
    planned.refresh_from_db()
    assert planned.status == "planned" and "3174012345678901" not in planned.notes


def test_a_reference_taken_at_the_same_moment_is_a_field_error(alice, catalogue, monkeypatch):
    from cegah.activities import actions

    do_record_activity(alice, base_data(external_id="R-1"))
    checked = actions.clean_activity

    def checked_before_the_other_save(*args, **kwargs):
        cleaned, errors = checked(*args, **kwargs)
        errors.pop("external_id", None)  # as if the other save came after the check
        return cleaned, errors

    monkeypatch.setattr(actions, "clean_activity", checked_before_the_other_save)
    with pytest.raises(ValidationError) as raised:
        do_record_activity(alice, base_data(external_id="R-1"))
    assert "same moment" in raised.value.message_dict["external_id"][0]
    assert Activity.objects.filter(external_id="R-1").count() == 1
