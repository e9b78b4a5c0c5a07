"""Property: no case count from 1 to 4, and no total that reveals one, reaches a user who is
not entitled to it, through any page, export or API response.

Each example builds a small SYNTHETIC risk run straight in the database (no engine):
DKI Jakarta (31), its six regencies, two to four districts of South Jakarta (31.74) and
two to four villages in some of them, with random small counts per category (many 1-4)
that add up to each row's total and, down the tree, to the parent's figures. Then it
fetches everything an unentitled user can fetch: the API (lists by parent and by level,
one area in detail), the map page's table and its GeoJSON, the tier-table export and
the map export's table as
Charlie (a manager of an NGO in Manado, so entitled to none of these areas), and the
public summary as an anonymous visitor. It checks that

(a) no shown count is 1 to 4, and shown counts are true;
(b) an attacker who puts together everything published (a cell shown anywhere is
    known; "<5" bounds it to 1-4; "x" to 5 or more, or 1 or more when the truth is
    below 5, which is more than the public rules tell) and knows every relation
    (each row's categories add up to its total; each parent's figures are the sums of
    its children's) cannot pin any hidden cell to one value: for each hidden cell, a
    linear programme (scipy's HiGHS) finds feasible tables with different values.
"""

from __future__ import annotations

import csv
import html
import io
import re
from collections import defaultdict

import numpy as np
import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import transaction
from django.test import Client, override_settings
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from cegah.riskmap import exports
from cegah.riskmap.models import AreaRisk, RiskRun, RunStatus, Tier
from tests.conftest import client_for

pytestmark = pytest.mark.django_db

CATEGORIES = ["sexual_abuse", "sexual_exploitation", "online_sexual_exploitation",
              "trafficking"]
COLUMNS = [*CATEGORIES, "total"]
MIN_COUNT = 5
CAP = 10**6  # "no upper bound" for the LP; capping only helps the attacker

PROVINCE = "31"
REGENCIES = ["31.01", "31.71", "31.72", "31.73", "31.74", "31.75"]
DISTRICTS = ["31.74.01", "31.74.02", "31.74.03", "31.74.04"]
VILLAGES = {d: [f"{d}.100{k}" for k in range(1, 5)] for d in DISTRICTS[:3]}

# Many small counts: zeros, the protected 1-4, and a few at or just above the threshold.
count = st.one_of(st.just(0), st.integers(1, 4), st.integers(5, 8))
categories = st.lists(count, min_size=len(CATEGORIES), max_size=len(CATEGORIES))
tiers = st.sampled_from([t.value for t in Tier])


@st.composite
def datasets(draw) -> dict[str, dict]:
    """``{code: {"parent", "level", "counts": [per category], "tier"}}`` for a tree whose
    parents' counts are the sums of their children's."""
    n_districts = draw(st.integers(2, 4))
    districts = DISTRICTS[:n_districts]
    tree: dict[str, list[str]] = {PROVINCE: list(REGENCIES), "31.74": districts}
    for d in districts:
        if d in VILLAGES and draw(st.booleans()):
            tree[d] = VILLAGES[d][: draw(st.integers(2, 4))]
    data: dict[str, dict] = {}

    def build(code: str, parent: str, level: int) -> list[int]:
        if code in tree:
            sums = np.zeros(len(CATEGORIES), dtype=int)
            for child in tree[code]:
                sums += build(child, code, level + 1)
            counts = sums.tolist()
        else:
            counts = draw(categories)
        data[code] = {"parent": parent, "level": level, "counts": counts,
                      "tier": draw(tiers), "children": tree.get(code, [])}
        return np.array(counts)

    build(PROVINCE, "", 1)
    return data


