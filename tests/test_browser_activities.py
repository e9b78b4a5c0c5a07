"""The quick form in a real browser on a 360 x 740 phone: a community police officer
records an activity in under a minute.

Same set-up as tests/test_browser.py: Debian's chromium driven by Playwright, a live
server (so the tests are transactional and put the session's areas back afterwards).
"""

from __future__ import annotations

import re
import time

import pytest
from django.utils import timezone

from cegah.accounts.actions import do_save_organisation, do_save_user
from cegah.accounts.models import OrganisationType, Role
from cegah.activities.actions import do_record_activity
from cegah.activities.models import Activity
from cegah.areas.actions import do_load_areas
from cegah.catalogue.models import Intervention
from cegah.policy import LocalOperator
from tests.conftest import PASSWORD
from tests.test_browser import _launch_chromium, _no_horizontal_overflow, _shot

VILLAGE = "31.74.01.1001"        # Tebet Timur: where alice recorded her last activity
OTHER_VILLAGE = "31.74.01.1002"  # typed as a code the second time
PHONE = {"viewport": {"width": 360, "height": 740}, "is_mobile": True, "has_touch": True,
         "device_scale_factor": 2}
TIMEOUT_MS = 15_000
MIN_TAP_PX = 40


# These transactional tests flush the database: put the reference data back afterwards.
pytestmark = pytest.mark.usefixtures("reference_data_restored")


@pytest.fixture
def officer(transactional_db):
    """Alice, a community police officer in South Jakarta, who recorded one activity."""
    operator = LocalOperator(label="cli:test")
    do_load_areas(only=("31.74",), actor_label="test")
    org, _ = do_save_organisation(actor=operator, name="Unit PPA Polres Jakarta Selatan",
                                  type=OrganisationType.POLICE, jurisdiction=["31.74"])
    user, _ = do_save_user(actor=operator, username="alice", organisation=org,
                           role=Role.DATA_ENTRY, full_name="Alice", password=PASSWORD)
    for slug, name in (("school-talk", "School talk"),
                       ("bhabinkamtibmas-village-education", "Village education")):
        # The shipped catalogue is there unless an earlier transactional test flushed it.
        Intervention.objects.update_or_create(slug=slug, defaults={
            "name_id": name, "name_en": name, "summary_id": "-", "summary_en": "-",
            "level": "primary", "evidence_strength": "practice", "source": "case_study",
            "is_active": True})
    do_record_activity(user, {
        "intervention": "bhabinkamtibmas-village-education", "areas": [VILLAGE],
        "starts_on": timezone.localdate(), "audience": "parents", "women_18_plus": 20})
    return user


def _open_phone(playwright, live_server):
    from playwright.sync_api import expect

    browser = _launch_chromium(playwright)
    context = browser.new_context(base_url=live_server.url, locale="id-ID", **PHONE)
    context.set_default_timeout(TIMEOUT_MS)
    expect.set_options(timeout=TIMEOUT_MS)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return browser, page, errors


def _controls_are_finger_sized(page) -> None:
    page.wait_for_load_state("load")  # the stylesheets, too
    sizes = page.evaluate("""() => [...document.querySelectorAll(
        '#quick-form select, #quick-form input:not([type=radio]):not([type=hidden]),'
        + ' #quick-form textarea, #quick-form button, #quick-form summary, .durations label,'
        + ' .done .button')].filter(e => e.getClientRects().length)
        .map(e => [e.name || e.id || e.innerText.trim(), e.getBoundingClientRect().height])""")
    small = [(name, height) for name, height in sizes if height < MIN_TAP_PX]
    assert sizes and not small, f"tap targets under {MIN_TAP_PX} px on {page.url}: {small}"


def test_an_officer_records_an_activity_on_a_phone_in_under_a_minute(live_server, officer):
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as playwright:
        browser, page, errors = _open_phone(playwright, live_server)
        page.goto("/activities/quick/")
        expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/activities/quick/$"))
        page.fill("#id_username", "alice")
        page.fill("#id_password", PASSWORD)
        page.locator("main button[type=submit]").tap()
        expect(page.locator("#quick-form")).to_be_visible()
        page.wait_for_load_state("load")
        _no_horizontal_overflow(page)
        _controls_are_finger_sized(page)
        # The area of her last activity and today's date are filled in already.
        expect(page.locator("#id_area")).to_have_value(VILLAGE)
        expect(page.locator("#id_starts_on")).to_have_value(timezone.localdate().isoformat())
        _shot(page, "phone-activities-1-quick-form")

        started = time.monotonic()
        page.select_option("#id_intervention", "school-talk")
        page.locator("label[for=id_duration_minutes_2]").tap()  # 90 min
        page.select_option("#id_audience", "adolescents")
        page.fill("#id_girls_12_17", "14")
        page.fill("#id_boys_12_17", "11")
        page.fill("#id_women_18_plus", "2")
        page.locator("#quick-submit").tap()
        expect(page.locator("#quick-saved")).to_be_visible()
        elapsed = time.monotonic() - started
        print(f"quick form filled and submitted in {elapsed:.1f} s")
        assert elapsed < 60, f"filling and submitting took {elapsed:.1f} s"
        page.wait_for_load_state("load")
        _no_horizontal_overflow(page)
        _controls_are_finger_sized(page)
        _shot(page, "phone-activities-2-saved")

        first_id = page.locator("#quick-saved").get_attribute("data-activity")
        expect(page.locator("#quick-saved")).to_contain_text("27")

        # Record another, typing an unknown code first: the error names the field.
        page.locator("#record-another").tap()
        expect(page.locator("#quick-form")).to_be_visible()
        page.select_option("#id_intervention", "school-talk")
        page.fill("#id_area_code", "31.74.01.9999")
        page.fill("#id_girls_under_12", "8")
        page.locator("#quick-submit").tap()
        expect(page.locator("#id_area_code_error")).to_contain_text("31.74.01.9999")
        page.wait_for_load_state("load")
        _no_horizontal_overflow(page)
        _shot(page, "phone-activities-3-error")

        page.fill("#id_area_code", OTHER_VILLAGE)
        page.locator("#quick-submit").tap()
        expect(page.locator("#quick-saved")).to_be_visible()
        second_id = page.locator("#quick-saved").get_attribute("data-activity")
        assert errors == []
        browser.close()

    # The database, once the browser (and its event loop) is gone.
    first = Activity.objects.get(pk=first_id)
    assert first.intervention.slug == "school-talk"
    assert [a.code for a in first.areas.all()] == [VILLAGE]
    assert first.duration_minutes == 90 and float(first.officer_hours) == 1.5
    assert (first.girls_12_17, first.boys_12_17, first.women_18_plus) == (14, 11, 2)
    assert first.reached_total == 27 and list(first.officers.all()) == [officer]
    second = Activity.objects.get(pk=second_id)
    assert [a.code for a in second.areas.all()] == [OTHER_VILLAGE]
    assert second.girls_under_12 == 8
    assert Activity.objects.count() == 3  # the earlier one and these two: no failed saves


