"""The web app in a real browser, on a desktop and on a 360-px-wide phone.

The browser is Debian's ``chromium`` package (``make browser`` installs it), driven by
Playwright's sync API; nothing is downloaded at run time. Screenshots go to
var/screenshots/ for a person to look at.

``live_server`` makes these tests transactional: the database is flushed after each one,
areas included, so each test loads the areas it needs and the module puts back the
session's area slice when it is done (see conftest.py).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model

from cegah.accounts.actions import do_save_organisation, do_save_user
from cegah.accounts.models import OrganisationType, Role
from cegah.areas.actions import do_load_areas
from cegah.cases.actions import do_import
from cegah.policy import LocalOperator
from tests.conftest import PASSWORD

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--no-first-run",
]
SCREENSHOTS = Path(__file__).resolve().parent.parent / "var" / "screenshots"
VIEWPORTS = {
    "desktop": {"viewport": {"width": 1280, "height": 800}},
    "phone": {"viewport": {"width": 360, "height": 740}, "is_mobile": True, "has_touch": True,
              "device_scale_factor": 2},
}
VILLAGE = "31.74.01.1001"  # Tebet Timur, in district Tebet, in South Jakarta (alice's area)
CASES_CSV = (
    "code,period,category,count\n"
    f"{VILLAGE},2025-10,sexual_abuse,3\n"
    f"{VILLAGE},2025-11,sexual_abuse,2\n"
    f"{VILLAGE},2025-11,online_sexual_exploitation,4\n"
    "31.74.01.1002,2025-11,trafficking,1\n"
).encode()
TIMEOUT_MS = 15_000


def _launch_chromium(playwright):
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: the browser tests drive Debian's chromium package. "
            "Install it with `make browser` (or `sudo apt-get install chromium`).",
            pytrace=False,
        )
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)


def open_page(playwright, live_server, device: str):
    """Debian's chromium with an Indonesian browser at ``device``'s size. Returns the
    browser, the page, and the lists that collect script errors and requests that leave
    the app (everything a page needs must come from the app itself)."""
    from playwright.sync_api import expect

    browser = _launch_chromium(playwright)
    context = browser.new_context(base_url=live_server.url, locale="id-ID",
                                  **VIEWPORTS[device])
    context.set_default_timeout(TIMEOUT_MS)
    expect.set_options(timeout=TIMEOUT_MS)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    elsewhere: list[str] = []
    page.on("request", lambda r: None if r.url.startswith(live_server.url)
            else elsewhere.append(r.url))
    return browser, page, errors, elsewhere


# These transactional tests flush the database: put the reference data back afterwards.
pytestmark = pytest.mark.usefixtures("reference_data_restored")


@pytest.fixture
def alice_with_cases(transactional_db):
    """Alice, a manager in South Jakarta police, with a password and some case counts."""
    operator = LocalOperator(label="cli:test")
    do_load_areas(only=("31.74",), actor_label="test")  # gone if an earlier test flushed them
    org, _ = do_save_organisation(actor=operator, name="Unit PPA Polres Jakarta Selatan",
                                  type=OrganisationType.POLICE, jurisdiction=["31.74"])
    user, _ = do_save_user(actor=operator, username="alice", organisation=org,
                           role=Role.MANAGER, full_name="Alice", password=PASSWORD)
    batch, plan = do_import(operator, "cases", CASES_CSV, "x.csv")
    assert plan.validated.ok, plan.validated.errors
    return user


def _no_horizontal_overflow(page) -> None:
    """Nothing wider than the screen. Compared with the viewport we asked for: a phone
    widens its layout viewport (and innerWidth) to the content."""
    width = page.evaluate("() => document.documentElement.scrollWidth")
    screen = page.viewport_size["width"]
    assert width <= screen, f"page is {width} px wide on a {screen}-px screen: {page.url}"


def _tap_targets_are_finger_sized(page) -> None:
    """Header controls are 44 px tall; breadcrumb links at least WCAG's 24 px."""
    sizes = page.evaluate("""() => [...document.querySelectorAll(
        'header nav a, header select, header button, .crumbs a')].map(e => {
          const b = e.getBoundingClientRect();
          return [e.matches('.crumbs a') ? 24 : 44, e.innerText.trim(), b.height]; })""")
    small = [(text, height) for minimum, text, height in sizes if height < minimum]
    assert not small, f"tap targets too small on {page.url}: {small}"