def store(data: dict[str, dict]) -> RiskRun:
    now = timezone.now()
    run = RiskRun.objects.create(
        status=RunStatus.DONE, trigger="test", as_of="2026-10", started_at=now,
        finished_at=now, progress=100,
        parameters={"window": {"months": 12, "from": "2025-11", "to": "2026-10"}})
    AreaRisk.objects.bulk_create([AreaRisk(
        run=run, area_id=code, level=row["level"], parent_code=row["parent"],
        children=len(row["children"]) or None, cases=sum(row["counts"]),
        cases_by_category=dict(zip(CATEGORIES, row["counts"], strict=True)),
        tier=row["tier"], confidence="low", score=0.5, crude_rate=1.0,
        drivers={"en": [], "id": [], "kinds": []}, flags={"en": [], "id": []},
    ) for code, row in data.items()])
    return run


def truth(data: dict[str, dict], code: str, column: str) -> int:
    counts = data[code]["counts"]
    return sum(counts) if column == "total" else counts[CATEGORIES.index(column)]


# --- what an unentitled user can fetch -------------------------------------------------

class Published:
    """Every label published for each cell (area, column), with where it came from."""

    def __init__(self) -> None:
        self.labels: dict[tuple[str, str], set[str]] = defaultdict(set)
        self.where: dict[tuple[str, str, str], str] = {}
        self.by_source: dict[str, dict[tuple[str, str], set[str]]] = defaultdict(
            lambda: defaultdict(set))

    def add(self, source: str, code: str, column: str, label) -> None:
        label = str(label).strip()
        if label in ("", "–", "-", "None"):
            return
        label = label.replace(".", "").replace(",", "")  # thousands separators
        self.labels[code, column].add(label)
        self.by_source[source][code, column].add(label)
        self.where.setdefault((code, column, label), source)

    def add_json(self, source: str, value) -> None:
        """Any object in a JSON document that carries an area's counts."""
        if isinstance(value, list):
            for item in value:
                self.add_json(source, item)
            return
        if not isinstance(value, dict):
            return
        props = value.get("properties") if isinstance(value.get("properties"), dict) else None
        for obj in (value, props):
            if not obj or "code" not in obj:
                continue
            code = obj["code"]
            if "cases_label" in obj:
                self.add(source, code, "total", obj["cases_label"])
            if obj.get("cases") is not None:
                self.add(source, code, "total", obj["cases"])
            for cat, label in (obj.get("categories") or {}).items():
                self.add(source, code, cat, label)
        for item in value.values():
            if isinstance(item, dict | list):
                self.add_json(source, item)


def fetch_as_unentitled(client: Client, data: dict[str, dict], seen: Published) -> None:
    parents = [c for c, row in data.items() if row["children"]]
    first_children = [data[p]["children"][0] for p in parents]

    def get_json(url: str):
        response = client.get(url)
        assert response.status_code == 200, url
        seen.add_json(url, response.json())

    get_json("/api/v1/risk/areas")
    for level in ("province", "regency", "district", "village"):
        get_json(f"/api/v1/risk/areas?level={level}&page_size=1000")
    for parent in parents:
        get_json(f"/api/v1/risk/areas?parent={parent}&page_size=1000")
    for code in [PROVINCE, *first_children]:
        get_json(f"/api/v1/areas/{code}")
    if map_data_url() is not None:
        for parent in parents:
            get_json(f"{map_data_url()}?parent={parent}")
    if map_data_url() is not None:  # the map page's table (server-rendered)
        for parent in ["", *parents]:
            url = f"{reverse('riskmap:map')}?area={parent}" if parent else reverse("riskmap:map")
            response = client.get(url)
            assert response.status_code == 200, url
            rows = _MAP_ROW.findall(response.content.decode())
            assert rows, url
            for code, value, label in rows:
                seen.add(url, code, "total", html.unescape(label))
                seen.add(url + " data-v", code, "total", value)
    for parent in ["", *parents]:
        url = f"/risk/export/table.csv?parent={parent}" if parent else "/risk/export/table.csv"
        response = client.get(url)
        assert response.status_code == 200, url
        for row in csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))):
            seen.add(url, row["code"], "total", row["cases"])
            for cat in CATEGORIES:
                seen.add(url, row["code"], cat, row[cat])