def test_the_quick_form_fits_one_phone_screen(live_server, officer):
    """From its heading to the Save button the form takes at most 540 px: one 740-px
    screen with the site's header (about 200 px on a phone) above it."""
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as playwright:
        browser, page, _errors = _open_phone(playwright, live_server)
        page.goto("/accounts/login/?next=/activities/quick/")
        page.fill("#id_username", "alice")
        page.fill("#id_password", PASSWORD)
        page.locator("main button[type=submit]").tap()
        expect(page.locator("#quick-form")).to_be_visible()
        page.wait_for_load_state("load")
        form_top, submit_bottom = page.evaluate("""() => [
            document.querySelector('.quick h1').getBoundingClientRect().top,
            document.querySelector('#quick-submit').getBoundingClientRect().bottom]""")
        print("quick form: h1 top", form_top, "save bottom", submit_bottom)
        assert submit_bottom - form_top <= 540, (form_top, submit_bottom)
        browser.close()


def test_the_list_detail_and_full_form_fit_a_phone(live_server, officer):
    """No page of the registry is wider than the phone; the area picker fills in codes."""
    from playwright.sync_api import expect, sync_playwright

    activity = Activity.objects.get()
    with sync_playwright() as playwright:
        browser, page, errors = _open_phone(playwright, live_server)
        page.goto("/accounts/login/?next=/activities/")
        page.fill("#id_username", "alice")
        page.fill("#id_password", PASSWORD)
        page.locator("main button[type=submit]").tap()
        expect(page.locator(f"#activity-list li[data-activity='{activity.pk}']")).to_be_visible()
        page.wait_for_load_state("load")
        _no_horizontal_overflow(page)
        _shot(page, "phone-activities-4-list")

        page.goto(f"/activities/{activity.pk}/")
        expect(page.locator("#activity-details")).to_be_visible()
        page.wait_for_load_state("load")
        _no_horizontal_overflow(page)
        _shot(page, "phone-activities-5-detail")

        page.goto(f"/activities/{activity.pk}/edit/")
        expect(page.locator("#activity-form")).to_be_visible()
        page.wait_for_load_state("load")
        _no_horizontal_overflow(page)
        page.fill("#area-find", "Tebet Barat")
        hit = page.locator("#area-hits .area-hit").first
        expect(hit).to_be_visible()
        hit.tap()
        expect(page.locator("#id_areas")).to_have_value(re.compile(rf"^{VILLAGE}, 31\.74\.01\."))
        _shot(page, "phone-activities-6-full-form")
        assert errors == []
        browser.close()


PREVENTION_PAGES = (
    "/catalogue/", "/catalogue/transit-monitoring/", "/coverage/?parent=31.74",
    "/coverage/gaps/?parent=31.74", "/partners/", "/partners/calendar/", "/partners/joint/",
    "/partners/requests/", "/partners/notifications/", "/venues/", f"/areas/{VILLAGE}/",
)


def test_the_prevention_pages_fit_a_phone(live_server, officer):
    """The catalogue (long Indonesian labels), coverage, gaps and coordination pages are
    no wider than a 360-px phone."""
    from playwright.sync_api import sync_playwright

    from cegah.catalogue.shipped import install_missing

    install_missing(Intervention)  # gone if an earlier test of this module flushed it
    with sync_playwright() as playwright:
        browser, page, errors = _open_phone(playwright, live_server)
        page.goto("/accounts/login/?next=/activities/")
        page.fill("#id_username", "alice")
        page.fill("#id_password", PASSWORD)
        page.locator("main button[type=submit]").tap()
        page.wait_for_url(f"{live_server.url}/activities/")
        page.wait_for_load_state("load")
        for url in PREVENTION_PAGES:
            response = page.goto(url)
            assert response is not None and response.status == 200, url
            page.wait_for_load_state("load")
            _no_horizontal_overflow(page)
        assert errors == []
        browser.close()
