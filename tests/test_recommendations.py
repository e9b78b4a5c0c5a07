"""Recommendations: the pure scoring on fixtures built from the shipped catalogue, and
the Django side (what a reader may see, what already runs, the area-page section)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.template import Context, Template
from django.test import RequestFactory
from django.utils import translation

from cegah.catalogue.recommend import (
    AreaContext,
    InterventionSpec,
    area_recommendations,
    rank,
    recommend,
    recommendations_for,
)
from cegah.catalogue.shipped import shipped_entries


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


@pytest.fixture
def specs() -> list[InterventionSpec]:
    return [InterventionSpec(slug=e["slug"], name=e["name_en"], level=e["level"],
                             audiences=tuple(e["audiences"]), settings=tuple(e["settings"]),
                             drivers=tuple(e["drivers"]),
                             evidence_strength=e["evidence_strength"])
            for e in shipped_entries()]


def reasons_of(recs, slug):
    return next(r.reasons for r in recs if r.slug == slug)


def test_a_port_driver_puts_transit_monitoring_first(specs):
    context = AreaContext(tier="high", level=3, driver_kinds=frozenset({"factor:port"}),
                          venue_types={"port": 1})
    recs = recommend(context, specs, running=set())
    assert recs[0].slug == "transit-monitoring"
    assert "Addresses the ferry or sea port driver" in recs[0].reasons
    assert "Fits the ports here (1)" in recs[0].reasons
    assert "High-risk area: secondary prevention" in recs[0].reasons
    assert len(recs) == 5
    assert [r.score for r in recs] == sorted((r.score for r in recs), reverse=True)
    quiet = AreaContext(tier="high", level=3)  # nothing here for targeted work to target
    assert all(r.level == "primary" for r in rank(quiet, specs))
    no_rptra = AreaContext(tier="high", level=4, driver_kinds=frozenset({"parent_ratio"}))
    assert "p3-officers-rptra" not in [r.slug for r in rank(no_rptra, specs)]
    rptra = AreaContext(tier="high", level=4, driver_kinds=frozenset({"parent_ratio"}),
                        venue_types={"rptra": 1})
    assert "p3-officers-rptra" in [r.slug for r in rank(rptra, specs)]


def test_a_named_factor_outranks_a_high_rate_in_a_rural_village(specs):
    # The demo's Sambirejo (Jombang): a rural port village with a high rate, mostly
    # sexual-abuse reports. Every high-risk area has a high rate; the port is what is
    # particular to this one.
    context = AreaContext(tier="high", level=4, is_urban=False,
                          driver_kinds=frozenset({"factor:port", "reference_ratio"}),
                          top_categories=("sexual_abuse",))
    recs = recommend(context, specs, running=set())
    assert recs[0].slug == "transit-monitoring"
    assert "Reaches rural villages" in reasons_of(recs[1:], recs[1].slug)


def test_pesantren_venues_bring_situational_prevention_in_boarding_schools(specs):
    context = AreaContext(tier="high", level=3, venue_types={"pesantren": 2})
    recs = recommend(context, specs, running=set())
    assert recs[0].slug == "situational-prevention-institutions"
    assert "Fits the pesantren here (2)" in recs[0].reasons
    with_driver = AreaContext(tier="moderate", level=3, venue_types={"pesantren": 2},
                              driver_kinds=frozenset({"factor:pesantren_count"}))
    top = recommend(with_driver, specs, running=set())[0]
    assert top.slug == "situational-prevention-institutions"
    assert "Addresses the pesantren (boarding schools) driver" in top.reasons


def test_targeted_work_in_institutions_needs_an_institution_there(specs):
    # The demo's Pulau Panggang (Jakarta): an urban kelurahan, high risk, mostly
    # sexual-abuse reports, a hotspot, no school or pesantren recorded. Situational
    # prevention in boarding schools has nothing there to work on.
    context = AreaContext(tier="high", level=4, is_urban=True,
                          driver_kinds=frozenset({"hotspot", "reference_ratio"}),
                          top_categories=("sexual_abuse",))
    assert "situational-prevention-institutions" not in [r.slug for r in rank(context, specs)]
    with_school = AreaContext(tier="high", level=4, is_urban=True,
                              driver_kinds=frozenset({"hotspot"}), venue_types={"school": 2})
    assert "Fits the schools here (2)" in reasons_of(rank(with_school, specs),
                                                    "situational-prevention-institutions")
    # Primary prevention at school needs no recorded school: every area has schools.
    assert "body-safety-education" in [r.slug for r in rank(context, specs)]


def test_interventions_already_running_are_left_out(specs):
    context = AreaContext(tier="high", level=3, driver_kinds=frozenset({"factor:port"}),
                          venue_types={"port": 1})
    recs = recommend(context, specs, running={"transit-monitoring"})
    assert "transit-monitoring" not in [r.slug for r in recs]
    assert len(recs) == 5
    assert "transit-monitoring" in [r.slug for r in rank(context, specs)]


def test_rural_villages_get_the_village_reach_reason(specs):
    desa = AreaContext(tier="moderate", level=4, is_urban=False)
    recs = rank(desa, specs)
    assert "Reaches rural villages" in reasons_of(recs, "bhabinkamtibmas-village-education")
    assert "Reaches rural villages" in reasons_of(recs, "village-paralegals")
    assert "Reaches rural villages" not in reasons_of(recs, "social-media-campaigns")
    kelurahan = AreaContext(tier="moderate", level=4, is_urban=True)
    assert all("Reaches rural villages" not in r.reasons for r in rank(kelurahan, specs))
    district = AreaContext(tier="moderate", level=3, rural_villages=12)
    assert "Reaches rural villages (12 here)" in reasons_of(
        rank(district, specs), "village-paralegals")


def test_categories_give_reasons_only_when_known(specs):
    entitled = AreaContext(tier="high", level=4, top_categories=("trafficking",))
    recs = rank(entitled, specs)
    assert ("Answers the most reported kind of case here: trafficking"
            in reasons_of(recs, "community-centres-vulnerable-families"))
    unentitled = AreaContext(tier="high", level=4)
    assert all("most reported" not in why for r in rank(unentitled, specs) for why in r.reasons)


def test_a_low_risk_area_gets_universal_primary_prevention(specs):
    context = AreaContext(tier="low", level=3)
    recs = recommend(context, specs, running=set())
    assert recs and all(r.level == "primary" for r in recs)
    assert all("Low-risk area: universal primary prevention" in r.reasons for r in recs)
    assert recs[0].slug in {"body-safety-education", "parenting-support",
                            "dating-violence-prevention"}  # strong evidence first


def test_without_a_risk_result_only_primary_prevention_by_venues(specs):
    context = AreaContext(tier=None, level=4, is_urban=True, venue_types={"school": 3})
    recs = recommend(context, specs, running=set())
    assert all(r.level == "primary" for r in rank(context, specs))
    assert "Fits the schools here (3)" in recs[0].reasons
    assert all("No risk result here yet: primary prevention for everyone" in r.reasons
               for r in recs)


def test_tertiary_programmes_follow_the_cases_not_the_venues(specs):
    quiet = AreaContext(tier="high", level=3, venue_types={"school": 2})
    assert "children-in-conflict-with-the-law" not in [r.slug for r in rank(quiet, specs)]
    cases = AreaContext(tier="high", level=3, top_categories=("sexual_abuse",))
    assert "children-in-conflict-with-the-law" in [r.slug for r in rank(cases, specs)]


# --- from the database -------------------------------------------------------------------

@pytest.fixture
def catalogue(db):
    """The shipped catalogue (put back if a transactional test flushed it)."""
    from cegah.catalogue.models import Intervention
    from cegah.catalogue.shipped import install_missing

    install_missing(Intervention)

def _risk(actor, code):
    from cegah.areas.models import Area
    from cegah.riskmap.views import area_risk_context

    area = Area.objects.get(code=code)
    return area, area_risk_context(actor, area)


def test_an_unentitled_reader_gets_no_category_reasons(catalogue, scored_jaksel, alice,
                                                      charlie):
    from cegah.activities.models import Venue

    area, risk = _risk(charlie, "31.74.01")
    assert risk["me"] is not None and not risk["me"].entitled
    Venue.objects.create(name="SDN Tebet Timur 01", type="school", area_id="31.74.01.1001")
    recs = recommendations_for(charlie, area, risk)
    assert recs and all("most reported" not in why for r in recs for why in r.reasons)
    assert any("Fits the schools here (1)" in r.reasons for r in recs)
    result = area_recommendations(alice, *_risk(alice, "31.74.01"))
    assert result.context.top_categories  # alice may see South Jakarta's counts
    assert result.context.tier == risk["me"].tier


def test_what_runs_in_the_area_is_left_out_and_named(catalogue, alice, org_jaksel):
    from cegah.activities.models import Activity
    from cegah.areas.models import Area
    from cegah.catalogue.models import Intervention

    area = Area.objects.get(code="31.74.01")
    first = recommendations_for(alice, area)  # no risk result: primary, by villages
    assert first
    slug = first[0].slug
    activity = Activity.objects.create(
        title="Sosialisasi", intervention=Intervention.objects.get(slug=slug),
        lead_organisation=org_jaksel, audience="parents",
        starts_on=dt.date.today() - dt.timedelta(days=20))
    activity.areas.set(["31.74.01.1001"])
    result = area_recommendations(alice, area)
    assert slug not in [r.slug for r in result.items]
    assert [r.slug for r in result.left_out] == [slug]
    elsewhere = recommendations_for(alice, Area.objects.get(code="31.74.02"))
    assert slug in [r.slug for r in elsewhere]  # another district: still recommended


def test_the_area_section_renders_with_links_and_reasons(catalogue, scored_jaksel, alice):
    area, risk = _risk(alice, "31.74.01.1001")
    request = RequestFactory().get("/")
    request.user = alice
    html = Template("{% load catalogue_tags %}{% area_recommendations area risk %}").render(
        Context({"area": area, "risk": risk, "request": request}))
    assert '<section class="card cat-recs" id="area-recommendations"' in html
    assert "Recommended interventions" in html
    assert 'href="/catalogue/' in html and 'class="cat-reasons"' in html
    assert 'id="recs-no-risk"' not in html
    without = Template("{% load catalogue_tags %}{% area_recommendations area None %}").render(
        Context({"area": area, "request": request}))
    assert 'id="recs-no-risk"' in without


def test_the_area_page_shows_the_recommendations(catalogue, scored_jaksel, alice):
    from tests.conftest import client_for

    page = client_for(alice, "en").get("/areas/31.74.01.1001/").content.decode()
    assert 'id="area-recommendations"' in page and "Recommended interventions" in page