def fetch_map_export_tables(user, run, seen: Published, parents: list[str]) -> None:
    """The table the PDF map shows (the same figures as the drawing's labels)."""
    from cegah.areas.models import Area

    for parent in [None, *parents]:
        area = Area.objects.get(code=parent) if parent else None
        doc = exports.map_document(exports.risk_table(user, run, area))
        for a in doc.table:
            seen.add(f"map.pdf?parent={parent or ''}", a.code, "total", a.cases_label)


_MAP_ROW = re.compile(r'<tr id="row-[^"]+" data-code="([^"]+)".*?'
                      r'<td class="num" data-v="([^"]*)">([^<]*)</td>', re.S)
_PUBLIC_ROW = re.compile(r'<tr data-code="([^"]+)">.*?<td class="num" data-cases>([^<]*)</td>',
                         re.S)


def fetch_public(seen: Published) -> None:
    response = Client().get("/public/")
    assert response.status_code == 200
    rows = _PUBLIC_ROW.findall(response.content.decode())
    assert rows
    for code, label in rows:
        seen.add("/public/", code, "total", html.unescape(label))


def map_data_url() -> str | None:
    """The map's GeoJSON endpoint, once the map page exists (built alongside)."""
    try:
        return reverse("riskmap:map_data")
    except NoReverseMatch:
        return None


# --- the attack ------------------------------------------------------------------------

def bounds_for(labels: set[str], true: int) -> tuple[int, int] | None:
    """What the attacker knows of one cell; None when it is shown."""
    if any(label.isdigit() for label in labels):
        return None
    if "<5" in labels:
        return (1, MIN_COUNT - 1)
    if "x" in labels:
        return (MIN_COUNT, CAP) if true >= MIN_COUNT else (1, CAP)
    return (0, CAP)  # never published: only "a count"


def pinned_cells(data: dict[str, dict],
                 labels: dict[tuple[str, str], set[str]]) -> list[tuple[str, str, int]]:
    """Hidden cells whose value the published ``labels`` determine exactly."""
    cells = [(code, col) for code in data for col in COLUMNS]
    known: dict[tuple[str, str], int] = {}
    hidden: list[tuple[str, str]] = []
    bounds: list[tuple[int, int]] = []
    for cell in cells:
        b = bounds_for(labels.get(cell, set()), truth(data, *cell))
        if b is None:
            known[cell] = truth(data, *cell)
        else:
            hidden.append(cell)
            bounds.append(b)
    if not hidden:
        return []
    index = {cell: i for i, cell in enumerate(hidden)}
    relations: list[list[tuple[tuple[str, str], int]]] = []
    for code, row in data.items():
        relations.append([((code, c), 1) for c in CATEGORIES] + [((code, "total"), -1)])
        if row["children"]:
            for col in COLUMNS:
                relations.append([((child, col), 1) for child in row["children"]]
                                 + [((code, col), -1)])
    a_eq = np.zeros((len(relations), len(hidden)))
    b_eq = np.zeros(len(relations))
    for k, relation in enumerate(relations):
        for cell, sign in relation:
            if cell in index:
                a_eq[k, index[cell]] = sign
            else:
                b_eq[k] -= sign * known[cell]
    true = np.array([truth(data, *cell) for cell in hidden], dtype=float)
    free = np.zeros(len(hidden), dtype=bool)

    def solve(objective: np.ndarray) -> np.ndarray:
        res = linprog(objective, A_eq=a_eq, b_eq=b_eq, bounds=bounds, method="highs")
        assert res.status == 0, res.message  # the truth is feasible
        return res.x

    for objective in (np.ones(len(hidden)), -np.ones(len(hidden))):
        free |= np.abs(solve(objective) - true) > 0.5
    for i in range(len(hidden)):
        for direction in (-1.0, 1.0):
            if free[i]:
                break
            objective = np.zeros(len(hidden))
            objective[i] = direction
            free |= np.abs(solve(objective) - true) > 0.5
    # A zero, or a count of 5 or more that no label hides, may be worked out: it would
    # have been shown anyway. Any other value pinned is a disclosure.
    return [(*hidden[i], int(true[i])) for i in np.flatnonzero(~free)
            if labels.get(hidden[i]) or 1 <= true[i] < MIN_COUNT]


