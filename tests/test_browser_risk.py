"""The risk map in a real browser, on a desktop and on a 360-px-wide phone: drilling down
on the Leaflet map from the province to a village, the table's sorting and filtering, the
layer switch, and the village's risk section.

Same set-up as tests/test_browser.py (Debian's chromium, driven by Playwright; nothing is
downloaded). South Jakarta gets the demo's ILLUSTRATIVE boundaries and SYNTHETIC data,
scored; DKI Jakarta borrows South Jakarta's shape so that the province is on the map too.
"""

from __future__ import annotations

import re

import pytest

from cegah.accounts.actions import do_save_organisation, do_save_user
from cegah.accounts.models import OrganisationType, Role
from cegah.areas.actions import do_load_areas
from cegah.areas.models import Area
from cegah.policy import LocalOperator
from tests.conftest import PASSWORD
from tests.test_browser import VIEWPORTS, _no_horizontal_overflow, _shot, open_page

DISTRICT, VILLAGE = "31.74.01", "31.74.01.1001"  # Tebet, Tebet Timur


# These transactional tests flush the database: put the reference data back afterwards.
pytestmark = pytest.mark.usefixtures("reference_data_restored")


@pytest.fixture(autouse=True)
def _fresh_map_data_cache():
    from cegah.riskmap.views import MAP_DATA_CACHE

    MAP_DATA_CACHE.clear()


@pytest.fixture
def alice_with_a_risk_map(transactional_db):
    """Alice (manager, South Jakarta) with a password; South Jakarta's villages with
    illustrative boundaries and synthetic data, scored in one risk run."""
    from cegah.cases.actions import do_import
    from cegah.demo.boundaries import do_load_demo_boundaries
    from cegah.demo.generator import generate
    from cegah.riskmap.actions import do_compute_risk_run, run_in_progress

    operator = LocalOperator(label="cli:test")
    do_load_areas(only=("31.74",), actor_label="test")
    org, _ = do_save_organisation(actor=operator, name="Unit PPA Polres Jakarta Selatan",
                                  type=OrganisationType.POLICE, jurisdiction=["31.74"])
    user, _ = do_save_user(actor=operator, username="alice", organisation=org,
                           role=Role.MANAGER, full_name="Alice", password=PASSWORD)
    do_load_demo_boundaries(operator, ["31.74"])
    regency = Area.objects.get(code="31.74").geometry
    Area.objects.filter(code="31").update(geometry=regency)
    villages = list(Area.objects.filter(level=4, code__startswith="31.74.")
                    .values_list("code", flat=True))
    files = generate(villages)
    for kind in ("population", "factors", "cases"):
        batch, _plan = do_import(operator, kind, getattr(files, kind), f"{kind}.csv",
                                 synthetic=True)
        assert batch.status == "applied", batch.errors
    do_compute_risk_run(run_in_progress().pk)
    return user


def _inside(page, code: str) -> tuple[float, float]:
    """A point of the screen where the area's polygon is what a finger would touch."""
    page.locator(f'path[data-code="{code}"]').scroll_into_view_if_needed()
    point = page.evaluate("""(code) => {
        const path = document.querySelector(`path[data-code="${code}"]`);
        const box = path.getBoundingClientRect();
        for (const f of [0.5, 0.4, 0.6, 0.3, 0.7, 0.2, 0.8])
          for (const g of [0.5, 0.4, 0.6, 0.3, 0.7, 0.2, 0.8]) {
            const x = box.left + box.width * f, y = box.top + box.height * g;
            if (document.elementFromPoint(x, y) === path) return [x, y];
          }
        return null; }""", code)
    assert point, f"no visible point of {code} on the map"
    return point


def _fits_the_phone(page) -> None:
    """No horizontal scrolling: nothing is wider than the 360-px screen (a mobile browser
    widens its layout viewport to the content, so innerWidth alone would not tell). Tables,
    the map and the header's menu scroll sideways inside themselves by design."""
    _no_horizontal_overflow(page)
    wide = page.evaluate("""() => [...document.querySelectorAll('body *')]
        .filter(e => e.getBoundingClientRect().right > 360.5
                     && !e.closest('.rk-scroll, .table-wrap, .leaflet-container, header nav'))
        .map(e => `${e.tagName}.${e.className} ${Math.round(e.getBoundingClientRect().right)}`)
        """)
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 360 and not wide, f"wider than the phone on {page.url}: {width}, {wide[:8]}"


def _page_weight(page) -> dict[str, int]:
    """Bytes of the document and everything it loaded (as sent, and unpacked)."""
    return page.evaluate("""() => {
        const all = [...performance.getEntriesByType('navigation'),
                     ...performance.getEntriesByType('resource')];
        return {sent: all.reduce((s, e) => s + e.encodedBodySize, 0),
                unpacked: all.reduce((s, e) => s + e.decodedBodySize, 0),
                files: all.length}; }""")


