"""Organisation admins manage their own organisation's people, and nobody else's."""

import pytest

from cegah.accounts.models import Role, User
from cegah.audit.models import AuditEvent
from tests.conftest import client_for, make_user

NEW = {"username": "sari", "full_name": "Sari", "email": "sari@example.org",
       "role": Role.DATA_ENTRY, "is_active": "on", "password": "a-good-long-password-1"}


@pytest.fixture
def admin_a(operator, org_jaksel):
    return make_user(operator, "admin-a", org_jaksel, Role.ORG_ADMIN)


def test_an_org_admin_adds_a_person_to_their_organisation(admin_a, org_jaksel):
    resp = client_for(admin_a, "en").post("/accounts/people/new/", NEW)
    assert resp.status_code == 302
    sari = User.objects.get(username="sari")
    assert sari.organisation == org_jaksel and sari.role == Role.DATA_ENTRY
    assert sari.check_password(NEW["password"]) and not sari.is_staff
    event = AuditEvent.objects.get(object_type="user", object_key="sari", action="create")
    assert event.actor_label == "admin-a" and event.new["password"] == "changed"


def test_an_org_admin_cannot_create_system_admins_or_weak_passwords(admin_a):
    client = client_for(admin_a, "en")
    page = client.post("/accounts/people/new/", NEW | {"role": Role.SYSTEM_ADMIN})
    assert page.status_code == 200 and not User.objects.filter(username="sari").exists()
    weak = client.post("/accounts/people/new/", NEW | {"password": "12345"})
    assert weak.status_code == 200 and "too short" in weak.content.decode()
    taken = client.post("/accounts/people/new/", NEW | {"username": "admin-a"})
    assert "taken" in taken.content.decode()


def test_an_org_admin_edits_only_their_own_people(admin_a, bob, charlie, sysadmin):
    client = client_for(admin_a, "en")
    resp = client.post(f"/accounts/people/{bob.pk}/", {
        "full_name": "Bob", "email": "", "role": Role.MANAGER, "is_active": ""})
    assert resp.status_code == 302
    bob.refresh_from_db()
    assert bob.role == Role.MANAGER and not bob.is_active
    assert client.get(f"/accounts/people/{charlie.pk}/").status_code == 404
    assert client.get(f"/accounts/people/{sysadmin.pk}/").status_code == 404
    assert client.get("/accounts/people/99999/").status_code == 404


def test_nobody_demotes_themselves(admin_a):
    client = client_for(admin_a, "en")
    resp = client.post(f"/accounts/people/{admin_a.pk}/", {
        "full_name": "", "email": "", "role": Role.VIEWER, "is_active": "on"})
    assert resp.status_code == 200 and "own role" in resp.content.decode()
    admin_a.refresh_from_db()
    assert admin_a.role == Role.ORG_ADMIN


def test_other_roles_cannot_manage_people(alice, bob):
    for user in (alice, bob):
        client = client_for(user, "en")
        assert client.get("/accounts/people/new/").status_code == 404
        assert client.post("/accounts/people/new/", NEW).status_code == 404
        assert client.get(f"/accounts/people/{bob.pk}/").status_code == 404
    assert not User.objects.filter(username="sari").exists()
