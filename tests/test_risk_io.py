"""File input and output of the risk engine (cegah.risk.io).

All files here are SYNTHETIC: small made-up tables written to tmp_path. Area codes are
real Kemendagri codes (public) or made-up ones such as "A1"; counts are invented.
"""

from __future__ import annotations

import json
import os
import re
import zipfile

import numpy as np
import pandas as pd
import pyogrio.raw
import pytest
import shapely
from openpyxl import Workbook

from cegah.risk.io import (
    InputError,
    builtin_areas,
    check_output_path,
    looks_like_kemendagri,
    read_areas,
    read_boundaries,
    read_cases,
    read_factors,
    read_population,
    read_table,
    write_table,
)
from cegah.risk.windows import CATEGORIES

AREAS = ["31", "31.71", "31.71.01", "31.71.01.1001", "31.71.01.1002", "31.71.02"]  # SYNTHETIC set


def write(tmp_path, name: str, text: str, *, encoding: str = "utf-8") -> str:
    path = tmp_path / name
    path.write_text(text, encoding=encoding, newline="")
    return str(path)


def write_xlsx(tmp_path, name: str, rows: list[list]) -> str:
    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    path = tmp_path / name
    book.save(path)
    return str(path)


def problems_of(excinfo) -> list[str]:
    return str(excinfo.value).splitlines()


# ----------------------------------------------------------------- InputError


def test_input_error_lists_twenty_problems_then_counts_the_rest():
    error = InputError([("cases.csv", line, "bad") for line in range(2, 32)], total=40)
    lines = str(error).splitlines()
    assert lines[0] == "cases.csv, line 2: bad"
    assert len(lines) == 21
    assert lines[-1] == "… and 20 more problems"
    assert isinstance(error, ValueError)
    assert str(InputError([("x.csv", None, "the file is empty.")])) == "x.csv: the file is empty."
    assert str(InputError([("b.geojson", "feature 3", "no geometry.")])) == (
        "b.geojson, feature 3: no geometry.")


# ----------------------------------------------------------------- cases


def test_it_reads_cases_with_aliases_bom_and_semicolons(tmp_path):
    path = write(tmp_path, "cases.csv",  # SYNTHETIC
                 "\ufeffKode ; Bulan;KATEGORI;Jumlah_Kasus;Sumber\r\n"
                 "31.71.01.1001;2026-01;Sexual_Abuse;3;polres\r\n"
                 "\r\n"
                 " 31.71.01.1002 ;2026-02;trafficking;0;\r\n")
    cases = read_cases(path, AREAS)
    assert list(cases.columns) == ["code", "period", "category", "count", "line"]
    assert cases["line"].tolist() == [2, 4]
    assert cases["code"].tolist() == ["31.71.01.1001", "31.71.01.1002"]
    assert cases["category"].tolist() == ["sexual_abuse", "trafficking"]
    assert cases["count"].tolist() == [3, 0]
    assert cases["count"].dtype == np.int64


def test_it_reads_cases_from_xlsx(tmp_path):
    import datetime as dt

    path = write_xlsx(tmp_path, "cases.xlsx", [  # SYNTHETIC
        ["code", "period", "category", "count"],
        ["31.71.01.1001", "2026-01", "sexual_abuse", 2],
        [None, None, None, None],
        ["31.71.01.1002", dt.datetime(2026, 3, 1), "trafficking", 4.0],
        ["31.71.01.1002", "2026-13", "trafficking", 1],
    ])
    with pytest.raises(InputError) as excinfo:
        read_cases(path, AREAS)
    assert problems_of(excinfo) == [
        "cases.xlsx, line 5: period must be a month as YYYY-MM, got '2026-13'."]
    path = write_xlsx(tmp_path, "ok.xlsx", [  # SYNTHETIC
        ["code", "period", "category", "count"],
        ["31.71.01.1002", dt.datetime(2026, 3, 1), "trafficking", 4.0],
    ])
    cases = read_cases(path, AREAS)
    assert cases.iloc[0].tolist() == ["31.71.01.1002", "2026-03", "trafficking", 4, 2]


