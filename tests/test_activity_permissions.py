"""The permission matrix of the activity registry.

Who: alice (manager, South Jakarta police), bob (viewer, same unit), dina (data entry,
same unit), charlie (manager, an NGO in Manado), a system admin, and an anonymous visitor.
What: the list, details of done, planned and joint activities, recording, editing,
cancelling, deleting and downloading attachments. "Forbidden" answers 404, exactly like
"missing"; anonymous visitors are sent to the login page.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from cegah.accounts.models import Role
from cegah.activities.actions import do_add_attachment, do_record_activity, write_activity
from cegah.activities.models import Activity
from cegah.areas.models import Area
from tests.conftest import client_for, make_user
from tests.test_activities import PDF, base_data, make_intervention, quick_post

VILLAGE = "31.74.01.1001"
USERS = ("alice", "bob", "dina", "charlie", "sysadmin", "anonymous")


@pytest.fixture
def world(db, operator, alice, bob, charlie, sysadmin, org_jaksel, org_manado, org_jatim):
    make_intervention("school-talk", "School talk")
    dina = make_user(operator, "dina", org_jaksel, Role.DATA_ENTRY)
    done = do_record_activity(alice, base_data(title="Done in Jaksel"))
    planned = do_record_activity(alice, base_data(
        title="Planned in Jaksel", status="planned", girls_12_17=0, boys_12_17=0,
        starts_on=timezone.localdate() + dt.timedelta(days=30)))
    joint = do_record_activity(alice, base_data(title="Joint with Manado",
                                                partners=[org_manado.pk]))
    by_dina = do_record_activity(dina, base_data(title="Recorded by dina"))
    # Planned by an organisation working elsewhere, in an area of South Jakarta: alice's
    # unit sees it (it works there) without taking part; charlie's NGO does not.
    planned_elsewhere, _o, _n = write_activity(operator, {
        "title": "Planned by Jatim in Jaksel", "lead_organisation": org_jatim,
        "status": "planned", "starts_on": timezone.localdate(), "audience": "parents",
        "areas": [Area.objects.get(pk=VILLAGE)]})
    attachments = {a.pk: do_add_attachment(alice, a, "sheet.pdf", PDF) for a in (done, joint)}
    clients = {"alice": client_for(alice), "bob": client_for(bob), "dina": client_for(dina),
               "charlie": client_for(charlie), "sysadmin": client_for(sysadmin),
               "anonymous": Client()}
    return {"clients": clients, "done": done, "planned": planned, "joint": joint,
            "by_dina": by_dina, "planned_elsewhere": planned_elsewhere,
            "attachments": attachments}


def _expect(world, user: str, url: str, allowed: set[str], method: str = "get") -> None:
    response = getattr(world["clients"][user], method)(url)
    if user == "anonymous":
        assert response.status_code == 302 and "/accounts/login/" in response["Location"], url
    elif user in allowed:
        assert response.status_code in (200, 302), (user, url, response.status_code)
    else:
        assert response.status_code == 404, (user, url, response.status_code)


@pytest.mark.parametrize("user", USERS)
def test_the_list_shows_what_each_user_may_see(world, user):
    _expect(world, user, "/activities/", {"alice", "bob", "dina", "charlie", "sysadmin"})
    if user == "anonymous":
        return
    titles = {a.title for a in world["clients"][user].get("/activities/").context["page"]}
    everyone = {"Done in Jaksel", "Joint with Manado", "Recorded by dina"}
    expected = {
        "alice": everyone | {"Planned in Jaksel", "Planned by Jatim in Jaksel"},
        "bob": everyone | {"Planned in Jaksel", "Planned by Jatim in Jaksel"},
        "dina": everyone | {"Planned in Jaksel", "Planned by Jatim in Jaksel"},
        "charlie": everyone,
        "sysadmin": everyone | {"Planned in Jaksel", "Planned by Jatim in Jaksel"},
    }[user]
    assert titles == expected


# (activity, who sees the page, who sees the details, who may edit)
DETAIL_MATRIX = [
    ("done", {"alice", "bob", "dina", "charlie", "sysadmin"}, {"alice", "bob", "dina",
                                                              "sysadmin"},
     {"alice", "sysadmin"}),
    ("planned", {"alice", "bob", "dina", "sysadmin"}, {"alice", "bob", "dina", "sysadmin"},
     {"alice", "sysadmin"}),
    ("planned_elsewhere", {"alice", "bob", "dina", "sysadmin"}, {"sysadmin"}, {"sysadmin"}),
    ("joint", {"alice", "bob", "dina", "charlie", "sysadmin"},
     {"alice", "bob", "dina", "charlie", "sysadmin"}, {"alice", "sysadmin"}),
    ("by_dina", {"alice", "bob", "dina", "charlie", "sysadmin"},
     {"alice", "bob", "dina", "sysadmin"}, {"alice", "dina", "sysadmin"}),
]


@pytest.mark.parametrize("user", USERS)
@pytest.mark.parametrize(("key", "sees", "details", "edits"), DETAIL_MATRIX)
def test_detail_and_edit_pages_follow_the_policy(world, user, key, sees, details, edits):
    activity = world[key]
    url = f"/activities/{activity.pk}/"
    _expect(world, user, url, sees)
    if user in sees:
        body = world["clients"][user].get(url).content.decode()
        assert ('id="activity-details"' in body) == (user in details), (user, key)
        assert ('id="edit-link"' in body) == (user in edits), (user, key)
    _expect(world, user, f"{url}edit/", edits)
    _expect(world, user, f"{url}delete/", edits)


@pytest.mark.parametrize("user", USERS)
def test_a_missing_activity_looks_like_a_forbidden_one(world, user):
    _expect(world, user, "/activities/999999/", set())
    _expect(world, user, "/activities/999999/edit/", set())


@pytest.mark.parametrize("user", USERS)
def test_who_may_record(world, user):
    _expect(world, user, "/activities/new/", {"alice", "dina", "charlie", "sysadmin"})
    # The quick form records for one's own organisation: not for a system admin.
    _expect(world, user, "/activities/quick/", {"alice", "dina", "charlie"})
    before = Activity.objects.count()
    response = world["clients"][user].post("/activities/quick/", quick_post())
    saved = Activity.objects.count() - before
    # Charlie may record, but not in South Jakarta: the form answers with an error.
    assert saved == (1 if user in {"alice", "dina"} else 0), user
    if user == "charlie":
        assert response.status_code == 200
        assert "area_code" in response.context["form"].errors


@pytest.mark.parametrize("user", USERS)
def test_who_may_cancel_and_delete(world, user):
    planned, done = world["planned"], world["done"]
    response = world["clients"][user].post(f"/activities/{planned.pk}/cancel/", {})
    planned.refresh_from_db()
    if user in {"alice", "sysadmin"}:
        assert response.status_code == 302 and planned.status == "cancelled"
    else:
        assert response.status_code in (302, 404) and planned.status == "planned"
        assert response.status_code == (302 if user == "anonymous" else 404)
    response = world["clients"][user].post(f"/activities/{done.pk}/delete/")
    exists = Activity.objects.filter(pk=done.pk).exists()
    assert exists == (user not in {"alice", "sysadmin"}), user
    if exists:
        assert response.status_code == (302 if user == "anonymous" else 404)


@pytest.mark.parametrize("user", USERS)
@pytest.mark.parametrize(("key", "allowed"), [
    ("done", {"alice", "bob", "dina", "sysadmin"}),
    ("joint", {"alice", "bob", "dina", "charlie", "sysadmin"}),
])
def test_who_may_download_attachments(world, user, key, allowed):
    activity = world[key]
    attachment = world["attachments"][activity.pk]
    url = f"/activities/{activity.pk}/attachments/{attachment.pk}/"
    _expect(world, user, url, allowed)
    response = world["clients"][user].get(url)
    if user in allowed:
        assert response["Content-Disposition"].startswith("attachment;")
    # Nobody but the lead's editors adds or removes files; the others get 404.
    if user not in {"alice", "sysadmin", "anonymous"}:
        assert world["clients"][user].post(f"{url}remove/").status_code == 404
        assert activity.attachments.count() == 1


def test_details_reach_nobody_else_through_any_path(world, alice, charlie, org_jaksel):
    """Cost, notes, named officers, outcomes and files of an activity charlie's NGO does
    not take part in: on no page, API answer or export of his. Materials are shared
    (cegah.policy), on the page as in the API and the export."""
    from cegah.activities.actions import activity_to_data, do_update_activity

    alice.first_name, alice.last_name = "Officerfirst", "Officerlast"
    alice.save()
    done = world["done"]
    data = activity_to_data(done)
    data.update(notes="SECRETNOTE", cost="98765431", outcomes={"SECRETOUTCOME": 7},
                officers=[alice.pk], officer_count=1, officer_hours=None,
                materials="SHAREDLEAFLET")
    do_update_activity(alice, done, data)
    client = world["clients"]["charlie"]
    secrets = ("SECRETNOTE", "98765431", "SECRETOUTCOME", "Officerfirst", "Officerlast",
               alice.username, "sheet.pdf")
    bodies = {
        "list": client.get("/activities/").content.decode(),
        "detail": client.get(f"/activities/{done.pk}/").content.decode(),
        "api list": client.get("/api/v1/activities").content.decode(),
        "api detail": client.get(f"/api/v1/activities/{done.pk}").content.decode(),
        "area page": client.get("/areas/31.74.01/").content.decode(),
        "export": client.get("/activities/export/", {"format": "csv"}).content.decode(),
    }
    for path, body in bodies.items():
        assert not [s for s in secrets if s in body], path
    assert "SHAREDLEAFLET" in bodies["detail"] and "SHAREDLEAFLET" in bodies["api detail"]
    assert "SHAREDLEAFLET" in bodies["export"]
    # Alice's unit sees them all.
    mine = world["clients"]["alice"].get(f"/activities/{done.pk}/").content.decode()
    assert all(s in mine for s in ("SECRETNOTE", "SECRETOUTCOME", "Officerfirst",
                                   "sheet.pdf", "SHAREDLEAFLET"))


def test_a_planned_activity_for_a_whole_region_shows_to_units_inside_it(
        db, operator, org_jatim, org_manado):
    from cegah import policy
    from cegah.accounts.actions import do_save_organisation
    from cegah.accounts.models import OrganisationType

    make_intervention("school-talk", "School talk")
    district_unit, _ = do_save_organisation(actor=operator, name="Polsek Tebet",
                                            type=OrganisationType.POLICE,
                                            jurisdiction=["31.74.09"])
    officer = make_user(operator, "polsek", district_unit, Role.MANAGER)
    outsider = make_user(operator, "manado", org_manado, Role.MANAGER)
    campaign, _o, _n = write_activity(operator, {
        "title": "South Jakarta campaign", "lead_organisation": org_jatim,
        "status": "planned", "starts_on": timezone.localdate(), "audience": "parents",
        "areas": [Area.objects.get(pk="31.74")]})
    assert policy.visible_activities(officer).filter(pk=campaign.pk).exists()
    assert not policy.visible_activities(outsider).filter(pk=campaign.pk).exists()
