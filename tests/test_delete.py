"""Deleting protected data: scoped by the policy, audited value by value."""

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied

from cegah.audit.models import AuditEvent
from cegah.cases.actions import do_delete_data, do_import
from cegah.cases.models import CaseCount

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