def test_it_rejects_a_negative_count_naming_file_and_line(tmp_path):
    path = write(tmp_path, "cases.csv",  # SYNTHETIC
                 "code,period,category,count\n31.71.01.1001,2026-01,sexual_abuse,-3\n")
    with pytest.raises(InputError) as excinfo:
        read_cases(path, AREAS)
    assert str(excinfo.value) == (
        "cases.csv, line 2: count must be a whole number >= 0, got '-3'.")
    assert excinfo.value.problems == [
        ("cases.csv", 2, "count must be a whole number >= 0, got '-3'.")]


@pytest.mark.parametrize(("cell", "message"), [
    ("1.5", "count must be a whole number >= 0, got '1.5'"),
    ("1.000", "count must be a whole number >= 0, got '1.000'"),  # thousands separator?
    ("three", "count must be a whole number >= 0, got 'three'"),
    ("", "count is empty"),
    ("9999999999", "count is implausibly large"),
])
def test_it_rejects_counts_that_are_not_whole_numbers(tmp_path, cell, message):
    path = write(tmp_path, "cases.csv",  # SYNTHETIC
                 f"code,period,category,count\n31.71.01.1001,2026-01,trafficking,{cell}\n")
    with pytest.raises(InputError, match="cases.csv, line 2: " + message):
        read_cases(path, AREAS)


def test_it_accepts_whole_numbers_written_as_floats(tmp_path):
    path = write(tmp_path, "cases.csv",  # SYNTHETIC
                 "code,period,category,count\n31.71.01.1001,2026-01,trafficking,3.0\n")
    assert read_cases(path, AREAS)["count"].tolist() == [3]


def test_it_rejects_unknown_area_code(tmp_path):
    path = write(tmp_path, "cases.csv",  # SYNTHETIC
                 "code,period,category,count\n"
                 "31.71.01.1001,2026-01,trafficking,1\n"
                 "3171011001,2026-01,trafficking,1\n"
                 ",2026-01,trafficking,1\n")
    with pytest.raises(InputError) as excinfo:
        read_cases(path, AREAS)
    assert problems_of(excinfo) == [
        "cases.csv, line 3: unknown area code '3171011001' (area codes are written with "
        "dots, like '31.71').",
        "cases.csv, line 4: code is empty.",
    ]


@pytest.mark.parametrize("period", ["2026-13", "2026/01", "26-01", "2026-1", "1989-12",
                                    "2026-01-01"])
def test_it_rejects_malformed_periods(tmp_path, period):
    path = write(tmp_path, "cases.csv",  # SYNTHETIC
                 f"code,period,category,count\n31.71.01.1001,{period},trafficking,1\n")
    with pytest.raises(InputError, match=f"cases.csv, line 2: period must be a month as "
                                         f"YYYY-MM, got '{period}'"):
        read_cases(path, AREAS)


def test_it_rejects_unknown_category_listing_the_valid_ones(tmp_path):
    path = write(tmp_path, "cases.csv",  # SYNTHETIC
                 "code,period,category,count\n31.71.01.1001,2026-01,neglect,1\n")
    with pytest.raises(InputError) as excinfo:
        read_cases(path, AREAS)
    message = str(excinfo.value)
    assert message.startswith("cases.csv, line 2: unknown category 'neglect'; expected one of")
    assert all(c in message for c in CATEGORIES)


def test_it_rejects_duplicate_cases_naming_both_lines(tmp_path):
    path = write(tmp_path, "cases.csv",  # SYNTHETIC
                 "code,period,category,count\n"
                 "31.71.01.1001,2026-01,trafficking,1\n"
                 "31.71.01.1002,2026-01,trafficking,1\n"
                 "31.71.01.1001,2026-01,Trafficking,2\n")
    with pytest.raises(InputError) as excinfo:
        read_cases(path, AREAS)
    assert problems_of(excinfo) == [
        "cases.csv, line 4: duplicate of line 2 (same code, period and category)."]


