"""The risk map (/risk/), its GeoJSON, search and run-status banner, and the risk section
of the area pages: who sees what, the table fallback without boundaries, languages."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

import pytest
from django.test import Client, override_settings

from cegah.areas.boundaries import ILLUSTRATIVE_PREFIX
from cegah.areas.models import Area
from cegah.riskmap.models import AreaRisk, RiskRun, RunStatus
from tests.conftest import client_for

pytestmark = pytest.mark.django_db

DISTRICTS = ("31.74.01", "31.74.02", "31.74.03")
PROTECTED = re.compile(r"^(–|0|<5|x|[5-9]|[1-9][0-9.,]+)$")  # never 1 to 4


def square(x: float, y: float, size: float = 0.01, illustrative: bool = False) -> str:
    ring = [[x, y], [x + size, y], [x + size, y + size], [x, y + size], [x, y]]
    geometry = json.dumps({"type": "Polygon", "coordinates": [ring]}, separators=(",", ":"))
    return ("{" + ILLUSTRATIVE_PREFIX[1:] + "," + geometry[1:]) if illustrative else geometry


@pytest.fixture(autouse=True)
def _fresh_map_data_cache():
    """map.json bodies are cached per process by run and boundary import; these tests
    change boundaries behind the import's back."""
    from cegah.riskmap.views import MAP_DATA_CACHE

    MAP_DATA_CACHE.clear()
    yield
    MAP_DATA_CACHE.clear()


@pytest.fixture
def with_boundaries(scored_jaksel):
    for k, code in enumerate(DISTRICTS):
        Area.objects.filter(code=code).update(geometry=square(106.80 + k * 0.01, -6.25))
    return scored_jaksel


class _Cells(HTMLParser):
    """Text of the cells, SVG labels and titles a test looks at, by kind."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found: dict[str, list[str]] = {}
        self._stack: list[str | None] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        classes = (a.get("class") or "").split()
        kind = None
        if tag == "td" and "num" in classes:
            kind = "num"
        elif tag == "text" and "rk-total" in classes:
            kind = "total"
        elif tag == "title":
            kind = "title"
        elif tag == "dd":
            kind = "dd"
        elif tag == "th":
            kind = "th"
        if tag not in ("br", "input", "line", "rect", "link", "meta", "img") or kind:
            self._stack.append(kind)
            if kind:
                self.found.setdefault(kind, []).append("")

    def handle_endtag(self, tag):
        if self._stack:
            self._stack.pop()

    def handle_data(self, data):
        kinds = [k for k in self._stack if k]
        if kinds:
            self.found[kinds[-1]][-1] += data


def cells(html: str) -> dict[str, list[str]]:
    parser = _Cells()
    parser.feed(html)
    return {k: [v.strip() for v in values] for k, values in parser.found.items()}


def labels_in_titles(html: str) -> list[str]:
    """The count labels in the chart's tooltips ("2024 · sexual abuse: 12", "2024 · hidden
    small counts: trafficking <5, sexual exploitation x")."""
    labels = []
    for title in cells(html).get("title", []):
        if "·" in title:
            labels += [part.split()[-1] for part in title.split(":", 1)[1].split(",")]
    return labels


def section(html: str, ident: str) -> str:
    start = html.index(f'id="{ident}"')
    return html[start: html.index("</section>", start)]


# ----------------------------------------------------------------------------- access

RISK_URLS = ["/risk/", "/risk/?area=31.74", "/risk/map.json?parent=31.74",
             "/risk/search/?q=Tebet", "/risk/status/"]


@pytest.mark.parametrize("url", RISK_URLS)
def test_it_sends_anonymous_visitors_to_the_login_page(scored_jaksel, url):
    response = Client().get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")


@pytest.mark.parametrize("who", ["alice", "bob", "charlie", "sysadmin"])
def test_it_answers_every_signed_in_user(with_boundaries, who, request):
    client = client_for(request.getfixturevalue(who))
    for url in [*RISK_URLS, "/risk/?area=31", "/risk/?area=31.74.01", "/risk/map.json",
                "/risk/map.json?level=regency", "/areas/31.74.01/", "/areas/31.74.01.1001/"]:
        assert client.get(url).status_code == 200, url


