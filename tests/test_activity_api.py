"""``/api/v1/activities``: listing, one activity, venues and recording, as the policy
module allows each caller (token or session)."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.test import Client
from django.utils import translation

from cegah.accounts.actions import do_create_api_token
from cegah.activities.importing import ACTIVITY_HEADER, do_import_activities
from cegah.activities.models import Activity, Venue
from cegah.audit.models import AuditEvent
from tests.conftest import client_for, csv_bytes
from tests.test_activity_imports import SLUG, TEBET, make_intervention, row

pytestmark = pytest.mark.django_db
URL = "/api/v1/activities"
SOON = dt.date.today() + dt.timedelta(days=30)


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


@pytest.fixture
def recorded(alice, charlie):
    """Alice's unit: a done and a planned activity in South Jakarta; Charlie's NGO: a
    done one in Manado."""
    make_intervention()
    Venue.objects.create(area_id=TEBET, type="school", name="SMPN 115")
    Venue.objects.create(area_id="71.71", type="port", name="Pelabuhan Manado")
    ours = do_import_activities(alice, csv_bytes(ACTIVITY_HEADER, [
        row(venue="SMPN 115", outcomes='{"quiz_correct_pct": 80}'),
        row(reference="P-1", status="planned", date=SOON.isoformat(), areas="31.74.01",
            girls_12_17="0", boys_12_17="0", officer_hours="", cost="")]), "ours.csv")
    assert ours.applied, [str(p) for p in ours.problems]
    theirs = do_import_activities(charlie, csv_bytes(ACTIVITY_HEADER, [
        row(reference="M-1", areas="71.71", date="2024-05-02", audience="travellers",
            notes="dermaga 2", cost="250000")]), "theirs.csv")
    assert theirs.applied, [str(p) for p in theirs.problems]
    return {a.external_id: a for a in Activity.objects.all()}


def get(client, url, **params):
    response = client.get(url, params, **params.pop("headers", {}))
    return response.status_code, (response.json() if response.content else None)


def test_anonymous_callers_are_refused(recorded):
    assert Client().get(URL).status_code == 401
    assert Client().get(f"{URL}/venues").status_code == 401
    assert Client().post(URL, "{}", content_type="application/json").status_code == 401


def test_each_user_sees_what_the_policy_allows_with_details_only_for_participants(
        recorded, alice, bob, charlie):
    status, body = get(client_for(alice), URL)
    assert status == 200 and body["count"] == 3
    by_ref = {i["reference"]: i for i in body["items"]}
    assert by_ref["KEG-001"]["details"] is True and by_ref["KEG-001"]["cost"] == 1500000
    assert by_ref["KEG-001"]["outcomes"] == {"quiz_correct_pct": 80}
    assert by_ref["KEG-001"]["venue"]["name"] == "SMPN 115"
    assert by_ref["KEG-001"]["reach"]["total"] == 78
    assert by_ref["M-1"]["details"] is False
    assert by_ref["M-1"]["cost"] is None and by_ref["M-1"]["notes"] is None
    assert by_ref["M-1"]["officers"] is None and by_ref["M-1"]["outcomes"] is None

    token = do_create_api_token(alice, bob, "script")
    status, body = get(Client(), URL, headers={"HTTP_AUTHORIZATION": f"Bearer {token}"})
    assert status == 200 and body["count"] == 3  # a colleague: the same view

    status, body = get(client_for(charlie), URL)
    refs = {i["reference"]: i for i in body["items"]}
    assert set(refs) == {"KEG-001", "M-1"}  # not alice's planned activity
    assert refs["KEG-001"]["notes"] is None and refs["M-1"]["notes"] == "dermaga 2"


def test_one_activity_is_404_where_it_is_not_visible(recorded, alice, charlie):
    planned = recorded["P-1"]
    status, body = get(client_for(alice), f"{URL}/{planned.pk}")
    assert status == 200 and body["status"] == "planned" and body["details"] is True
    assert body["areas"] == [{"code": "31.74.01", "name": body["areas"][0]["name"]}]
    assert get(client_for(charlie), f"{URL}/{planned.pk}")[0] == 404
    assert get(client_for(charlie), f"{URL}/999999")[0] == 404
    status, body = get(client_for(charlie), f"{URL}/{recorded['KEG-001'].pk}")
    assert status == 200 and body["cost"] is None and body["lead"]["name"].startswith("Unit")


def test_filters_and_pagination(recorded, alice, charlie):
    client = client_for(alice)

    def refs(**params):
        status, body = get(client, URL, **params)
        assert status == 200, body
        return sorted(i["reference"] for i in body["items"])

    assert refs(area="31.74.01") == ["KEG-001", "P-1"]
    assert refs(area="71.71") == ["M-1"]
    assert refs(status="planned") == ["P-1"]
    assert refs(**{"from": "2024-06-01", "to": "2024-12-31"}) == ["KEG-001"]
    assert refs(organisation=charlie.organisation_id) == ["M-1"]
    assert refs(intervention=SLUG) == ["KEG-001", "M-1", "P-1"]
    assert refs(intervention="nothing-like-it") == []
    assert get(client, URL, area="99.99")[0] == 404
    assert get(client, URL, **{"from": "yesterday"})[0] == 422

    status, body = get(client, URL, page_size=2, page=2)
    assert (body["count"], body["page"], body["pages"], len(body["items"])) == (3, 2, 2, 1)
    first = get(client, URL, page_size=2)[1]["items"]
    assert first[0]["date"] >= first[1]["date"]  # newest first


def test_venues_by_area_and_type(recorded, bob):
    client = client_for(bob)
    status, body = get(client, f"{URL}/venues")
    assert status == 200 and body["count"] == 2
    status, body = get(client, f"{URL}/venues", area="31.74", type="school")
    assert [v["name"] for v in body["items"]] == ["SMPN 115"]
    assert body["items"][0]["area"]["code"] == TEBET
    assert get(client, f"{URL}/venues", type="port")[1]["count"] == 1
    assert get(client, f"{URL}/venues", type="castle")[0] == 404


def post(client, data, **headers):
    response = client.post(URL, json.dumps(data), content_type="application/json", **headers)
    return response.status_code, response.json()


NEW = {"reference": "API-1", "title": "Patroli terminal", "intervention": SLUG,
       "areas": [TEBET], "date": "2024-10-01", "audience": "penumpang",
       "women_18_plus": 12, "men_18_plus": 20, "topics": ["trafficking"],
       "laws": ["tppo"], "officer_count": 2, "cost": 0, "notes": "shift pagi"}


def test_post_records_with_the_imports_checks(recorded, alice, bob, charlie):
    status, body = post(client_for(alice), NEW)
    assert status == 201, body
    assert body["audience"] == "travellers" and body["laws"] == ["uu_21_2007"]
    assert body["reach"]["total"] == 32 and body["notes"] == "shift pagi"
    created = Activity.objects.get(external_id="API-1")
    assert created.created_by == alice and created.lead_organisation == alice.organisation
    assert AuditEvent.objects.filter(object_type="activity", action="create",
                                     object_key=str(created.pk)).exists()
    # The same reference again: the same activity, unchanged, then updated.
    assert post(client_for(alice), NEW)[0] == 200
    status, body = post(client_for(alice), {"reference": "API-1", "men_18_plus": 21})
    assert status == 200 and body["reach"]["total"] == 33 and body["title"] == "Patroli terminal"
    assert Activity.objects.filter(external_id="API-1").count() == 1

    status, body = post(client_for(alice), {**NEW, "reference": "API-2", "areas": ["71.71"],
                                            "date": "2024-02-30", "audience": "martians"})
    assert status == 422
    fields = {e["loc"][-1] for e in body["detail"]}
    assert fields == {"areas", "date", "audience"}
    assert all(e["msg"] for e in body["detail"])

    status, body = post(client_for(alice), {"title": "no areas"})
    assert status == 422 and {"areas", "date", "audience"} <= {e["loc"][-1]
                                                             for e in body["detail"]}
    assert post(client_for(bob), NEW)[0] == 403  # a viewer records nothing
    status, body = post(client_for(charlie), {**NEW, "reference": "C-1"})
    assert status == 422 and body["detail"][0]["loc"][-1] == "areas"
    assert not Activity.objects.filter(external_id__in=["API-2", "C-1"]).exists()


def test_post_with_a_token_needs_no_csrf_but_a_session_does(recorded, alice):
    token = do_create_api_token(alice, alice, "app")
    status, body = post(Client(enforce_csrf_checks=True), {**NEW, "reference": "T-1"},
                        HTTP_AUTHORIZATION=f"Bearer {token}")
    assert status == 201, body
    session = Client(enforce_csrf_checks=True)
    session.force_login(alice)
    assert post(session, {**NEW, "reference": "S-1"})[0] == 403
    assert not Activity.objects.filter(external_id="S-1").exists()


def test_the_schema_documents_the_endpoints(alice):
    status, schema = get(client_for(alice), "/api/v1/openapi.json")
    assert status == 200
    paths = schema["paths"]
    assert {"get", "post"} <= set(paths["/api/v1/activities"])
    assert "get" in paths["/api/v1/activities/{activity_id}"]
    assert "get" in paths["/api/v1/activities/venues"]
    names = {p["name"] for p in paths["/api/v1/activities"]["get"]["parameters"]}
    assert {"area", "from", "to", "status", "organisation", "intervention", "page",
            "page_size"} <= names
    out = schema["components"]["schemas"]["ActivityOut"]["properties"]
    assert {"cost", "notes", "outcomes", "officers", "details", "reach"} <= set(out)


def test_post_refuses_an_id_number_in_free_text(recorded, alice):
    status, body = post(client_for(alice), {**NEW, "reference": "N-1",
                                            "notes": "korban NIK 3174012345678901"})
    assert status == 422
    assert {e["loc"][-1] for e in body["detail"]} == {"notes"}
    assert "(NIK)" in body["detail"][0]["msg"]  # in the caller's language (Indonesian)
    assert not Activity.objects.filter(external_id="N-1").exists()


def _fifty(alice, charlie):
    from cegah.activities.actions import ActivityCleaner, clean_activity, write_activity

    make_intervention()
    cleaner = ActivityCleaner(alice)
    for i in range(50):
        cleaned, errors = clean_activity(alice, {
            "title": f"Talk {i}", "intervention": SLUG, "areas": [TEBET, "31.74.01.1002"],
            "starts_on": dt.date(2025, 1, 1) + dt.timedelta(days=i), "audience": "adolescents",
            "girls_12_17": 3, "partners": [charlie.organisation_id] if i % 2 else [],
            "officers": [alice.pk], "cost": 1000}, cleaner=cleaner)
        assert not errors, errors
        write_activity(alice, cleaned)


def test_the_list_makes_a_fixed_number_of_queries_for_the_lead(
        alice, charlie, django_assert_max_num_queries):
    _fifty(alice, charlie)
    client = client_for(alice)
    client.get(URL)  # the session and the user, once
    with django_assert_max_num_queries(12):
        status, body = get(client, URL, area="31.74.01")
    assert status == 200 and body["count"] == 50 and len(body["items"]) == 50
    assert all(i["details"] for i in body["items"])


def test_the_list_makes_a_fixed_number_of_queries_for_others(
        alice, charlie, org_jatim, operator, django_assert_max_num_queries):
    from tests.conftest import make_user

    _fifty(alice, charlie)
    outsider = make_user(operator, "jatim", org_jatim, "manager")
    for user, with_details in ((charlie, 25), (outsider, 0)):
        client = client_for(user)
        client.get(URL)
        with django_assert_max_num_queries(12):
            status, body = get(client, URL)
        assert status == 200 and body["count"] == 50
        assert sum(i["details"] for i in body["items"]) == with_details


def test_a_page_past_the_last_is_empty(recorded, alice):
    client = client_for(alice)
    status, body = get(client, URL, page_size=2, page=3)
    assert status == 200 and (body["count"], body["page"], body["pages"]) == (3, 3, 2)
    assert body["items"] == []
    status, body = get(client, URL, page_size=0, page=-4)  # clamped to page 1 of 1 each
    assert status == 200 and body["page"] == 1 and len(body["items"]) == 1
    status, body = get(client, f"{URL}/venues", page=9)
    assert status == 200 and body["items"] == [] and body["count"] == 2
