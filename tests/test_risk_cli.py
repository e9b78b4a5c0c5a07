"""``cegah risk score`` and ``cegah risk factors``, run as a user runs them (subprocesses)."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import shapely

from cegah.demo.generator import generate
from tests.risk_simulation import make_world
from tests.test_smoke_cli import run_cli


@pytest.fixture(scope="module")
def world_files(tmp_path_factory):
    """A SYNTHETIC world written as the files a user would give."""
    d = tmp_path_factory.mktemp("world")
    w = make_world(3)
    w.areas.to_csv(d / "areas.csv", index=False)
    w.population.to_csv(d / "population.csv", index=False)
    w.cases.to_csv(d / "cases.csv", index=False)
    w.factors.to_csv(d / "factors.csv", index=False)
    features = [{"type": "Feature", "properties": {"code": c},
                 "geometry": json.loads(shapely.to_geojson(g))}
                for c, g in zip(*w.boundaries, strict=True)]
    (d / "boundaries.geojson").write_text(json.dumps(
        {"type": "FeatureCollection", "features": features}))
    return d


def args(d, *extra):
    return ["risk", "score", "--areas", str(d / "areas.csv"),
            "--population", str(d / "population.csv"), "--cases", str(d / "cases.csv"),
            *extra]


def test_it_scores_files_to_csv_geojson_and_json(world_files, tmp_path):
    d = world_files
    full = [*args(d), "--factors", str(d / "factors.csv"), "--boundaries",
            str(d / "boundaries.geojson"), "--seed", "7", "--permutations", "99"]
    out = run_cli(*full, "--out", str(tmp_path / "scores.csv"))
    assert out.returncode == 0, out.stderr
    assert "1,280 village areas" in out.stdout
    assert "smoothing" in out.stderr and "hotspots (99 permutations)" in out.stderr
    table = pd.read_csv(tmp_path / "scores.csv")
    for column in ("code", "name", "level", "children", "cases", "crude_rate",
                   "smoothed_rate", "rate_low", "rate_high", "expected_cases",
                   "relative_risk", "hotspot", "trend", "score", "tier", "drivers", "flags"):
        assert column in table.columns
    assert set(table["tier"]) <= {"high", "moderate", "low"}

    out = run_cli(*full, "--out", str(tmp_path / "scores.geojson"))
    assert out.returncode == 0, out.stderr
    geo = json.loads((tmp_path / "scores.geojson").read_text())
    assert len(geo["features"]) == 1280
    assert geo["features"][0]["geometry"]["type"] == "Polygon"
    assert "tier" in geo["features"][0]["properties"]

    out = run_cli(*full, "--out", str(tmp_path / "scores.json"), "--quiet")
    assert out.returncode == 0 and out.stderr == ""
    data = json.loads((tmp_path / "scores.json").read_text())
    assert data["metadata"]["window"]["to"] == "2026-10"
    assert isinstance(data["areas"][0]["drivers"], list)
    again = run_cli(*full, "--out", str(tmp_path / "again.json"), "--quiet")
    assert again.returncode == 0
    assert json.loads((tmp_path / "again.json").read_text())["areas"] == data["areas"]


def test_it_prints_and_writes_the_factor_table(world_files, tmp_path):
    d = world_files
    out = run_cli("risk", "factors", *args(d)[2:], "--factors", str(d / "factors.csv"),
                  "--quiet")
    assert out.returncode == 0, out.stderr
    assert "ferry_port" in out.stdout and "relative" not in out.stderr
    out = run_cli("risk", "factors", *args(d)[2:], "--factors", str(d / "factors.csv"),
                  "--out", str(tmp_path / "factors.csv"), "--quiet")
    assert out.returncode == 0, out.stderr
    table = pd.read_csv(tmp_path / "factors.csv")
    assert {"factor", "relative_risk", "low", "high", "p"} <= set(table.columns)


@pytest.mark.parametrize(("column", "value", "message"), [
    (0, "X.99", "unknown"),
    (1, "2026-13", "2026-13"),
    (3, "-2", "-2"),
])
def test_bad_input_names_the_file_and_line_and_writes_nothing(world_files, tmp_path, column,
                                                              value, message):
    d = world_files
    lines = (d / "cases.csv").read_text().splitlines()
    cells = lines[5].split(",")
    cells[column] = value
    lines[5] = ",".join(cells)
    bad = tmp_path / "cases.csv"
    bad.write_text("\n".join(lines) + "\n")
    out = run_cli("risk", "score", "--areas", str(d / "areas.csv"), "--population",
                  str(d / "population.csv"), "--cases", str(bad),
                  "--out", str(tmp_path / "scores.csv"))
    assert out.returncode == 1
    assert "cases.csv, line 6" in out.stderr and message in out.stderr
    assert "No output was written" in out.stderr
    assert list(tmp_path.iterdir()) == [bad]


def test_cases_in_an_area_without_children_are_refused_with_the_line(world_files, tmp_path):
    d = world_files
    cases = pd.read_csv(d / "cases.csv")
    code = cases.loc[cases["period"] == "2026-10", "code"].iloc[0]
    pop = pd.read_csv(d / "population.csv")
    pop.loc[pop["code"] == code, "children"] = 0
    pop.to_csv(tmp_path / "population.csv", index=False)
    out = run_cli("risk", "score", "--areas", str(d / "areas.csv"), "--population",
                  str(tmp_path / "population.csv"), "--cases", str(d / "cases.csv"),
                  "--out", str(tmp_path / "scores.csv"))
    assert out.returncode == 1
    assert f"cases in area {code}, which has no children" in out.stderr
    assert "cases.csv, line " in out.stderr
    assert not (tmp_path / "scores.csv").exists()


def test_geojson_output_needs_boundaries_and_a_known_extension(world_files, tmp_path):
    d = world_files
    out = run_cli(*args(d), "--out", str(tmp_path / "s.geojson"))
    assert out.returncode == 1 and "--boundaries" in out.stderr
    out = run_cli(*args(d), "--out", str(tmp_path / "s.docx"))
    assert out.returncode == 1 and "s.docx" in out.stderr
    out = run_cli(*args(d), "--out", str(tmp_path / "s.csv"), "--setting", "nonsense=1")
    assert out.returncode == 1 and "--setting" in out.stderr
    assert list(tmp_path.iterdir()) == []


def test_a_boundary_file_without_code_is_refused(world_files, tmp_path):
    d = world_files
    geo = json.loads((d / "boundaries.geojson").read_text())
    for f in geo["features"]:
        f["properties"] = {"name": "x"}
    (tmp_path / "b.geojson").write_text(json.dumps(geo))
    out = run_cli(*args(d), "--boundaries", str(tmp_path / "b.geojson"),
                  "--out", str(tmp_path / "s.csv"))
    assert out.returncode == 1 and "b.geojson" in out.stderr and "code" in out.stderr
    assert not (tmp_path / "s.csv").exists()


def test_it_scores_the_demo_data_with_the_built_in_hierarchy(tmp_path):
    """The foundation's SYNTHETIC demo files for Klaten (33.10), without --areas."""
    from cegah.risk.io import builtin_areas

    areas = builtin_areas(["33.10"])
    villages = [c for c, lv in zip(areas["code"] if "code" in areas.columns else areas.index,
                                   areas["level"], strict=True) if lv == 4]
    files = generate(villages)
    for name in ("cases", "population", "factors"):
        (tmp_path / f"{name}.csv").write_bytes(getattr(files, name))
    common = ["--population", str(tmp_path / "population.csv"), "--cases",
              str(tmp_path / "cases.csv"), "--factors", str(tmp_path / "factors.csv")]
    out = run_cli("risk", "score", *common, "--out", str(tmp_path / "villages.csv"))
    assert out.returncode == 0, out.stderr
    table = pd.read_csv(tmp_path / "villages.csv", dtype={"code": str})
    assert len(table) == len(villages) and table["code"].str.startswith("33.10.").all()
    out = run_cli("risk", "score", *common, "--level", "district", "--language", "id",
                  "--out", str(tmp_path / "districts.json"))
    assert out.returncode == 0, out.stderr
    data = json.loads((tmp_path / "districts.json").read_text())
    assert data["metadata"]["level"] == "district"
    assert len(data["areas"]) == 26  # Klaten's districts
