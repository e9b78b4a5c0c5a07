"""Area boundaries: the import (file checks, reprojection, simplification, dissolving
parents, all or nothing, idempotent, audited), the CLI, the web upload, and the demo's
illustrative generated boundaries."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest
import shapely

from cegah.areas.actions import do_clear_boundaries, do_import_boundaries
from cegah.areas.boundaries import (
    DECIMALS,
    SIMPLIFY_TOLERANCE,
    check_boundaries,
    is_dissolved,
    is_illustrative,
)
from cegah.areas.models import Area, Level
from cegah.audit.models import AuditEvent
from cegah.demo.boundaries import ILLUSTRATIVE_NOTE, do_load_demo_boundaries, generate_boundaries
from cegah.risk.weights import contiguity, neighbour_counts
from tests.conftest import client_for
from tests.test_smoke_cli import run_cli

TEBET = "31.74.01"  # a district of South Jakarta with seven villages
TEBET_VILLAGES = [f"{TEBET}.100{i}" for i in range(1, 8)]
STEP = 0.01


@pytest.fixture(autouse=True)
def _english():
    """Messages are checked in English, as the command line shows them."""
    from django.utils import translation

    with translation.override("en"):
        yield


def _square(i: int, *, x0: float = 106.80, y0: float = -6.25) -> list:
    x = x0 + i * STEP
    return [[[x, y0], [x + STEP, y0], [x + STEP, y0 + STEP], [x, y0 + STEP], [x, y0]]]


def _feature(code, geometry, **props) -> dict:
    properties = {} if code is None else {"code": code}
    return {"type": "Feature", "properties": properties | props, "geometry": geometry}


def _polygon(coords) -> dict:
    return {"type": "Polygon", "coordinates": coords}


def geojson_bytes(features) -> bytes:
    return json.dumps({"type": "FeatureCollection", "features": features}).encode()


def tebet_features() -> list[dict]:
    """Seven villages side by side, the first with a jagged edge that simplification
    removes (deviations of 0.00002 degrees, well under the village tolerance)."""
    features = [_feature(code, _polygon(_square(i))) for i, code in enumerate(TEBET_VILLAGES)]
    x, y = 106.80, -6.25
    bottom = [[x + k * STEP / 20, y + (0.00002 if k % 2 else 0.0)] for k in range(21)]
    bottom[-1] = [x + STEP, y]
    ring = [*bottom, [x + STEP, y + STEP], [x, y + STEP], [x, y]]
    features[0] = _feature(TEBET_VILLAGES[0], _polygon([ring]))
    return features


def _geometries(codes) -> dict[str, str | None]:
    return dict(Area.objects.filter(code__in=codes).values_list("code", "geometry"))


def _stored_shape(code: str):
    return shapely.from_geojson(Area.objects.get(code=code).geometry)


# --- checks, per feature --------------------------------------------------------------


@pytest.mark.django_db
def test_it_rejects_bad_features_one_by_one_and_changes_nothing(operator):
    features = [
        _feature(TEBET_VILLAGES[0], _polygon(_square(0))),  # fine
        _feature(TEBET_VILLAGES[1], {"type": "Point", "coordinates": [106.8, -6.2]}),
        _feature(TEBET_VILLAGES[2], _polygon(_square(0, x0=206.8))),  # longitude 206.8
        _feature("99.99.99.9999", _polygon(_square(3))),
        _feature(TEBET_VILLAGES[0], _polygon(_square(4))),  # duplicate of feature 1
        _feature(TEBET_VILLAGES[5], _polygon(_square(0, y0=95.0))),  # latitude 95
        _feature("", _polygon(_square(6))),
    ]
    plan = check_boundaries(geojson_bytes(features), "villages.geojson")
    assert not plan.ok
    found = {p.feature: p.message for p in plan.problems}
    assert set(found) == {2, 3, 4, 5, 6, 7}, found
    assert "Polygon or MultiPolygon, got Point" in found[2]
    assert "longitude 206.81 is outside -180..180" in found[3]
    assert "unknown area code '99.99.99.9999'" in found[4]
    assert "duplicate code '31.74.01.1001' (also feature 1)" in found[5]
    assert "latitude 95.01 is outside -90..90" in found[6]
    assert "code is empty" in found[7]
    assert str(plan.problems[0]).startswith("villages.geojson, feature 2: ")
    with pytest.raises(ValueError, match="nothing was imported"):
        do_import_boundaries(operator, plan)
    assert set(_geometries(TEBET_VILLAGES).values()) == {None}
    assert not AuditEvent.objects.filter(object_type="boundaries").exists()


@pytest.mark.django_db
def test_it_rejects_a_file_without_a_code_property():
    features = [_feature(None, _polygon(_square(0)), name="Tebet Timur")]
    plan = check_boundaries(geojson_bytes(features), "no-code.geojson")
    assert [(p.feature, p.message) for p in plan.problems] == [
        (None, "no 'code' property; expected one of code, kode, kode_wilayah, area_code, "
               "kode_wilay (found: name).")]


@pytest.mark.django_db
def test_it_rejects_unreadable_files_and_other_formats():
    plan = check_boundaries(b"not json at all", "broken.geojson")
    assert not plan.ok and plan.problems[0].feature is None
    assert "not a readable boundary file" in plan.problems[0].message
    plan = check_boundaries(b"code\n31\n", "areas.csv")
    assert "expected a boundary file ending in" in plan.problems[0].message


@pytest.mark.django_db
def test_it_refuses_projected_coordinates_without_a_coordinate_system(tmp_path):
    # A Shapefile in metres (UTM) with no .prj: the coordinates cannot be longitudes.
    import pyogrio

    shp = tmp_path / "utm.shp"
    box = shapely.box(700000, 9300000, 701000, 9301000)
    with pytest.warns(UserWarning, match="crs"):
        pyogrio.raw.write(shp, np.array([shapely.to_wkb(box)], dtype=object),
                          [np.array([TEBET_VILLAGES[0]], dtype=object)], ["code"],
                          geometry_type="Polygon", driver="ESRI Shapefile", crs=None)
    archive = tmp_path / "utm.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for part in tmp_path.glob("utm.*"):
            if part.suffix != ".zip":
                z.write(part, part.name)
    plan = check_boundaries(archive)
    assert [p.feature for p in plan.problems] == [1]
    assert "longitude 701000 is outside -180..180" in plan.problems[0].message
    assert "look projected" in plan.problems[0].message


# --- a good import ----------------------------------------------------------------------


@pytest.mark.django_db
def test_it_imports_simplifies_and_dissolves_the_parent(operator):
    plan = check_boundaries(geojson_bytes(tebet_features()), "tebet.geojson")
    assert plan.ok, plan.problems
    assert plan.counts["village"].new == 7 and plan.counts["district"].dissolved == 1
    summary = do_import_boundaries(operator, plan)
    stored = _geometries(TEBET_VILLAGES)
    assert all(stored.values())
    jagged = _stored_shape(TEBET_VILLAGES[0])
    # Simplified: most of the 2-metre zigzag is gone, and nothing moved further than that.
    assert shapely.get_num_coordinates(jagged) <= 10
    assert shapely.hausdorff_distance(jagged, shapely.box(106.80, -6.25, 106.81, -6.24)) < 3e-5
    # Outer rings counter-clockwise, coordinates rounded.
    assert jagged.exterior.is_ccw
    coords = json.loads(stored[TEBET_VILLAGES[3]])["coordinates"][0]
    assert all(round(v, DECIMALS) == v for xy in coords for v in xy)
    # The district is the union of its villages, marked as dissolved.
    district = Area.objects.get(code=TEBET).geometry
    assert is_dissolved(district) and not is_illustrative(district)
    assert shapely.from_geojson(district).equals(shapely.box(106.80, -6.25, 106.87, -6.24))
    # The regency is not: most of its districts have no boundary.
    assert Area.objects.get(code="31.74").geometry is None
    event = AuditEvent.objects.get(object_type="boundaries")
    assert event.action == "import" and event.actor_label == "cli:test"
    assert event.new == summary and event.new["sha256"] == plan.sha256
    assert event.new["levels"]["village"] == {"new": 7, "replaced": 0, "unchanged": 0,
                                              "dissolved": 0}
    assert "coordinates" not in json.dumps(event.new)
    # Neighbours come from the boundaries: the risk map is recomputed.
    from cegah.riskmap.models import RiskRun

    assert RiskRun.objects.filter(trigger="boundaries").exists()


@pytest.mark.django_db
def test_it_changes_nothing_when_the_same_file_is_imported_again(operator):
    data = geojson_bytes(tebet_features())
    do_import_boundaries(operator, check_boundaries(data, "tebet.geojson"))
    before = _geometries([*TEBET_VILLAGES, TEBET])
    again = check_boundaries(data, "tebet.geojson")
    assert again.ok and again.changes == 0
    assert again.counts["village"].unchanged == 7 and again.counts["district"].unchanged == 1
    do_import_boundaries(operator, again)
    assert _geometries([*TEBET_VILLAGES, TEBET]) == before


@pytest.mark.django_db
def test_it_replaces_a_changed_village_and_remakes_the_dissolved_district(operator):
    do_import_boundaries(operator, check_boundaries(geojson_bytes(tebet_features()), "a.geojson"))
    features = tebet_features()
    features[6] = _feature(TEBET_VILLAGES[6], _polygon(
        [[[106.86, -6.25], [106.88, -6.25], [106.88, -6.24], [106.86, -6.24], [106.86, -6.25]]]))
    plan = check_boundaries(geojson_bytes(features), "b.geojson")
    assert plan.counts["village"].replaced == 1 and plan.counts["village"].unchanged == 6
    assert plan.counts["district"].replaced == 1
    do_import_boundaries(operator, plan)
    assert _stored_shape(TEBET).equals(shapely.box(106.80, -6.25, 106.88, -6.24))


@pytest.mark.django_db
def test_it_keeps_a_parent_boundary_of_its_own_and_can_skip_dissolving(operator):
    own = _polygon([[[106.7, -6.3], [106.9, -6.3], [106.9, -6.2], [106.7, -6.3]]])
    do_import_boundaries(operator, check_boundaries(
        geojson_bytes([_feature(TEBET, own)]), "district.geojson"))
    plan = check_boundaries(geojson_bytes(tebet_features()), "tebet.geojson")
    assert plan.counts["district"].total == 0
    do_import_boundaries(operator, plan)
    assert not is_dissolved(Area.objects.get(code=TEBET).geometry)
    # Without dissolving, an empty parent stays empty.
    assert do_clear_boundaries(operator, [TEBET]) == 8
    assert set(_geometries([*TEBET_VILLAGES, TEBET]).values()) == {None}
    assert AuditEvent.objects.get(object_type="boundaries", action="delete").old["areas"] == 8
    plan = check_boundaries(geojson_bytes(tebet_features()), "tebet.geojson", dissolve=False)
    do_import_boundaries(operator, plan)
    assert Area.objects.get(code=TEBET).geometry is None


@pytest.mark.django_db
def test_it_dissolves_up_to_the_province_when_every_child_has_a_boundary(operator):
    regencies = sorted(Area.objects.filter(parent_id="31").values_list("code", flat=True))
    features = [_feature(code, _polygon(_square(i))) for i, code in enumerate(regencies)]
    plan = check_boundaries(geojson_bytes(features), "jakarta-regencies.geojson")
    assert plan.counts["province"].dissolved == 1
    do_import_boundaries(operator, plan)
    province = _stored_shape("31")
    assert province.equals(shapely.box(106.80, -6.25, 106.80 + len(regencies) * STEP, -6.24))


@pytest.mark.django_db
def test_it_reads_a_projected_geopackage_and_repairs_a_bow_tie(tmp_path, operator):
    import pyogrio
    import pyproj

    to_utm = pyproj.Transformer.from_crs(4326, 32748, always_xy=True)
    x, y = to_utm.transform(106.80, -6.25)
    square = shapely.box(x, y, x + 1000, y + 1000)
    bow_tie = shapely.Polygon([(x, y), (x + 1000, y + 1000), (x + 1000, y), (x, y + 1000)])
    path = tmp_path / "utm.gpkg"
    pyogrio.raw.write(path, np.array(shapely.to_wkb([square, bow_tie]), dtype=object),
                      [np.array(TEBET_VILLAGES[:2], dtype=object)], ["kode"],
                      geometry_type="Polygon", driver="GPKG", crs="EPSG:32748")
    plan = check_boundaries(path)
    assert plan.ok, plan.problems
    assert plan.reprojected_from == "EPSG:32748"
    do_import_boundaries(operator, plan)
    lon, lat = _stored_shape(TEBET_VILLAGES[0]).centroid.coords[0]
    assert abs(lon - 106.8045) < 0.001 and abs(lat - (-6.2455)) < 0.001
    repaired = _stored_shape(TEBET_VILLAGES[1])
    assert repaired.is_valid and repaired.geom_type == "MultiPolygon"


# --- command line -----------------------------------------------------------------------


def test_cegah_areas_boundaries_imports_checks_and_reports_per_feature(tmp_path, cli_env):
    assert run_cli("init", env_extra=cli_env).returncode == 0
    assert run_cli("areas", "load", "--only", TEBET, env_extra=cli_env).returncode == 0
    good = tmp_path / "tebet.geojson"
    good.write_bytes(geojson_bytes(tebet_features()))
    dry = run_cli("areas", "boundaries", str(good), "--dry-run", env_extra=cli_env)
    assert dry.returncode == 0, dry.stderr
    # Only Tebet's districts and villages are loaded: its regency is filled in too.
    assert "7 features valid; would change 9 boundaries" in dry.stdout
    done = run_cli("areas", "boundaries", str(good), env_extra=cli_env)
    assert done.returncode == 0, done.stderr
    rows = {line.split()[0]: line.split()[1:] for line in done.stdout.splitlines()[2:]}
    assert rows == {"regency": ["1", "0", "0", "1"], "district": ["1", "0", "0", "1"],
                    "village": ["7", "0", "0", "0"]}
    again = run_cli("areas", "boundaries", str(good), env_extra=cli_env)
    assert "changed 0 boundaries" in again.stdout
    bad = tmp_path / "bad.geojson"
    bad.write_bytes(geojson_bytes([_feature(TEBET_VILLAGES[0], _polygon(_square(0))),
                                   _feature("31.74.01.9999", _polygon(_square(1)))]))
    refused = run_cli("areas", "boundaries", str(bad), env_extra=cli_env)
    assert refused.returncode == 1
    assert f"{bad}, feature 2: unknown area code '31.74.01.9999'." in refused.stderr
    assert "1 problem(s)" in refused.stderr and "nothing was imported" in refused.stderr
    missing = run_cli("areas", "boundaries", str(tmp_path / "nope.geojson"), env_extra=cli_env)
    assert missing.returncode == 2


# --- web upload -------------------------------------------------------------------------


def _upload(client, data: bytes, name: str, **fields):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return client.post("/areas/boundaries/", {"file": SimpleUploadedFile(name, data),
                                              "dissolve": "on", **fields})


@pytest.mark.django_db
def test_only_system_admins_may_upload_boundaries(alice, bob, charlie, sysadmin):
    data = geojson_bytes(tebet_features())
    for user in (alice, bob, charlie):
        client = client_for(user)
        assert client.get("/areas/boundaries/").status_code == 404
        assert _upload(client, data, "tebet.geojson").status_code == 404
    assert set(_geometries(TEBET_VILLAGES).values()) == {None}
    admin = client_for(sysadmin, "en")
    assert admin.get("/areas/boundaries/").status_code == 200
    checked = _upload(admin, data, "tebet.geojson", dry_run="on")
    assert "would" in checked.content.decode()
    assert set(_geometries(TEBET_VILLAGES).values()) == {None}
    response = _upload(admin, data, "tebet.geojson")
    assert response.status_code == 200
    assert 'id="boundary-result"' in response.content.decode()
    assert all(_geometries(TEBET_VILLAGES).values())
    event = AuditEvent.objects.get(object_type="boundaries")
    assert event.actor == sysadmin


@pytest.mark.django_db
def test_the_upload_page_shows_each_bad_feature_in_indonesian(sysadmin):
    features = [_feature(TEBET_VILLAGES[0], _polygon(_square(0))),
                _feature("31.74.01.9999", _polygon(_square(1)))]
    response = _upload(client_for(sysadmin, "id"), geojson_bytes(features), "salah.geojson")
    page = response.content.decode()
    assert 'id="boundary-errors"' in page
    assert "fitur 2" in page and "kode wilayah tidak dikenal" in page
    assert Area.objects.get(code=TEBET_VILLAGES[0]).geometry is None
    refused = _upload(client_for(sysadmin, "en"), b"code\n", "villages.csv")
    assert ".geojson, .json, .gpkg or .zip" in refused.content.decode()


# --- the demo's illustrative boundaries -------------------------------------------------


def test_generated_boundaries_are_reproducible_and_tile_their_region():
    villages = [f"31.74.0{d}.100{v}" for d in range(1, 4) for v in range(1, 6)]
    codes, geoms = generate_boundaries(villages, seed=3)
    again_codes, again = generate_boundaries(villages, seed=3)
    assert codes == sorted(villages) == again_codes
    assert all(a.equals_exact(b, 0) for a, b in zip(geoms, again, strict=True))
    assert not all(a.equals(b) for a, b in zip(geoms, generate_boundaries(villages, seed=4)[1],
                                               strict=True))
    assert all(g.geom_type == "Polygon" and g.is_valid for g in geoms)
    # No overlaps: the cells' areas add up to the area of their union.
    union = shapely.union_all(geoms)
    assert abs(sum(g.area for g in geoms) - union.area) < 1e-9 * union.area
    with pytest.raises(ValueError, match="not in a demo region"):
        generate_boundaries(["32.01.01.2001"])
    assert "not real" in ILLUSTRATIVE_NOTE


@pytest.mark.django_db
def test_demo_boundaries_nest_have_neighbours_and_are_marked_illustrative(operator):
    changed = do_load_demo_boundaries(operator, ["31.74"], seed=5)
    villages = Area.objects.filter(code__startswith="31.74.", level=Level.VILLAGE)
    districts = Area.objects.filter(code__startswith="31.74.", level=Level.DISTRICT)
    assert changed == villages.count() + districts.count() + 1  # and the regency
    texts = dict(Area.objects.filter(code__startswith="31.74").values_list("code", "geometry"))
    assert all(is_illustrative(t) for t in texts.values())
    assert Area.objects.get(code="31").geometry is None  # other regencies have none
    shapes = {code: shapely.from_geojson(t) for code, t in texts.items()}
    slack = SIMPLIFY_TOLERANCE[Level.DISTRICT] + SIMPLIFY_TOLERANCE[Level.VILLAGE]
    for code in villages.values_list("code", flat=True):
        district = shapes[code.rsplit(".", 1)[0]]
        # Within its district, but for the district's simplification.
        assert district.buffer(slack).covers(shapes[code]), code
        assert shapes[code].intersection(district).area > 0.9 * shapes[code].area, code
    village_codes = sorted(villages.values_list("code", flat=True))
    counts = neighbour_counts(contiguity([shapes[c] for c in village_codes], kind="rook"))
    assert (counts > 0).all() and counts.mean() > 3
    # Loading them again is skipped.
    assert do_load_demo_boundaries(operator, ["31.74"], seed=5) == 0
    event = AuditEvent.objects.get(object_type="boundaries")
    assert event.new["illustrative"] is True and "not real" in event.new["file"]