# --- the property ----------------------------------------------------------------------

def publish(data: dict[str, dict], charlie) -> Published:
    """Everything Charlie and an anonymous visitor can fetch about a run of ``data``."""
    with transaction.atomic():
        run = store(data)
        seen = Published()
        fetch_as_unentitled(client_for(charlie), data, seen)
        parents = [c for c, row in data.items() if row["children"]]
        fetch_map_export_tables(charlie, run, seen, parents)
        fetch_map_export_tables(AnonymousUser(), run, seen, parents)
        fetch_public(seen)
        transaction.set_rollback(True)
    return seen


def assert_no_small_count_shown(data: dict[str, dict], seen: Published) -> None:
    for (code, column), labels in seen.labels.items():
        for label in labels:
            assert label in ("<5", "x") or label.isdigit(), (code, column, label)
            if label.isdigit():
                where = seen.where[code, column, label]
                assert int(label) == truth(data, code, column), (code, column, label, where)
                assert not 1 <= int(label) < MIN_COUNT, (code, column, label, where)


def explain(data, labels, pinned) -> list:
    return [(code, column, value, sorted(labels.get((code, column), set())))
            for code, column, value in pinned]


def _leaf(parent: str, level: int, counts: list[int]) -> dict:
    return {"parent": parent, "level": level, "counts": counts, "tier": "low",
            "children": []}


# Found by this property when each table was protected on its own: Jakarta's row,
# protected alone in the list of provinces, showed its 6 trafficking cases; protected
# again as the total row of its regencies, the 6 was hidden as the complement of South
# Jakarta's 1 (not 31.75's 5). Together: 6 - 5 = 1, from the export of the provinces and
# the export of 31's regencies alone (the API gave the same two tables).
LINKED_TABLES = {
    **{code: _leaf("31", 2, [0, 0, 0, 0]) for code in REGENCIES},
    "31.74": {**_leaf("31", 2, [0, 0, 0, 1]), "children": ["31.74.01", "31.74.02"]},
    "31.74.01": _leaf("31.74", 3, [0, 0, 0, 1]),
    "31.74.02": _leaf("31.74", 3, [0, 0, 0, 0]),
    "31.75": _leaf("31", 2, [0, 0, 0, 5]),
    "31": {**_leaf("", 1, [0, 0, 0, 6]), "children": list(REGENCIES)},
}


@override_settings(PUBLIC_SUMMARY=True)
@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture,
                                 HealthCheck.too_slow])
@example(data=LINKED_TABLES)
@given(data=datasets())
def test_it_never_discloses_a_small_count_to_an_unentitled_user(data, charlie):
    seen = publish(data, charlie)
    # (a) Every shown count is true, and none is 1 to 4.
    assert_no_small_count_shown(data, seen)
    # (b) Nothing hidden can be worked out from everything published, put together.
    pinned = pinned_cells(data, seen.labels)
    assert pinned == [], explain(data, seen.labels, pinned)


def test_it_checks_an_attacker_who_combines_sources(db):
    """The check itself: a hidden cell beside a shown total and shown parts is pinned."""
    data = {
        "31": {"parent": "", "level": 1, "counts": [3, 0, 0, 7], "tier": "low",
               "children": []},
    }
    seen = Published()
    seen.add("a", "31", "sexual_abuse", "<5")
    seen.add("a", "31", "trafficking", "x")
    seen.add("a", "31", "total", "10")
    for cat in CATEGORIES[1:3]:
        seen.add("a", "31", cat, "0")
    assert pinned_cells(data, seen.labels) == []
    seen.add("b", "31", "trafficking", "7")  # another source shows the complement
    assert pinned_cells(data, seen.labels) == [("31", "sexual_abuse", 3)]
    assert pinned_cells(data, seen.by_source["a"]) == []
    seen = Published()
    seen.add_json("api", {"items": [{"code": "31", "cases": None, "cases_label": "x",
                                     "categories": {"trafficking": "7"}}]})
    assert seen.labels == {("31", "total"): {"x"}, ("31", "trafficking"): {"7"}}