def _shot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


@pytest.mark.parametrize("device", list(VIEWPORTS))
def test_a_manager_browses_her_area(live_server, alice_with_cases, device):
    from playwright.sync_api import expect, sync_playwright

    phone = device == "phone"
    with sync_playwright() as playwright:
        # An Indonesian browser: the site starts in Indonesian (its default language).
        browser, page, errors, elsewhere = open_page(playwright, live_server, device)

        def press(locator):  # a finger on the phone, a mouse on the desktop
            if phone:
                locator.tap()
            else:
                locator.click()

        # Signing in through the form lands on the home page.
        page.goto("/")
        expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/$"))
        _shot(page, f"{device}-1-login")
        page.fill("#id_username", "alice")
        page.fill("#id_password", PASSWORD)
        press(page.locator("main button[type=submit]"))
        expect(page).to_have_url(f"{live_server.url}/")
        expect(page.locator("h1")).to_contain_text("Alice")
        expect(page.locator("html")).to_have_attribute("lang", "id")
        expect(page.locator(".cards")).to_contain_text("KOTA ADMINISTRASI JAKARTA SELATAN")
        if phone:
            _no_horizontal_overflow(page)
        _shot(page, f"{device}-2-home")

        # The area browser: live search (htmx) for Tebet, then a village.
        press(page.locator("header nav a[href='/areas/']"))
        expect(page).to_have_url(re.compile(r"/areas/$"))
        page.locator("#area-q").press_sequentially("Tebet", delay=30)
        results = page.locator("#area-results")
        expect(results.get_by_role("link", name="Tebet Timur")).to_be_visible()
        expect(page).to_have_url(re.compile(r"/areas/\?q=Tebet$"))  # hx-push-url
        expect(results.get_by_role("link", name="Tebet", exact=True)).to_be_visible()
        if phone:
            _no_horizontal_overflow(page)
        _shot(page, f"{device}-3-search")
        press(results.get_by_role("link", name="Tebet Timur"))

        expect(page).to_have_url(re.compile(rf"/areas/{re.escape(VILLAGE)}/$"))
        expect(page.locator("h1")).to_have_text("Tebet Timur")
        crumbs = page.locator(".crumbs a")
        expect(crumbs).to_have_text(
            ["Indonesia", "DKI JAKARTA", "KOTA ADMINISTRASI JAKARTA SELATAN", "Tebet"])
        # Alice's jurisdiction: the imported case counts of the last 12 months.
        cases = page.locator("#area-data table")
        expect(cases.locator("tr")).to_have_count(2)
        expect(cases.locator("td.num")).to_have_text(["4", "5"])
        if phone:
            _no_horizontal_overflow(page)
            _tap_targets_are_finger_sized(page)
        _shot(page, f"{device}-4-village")

        # The district: sub-areas with their case totals, in a table that scrolls inside
        # its wrapper on a narrow screen rather than widening the page.
        press(page.locator(".crumbs").get_by_role("link", name="Tebet", exact=True))
        expect(page.locator("h1")).to_have_text("Tebet")
        sub_areas = page.locator(".table-wrap table")
        expect(sub_areas.locator("tbody tr")).to_have_count(7)
        expect(sub_areas.locator("tr", has_text="Tebet Timur").locator("td.num")).to_have_text(
            "9")
        if phone:
            _no_horizontal_overflow(page)
        _shot(page, f"{device}-5-district")

        # The language switcher submits itself; the same page comes back in English.
        expect(page.locator("header")).to_contain_text("Keluar")
        page.select_option("#lang-select", "en")
        expect(page.locator("html")).to_have_attribute("lang", "en")
        expect(page).to_have_url(re.compile(r"/areas/31\.74\.01/$"))
        expect(page.locator("#area-data h2")).to_contain_text("Reported cases, last 12 months")
        expect(page.locator("header")).to_contain_text("Log out")
        if phone:
            _no_horizontal_overflow(page)
        _shot(page, f"{device}-6-english")

        # Logging out ends the session.
        press(page.get_by_role("button", name="Log out"))
        expect(page).to_have_url(re.compile(r"/accounts/login/$"))
        page.goto("/areas/")
        expect(page).to_have_url(re.compile(r"/accounts/login/\?next="))
        assert errors == [], errors
        assert elsewhere == [], elsewhere
        page.context.close()
        browser.close()

    assert get_user_model().objects.get(username="alice").last_login is not None
