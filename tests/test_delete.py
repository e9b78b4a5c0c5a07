"""Deleting protected data: scoped by the policy, audited value by value."""

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied

from cegah.audit.models import AuditEvent
from cegah.cases.actions import do_delete_data, do_import
from cegah.cases.models import CaseCount
from tests.test_smoke_cli import run_cli

CSV = (b"code,period,category,count\n"
       b"31.74.01.1001,2026-01,sexual_abuse,4\n"
       b"31.74.01.1001,2026-02,sexual_abuse,5\n"
       b"31.74.02.1001,2026-02,trafficking,2\n"
       b"71.71.01.1001,2026-02,trafficking,7\n")


@pytest.fixture
def data(db, operator):
    batch, plan = do_import(operator, "cases", CSV, "d.csv")
    assert plan.validated.ok


def test_it_deletes_a_subtree_within_a_period_and_audits_each_value(data, alice):
    n = do_delete_data(alice, "cases", "31.74.01", start=dt.date(2026, 2, 1))
    assert n == 1
    left = set(CaseCount.objects.values_list("area_id", "period", "count"))
    assert left == {("31.74.01.1001", dt.date(2026, 1, 1), 4),
                    ("31.74.02.1001", dt.date(2026, 2, 1), 2),
                    ("71.71.01.1001", dt.date(2026, 2, 1), 7)}
    event = AuditEvent.objects.get(action="delete", object_key="31.74.01.1001/2026-02/sexual_abuse")
    assert event.old == {"count": 5, "source": ""} and event.new is None
    assert event.actor_label == "alice"


def test_it_refuses_to_delete_outside_the_jurisdiction(data, alice, bob):
    with pytest.raises(PermissionDenied):
        do_delete_data(alice, "cases", "71.71")
    with pytest.raises(PermissionDenied):
        do_delete_data(bob, "cases", "31.74")  # a viewer may not change data
    assert CaseCount.objects.count() == 4


def test_the_cli_deletes_with_audit_and_refuses_unknown_areas(cli_env):  # noqa: F811
    assert run_cli("init", env_extra=cli_env).returncode == 0
    assert run_cli("areas", "load", "--only", "31.74", env_extra=cli_env).returncode == 0
    path = cli_env["CEGAH_VAR_DIR"] + "/d.csv"
    with open(path, "wb") as fh:
        fh.write(CSV.replace(b"71.71.01.1001,2026-02,trafficking,7\n", b""))
    assert run_cli("import", "cases", path, env_extra=cli_env).returncode == 0
    unknown = run_cli("delete", "cases", "--area", "99.99", env_extra=cli_env)
    assert unknown.returncode == 2 and "no area with code '99.99'" in unknown.stderr
    bad = run_cli("delete", "cases", "--area", "31.74", "--from", "2026/02", env_extra=cli_env)
    assert bad.returncode != 0 and "expected YYYY-MM" in bad.stderr
    done = run_cli("delete", "cases", "--area", "31.74", "--from", "2026-02",
                   env_extra=cli_env)
    assert done.returncode == 0 and "deleted 2 cases value(s) under 31.74" in done.stdout