def test_periods_after_as_of_are_kept_and_counted(tmp_path):
    path = write(tmp_path, "cases.csv",  # SYNTHETIC
                 "code,period,category,count\n"
                 "31.71.01.1001,2026-01,trafficking,1\n"
                 "31.71.01.1001,2026-03,trafficking,1\n")
    cases = read_cases(path, AREAS, as_of="2026-02")
    assert len(cases) == 2
    assert cases.attrs["rows_after_as_of"] == 1
    with pytest.raises(ValueError, match="as_of: expected a month as YYYY-MM"):
        read_cases(path, AREAS, as_of="2026-13")


@pytest.mark.parametrize(("header", "message"), [
    ("code,period,category", "line 1: missing column 'count'; expected code, period, "
                             "category, count, [source]"),
    ("code,kode,period,category,count", "line 1: column 'code' appears twice"),
    ("code,period,category,count,notes", "line 1: unexpected column 'notes'"),
    ("code,period,category,count,nama_korban", "line 1: column 'nama_korban' looks like "
                                               "personal data"),
])
def test_it_rejects_bad_headers(tmp_path, header, message):
    row = ",".join(["x"] * (header.count(",") + 1))
    path = write(tmp_path, "cases.csv", header + "\n" + row + "\n")  # SYNTHETIC
    with pytest.raises(InputError, match=re.escape("cases.csv, " + message)):
        read_cases(path, AREAS)


def test_it_refuses_national_id_numbers_without_echoing_them(tmp_path):
    nik = "3171234567890123"  # SYNTHETIC 16 digits
    path = write(tmp_path, "cases.csv",
                 f"code,period,category,count\n{nik},2026-01,trafficking,1\n")
    with pytest.raises(InputError) as excinfo:
        read_cases(path, AREAS)
    message = str(excinfo.value)
    assert nik not in message
    assert "cases.csv, line 2: a cell holds a 16-digit number" in message
    assert "unknown area code '<long number hidden>'" in message


@pytest.mark.parametrize(("name", "message"), [
    ("cases.txt", "cases.txt: expected a .csv or .xlsx file, got .txt"),
    ("cases.xls", "cases.xls: old Excel .xls files are not read"),
    ("missing.csv", "missing.csv: file not found"),
])
def test_it_rejects_unknown_extensions_and_missing_files(tmp_path, name, message):
    if name != "missing.csv":
        (tmp_path / name).write_text("code\n")
    with pytest.raises(InputError, match=message):
        read_cases(tmp_path / name, AREAS)


def test_it_rejects_empty_and_non_utf8_files(tmp_path):
    with pytest.raises(InputError, match="empty.csv: the file is empty"):
        read_cases(write(tmp_path, "empty.csv", ""), AREAS)
    with pytest.raises(InputError, match="header.csv: the file has a header but no data rows"):
        read_cases(write(tmp_path, "header.csv", "code,period,category,count\n\n"), AREAS)
    path = write(tmp_path, "latin.csv", "code,period,category,count\nJakartà,2026-01,x,1\n",
                 encoding="latin-1")
    with pytest.raises(InputError, match="latin.csv: not UTF-8 text"):
        read_cases(path, AREAS)


def test_line_numbers_count_blank_lines_and_cells_spanning_lines(tmp_path):
    path = write(tmp_path, "cases.csv",  # SYNTHETIC
                 "code,period,category,count,source\n"
                 "31.71.01.1001,2026-01,trafficking,1,\"two\nlines\"\n"
                 "\n"
                 "31.71.01.1001,2026-02,trafficking,x,\n")
    with pytest.raises(InputError, match="cases.csv, line 5: count must be"):
        read_cases(path, AREAS)


def test_it_rejects_rows_with_more_cells_than_the_header(tmp_path):
    path = write(tmp_path, "cases.csv",  # SYNTHETIC
                 "code,period,category,count\n"
                 "31.71.01.1001,2026-01,trafficking,1,,\n"
                 "31.71.01.1001,2026-02,trafficking,1,extra\n")
    with pytest.raises(InputError) as excinfo:
        read_cases(path, AREAS)
    assert problems_of(excinfo) == [
        "cases.csv, line 3: more cells than the 4 columns of the header."]