@pytest.mark.parametrize("url", ["/risk/?area=99.99", "/risk/map.json?parent=99.99",
                                 "/risk/?area=31.74.99", "/risk/map.json?level=village",
                                 "/risk/map.json?level=nonsense"])
def test_it_answers_not_found_for_unknown_areas(scored_jaksel, alice, url):
    assert client_for(alice).get(url).status_code == 404


def test_it_opens_a_villages_area_page_instead_of_a_map(scored_jaksel, alice):
    response = client_for(alice).get("/risk/?area=31.74.01.1001")
    assert response.status_code == 302 and response["Location"] == "/areas/31.74.01.1001/"


def test_it_links_the_map_from_the_navigation_in_indonesian_and_english(scored_jaksel, bob):
    body = client_for(bob).get("/").content.decode()
    assert '<a href="/risk/">Peta risiko</a>' in body
    body = client_for(bob, "en").get("/").content.decode()
    assert '<a href="/risk/">Risk map</a>' in body


# ----------------------------------------------------------------------------- who sees what

@pytest.mark.parametrize("url", ["/risk/?area=31.74", "/risk/?area=31.74.01",
                                 "/risk/?area=31.74.02", "/risk/?area=31"])
def test_it_never_shows_charlie_small_counts_or_scores_on_the_map_page(with_boundaries,
                                                                        charlie, url):
    body = client_for(charlie).get(url).content.decode()
    found = cells(body)
    assert found["num"], "the table has case labels"
    for label in found["num"]:
        assert PROTECTED.match(label), (url, label)
    headers = " ".join(found["th"])
    assert "Skor" not in headers and "Score" not in headers
    config = json.loads(re.search(r'id="risk-config" type="application/json">(.*?)</script>',
                                  body).group(1))
    assert config["layers"]["smoothed_rate"]["breaks"] == []  # from no hidden rate
    assert "di luar wilayah kerja Anda" in body


def test_it_never_gives_charlie_small_counts_or_scores_in_map_json(with_boundaries, charlie):
    for url in ["/risk/map.json?parent=31.74", "/risk/map.json?parent=31.74.01",
                "/risk/map.json", "/risk/map.json?level=regency"]:
        response = client_for(charlie).get(url)
        data = response.json()
        for feature in data["features"]:
            p = feature["properties"]
            assert p["entitled"] is False
            assert not {"score", "smoothed_rate", "underreporting"} & set(p), p
            assert PROTECTED.match(p["cases_label"]), p


def test_it_never_shows_charlie_small_counts_or_scores_on_the_area_page(scored_jaksel,
                                                                        charlie, alice):
    for code in ("31.74.01", "31.74.01.1001", "31.74"):
        body = client_for(charlie).get(f"/areas/{code}/").content.decode()
        risk = section(body, "area-risk")
        found = cells(risk)
        assert "rk-chip" in risk and "<svg" in risk
        for label in found["num"] + found.get("total", []) + labels_in_titles(risk):
            assert PROTECTED.match(label), (code, label)
        assert "Skor" not in " ".join(found["th"] + found.get("dd", []))
        assert "interval" not in risk and "per 100.000 anak" not in risk
    # The same page shows Alice (entitled) the small counts the check above looks for.
    risk = section(client_for(alice).get("/areas/31.74.01/").content.decode(), "area-risk")
    assert any(label in ("1", "2", "3", "4") for label in cells(risk)["num"])


def test_it_shows_alice_scores_rates_and_intervals(with_boundaries, alice):
    client = client_for(alice)
    body = client.get("/risk/?area=31.74").content.decode()
    assert "<th class=\"num\"><button type=\"button\" data-col=\"4\">Skor</button></th>" in body
    assert "di luar wilayah kerja Anda" not in body
    data = client.get("/risk/map.json?parent=31.74").json()
    assert all(f["properties"]["score"] is not None for f in data["features"])
    assert all(f["properties"]["entitled"] for f in data["features"])
    risk = section(client.get("/areas/31.74.01/").content.decode(), "area-risk")
    assert "Skor" in risk and "interval 90 %" in risk and "per 100.000 anak" in risk
    me = AreaRisk.objects.get(run=with_boundaries, area_id="31.74.01")
    assert f"{me.score:.2f}".replace(".", ",") in risk


