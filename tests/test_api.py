"""The JSON API: authentication, scoping by the policy module, disclosure control."""

from __future__ import annotations

import pytest
from django.test import Client

from cegah.accounts.actions import do_create_api_token
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


def get(client, url, **headers):
    response = client.get(url, **headers)
    return response.status_code, (response.json() if response.content else None)


def test_anonymous_callers_are_refused(scored_jaksel):
    status, _ = get(Client(), "/api/v1/risk/areas?parent=31.74")
    assert status == 401


def test_a_token_authenticates_and_a_bad_one_does_not(scored_jaksel, bob, operator):
    token = do_create_api_token(operator, bob, "script")
    status, body = get(Client(), "/api/v1/risk/areas?parent=31.74",
                       HTTP_AUTHORIZATION=f"Bearer {token}")
    assert status == 200 and body["count"] == 10
    status, _ = get(Client(), "/api/v1/risk/areas?parent=31.74",
                    HTTP_AUTHORIZATION="Bearer cgh_not-a-token")
    assert status == 401


def test_a_token_notes_its_use_at_most_once_a_minute(scored_jaksel, bob, operator):
    from datetime import timedelta

    from cegah.accounts.models import ApiToken

    token = do_create_api_token(operator, bob, "script")
    row = ApiToken.objects.get(user=bob)
    assert row.last_used_at is None
    url, auth = "/api/v1/areas/31.74", {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    assert get(Client(), url, **auth)[0] == 200
    row.refresh_from_db()
    used = row.last_used_at
    assert used is not None
    assert get(Client(), url, **auth)[0] == 200
    row.refresh_from_db()
    assert row.last_used_at == used  # no write within the minute
    ApiToken.objects.filter(pk=row.pk).update(last_used_at=used - timedelta(minutes=2))
    assert get(Client(), url, **auth)[0] == 200
    row.refresh_from_db()
    assert row.last_used_at > used - timedelta(minutes=1)


def test_a_token_stops_working_when_its_user_or_organisation_is_deactivated(
        scored_jaksel, bob, operator):
    token = do_create_api_token(operator, bob, "script")
    url, auth = "/api/v1/areas/31.74", {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    assert get(Client(), url, **auth)[0] == 200
    bob.organisation.is_active = False
    bob.organisation.save()
    assert get(Client(), url, **auth)[0] == 404  # signed in, but sees nothing
    bob.organisation.is_active = True
    bob.organisation.save()
    bob.is_active = False
    bob.save()
    assert get(Client(), url, **auth)[0] == 401


def test_entitled_users_see_counts_and_scores(scored_jaksel, alice):
    status, body = get(client_for(alice), "/api/v1/risk/areas?parent=31.74")
    assert status == 200 and body["run"]["as_of"] == "2026-10"
    assert len(body["items"]) == 10
    for item in body["items"]:
        assert item["entitled"] is True
        assert item["cases"] is not None and item["score"] is not None
        assert item["children"] is not None
        assert item["tier"] in ("high", "moderate", "low")


def test_others_see_tiers_and_protected_counts_only(scored_jaksel, charlie):
    status, body = get(client_for(charlie), "/api/v1/risk/areas?level=village&page_size=1000")
    assert status == 200 and body["count"] > 50
    for item in body["items"]:
        assert item["entitled"] is False
        assert item["score"] is None and item["children"] is None
        assert item["smoothed_rate"] is None and item["flags"] == []
        assert item["cases"] is None or item["cases"] == 0 or item["cases"] >= 5
        for label in item["categories"].values():
            assert label in ("0", "<5", "x") or int(label) >= 5
        assert item["tier"] in ("high", "moderate", "low", "unknown")


def test_one_area_in_detail_with_its_parent_and_siblings(scored_jaksel, alice, charlie):
    status, body = get(client_for(alice), "/api/v1/areas/31.74.01")
    assert status == 200
    assert body["risk"]["code"] == "31.74.01" and body["parent"]["code"] == "31.74"
    assert len(body["siblings"]) == 10 and body["risk"]["drivers"] is not None
    status, body = get(client_for(charlie), "/api/v1/areas/31.74.01")
    assert status == 200 and body["risk"]["score"] is None
    status, _ = get(client_for(alice), "/api/v1/areas/99.99")
    assert status == 404


def test_pages_are_limited_and_numbered(scored_jaksel, alice):
    status, body = get(client_for(alice), "/api/v1/risk/areas?level=village&page_size=7&page=2")
    assert status == 200 and len(body["items"]) == 7 and body["page"] == 2
    assert body["pages"] == -(-body["count"] // 7)


def test_the_openapi_schema_documents_both_endpoints(db):
    response = Client().get("/api/v1/openapi.json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    assert "/api/v1/risk/areas" in paths and "/api/v1/areas/{code}" in paths