def test_read_table_gives_strings_indexed_by_line(tmp_path):
    path = write(tmp_path, "t.csv", "A; B\n 1 ;x\n\n2;\n")  # SYNTHETIC
    table, first = read_table(path)
    assert first == 2
    assert list(table.columns) == ["A", "B"]
    assert table.index.tolist() == [2, 4]
    assert table.to_numpy().tolist() == [["1", "x"], ["2", ""]]


def test_it_reads_gzipped_csv(tmp_path):
    import gzip

    path = tmp_path / "cases.csv.gz"  # SYNTHETIC
    path.write_bytes(gzip.compress(b"code,period,category,count\n31.71.01.1001,2026-01,"
                                   b"trafficking,1\n"))
    assert len(read_cases(path, AREAS)) == 1


# ----------------------------------------------------------------- population, factors


def test_it_reads_population(tmp_path):
    path = write(tmp_path, "pop.csv",  # SYNTHETIC
                 "kode_wilayah,tahun,jumlah_anak\n31.71.01.1001,2025,1200\n31.71.01.1001,2026,"
                 "1210\n")
    population = read_population(path, AREAS)
    assert population.to_numpy().tolist() == [["31.71.01.1001", 2025, 1200, 2],
                                              ["31.71.01.1001", 2026, 1210, 3]]
    assert population["year"].dtype == np.int64


def test_it_rejects_bad_population_rows(tmp_path):
    path = write(tmp_path, "pop.csv",  # SYNTHETIC
                 "code,year,children\n"
                 "31.71.01.1001,2025,1200\n"
                 "31.71.01.9999,2025,10\n"
                 "31.71.01.1002,1989,10\n"
                 "31.71.01.1002,25,10\n"
                 "31.71.01.1002,2026,-1\n"
                 "31.71.01.1001,2025,1300\n")
    with pytest.raises(InputError) as excinfo:
        read_population(path, AREAS)
    assert problems_of(excinfo) == [
        "pop.csv, line 3: unknown area code '31.71.01.9999'.",
        "pop.csv, line 4: year must be a year between 1990 and 2100 as YYYY, got '1989'.",
        "pop.csv, line 5: year must be a year between 1990 and 2100 as YYYY, got '25'.",
        "pop.csv, line 6: children must be a whole number >= 0, got '-1'.",
        "pop.csv, line 7: duplicate of line 2 (same code and year).",
    ]


def test_it_reads_factors_with_decimal_commas_and_optional_years(tmp_path):
    path = write(tmp_path, "factors.csv",  # SYNTHETIC
                 "code;faktor;nilai;tahun\n"
                 "31.71.01.1001;Poverty_Rate;\"1,5\";2025\n"
                 "31.71.01.1001;poverty_rate;2.25;\n"
                 "31.71.01.1002;school_dropout;-0.5;\n")
    factors = read_factors(path, AREAS)
    assert factors["factor"].tolist() == ["poverty_rate", "poverty_rate", "school_dropout"]
    assert factors["value"].tolist() == [1.5, 2.25, -0.5]
    assert str(factors["year"].dtype) == "Int64"
    assert factors["year"].isna().tolist() == [False, True, True]


