"""The permission matrix: every role of three organisations against every view and export.

Three organisations with disjoint jurisdictions each hold case counts with a distinctive
total; a user must see exactly their organisation's data, and get "not found" (404) for
whatever their role or jurisdiction does not allow.
"""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import translation

from cegah import policy
from cegah.accounts.models import Role
from cegah.cases.actions import do_import
from cegah.cases.models import CaseCount
from tests.conftest import client_for, make_user

# Organisation fixture, an area in its jurisdiction, the distinctive 12-month total there.
ORGS = {
    "jaksel": ("org_jaksel", "31.74.01.1001", 4111),
    "manado": ("org_manado", "71.71.01.1001", 4222),
    "jatim": ("org_jatim", "35.17.01.2001", 4333),
}
ROLES = [Role.VIEWER, Role.DATA_ENTRY, Role.MANAGER, Role.ORG_ADMIN]
CAN_IMPORT = {Role.DATA_ENTRY, Role.MANAGER, Role.ORG_ADMIN}
CAN_EXPORT = {Role.MANAGER, Role.ORG_ADMIN}
CAN_MANAGE = {Role.ORG_ADMIN}


@pytest.fixture
def world(db, operator, org_jaksel, org_manado, org_jatim):
    """Three organisations with one user per role, their data and one import each."""
    users, imports = {}, {}
    orgs = {"jaksel": org_jaksel, "manado": org_manado, "jatim": org_jatim}
    for key, (_fixture, village, total) in ORGS.items():
        org = orgs[key]
        for role in ROLES:
            users[(key, role)] = make_user(operator, f"{key}-{role}", org, role)
        csv = f"code,period,category,count\n{village},2026-01,sexual_abuse,{total}\n"
        batch, plan = do_import(users[(key, Role.DATA_ENTRY)], "cases", csv.encode(),
                                f"{key}.csv")
        assert plan.validated.ok, plan.validated.errors
        imports[key] = batch
    return {"users": users, "imports": imports, "orgs": orgs}


def _status(client: Client, url: str) -> int:
    return client.get(url).status_code


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("org_key", list(ORGS))
def test_each_role_sees_exactly_its_entitlement(world, org_key, role):
    user = world["users"][(org_key, role)]
    client = client_for(user)

    # Home: the 12-month summary holds the own total and nobody else's.
    home = client.get("/")
    assert home.status_code == 200
    body = home.content.decode()
    for other, (_f, _v, total) in ORGS.items():
        shown = f"{total:,}".replace(",", ".") in body
        assert shown == (other == org_key), (other, org_key, role)

    # Area pages: public names for all; the data section only in the own jurisdiction.
    for other, (_f, village, _total) in ORGS.items():
        page = client.get(f"/areas/{village}/")
        assert page.status_code == 200
        assert ('id="area-data"' in page.content.decode()) == (other == org_key)
    assert _status(client, "/areas/99.99/") == 404

    # Imports: list and form for importing roles; details of the own organisation only.
    expected = 200 if role in CAN_IMPORT else 404
    assert _status(client, "/data/imports/") == expected
    assert _status(client, "/data/imports/new/") == expected
    for other, batch in world["imports"].items():
        want = 200 if (role in CAN_IMPORT and other == org_key) else 404
        assert _status(client, f"/data/imports/{batch.pk}/") == want, (other, role)
    assert _status(client, "/data/imports/999999/") == 404

    # Exports: exporting roles, own jurisdiction only; rows are scoped by the policy.
    expected = 200 if role in CAN_EXPORT else 404
    assert _status(client, "/data/export/") == expected
    full = client.get("/data/export/?kind=cases&format=csv")
    assert full.status_code == expected
    if expected == 200:
        text = full.content.decode("utf-8-sig")
        for other, (_f, village, _t) in ORGS.items():
            assert (village in text) == (other == org_key)
    for other, (_f, village, _t) in ORGS.items():
        area = village[:5]
        want = 200 if (role in CAN_EXPORT and other == org_key) else 404
        resp = client.get(f"/data/export/?kind=cases&format=xlsx&area={area}")
        assert resp.status_code == want, (other, role)

    # People and audit trail: organisation admins, for their own organisation.
    expected = 200 if role in CAN_MANAGE else 404
    people = client.get("/accounts/people/")
    assert people.status_code == expected
    if expected == 200:
        text = people.content.decode()
        for other in ORGS:
            assert (f"{other}-viewer" in text) == (other == org_key)
    assert _status(client, "/audit/") == expected

    # Django admin: system admins only; everyone else gets "not found".
    assert _status(client, "/admin/") == 404
    assert _status(client, "/admin/accounts/user/") == 404