@pytest.mark.parametrize("device", list(VIEWPORTS))
def test_it_drills_down_the_risk_map_to_a_village(live_server, alice_with_a_risk_map, device):
    from playwright.sync_api import expect, sync_playwright

    phone = device == "phone"
    n_villages = Area.objects.filter(parent_id=DISTRICT).count()
    with sync_playwright() as playwright:
        # No basemap by default: nothing may come from the internet.
        browser, page, errors, elsewhere = open_page(playwright, live_server, device)

        def press(locator):
            if phone:
                locator.tap()
            else:
                locator.click()

        def touch(code: str):  # the polygon itself, on the Leaflet map
            x, y = _inside(page, code)
            if phone:
                page.touchscreen.tap(x, y)
            else:
                page.mouse.click(x, y)

        def map_loaded(n: int):
            expect(page.locator("#risk-map")).to_have_attribute("data-features", str(n))
            expect(page.locator("#risk-map path.leaflet-interactive")).to_have_count(n)

        page.goto("/accounts/login/")
        page.fill("#id_username", "alice")
        page.fill("#id_password", PASSWORD)
        press(page.locator("main button[type=submit]"))
        expect(page).to_have_url(f"{live_server.url}/")

        # Indonesia: the provinces with results (DKI Jakarta), from the navigation.
        press(page.locator("header nav a[href='/risk/']"))
        expect(page.locator("h1")).to_have_text("Peta risiko")
        map_loaded(1)
        expect(page.locator(".rk-legend.leaflet-control")).to_contain_text("Tingkat risiko")
        expect(page.locator(".rk-illustrative")).to_contain_text("Batas ilustratif")
        expect(page.locator(".rk-asof .synthetic")).to_be_visible()
        if phone:
            _fits_the_phone(page)
        _shot(page, f"{device}-risk-1-indonesia")
        touch("31")

        # The province: its regency with results.
        expect(page).to_have_url(re.compile(r"/risk/\?area=31$"))
        expect(page.locator(".crumbs")).to_contain_text("DKI JAKARTA")
        map_loaded(1)
        touch("31.74")

        # The regency: ten districts on the map and in the table.
        expect(page).to_have_url(re.compile(r"/risk/\?area=31\.74$"))
        map_loaded(10)
        rows = page.locator("#risk-table tbody tr")
        expect(rows).to_have_count(10)
        if phone:
            _fits_the_phone(page)
        _shot(page, f"{device}-risk-2-regency")

        # The table: filter by name, by tier, and sort by score (highest first).
        page.locator("#risk-filter").fill("tebet")
        expect(page.locator("#risk-table tbody tr:not([hidden])")).to_have_count(1)
        expect(page.locator("#risk-count")).to_have_text("1 dari 10 wilayah")
        page.locator("#risk-filter").fill("")
        expect(page.locator("#risk-table tbody tr:not([hidden])")).to_have_count(10)
        page.select_option("#risk-tier-filter", "low")
        n_low = page.locator("#risk-table tbody tr[data-tier=low]").count()
        expect(page.locator("#risk-table tbody tr:not([hidden])")).to_have_count(n_low)
        page.select_option("#risk-tier-filter", "")
        score = page.locator("#risk-table th", has_text="Skor")
        press(score.locator("button"))
        press(score.locator("button"))
        expect(score).to_have_attribute("aria-sort", "descending")
        values = [float(v) for v in page.locator("#risk-table tbody td:nth-child(5)")
                  .evaluate_all("cells => cells.map(c => c.dataset.v)")]
        assert values == sorted(values, reverse=True)

        # The layer switch recolours the map and changes the legend, without a reload.
        page.select_option("#risk-layer", "score")
        expect(page).to_have_url(re.compile(r"layer=score"))
        expect(page.locator('.rk-legend-layer[data-layer="score"]')).to_be_visible()
        expect(page.locator('.rk-legend-layer[data-layer="tier"]')).to_be_hidden()
        fills = page.locator("#risk-map path.leaflet-interactive").evaluate_all(
            "paths => paths.map(p => p.getAttribute('fill'))")
        assert set(fills) <= {"#fde725", "#5ec962", "#21918c", "#3b528b", "#440154"}, fills
        page.select_option("#risk-layer", "tier")
        if not phone:  # a tooltip names the area under the mouse
            page.mouse.move(*_inside(page, DISTRICT))
            expect(page.locator(".leaflet-tooltip")).to_contain_text("Tebet")
        touch(DISTRICT)

        # The district: its villages; a village opens its area page.
        expect(page).to_have_url(re.compile(rf"/risk/\?area={re.escape(DISTRICT)}$"))
        expect(page.locator("h1")).to_contain_text("Tebet")
        map_loaded(n_villages)
        weight = _page_weight(page)
        print(f"\n{device}: /risk/?area={DISTRICT} loaded {weight}")
        assert weight["unpacked"] < 1_000_000, weight
        if phone:
            _fits_the_phone(page)
        _shot(page, f"{device}-risk-3-district")
        touch(VILLAGE)

        expect(page).to_have_url(re.compile(rf"/areas/{re.escape(VILLAGE)}/$"))
        expect(page.locator("h1")).to_have_text("Tebet Timur")
        risk = page.locator("#area-risk")
        expect(risk.locator(".rk-chip.rk-big")).to_contain_text("risiko")
        expect(risk.locator("svg.rk-chart-svg g rect").first).to_be_visible()
        expect(risk.locator("tr.rk-current")).to_contain_text("Tebet Timur")
        expect(risk.get_by_role("link", name="Lihat di peta")).to_be_visible()
        expect(page.locator("#area-prevention #area-coverage")).to_be_visible()
        if phone:
            _fits_the_phone(page)
        _shot(page, f"{device}-risk-4-village")

        # "See on the map" comes back to the district, the village highlighted.
        press(risk.get_by_role("link", name="Lihat di peta"))
        expect(page).to_have_url(re.compile(r"focus=31\.74\.01\.1001"))
        expect(page.locator(f'[id="row-{VILLAGE}"]')).to_have_class("rk-focus")
        map_loaded(n_villages)

        assert errors == [], errors
        assert elsewhere == [], elsewhere
        page.context.close()
        browser.close()