def test_it_rejects_bad_factor_rows(tmp_path):
    path = write(tmp_path, "factors.csv",  # SYNTHETIC
                 "code,factor,value,year\n"
                 "31.71.01.1001,poverty rate,1,\n"
                 "31.71.01.1001,1st,1,\n"
                 "31.71.01.1001,poverty,abc,\n"
                 "31.71.01.1001,poverty,inf,\n"
                 "31.71.01.1001,poverty,2,2025\n"
                 "31.71.01.1001,POVERTY,3,2025\n"
                 "XX,poverty,3,2025\n")
    with pytest.raises(InputError) as excinfo:
        read_factors(path, AREAS)
    assert problems_of(excinfo) == [
        "factors.csv, line 2: factor names use lower-case letters, digits and underscores "
        "and start with a letter, got 'poverty rate'.",
        "factors.csv, line 3: factor names use lower-case letters, digits and underscores "
        "and start with a letter, got '1st'.",
        "factors.csv, line 4: value must be a number, got 'abc'.",
        "factors.csv, line 5: value must be a finite number, got 'inf'.",
        "factors.csv, line 7: duplicate of line 6 (same code, factor and year).",
        "factors.csv, line 8: unknown area code 'XX'.",
    ]


def test_many_problems_are_counted_and_the_first_listed(tmp_path):
    rows = "".join(f"31.71.01.1001,2026-01,trafficking,-{i}\n" for i in range(1, 1501))
    path = write(tmp_path, "cases.csv", "code,period,category,count\n" + rows)  # SYNTHETIC
    with pytest.raises(InputError) as excinfo:
        read_cases(path, AREAS)
    assert excinfo.value.total == 1500
    assert len(excinfo.value.problems) == 1000
    lines = problems_of(excinfo)
    assert lines[0] == "cases.csv, line 2: count must be a whole number >= 0, got '-1'."
    assert lines[-1] == "… and 1480 more problems"


# ----------------------------------------------------------------- areas


def test_it_reads_an_area_hierarchy_of_any_depth(tmp_path):
    path = write(tmp_path, "areas.csv",  # SYNTHETIC
                 "kode,nama,tingkat,kode_induk,population\n"
                 "R,Region,1,,5\n"
                 "R1,Zone one,2,R,\n"
                 "R1a,,3,R1,\n"
                 "R1a-x,Block,4,R1a,\n"
                 "R1a-x-1,Unit,5,R1a-x,\n")
    areas = read_areas(path)
    assert areas.index.name == "code"
    assert areas.index.tolist() == ["R", "R1", "R1a", "R1a-x", "R1a-x-1"]
    assert areas["level"].tolist() == [1, 2, 3, 4, 5]
    assert areas.loc["R1a", "name"] == "R1a"  # no name: the code
    assert pd.isna(areas.loc["R", "parent_code"])
    assert areas.loc["R1a-x-1", "parent_code"] == "R1a-x"
    assert read_cases(write(tmp_path, "c.csv", "code,period,category,count\n"
                                               "R1a-x-1,2026-01,trafficking,1\n"), areas)[
        "code"].tolist() == ["R1a-x-1"]


def test_it_reads_named_levels_in_english_and_indonesian(tmp_path):
    path = write_xlsx(tmp_path, "areas.xlsx", [  # SYNTHETIC
        ["Code", "Name", "Level", "Parent_Code"],
        ["31", "DKI", "Provinsi", None],
        ["31.71", "Jakpus", "Kabupaten / Kota", "31"],
        ["31.71.01", "Gambir", "kecamatan", "31.71"],
        ["31.71.01.1001", "Gambir", "Desa/Kelurahan", "31.71.01"],
        ["31.72", "Jakut", "city", "31"],
    ])
    areas = read_areas(path)
    assert areas["level"].tolist() == [1, 2, 3, 4, 2]



def test_it_rejects_duplicate_codes_bad_levels_and_orphans(tmp_path):
    path = write(tmp_path, "areas.csv",  # SYNTHETIC
                 "code,name,level,parent_code\n"
                 "A,a,1,\n"
                 "A1,a1,2,A\n"
                 "A1,again,2,A\n"
                 "A2,a2,hamlet,A\n"
                 "A3,a3,2,\n"
                 "A4,a4,2,B\n"
                 ",x,2,A\n")
    with pytest.raises(InputError) as excinfo:
        read_areas(path)
    lines = problems_of(excinfo)
    assert lines[0] == "areas.csv, line 4: duplicate code 'A1' (also on line 3)."
    assert lines[1].startswith("areas.csv, line 5: level must be a whole number from 1")
    assert lines[2] == ("areas.csv, line 6: parent_code is empty, but only areas at the top "
                        "level (1) may have no parent; this one is at level 2.")
    assert lines[3] == "areas.csv, line 7: parent_code 'B' is not a code in this file."
    assert lines[4] == "areas.csv, line 8: code is empty."