def test_system_admin_sees_everything(world, sysadmin):
    client = client_for(sysadmin)
    body = client.get("/").content.decode()
    grand_total = sum(total for _f, _v, total in ORGS.values())
    assert f"{grand_total:,}".replace(",", ".") in body
    for batch in world["imports"].values():
        assert _status(client, f"/data/imports/{batch.pk}/") == 200
    text = client.get("/data/export/?kind=cases&format=csv").content.decode("utf-8-sig")
    assert all(village in text for _f, village, _t in ORGS.values())
    assert _status(client, "/admin/") == 200
    assert _status(client, "/admin/accounts/user/") == 200
    assert _status(client, "/audit/") == 200


def test_anonymous_visitors_are_sent_to_login(world):
    client = Client()
    for url in ["/", "/areas/", "/areas/31/", "/data/imports/", "/data/export/",
                "/accounts/people/", "/audit/", f"/data/imports/{world['imports']['jaksel'].pk}/"]:
        resp = client.get(url)
        assert resp.status_code == 302 and "/accounts/login/" in resp["Location"], url
    admin = client.get("/admin/")
    assert admin.status_code == 302 and "/accounts/login/" in admin["Location"]
    assert client.get("/healthz").status_code == 200


def test_other_organisations_cannot_confirm_or_discard_an_upload(world, alice, charlie):
    from cegah.cases.actions import do_preview_import

    csv = b"code,period,category,count\n31.74.01.1001,2026-02,trafficking,3\n"
    batch = do_preview_import(alice, "cases", csv, "feb.csv")
    outsider = client_for(charlie)
    assert outsider.post(f"/data/imports/{batch.pk}/confirm/").status_code == 404
    assert outsider.post(f"/data/imports/{batch.pk}/discard/").status_code == 404
    assert not CaseCount.objects.filter(period="2026-02-01").exists()


def test_an_inactive_organisation_loses_access(world):
    user = world["users"][("jaksel", Role.MANAGER)]
    org = world["orgs"]["jaksel"]
    org.is_active = False
    org.save()
    user.refresh_from_db()
    assert not policy.has_capability(user, policy.Capability.VIEW_DATA)
    assert policy.visible_data(user, CaseCount).count() == 0
    client = client_for(user)
    assert _status(client, "/data/export/") == 404
    assert 'id="area-data"' not in client.get("/areas/31.74.01.1001/").content.decode()


def test_imports_outside_the_jurisdiction_are_refused(world):
    user = world["users"][("manado", Role.DATA_ENTRY)]
    csv = b"code,period,category,count\n31.74.01.1001,2026-03,sexual_abuse,1\n"
    with translation.override("en"):
        batch, plan = do_import(user, "cases", csv, "wrong.csv")
    assert not plan.validated.ok
    assert "outside your organisation's jurisdiction" in plan.validated.errors[0].message
    assert not CaseCount.objects.filter(period="2026-03-01").exists()


def test_policy_scopes_querysets_by_subtree(world):
    user = world["users"][("jatim", Role.VIEWER)]
    codes = set(policy.visible_data(user, CaseCount).values_list("area_id", flat=True))
    assert codes == {"35.17.01.2001"}
    assert policy.can_view_area_data(user, "35")
    assert policy.can_view_area_data(user, "35.17.01")
    assert not policy.can_view_area_data(user, "31.74")
    assert not policy.can_view_area_data(user, "3")


def test_admin_changes_are_audited(world, sysadmin):
    from cegah.audit.models import AuditEvent

    client = client_for(sysadmin)
    for url in ["/admin/accounts/organisation/add/", "/admin/areas/area/?q=Tebet",
                "/admin/cases/importbatch/", "/admin/audit/auditevent/"]:
        assert client.get(url).status_code == 200, url
    target = world["users"][("jaksel", Role.VIEWER)]
    page = client.get(f"/admin/accounts/user/{target.pk}/change/")
    assert page.status_code == 200
    resp = client.post(f"/admin/accounts/user/{target.pk}/change/", {
        "username": target.username, "first_name": "", "last_name": "", "email": "",
        "organisation": target.organisation_id, "role": Role.MANAGER, "is_active": "on",
    })
    assert resp.status_code == 302, resp.content.decode()[:2000]
    target.refresh_from_db()
    assert target.role == Role.MANAGER and not target.is_staff
    event = AuditEvent.objects.filter(object_type="user", object_key=target.username).latest("id")
    assert event.old == {"role": "viewer"} and event.new == {"role": "manager"}
    assert event.actor_label == sysadmin.username
