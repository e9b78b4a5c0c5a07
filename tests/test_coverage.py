"""Coverage and gaps: activities, reach and officer-hours per area and period; the gap
list's order, rural marks and what each user may see; the gap page; the map's coverage
layer; the prevention section of the area page."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from django.test import Client
from django.utils import timezone

from cegah.activities.coverage import (
    area_coverage,
    child_areas,
    coverage_by_area,
    gap_list,
    months_before,
    period,
    rural_marks,
)
from cegah.activities.models import Activity
from cegah.areas.models import Area
from cegah.cases.models import Population
from cegah.catalogue.models import Intervention
from cegah.riskmap.models import AreaRisk, RiskRun
from tests.conftest import client_for

pytestmark = pytest.mark.django_db

AS_OF = dt.date(2026, 10, 31)
TEBET = ("31.74.01.1001", "31.74.01.1002")
SETIABUDI = "31.74.02.1001"


@pytest.fixture
def intervention(db):
    return Intervention.objects.create(
        slug="h4-test-school-session", name_id="Sesi sekolah (uji)", name_en="School session "
        "(test)", summary_id="-", summary_en="-", level="primary",
        evidence_strength="practice", source="case_study")


def activity(org, codes, day, *, status="done", girls=0, boys=0, hours=0, intervention=None,
             title="Sesi uji"):
    a = Activity.objects.create(
        title=title, lead_organisation=org, status=status, starts_on=day, audience="adolescents",
        girls_12_17=girls, boys_12_17=boys, officer_hours=hours, intervention=intervention)
    a.areas.set(codes)
    return a


@pytest.fixture
def activities(org_jaksel, org_manado, intervention):
    """Known activities in South Jakarta (and one in Manado), with child populations."""
    made = {
        # One activity in two villages of Tebet: once per village, once for Tebet.
        "joint": activity(org_jaksel, TEBET, dt.date(2026, 3, 1), girls=30, boys=20, hours=4,
                          intervention=intervention),
        "setiabudi": activity(org_jaksel, [SETIABUDI], dt.date(2026, 6, 1), girls=25, boys=15,
                              hours=2.5),
        # Before the period: only its date counts (the last activity).
        "old": activity(org_jaksel, ["31.74.03.1001"], dt.date(2025, 1, 15), girls=99),
        "planned": activity(org_jaksel, [TEBET[0]], dt.date(2026, 11, 20), status="planned"),
        "cancelled": activity(org_jaksel, [TEBET[0]], dt.date(2026, 5, 2), status="cancelled",
                              girls=7),
        "after": activity(org_jaksel, [TEBET[0]], dt.date(2026, 11, 2), girls=5),
        "manado": activity(org_manado, ["71.71.01.1001"], dt.date(2026, 4, 4), girls=12),
    }
    for code, year, children in ((TEBET[0], 2026, 2000), (TEBET[1], 2026, 3000),
                                 (TEBET[0], 2025, 1000), (TEBET[0], 2027, 99999),
                                 (SETIABUDI, 2025, 3000)):
        Population.objects.create(area_id=code, year=year, children=children)
    return made


def test_it_counts_the_period_up_to_the_day():
    assert months_before(dt.date(2026, 3, 31), 1) == dt.date(2026, 2, 28)
    p = period(12, AS_OF)
    assert (p.start, p.end, p.months) == (dt.date(2025, 10, 31), AS_OF, 12)
    with pytest.raises(ValueError, match="months"):
        period(0, AS_OF)


def test_it_sums_activities_reach_and_hours_per_district(activities, alice,
                                                         django_assert_max_num_queries):
    districts = child_areas(Area.objects.get(code="31.74"))
    with django_assert_max_num_queries(6):  # not one query per area
        cover = coverage_by_area(alice, districts, months=12, as_of=AS_OF)
    tebet, setiabudi, mampang = cover["31.74.01"], cover["31.74.02"], cover["31.74.03"]
    # The joint activity touches two villages of Tebet and counts once for Tebet.
    assert (tebet.activities, tebet.reached, tebet.officer_hours) == (1, 50, 4.0)
    assert tebet.reach_per_1000 == 10.0  # 50 of 2,000 + 3,000 children (2026, not 2027)
    assert tebet.interventions == [("h4-test-school-session", "School session (test)")]
    assert tebet.last_activity == dt.date(2026, 3, 1) and tebet.months_since_last == 7
    assert (setiabudi.activities, setiabudi.reached, setiabudi.officer_hours) == (1, 40, 2.5)
    assert setiabudi.reach_per_1000 == pytest.approx(13.3)  # 2025: the latest year up to 2026
    assert (mampang.activities, mampang.reached) == (0, 0)
    assert mampang.last_activity == dt.date(2025, 1, 15) and mampang.months_since_last == 21
    assert cover["31.74.04"].last_activity is None and cover["31.74.04"].reach_per_1000 is None
    assert sum(c.activities for c in cover.values()) == 2  # planned, cancelled, later: no


def test_it_counts_an_activity_once_for_every_village_it_touches(activities, alice):
    villages = child_areas(Area.objects.get(code="31.74.01"))
    cover = coverage_by_area(alice, villages, months=12, as_of=AS_OF)
    assert [(cover[c].activities, cover[c].reached) for c in TEBET] == [(1, 50), (1, 50)]
    assert cover[TEBET[0]].reach_per_1000 == 25.0 and cover[TEBET[1]].reach_per_1000 == 16.7
    assert area_coverage(alice, Area.objects.get(code="31.74"), as_of=AS_OF).activities == 2


def test_it_hides_the_rate_per_1000_children_from_charlie(activities, charlie, bob):
    cover = area_coverage(charlie, Area.objects.get(code="31.74.01"), as_of=AS_OF)
    assert (cover.activities, cover.reached, cover.officer_hours) == (1, 50, 4.0)
    assert cover.reach_per_1000 is None and cover.rate_visible is False
    own = area_coverage(charlie, Area.objects.get(code="71.71"), as_of=AS_OF)
    assert own.rate_visible is True and own.activities == 1
    # Bob may see his jurisdiction's data (the policy's rule for the rate).
    assert area_coverage(bob, Area.objects.get(code="31.74.01"), as_of=AS_OF).reach_per_1000 == 10


def test_it_marks_rural_villages_and_mostly_rural_districts(db):
    jombang = child_areas(Area.objects.get(code="35.17"))
    marks = rural_marks(jombang)
    assert marks["35.17.09"] is True  # 16 of its 20 villages are desa
    assert all(marks.values())
    town = child_areas(Area.objects.get(code="35.17.09"))
    marks = rural_marks(town)
    assert marks["35.17.09.1002"] is False and marks["35.17.09.2001"] is True
    assert not any(rural_marks(child_areas(Area.objects.get(code="31.74"))).values())
    assert rural_marks([Area.objects.get(code="35.17")]) == {"35.17": True}


# ----------------------------------------------------------------------------- gaps

DRIVERS = {"en": ["a port in the area", "rate 2.0× the regency's"],
           "id": ["ada pelabuhan", "laju 2,0× kabupaten/kota"],
           "kinds": ["factor:port", "parent_ratio"]}


def risk_run(tiers: dict[str, tuple[str, float]]) -> RiskRun:
    """A completed run with the given (tier, score) per area; others low."""
    run = RiskRun.objects.create(status="done", trigger="test", finished_at=timezone.now(),
                                 as_of="2026-10", parameters={"window": {
                                     "from": "2025-11", "to": "2026-10", "months": 12}})
    for code, (tier, score) in tiers.items():
        area = Area.objects.get(code=code)
        AreaRisk.objects.create(run=run, area=area, level=area.level,
                                parent_code=area.parent_id or "", cases=7,
                                cases_by_category={"sexual_abuse": 7}, tier=tier, score=score,
                                children=5000, confidence="medium", drivers=DRIVERS,
                                flags={"en": [], "id": []})
    return run


@pytest.fixture
def tiers(activities, org_jaksel):
    # Kebayoran Lama: moderate but well covered (5 activities): not a gap.
    for k in range(5):
        activity(org_jaksel, ["31.74.05.1001"], dt.date(2026, 2, 1 + k), girls=10)
    return risk_run({
        "31.74.01": ("high", 2.0),      # Tebet: 1 activity, 50 reached, 10.0 per 1,000
        "31.74.02": ("high", 1.6),      # Setiabudi: 1 activity, 40 reached, 13.3 per 1,000
        "31.74.03": ("moderate", 1.3),  # Mampang Prapatan: none in 12 months
        "31.74.04": ("high", 1.9),      # Pasar Minggu: none
        "31.74.05": ("moderate", 1.25),
        "31.74.06": ("low", 0.8),
        "31.74.07": ("high", 1.5),      # Kebayoran Baru: none
        "31.74.08": ("low", 0.9), "31.74.09": ("low", 0.7), "31.74.10": ("low", 0.6),
    })


def test_it_ranks_gaps_by_tier_coverage_rate_then_score_for_alice(tiers, alice):
    gaps = gap_list(alice, Area.objects.get(code="31.74"), months=12, as_of=AS_OF)
    assert gaps.considered == 6 and gaps.little == 4 and gaps.by_rate
    assert [g.code for g in gaps.rows] == ["31.74.04", "31.74.07", "31.74.01", "31.74.02",
                                           "31.74.03"]
    first = gaps.rows[0]
    assert first.score == 1.9 and first.drivers == DRIVERS["en"] or first.drivers == DRIVERS["id"]
    tebet = gaps.rows[2]
    assert tebet.coverage.reach_per_1000 == 10.0


def test_it_ranks_by_tier_and_coverage_only_for_charlie(tiers, charlie):
    gaps = gap_list(charlie, Area.objects.get(code="31.74"), months=12, as_of=AS_OF)
    # Without scores or rates: high before moderate, fewest activities, least reach,
    # then by name (Kebayoran Baru before Pasar Minggu, whatever their scores).
    assert [g.code for g in gaps.rows] == ["31.74.07", "31.74.04", "31.74.02", "31.74.01",
                                           "31.74.03"]
    assert not gaps.by_rate
    for g in gaps.rows:
        assert g.score is None and g.entitled is False
        assert g.coverage.reach_per_1000 is None
        assert len(g.drivers) == 1  # the factor; not the count-bearing ratio
        assert "per 1,000" not in g.why and "2.0×" not in g.why and "2,0×" not in g.why


def test_it_explains_why_each_area_is_listed(tiers, alice):
    from django.utils import translation

    with translation.override("en"):
        gaps = gap_list(alice, Area.objects.get(code="31.74"), months=12, as_of=AS_OF)
    why = {g.code: g.why for g in gaps.rows}
    assert why["31.74.04"].startswith("high risk, no prevention in 12 months; drivers: "
                                      "a port in the area")
    assert why["31.74.01"].startswith("high risk, 1 activity reaching 50 people; "
                                      "10.0 reached per 1,000 children")
    assert "last activity 21 months ago" in why["31.74.03"]
    assert why["31.74.03"].startswith("moderate risk, no prevention in 12 months")


def test_it_marks_rural_areas_in_the_gap_list(db, operator):
    from django.utils import translation

    risk_run({"35.17.09.1002": ("high", 2.0), "35.17.09.2001": ("high", 1.5)})
    with translation.override("en"):
        gaps = gap_list(operator, Area.objects.get(code="35.17.09"), as_of=AS_OF)
    rural = {g.code: g.coverage.rural for g in gaps.rows}
    assert rural == {"35.17.09.1002": False, "35.17.09.2001": True}
    assert "rural" in gaps.rows[1].why


def test_it_lists_nothing_without_a_risk_run(activities, alice):
    gaps = gap_list(alice, Area.objects.get(code="31.74"), as_of=AS_OF)
    assert gaps.run is None and gaps.rows == []


# ----------------------------------------------------------------------------- the page

def test_it_sends_anonymous_visitors_to_log_in():
    response = Client().get("/coverage/gaps/?parent=31.74")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_it_shows_alice_the_gap_list_with_scores_and_rates(tiers, alice):
    body = client_for(alice, "en").get("/coverage/gaps/?parent=31.74&months=24").content.decode()
    codes = re.findall(r'<tr id="gap-([\d.]+)"', body)
    assert codes[:2] == ["31.74.04", "31.74.07"]  # 24 months: the old activity still out
    assert "Per 1,000 children" in body and ">Score<" in body
    assert 'href="/areas/31.74.04/"' in body and 'href="/activities/?area=31.74.04"' in body
    assert 'data-rural="1"' not in body


def test_it_shows_bob_scores_only_if_viewers_may_see_counts(tiers, bob):
    from django.test import override_settings

    body = client_for(bob, "en").get("/coverage/gaps/?parent=31.74").content.decode()
    assert "Per 1,000 children" in body and ">Score<" in body
    with override_settings(VIEWERS_SEE_COUNTS=False):
        body = client_for(bob, "en").get("/coverage/gaps/?parent=31.74").content.decode()
    assert "Per 1,000 children" in body and ">Score<" not in body
    assert re.findall(r'<tr id="gap-([\d.]+)"', body)[0] == "31.74.07"  # no score order


def test_it_shows_charlie_tiers_and_activities_only(tiers, charlie):
    body = client_for(charlie, "en").get("/coverage/gaps/?parent=31.74").content.decode()
    assert re.findall(r'<tr id="gap-([\d.]+)"', body)[0] == "31.74.07"
    assert "Per 1,000 children" not in body and ">Score<" not in body
    assert "a port in the area" in body and "2.0×" not in body


def test_it_opens_on_the_users_own_area_and_checks_the_parent(tiers, alice, charlie):
    client = client_for(alice, "en")
    assert 'value="31.74"' in client.get("/coverage/gaps/").content.decode()
    assert client.get("/coverage/gaps/?parent=99.99").status_code == 404
    body = client.get("/coverage/gaps/?parent=31.74.01.1001").content.decode()
    assert "A village has no sub-areas" in body
    body = client.get("/coverage/gaps/?parent=31.74&level=village").content.decode()
    assert "No high- or moderate-risk areas here" in body  # the run has no village rows
    body = client_for(charlie, "en").get("/coverage/gaps/?parent=71.71").content.decode()
    assert "No high- or moderate-risk areas here" in body


# ----------------------------------------------------------------------------- map, area page

def test_it_adds_the_coverage_layer_to_map_json_and_renews_its_etag(tiers, activities, alice,
                                                                    org_jaksel):
    from cegah.riskmap.views import MAP_DATA_CACHE

    MAP_DATA_CACHE.clear()
    size = 0.01
    for k, code in enumerate(f"31.74.{d:02d}" for d in range(1, 11)):
        ring = [[106.8 + k * size, -6.2], [106.81 + k * size, -6.2],
                [106.81 + k * size, -6.19], [106.8 + k * size, -6.2]]
        Area.objects.filter(code=code).update(
            geometry=json.dumps({"type": "Polygon", "coordinates": [ring]}))
    client = client_for(alice)
    first = client.get("/risk/map.json?parent=31.74")
    props = {f["id"]: f["properties"] for f in first.json()["features"]}
    today = dt.date.today()
    start = months_before(today, 12)
    expected = sum(start < a.starts_on <= today for k, a in activities.items()
                   if k in ("joint", "after"))  # the done ones in Tebet
    assert props["31.74.01"]["activities"] == expected
    assert props["31.74.04"]["activities"] == 0 and props["31.74.04"]["reached"] == 0
    activity(org_jaksel, ["31.74.04.1001"], today, girls=9)
    second = client.get("/risk/map.json?parent=31.74", HTTP_IF_NONE_MATCH=first["ETag"])
    assert second.status_code == 200 and second["ETag"] != first["ETag"]
    props = {f["id"]: f["properties"] for f in second.json()["features"]}
    assert (props["31.74.04"]["activities"], props["31.74.04"]["reached"]) == (1, 9)
    page = client_for(alice, "en").get("/risk/?area=31.74&layer=coverage").content.decode()
    config = json.loads(re.search(r'id="risk-config" type="application/json">(.*?)</script>',
                                  page).group(1))
    assert config["layer"] == "coverage"
    assert config["layers"]["coverage"]["breaks"] == [1, 2, 5]
    assert 'data-layer="coverage"' in page and "5 or more activities" in page
    MAP_DATA_CACHE.clear()


def test_it_adds_a_coverage_column_to_the_map_table(tiers, charlie):
    body = client_for(charlie, "en").get("/risk/?area=31.74").content.decode()
    assert "Prevention, 12 months" in body
    cells = dict(re.findall(r'<tr id="row-([\d.]+)".*?data-activities="(\d+)"', body, re.S))
    assert len(cells) == 10 and cells["31.74.04"] == "0"


def test_it_shows_prevention_on_the_area_page(activities, alice, charlie, org_jaksel):
    from tests.test_risk_pages import section

    today = dt.date.today()
    activities["after"] = activity(org_jaksel, [TEBET[1]], today - dt.timedelta(days=3))
    activities["planned"] = activity(org_jaksel, [TEBET[1]], today + dt.timedelta(days=9),
                                     status="planned")
    body = client_for(alice, "en").get("/areas/31.74.01/").content.decode()
    prevention = section(body, "area-prevention")
    assert "Prevention work" in prevention and 'id="area-coverage"' in prevention
    assert 'id="area-record-activity"' in prevention and "/activities/quick/" in prevention
    assert f'href="/activities/{activities["after"].pk}/"' in prevention  # latest
    assert f'href="/activities/{activities["planned"].pk}/"' in prevention  # planned
    assert "Reached per 1,000 children" in prevention
    assert "/coverage/gaps/?parent=31.74.01" in prevention
    body = client_for(charlie, "en").get("/areas/31.74.01/").content.decode()
    prevention = section(body, "area-prevention")
    assert "Reached per 1,000 children" not in prevention
    assert 'id="area-record-activity"' not in prevention
    assert f'href="/activities/{activities["planned"].pk}/"' not in prevention


# --- review fixes ----------------------------------------------------------------------

def test_the_period_ends_on_todays_date_in_jakarta(monkeypatch):
    # 18:30 UTC on New Year's Day is 01:30 on 2 January in Jakarta.
    monkeypatch.setattr(timezone, "now", lambda: dt.datetime(2026, 1, 1, 18, 30,
                                                             tzinfo=dt.UTC))
    p = period(12)
    assert (p.start, p.end) == (dt.date(2025, 1, 2), dt.date(2026, 1, 2))


def test_the_area_page_opens_the_forms_on_its_area(activities, alice, sysadmin):
    from tests.test_risk_pages import section

    prevention = section(client_for(alice, "en").get("/areas/31.74.01/").content.decode(),
                         "area-prevention")
    assert 'href="/activities/quick/?area=31.74.01"' in prevention
    # A system admin belongs to no organisation: the full form, where they name the lead.
    prevention = section(client_for(sysadmin, "en").get("/areas/31.74.01/").content.decode(),
                         "area-prevention")
    assert 'href="/activities/new/?area=31.74.01"' in prevention
    assert client_for(sysadmin).get("/activities/new/?area=31.74.01").status_code == 200


def test_area_counts_leave_out_planned_activities_and_count_joint_ones_once(
        activities, alice, charlie, org_jaksel, org_manado):
    today = timezone.localdate()
    joint = activity(org_jaksel, list(TEBET), today, girls=10)
    joint.partners.set([org_manado])
    activity(org_jaksel, [TEBET[0]], today + dt.timedelta(days=5), status="planned")
    tebet = Area.objects.get(pk="31.74.01")
    for user in (alice, charlie):  # alice may see the planned one; it counts for neither
        cover = area_coverage(user, tebet, as_of=today)
        expected = list(Activity.objects.filter(
            status="done", starts_on__gt=months_before(today, 12), starts_on__lte=today,
            areas__code__startswith="31.74.01.").distinct())
        assert cover.activities == len(expected)
        assert cover.reached == sum(a.reached_total for a in expected)


def test_the_gap_list_takes_a_fixed_number_of_queries(
        tiers, alice, charlie, org_jaksel, django_assert_max_num_queries):
    for k in range(30):  # more activities, in many villages: no more queries
        activity(org_jaksel, ["31.74.04.1001", "31.74.07.1001"], dt.date(2026, 1, 1 + k))
    regency = Area.objects.get(code="31.74")
    for user in (alice, charlie):
        user.organisation  # noqa: B018 - loaded once per request anyway
        with django_assert_max_num_queries(12):
            gaps = gap_list(user, regency, level=3, months=12, as_of=AS_OF)
        assert gaps.considered == 6
        with django_assert_max_num_queries(12):
            gap_list(user, regency, level=4, months=12, as_of=AS_OF)


def test_it_shows_alice_the_coverage_of_every_district(tiers, alice):
    url = "/coverage/?parent=31.74&as_of=2026-10-31"
    body = client_for(alice, "en").get(url).content.decode()
    codes = re.findall(r'<tr id="cov-([\d.]+)"', body)
    assert len(codes) == 10 and codes[:4] == ["31.74.01", "31.74.02", "31.74.04", "31.74.07"]
    tebet = re.search(r'<tr id="cov-31.74.01".*?</tr>', body, re.S).group(0)
    cells = re.findall(r'<td class="num">([^<]*)</td>', tebet)
    assert cells == ["1", "50", "10.0", "4"]  # activities, reached, per 1,000, officer-hours
    assert "3 of 10 areas had prevention work in the period." in body
    by_activities = client_for(alice, "en").get(url + "&sort=activities").content.decode()
    assert re.findall(r'<tr id="cov-([\d.]+)"', by_activities)[0] == "31.74.05"  # 5 done
    assert 'id="coverage-gaps-link"' in body


def test_it_shows_charlie_coverage_without_rates(tiers, charlie):
    body = client_for(charlie, "en").get("/coverage/?parent=31.74&as_of=2026-10-31"
                                         ).content.decode()
    assert len(re.findall(r'<tr id="cov-', body)) == 10
    assert "Per 1,000 children" not in body and "10.0" not in body


def test_the_coverage_page_checks_its_area(tiers, alice):
    assert Client().get("/coverage/?parent=31.74").status_code == 302
    assert client_for(alice, "en").get("/coverage/?parent=99.99").status_code == 404
    village = client_for(alice, "en").get("/coverage/?parent=31.74.01.1001").content.decode()
    assert "A village has no sub-areas" in village and 'id="coverage-table"' not in village