def test_it_rejects_a_parent_at_the_wrong_level(tmp_path):
    path = write(tmp_path, "areas.csv",  # SYNTHETIC
                 "code,level,parent_code\nA,province,\nA1,village,A\n")
    with pytest.raises(InputError) as excinfo:
        read_areas(path)
    assert problems_of(excinfo) == [
        "areas.csv, line 3: parent 'A' is at level 1, expected level 3 (one above this "
        "area's level 4)."]


def test_it_rejects_cycles_of_parents(tmp_path):
    path = write(tmp_path, "areas.csv",  # SYNTHETIC
                 "code,level,parent_code\n"
                 "T,1,\n"
                 "A,2,B\n"
                 "B,2,C\n"
                 "C,2,A\n"
                 "D,3,A\n"
                 "S,2,S\n")
    with pytest.raises(InputError) as excinfo:
        read_areas(path)
    assert problems_of(excinfo) == [
        f"areas.csv, line {line}: area '{code}' is its own ancestor through parent_code "
        "(a cycle)." for line, code in [(3, "A"), (4, "B"), (5, "C"), (7, "S")]]


@pytest.fixture(scope="module")
def indonesia():
    return builtin_areas()


def test_builtin_areas_hold_the_whole_country(indonesia):
    assert indonesia["level"].value_counts().sort_index().tolist() == [38, 514, 7277, 83763]
    assert list(indonesia.columns) == ["name", "level", "parent_code"]
    assert indonesia.loc["31.71.01", "parent_code"] == "31.71"
    assert indonesia["parent_code"].isna().sum() == 38
    assert looks_like_kemendagri(indonesia.index)


def test_builtin_areas_filter_to_subtrees_and_their_ancestors(indonesia):
    areas = builtin_areas(["31.71", "35.17.01"])
    codes = set(areas.index)
    assert {"31", "31.71", "35", "35.17", "35.17.01"} <= codes
    assert "31.72" not in codes and "35.16" not in codes and "35.17.02" not in codes
    expected = indonesia.index.str.startswith(("31.71.", "35.17.01.")).sum() + 5
    assert len(areas) == expected
    assert (areas.columns == indonesia.columns).all()
    with pytest.raises(InputError, match="unknown area code '99'"):
        builtin_areas(["99"])


def test_looks_like_kemendagri():
    assert looks_like_kemendagri(["31", "31.71", "31.71.01", "31.71.01.1001"])
    assert not looks_like_kemendagri(["3171"])
    assert not looks_like_kemendagri(["31.71.01.101"])
    assert not looks_like_kemendagri([])


# ----------------------------------------------------------------- boundaries


def feature(code, geometry, key="code") -> dict:
    return {"type": "Feature", "properties": {key: code}, "geometry": geometry}


def square(x=0.0, y=0.0) -> dict:
    return {"type": "Polygon",
            "coordinates": [[[x, y], [x + 1, y], [x + 1, y + 1], [x, y + 1], [x, y]]]}


def write_geojson(tmp_path, features, name="boundaries.geojson") -> str:
    path = tmp_path / name
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    return str(path)


def test_it_reads_geojson_boundaries_with_numeric_codes(tmp_path):
    path = write_geojson(tmp_path, [feature(3171, square()), feature(3172, square(1))],
                         name="b.json")  # SYNTHETIC
    codes, geometries = read_boundaries(path, ["3171", "3172"])
    assert codes.tolist() == ["3171", "3172"]
    assert [g.area for g in geometries] == [1.0, 1.0]