def test_it_shows_viewers_counts_only_if_the_setting_allows(with_boundaries, bob):
    with override_settings(VIEWERS_SEE_COUNTS=False):
        data = client_for(bob).get("/risk/map.json?parent=31.74").json()
        body = client_for(bob).get("/risk/?area=31.74").content.decode()
    assert data["features"] and not any(f["properties"]["entitled"] for f in data["features"])
    assert 'data-col="4">Skor<' not in body
    data = client_for(bob).get("/risk/map.json?parent=31.74").json()
    assert all("score" in f["properties"] for f in data["features"])


def test_it_shows_a_system_admin_every_score(with_boundaries, sysadmin):
    data = client_for(sysadmin).get("/risk/map.json?parent=31.74").json()
    assert data["features"] and all("score" in f["properties"] for f in data["features"])


# ----------------------------------------------------------------------------- map.json

def test_it_serves_the_children_with_boundaries_as_geojson(with_boundaries, alice):
    client = client_for(alice)
    response = client.get("/risk/map.json?parent=31.74")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/geo+json"
    data = response.json()
    assert data["type"] == "FeatureCollection" and data["parent"] == "31.74"
    assert data["run"] == {"id": with_boundaries.pk, "as_of": "2026-10"}
    assert data["illustrative"] is False and "note" not in data
    assert sorted(f["id"] for f in data["features"]) == list(DISTRICTS)
    for feature in data["features"]:
        assert feature["type"] == "Feature"
        geometry = feature["geometry"]
        assert geometry["type"] == "Polygon" and len(geometry["coordinates"][0]) == 5
        p = feature["properties"]
        assert p["code"] == feature["id"] and p["level"] == "district" and p["name"]
        assert p["tier"] in ("high", "moderate", "low", "unknown")
        assert p["has_children"] is True and p["url"] == f"/risk/?area={p['code']}"
        assert p["cases_label"] and p["confidence"]


def test_it_links_villages_on_the_map_to_their_area_pages(with_boundaries, alice):
    Area.objects.filter(code="31.74.01.1001").update(geometry=square(106.8, -6.2))
    data = client_for(alice).get("/risk/map.json?parent=31.74.01").json()
    (feature,) = data["features"]
    assert feature["properties"]["has_children"] is False
    assert feature["properties"]["url"] == "/areas/31.74.01.1001/"


def test_it_says_when_boundaries_are_illustrative(with_boundaries, alice):
    Area.objects.filter(code="31.74.01").update(
        geometry=square(106.8, -6.25, illustrative=True))
    client = client_for(alice)
    data = client.get("/risk/map.json?parent=31.74").json()
    assert data["illustrative"] is True and "ILLUSTRATIVE" in data["note"]
    assert len(data["features"]) == 3  # a foreign member does not break the geometry
    body = client.get("/risk/?area=31.74").content.decode()
    assert "Batas ilustratif, bukan batas sebenarnya" in body


def test_it_lets_browsers_cache_map_json_per_run(with_boundaries, alice, bob, charlie):
    client = client_for(alice)
    first = client.get("/risk/map.json?parent=31.74")
    etag = first["ETag"]
    assert f'"r{with_boundaries.pk}-' in etag and "private" in first["Cache-Control"]
    again = client.get("/risk/map.json?parent=31.74", HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304 and again.content == b""
    pinned = client.get(f"/risk/map.json?parent=31.74&run={with_boundaries.pk}")
    assert pinned["Cache-Control"] == "private, max-age=600"
    # The same entitlement gives the same document; another one, or another parent, not.
    assert client_for(bob).get("/risk/map.json?parent=31.74")["ETag"] == etag
    assert client_for(charlie).get("/risk/map.json?parent=31.74")["ETag"] != etag
    assert client.get("/risk/map.json?parent=31.74.01")["ETag"] != etag


def test_it_builds_map_json_from_few_queries(with_boundaries, alice,
                                             django_assert_max_num_queries):
    client = client_for(alice)
    client.get("/risk/map.json?parent=31.74")  # warm the session
    # Session, user, organisation, jurisdiction and the session's save (3) come with every
    # request; then the parent, the run, the boundaries' version, the rows with their
    # geometries, and the parent's own row: however many areas there are.
    with django_assert_max_num_queries(12):
        client.get("/risk/map.json?parent=31.74.01")
    with django_assert_max_num_queries(12):
        client.get("/risk/map.json?parent=31.74")


def test_it_draws_a_map_only_where_there_are_boundaries(with_boundaries, alice):
    body = client_for(alice).get("/risk/?area=31.74").content.decode()
    assert 'id="risk-map"' in body and "leaflet.js" in body and 'id="risk-legend"' in body
    config = json.loads(re.search(r'id="risk-config" type="application/json">(.*?)</script>',
                                  body).group(1))
    assert config["dataUrl"] == f"/risk/map.json?parent=31.74&run={with_boundaries.pk}"
    assert config["tiles"]["url"] == ""  # no basemap unless configured
    assert len(config["layers"]["score"]["colours"]) == 5


def test_it_falls_back_to_the_table_without_boundaries(scored_jaksel, alice):
    client = client_for(alice)
    data = client.get("/risk/map.json?parent=31.74").json()
    assert data["type"] == "FeatureCollection" and data["features"] == []
    body = client.get("/risk/?area=31.74").content.decode()
    assert 'id="risk-map"' not in body and "leaflet.js" not in body
    assert "tidak ada peta" in body
    rows = re.findall(r'<tr id="row-(31\.74\.\d\d)"', body)
    assert len(rows) == 10
    assert 'id="risk-filter"' in body and 'id="risk-tier-filter"' in body
    assert 'data-col="1"' in body  # sortable columns
    assert '<a href="/risk/?area=31.74.01">Tebet</a>' in body


def test_it_adds_a_basemap_only_when_configured(with_boundaries, alice):
    url = "https://tiles.example.org/{z}/{x}/{y}.png"
    with override_settings(MAP_TILE_URL=url, MAP_TILE_ATTRIBUTION="© Example"):
        body = client_for(alice).get("/risk/?area=31.74").content.decode()
    assert '"url": "https://tiles.example.org/{z}/{x}/{y}.png"' in body


def test_it_shows_the_run_and_marks_synthetic_data(scored_jaksel, bob):
    body = client_for(bob).get("/risk/?area=31.74").content.decode()
    assert "Gambaran risiko per Oktober 2026" in body
    assert "November 2025" in body and "data demo sintetis" in body


def test_it_says_when_there_are_no_results_yet(db, alice):
    client = client_for(alice)
    assert "Belum ada hasil risiko" in client.get("/risk/").content.decode()
    data = client.get("/risk/map.json").json()
    assert data == {"type": "FeatureCollection", "run": None, "parent": None,
                    "illustrative": False, "features": []}
    assert "Belum ada hasil risiko" in client.get("/areas/31.74.01/").content.decode()


# ----------------------------------------------------------------------------- run status

def test_it_shows_the_progress_of_a_queued_run_until_it_is_done(scored_jaksel, alice):
    run = RiskRun.objects.create(trigger="web", progress=45)
    client = client_for(alice)
    fragment = client.get("/risk/status/").content.decode()
    assert "45 %" in fragment and 'hx-trigger="every 3s"' in fragment
    assert f"?run={run.pk}" in fragment and "hasil sebelumnya" in fragment
    page = client.get("/risk/?area=31.74").content.decode()
    assert "Memperbarui gambaran risiko: 45 %" in page
    assert "45 %" in client.get("/areas/31.74.01/").content.decode()

    RiskRun.objects.filter(pk=run.pk).update(status=RunStatus.DONE, progress=100)
    fragment = client.get(f"/risk/status/?run={run.pk}").content.decode()
    assert "hx-trigger" not in fragment and "telah diperbarui" in fragment
    RiskRun.objects.filter(pk=run.pk).update(status=RunStatus.FAILED)
    fragment = client_for(alice, "en").get(f"/risk/status/?run={run.pk}").content.decode()
    assert "hx-trigger" not in fragment and "failed" in fragment


def test_it_shows_nothing_when_no_run_is_waiting(scored_jaksel, bob):
    fragment = client_for(bob).get("/risk/status/").content.decode()
    assert "hx-trigger" not in fragment and "banner" not in fragment


# ----------------------------------------------------------------------------- search

def test_it_finds_areas_by_name_and_code(scored_jaksel, charlie):
    client = client_for(charlie)
    fragment = client.get("/risk/search/?q=Tebet", HTTP_HX_REQUEST="true").content.decode()
    assert "<html" not in fragment
    assert '<a href="/areas/31.74.01.1001/">Tebet Timur</a>' in fragment
    assert 'href="/risk/?area=31.74.01"' in fragment  # the district's own map
    assert 'href="/risk/?area=31.74.01&amp;focus=31.74.01.1001"' in fragment
    fragment = client.get("/risk/search/?q=31.74.01.10", HTTP_HX_REQUEST="true").content.decode()
    assert "Tebet Timur" in fragment and "rk-chip" in fragment
    page = client.get("/risk/search/?q=Tebet").content.decode()
    assert "<html" in page and "Tebet Timur" in page
    assert "Tidak ada wilayah" in client.get("/risk/search/?q=zzzz").content.decode()


# ----------------------------------------------------------------------------- area page

def test_it_adds_a_risk_section_to_the_area_page(scored_jaksel, alice):
    body = client_for(alice).get("/areas/31.74.01/").content.decode()
    risk = section(body, "area-risk")
    me = AreaRisk.objects.get(run=scored_jaksel, area_id="31.74.01")
    assert f"rk-chip rk-big rk-{me.tier}" in risk
    assert "<svg" in risk and "rk-chart-hatch" in risk and "2026*" in risk
    assert 'class="rk-current" aria-current="true"' in risk
    assert len(re.findall(r"<tr", risk.split("rk-siblings")[1])) == 11  # header + 10
    assert 'href="/risk/?area=31.74&amp;focus=31.74.01"' in risk  # see on the map
    assert 'href="/risk/?area=31.74.01"' in risk  # its sub-areas' map
    assert "KOTA ADMINISTRASI JAKARTA SELATAN" in risk  # the parent compared
    prevention = section(body, "area-prevention")  # the prevention section follows
    assert 'id="area-coverage" data-activities="0"' in prevention
    assert 'id="area-record-activity"' in prevention  # Alice may record one here
    english = client_for(alice, "en").get("/areas/31.74.01/").content.decode()
    assert "Prevention work" in section(english, "area-prevention")
    assert "No prevention activity was recorded here in the last 12 months" in english
    assert "Coming soon" not in english and "See on the map" in english


def test_it_hatches_hidden_counts_in_the_chart_for_others(scored_jaksel, charlie):
    risk = section(client_for(charlie).get("/areas/31.74.01/").content.decode(), "area-risk")
    assert 'class="rk-hidden"' in risk and "jumlah kecil yang disembunyikan" in risk


def test_it_explains_possible_under_reporting_to_those_entitled(scored_jaksel, alice,
                                                                charlie):
    AreaRisk.objects.filter(run=scored_jaksel, area_id="31.74.01").update(underreporting=True)
    body = client_for(alice).get("/areas/31.74.01/").content.decode()
    assert 'id="area-underreporting"' in body
    body = client_for(charlie).get("/areas/31.74.01/").content.decode()
    assert 'id="area-underreporting"' not in body


def test_it_says_when_an_area_has_no_result(scored_jaksel, alice):
    body = client_for(alice).get("/areas/71.71/").content.decode()
    assert "tidak punya hasil untuk wilayah ini" in body


# ----------------------------------------------------------------------------- languages

def test_it_speaks_indonesian_by_default_and_english_on_request(with_boundaries, alice):
    body = client_for(alice).get("/risk/?area=31.74").content.decode()
    assert "<h1>Peta risiko: KOTA ADMINISTRASI JAKARTA SELATAN</h1>" in body
    for word in ("tinggi", "sedang", "rendah"):
        assert f">{word}</option>" in body
    assert "Risk map" not in body
    body = client_for(alice, "en").get("/risk/?area=31.74").content.decode()
    assert "<h1>Risk map: KOTA ADMINISTRASI JAKARTA SELATAN</h1>" in body
    for word in ("high", "moderate", "low"):
        assert f">{word}</option>" in body


def test_the_map_offers_downloads_to_those_who_may_export(scored_jaksel, alice, bob):
    body = client_for(alice, "en").get("/risk/?area=31.74").content.decode()
    assert "/risk/export/table.csv?parent=31.74" in body
    assert "/risk/export/map.pdf?parent=31.74" in body
    response = client_for(alice).get("/risk/export/table.csv?parent=31.74")
    assert response.status_code == 200
    # A viewer may not export: no links, and the export itself is not found.
    body = client_for(bob, "en").get("/risk/?area=31.74").content.decode()
    assert "/risk/export/" not in body
    assert client_for(bob).get("/risk/export/table.csv?parent=31.74").status_code == 404


def test_map_json_coverage_is_the_same_for_everyone_sharing_an_etag(with_boundaries, alice,
                                                                    operator):
    """map.json is cached per entitlement scope: its coverage must not depend on which
    planned activities a user may see. Frank works in South Jakarta too, for another
    organisation: he sees neither Alice's planned session nor, in map.json, any count
    that includes it; both get the same document."""
    import datetime as dt

    from cegah.accounts.actions import do_save_organisation
    from cegah.accounts.models import OrganisationType, Role
    from cegah.activities.models import Activity, ActivityStatus
    from tests.conftest import make_user

    other, _ = do_save_organisation(actor=operator, name="LSM Jakarta Selatan",
                                    type=OrganisationType.NGO, jurisdiction=["31.74"])
    frank = make_user(operator, "frank", other, Role.MANAGER)
    for status in (ActivityStatus.DONE, ActivityStatus.PLANNED, ActivityStatus.CANCELLED):
        act = Activity.objects.create(
            title=f"Session {status}", lead_organisation=alice.organisation, status=status,
            starts_on=dt.date.today() - dt.timedelta(days=3), audience="children",
            girls_12_17=40)
        act.areas.set(["31.74.01.1001"])
    first = client_for(alice).get("/risk/map.json?parent=31.74")
    _clear_map_cache()
    second = client_for(frank).get("/risk/map.json?parent=31.74")
    assert first["ETag"] == second["ETag"]
    props = {f["id"]: f["properties"] for f in first.json()["features"]}
    assert (props["31.74.01"]["activities"], props["31.74.01"]["reached"]) == (1, 40)
    assert first.content == second.content  # built afresh for Frank: the same numbers


def _clear_map_cache() -> None:
    from cegah.riskmap.views import MAP_DATA_CACHE

    MAP_DATA_CACHE.clear()


def test_the_area_pages_prevention_and_recommendations_ask_few_queries(
        scored_jaksel, alice, org_manado, django_assert_max_num_queries):
    """However many activities run in the area, its page asks a fixed number of queries
    (the risk section, prevention and recommendations included)."""
    import datetime as dt

    from cegah.activities.models import Activity, ActivityStatus
    from cegah.catalogue.models import Intervention

    villages = list(Area.objects.filter(code__startswith="31.74.01.", level=4)
                    .order_by("code").values_list("code", flat=True))
    slugs = list(Intervention.objects.values_list("pk", flat=True)[:6])
    statuses = [ActivityStatus.DONE, ActivityStatus.DONE, ActivityStatus.PLANNED]
    for n in range(60):
        act = Activity.objects.create(
            title=f"Session {n}", lead_organisation=alice.organisation, status=statuses[n % 3],
            starts_on=dt.date.today() - dt.timedelta(days=n * 5 - 30), audience="children",
            intervention_id=slugs[n % len(slugs)], girls_12_17=10 + n)
        act.areas.set([villages[n % len(villages)]])
        act.partners.set([org_manado] if n % 4 == 0 else [])
    client = client_for(alice, "en")
    client.get("/areas/31.74.01/")  # warm the session and per-process caches
    for code in ("31.74.01", villages[0]):
        with django_assert_max_num_queries(40):
            page = client.get(f"/areas/{code}/")
        assert page.status_code == 200
        assert 'id="area-recommendations"' in page.content.decode()