def test_it_repairs_an_invalid_bow_tie_polygon(tmp_path):
    bow_tie = {"type": "Polygon", "coordinates": [[[0, 0], [2, 2], [2, 0], [0, 2], [0, 0]]]}
    path = write_geojson(tmp_path, [feature("31.71", bow_tie, key="KODE")])  # SYNTHETIC
    _, geometries = read_boundaries(path, AREAS)
    assert geometries[0].is_valid
    assert geometries[0].geom_type == "MultiPolygon"
    assert geometries[0].area == pytest.approx(2.0)


def test_it_rejects_boundaries_without_a_code_property(tmp_path):
    path = write_geojson(tmp_path, [feature("31.71", square(), key="id_area")])  # SYNTHETIC
    with pytest.raises(InputError, match="boundaries.geojson: no 'code' property; expected "
                                         "one of code, kode, kode_wilayah, area_code"):
        read_boundaries(path, AREAS)


def test_it_rejects_bad_boundary_features(tmp_path):
    path = write_geojson(tmp_path, [  # SYNTHETIC
        feature("31.71", square()),
        feature("99.99", square(1)),
        feature("31.71", square(2)),
        feature("31.71.01", None),
        feature("31.71.02", {"type": "Point", "coordinates": [0, 0]}),
        feature("31", {"type": "Polygon", "coordinates": []}),
        feature("", square(3)),
    ])
    with pytest.raises(InputError) as excinfo:
        read_boundaries(path, AREAS)
    assert problems_of(excinfo) == [
        "boundaries.geojson, feature 2: unknown area code '99.99'.",
        "boundaries.geojson, feature 3: duplicate code '31.71' (also feature 1).",
        "boundaries.geojson, feature 4: no geometry.",
        "boundaries.geojson, feature 5: expected a Polygon or MultiPolygon, got Point.",
        "boundaries.geojson, feature 6: empty geometry.",
        "boundaries.geojson, feature 7: code is empty.",
    ]


def write_with_pyogrio(path, codes, geometries, driver, field="Kode_Wilayah") -> None:
    pyogrio.raw.write(str(path), shapely.to_wkb(np.array(geometries, dtype=object)),
                      [np.array(codes, dtype=object)], [field],
                      geometry_type="Polygon", crs="EPSG:4326", driver=driver)


def test_it_reads_geopackage_and_shapefile_boundaries(tmp_path):
    geometries = [shapely.box(0, 0, 1, 1), shapely.box(1, 0, 2, 1)]  # SYNTHETIC
    write_with_pyogrio(tmp_path / "b.gpkg", ["31.71", "31.71.01"], geometries, "GPKG")
    codes, read = read_boundaries(tmp_path / "b.gpkg", AREAS)
    assert codes.tolist() == ["31.71", "31.71.01"]
    assert shapely.equals(read, geometries).all()

    folder = tmp_path / "shp"
    folder.mkdir()
    write_with_pyogrio(folder / "b.shp", ["31.71", "31.71.01"], geometries, "ESRI Shapefile",
                       field="KODE_WILAY")
    codes, _ = read_boundaries(folder / "b.shp", AREAS)
    assert codes.tolist() == ["31.71", "31.71.01"]
    with zipfile.ZipFile(tmp_path / "b.zip", "w") as archive:
        for part in folder.iterdir():
            archive.write(part, part.name)
    codes, _ = read_boundaries(tmp_path / "b.zip", AREAS)
    assert codes.tolist() == ["31.71", "31.71.01"]


def test_it_rejects_unreadable_boundary_files(tmp_path):
    (tmp_path / "b.kml").write_text("<kml/>")
    with pytest.raises(InputError, match="b.kml: expected a boundary file ending in"):
        read_boundaries(tmp_path / "b.kml", AREAS)
    (tmp_path / "b.geojson").write_text("not json")
    with pytest.raises(InputError, match="b.geojson: not a readable boundary file"):
        read_boundaries(tmp_path / "b.geojson", AREAS)


# ----------------------------------------------------------------- output


def test_check_output_path(tmp_path):
    assert check_output_path(tmp_path / "r.csv") == "csv"
    assert check_output_path(tmp_path / "r.GeoJSON") == "geojson"
    assert check_output_path(tmp_path / "r.json") == "json"
    with pytest.raises(InputError, match="r.xlsx: expected an output file ending in .csv, "
                                         ".geojson or .json, got .xlsx"):
        check_output_path(tmp_path / "r.xlsx")
    with pytest.raises(InputError, match="r.csv: the directory .* does not exist"):
        check_output_path(tmp_path / "nowhere" / "r.csv")


RESULT = pd.DataFrame({  # SYNTHETIC
    "code": ["31.71", "31.72"],
    "name": ["=HYPERLINK(\"x\")", "-3"],
    "rate": [1.23456789, float("nan")],
    "count": [3, 4],
    "flags": [["low_population", "new"], []],
})


def test_write_table_csv_neutralises_formulas_and_joins_lists(tmp_path):
    path = tmp_path / "r.csv"
    write_table(RESULT, path, metadata={"as_of": "2026-10"})
    text = path.read_text(encoding="utf-8")
    assert text.startswith("\ufeffcode,name,rate,count,flags\n")
    assert text.splitlines()[1:] == [
        "31.71,\"'=HYPERLINK(\"\"x\"\")\",1.23457,3,low_population; new",
        "31.72,-3,,4,",
    ]
    assert [p.name for p in tmp_path.iterdir()] == ["r.csv"]


def test_write_table_json_writes_nan_as_null(tmp_path):
    path = tmp_path / "r.json"
    write_table(RESULT.set_index("code"), path, metadata={"as_of": "2026-10",
                                                          "score": np.float64("nan")})
    data = json.loads(path.read_text())
    assert data["metadata"] == {"as_of": "2026-10", "score": None}
    assert data["areas"][1] == {"code": "31.72", "name": "-3", "rate": None, "count": 4,
                                "flags": []}
    assert data["areas"][0]["rate"] == 1.23457
    assert data["areas"][0]["flags"] == ["low_population", "new"]


def test_write_table_geojson_takes_geometries_by_code(tmp_path):
    path = tmp_path / "r.geojson"
    write_table(RESULT, path, geometries={"31.71": shapely.box(0, 0, 1, 1)},
                metadata={"as_of": "2026-10"})
    data = json.loads(path.read_text())
    assert data["type"] == "FeatureCollection"
    assert data["cegah"] == {"as_of": "2026-10"}
    first, second = data["features"]
    assert first["properties"]["code"] == "31.71" and first["id"] == "31.71"
    assert first["geometry"]["type"] == "Polygon"
    assert second["geometry"] is None
    assert second["properties"]["rate"] is None


def test_geojson_without_boundaries_leaves_no_file(tmp_path):
    with pytest.raises(InputError, match="r.geojson: GeoJSON output needs --boundaries"):
        write_table(RESULT, tmp_path / "r.geojson")
    assert list(tmp_path.iterdir()) == []


def test_a_failure_midway_leaves_no_partial_file(tmp_path):
    broken = RESULT.assign(extra=[1, object()])  # the second row cannot be serialised
    with pytest.raises(TypeError):
        write_table(broken, tmp_path / "r.json")
    assert list(tmp_path.iterdir()) == []

    (tmp_path / "r.json").write_text("previous")
    with pytest.raises(TypeError):
        write_table(broken, tmp_path / "r.json")
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]
    assert (tmp_path / "r.json").read_text() == "previous"


def test_a_failure_while_writing_csv_leaves_no_temp_file(tmp_path, monkeypatch):
    def fail(self, *args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(pd.DataFrame, "to_csv", fail)
    with pytest.raises(OSError, match="disk full"):
        write_table(RESULT, tmp_path / "r.csv")
    assert os.listdir(tmp_path) == []


def test_the_io_module_never_imports_django():
    import subprocess
    import sys

    code = ("import sys, cegah.risk.io; "
            "sys.exit(any(m == 'django' or m.startswith('django.') for m in sys.modules))")
    assert subprocess.run([sys.executable, "-c", code], timeout=60).returncode == 0
