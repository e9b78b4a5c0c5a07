"""SYNTHETIC national data set for the risk-scoring benchmark (fixed seed; none of it is real).

Every one of the 83,763 villages of the bundled idn-area-data hierarchy gets:

- a polygon in a made-up tessellation: unit squares (1 km, integer metre coordinates, so
  neighbouring squares share their vertices exactly and Queen contiguity holds) on a
  290 x 289 grid, filled along a generalised Hilbert ("gilbert") curve in the order of the
  sorted village codes. Consecutive codes therefore sit in touching squares, and the
  villages of one district, regency or province form one connected patch. The squares are
  not real geography: there are no islands, no coastline and no real distances.
- a child population for each year 2022-2026 (lognormal, median about 800 children, a few
  villages under 50);
- ten risk factors (``code,factor,value``, no year): four binary (ferry_port, bus_terminal,
  tourism_site, pesantren) and six continuous (poverty_rate, migrant_worker_share,
  nightlife_venues, internet_cafes, school_dropout_rate, population_density); a few
  villages lack some values. Five have a true effect on the made-up rates (poverty_rate,
  migrant_worker_share, nightlife_venues, internet_cafes, ferry_port); the other five have
  none;
- reported case counts for 60 months (2021-11 to 2026-10) and the four categories, drawn
  from Poisson distributions around a rate of about 60 per 100,000 children per year,
  times a spatially smooth multiplier (regency and district random effects and a dozen
  hotspot blobs on the grid), times the factor effects, with a mild upward trend. Only
  the non-zero cells are written, as in the import format (a missing row means zero).

``ensure(dir)`` writes ``boundaries.gpkg``, ``population.csv``, ``factors.csv`` and
``cases.csv`` into a folder, unless a ``VERSION`` stamp there shows they are already
current; ``ensure_subset(src, prefix, dir)`` writes the same files restricted to the
villages whose code starts with ``prefix`` (one regency, say).

    .venv/bin/python benchmarks/_risk_data.py DIR [--subset 11.08|largest SUBDIR]
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
VILLAGES = ROOT / "cegah" / "areas" / "data" / "idn-area-data" / "villages.csv"

# Bump whenever the generator changes what it writes: cached folders are then regenerated.
DATA_VERSION = "risk-synthetic-3"
SEED = 20_261_031
GRID_W, GRID_H = 290, 289  # 83,810 cells for 83,763 villages
CELL = 1000  # metres per cell side; integer coordinates keep shared vertices exact
ORIGIN = (200_000, 9_000_000)  # an arbitrary offset so the numbers look projected
CATEGORIES = ("sexual_abuse", "sexual_exploitation", "online_sexual_exploitation", "trafficking")
CATEGORY_SHARE = np.array([0.55, 0.15, 0.18, 0.12])
FIRST_MONTH = (2021, 11)
MONTHS = 60
AS_OF = "2026-10"
YEARS = tuple(range(2022, 2027))
RATE_PER_100K_YEAR = 60.0
SOURCE = "synthetic benchmark data"
FILES = ("boundaries.gpkg", "population.csv", "factors.csv", "cases.csv")
LAYER = "villages"


# --- the tessellation ---------------------------------------------------------------------

def _gilbert(x, y, ax, ay, bx, by, out):
    """Generalised Hilbert curve over the rectangle spanned by (ax, ay) and (bx, by).

    After Jakub Cerveny's "gilbert" algorithm: every step goes to an edge-adjacent cell
    (at most a few diagonal steps where a side is odd), for any width and height.
    """
    w, h = abs(ax + ay), abs(bx + by)
    dax, day = (ax > 0) - (ax < 0), (ay > 0) - (ay < 0)
    dbx, dby = (bx > 0) - (bx < 0), (by > 0) - (by < 0)
    if h == 1:
        for _ in range(w):
            out.append((x, y))
            x, y = x + dax, y + day
        return
    if w == 1:
        for _ in range(h):
            out.append((x, y))
            x, y = x + dbx, y + dby
        return
    ax2, ay2, bx2, by2 = ax // 2, ay // 2, bx // 2, by // 2
    w2, h2 = abs(ax2 + ay2), abs(bx2 + by2)
    if 2 * w > 3 * h:
        if w2 % 2 and w > 2:
            ax2, ay2 = ax2 + dax, ay2 + day
        _gilbert(x, y, ax2, ay2, bx, by, out)
        _gilbert(x + ax2, y + ay2, ax - ax2, ay - ay2, bx, by, out)
    else:
        if h2 % 2 and h > 2:
            bx2, by2 = bx2 + dbx, by2 + dby
        _gilbert(x, y, bx2, by2, ax2, ay2, out)
        _gilbert(x + bx2, y + by2, ax, ay, bx - bx2, by - by2, out)
        _gilbert(x + (ax - dax) + (bx2 - dbx), y + (ay - day) + (by2 - dby),
                 -bx2, -by2, -(ax - ax2), -(ay - ay2), out)


def curve_cells(width: int = GRID_W, height: int = GRID_H) -> np.ndarray:
    """(n, 2) integer grid cells in curve order, covering the width x height rectangle."""
    out: list[tuple[int, int]] = []
    if width >= height:
        _gilbert(0, 0, width, 0, 0, height, out)
    else:
        _gilbert(0, 0, 0, height, width, 0, out)
    return np.array(out, dtype=np.int64)


def village_codes() -> np.ndarray:
    with VILLAGES.open(newline="", encoding="utf-8-sig") as fh:
        codes = sorted(row["code"] for row in csv.DictReader(fh))
    return np.array(codes, dtype=object)


def _boxes_wkb(cells: np.ndarray) -> np.ndarray:
    import shapely

    x0 = ORIGIN[0] + cells[:, 0] * CELL
    y0 = ORIGIN[1] + cells[:, 1] * CELL
    return shapely.to_wkb(shapely.box(x0, y0, x0 + CELL, y0 + CELL))


def write_boundaries(path: Path, codes: np.ndarray, wkb: np.ndarray) -> None:
    from pyogrio.raw import write

    path.unlink(missing_ok=True)
    write(str(path), wkb, [np.asarray(codes, dtype=object)], ["code"], layer=LAYER,
          driver="GPKG", geometry_type="Polygon", crs=None,
          layer_options={"SPATIAL_INDEX": "NO"})


# --- the numbers --------------------------------------------------------------------------

def _month_labels() -> list[str]:
    y, m = FIRST_MONTH
    out = []
    for _ in range(MONTHS):
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y, m + 1) if m < 12 else (y + 1, 1)
    return out


def _group_effect(keys: np.ndarray, rng: np.random.Generator, sd: float) -> np.ndarray:
    """One lognormal-ish random effect per distinct key, broadcast to the villages."""
    _uniq, inverse = np.unique(keys, return_inverse=True)
    return rng.normal(0.0, sd, inverse.max() + 1)[inverse]


def generate(seed: int = SEED) -> dict:
    """All synthetic arrays (villages in code order); nothing is written."""
    rng = np.random.default_rng(seed)
    codes = village_codes()
    n = codes.size
    cells = curve_cells()[:n]
    gx, gy = cells[:, 0].astype(float), cells[:, 1].astype(float)
    regency = np.array([c[:5] for c in codes], dtype=object)
    district = np.array([c[:8] for c in codes], dtype=object)

    # Spatially smooth log-multiplier: regency and district effects plus hotspot blobs.
    log_space = _group_effect(regency, rng, 0.35) + _group_effect(district, rng, 0.25)
    for _ in range(12):
        cx, cy = rng.uniform(0, GRID_W), rng.uniform(0, GRID_H)
        radius, amp = rng.uniform(4, 14), rng.uniform(0.7, 1.4)
        log_space += amp * np.exp(-((gx - cx) ** 2 + (gy - cy) ** 2) / (2 * radius**2))
    log_space += rng.normal(0.0, 0.15, n)  # a little village-level noise

    # Children under 18, per year, with a slight drift.
    base = np.exp(rng.normal(np.log(800.0), 0.9, n))
    growth = rng.normal(0.005, 0.01, n)
    children = np.stack([np.maximum(1, np.rint(base * (1 + growth) ** (y - YEARS[-1])))
                         for y in YEARS]).astype(np.int64)  # (years, n)

    # Risk factors: poverty follows the regency effect a little (spatially patterned).
    reg_poverty = _group_effect(regency, rng, 0.5)
    factors = {
        "ferry_port": (rng.random(n) < 0.03).astype(float),
        "bus_terminal": (rng.random(n) < 0.05).astype(float),
        "tourism_site": (rng.random(n) < 0.08).astype(float),
        "pesantren": (rng.random(n) < 0.25).astype(float),
        "poverty_rate": 1 / (1 + np.exp(-(-2.2 + reg_poverty + rng.normal(0, 0.5, n)))),
        "migrant_worker_share": rng.beta(1.5, 30, n),
        "nightlife_venues": rng.poisson(np.exp(rng.normal(-0.5, 1.0, n))).astype(float),
        "internet_cafes": rng.poisson(np.exp(rng.normal(0.0, 0.8, n))).astype(float),
        "school_dropout_rate": rng.beta(2, 40, n),
        "population_density": np.rint(np.exp(rng.normal(np.log(400), 1.3, n))),
    }
    for name in ("poverty_rate", "migrant_worker_share", "school_dropout_rate"):
        factors[name] = np.round(factors[name], 4)
    z = {k: (v - v.mean()) / v.std() for k, v in factors.items()}
    log_factor = (0.25 * z["poverty_rate"] + 0.10 * z["nightlife_venues"]
                  + 0.35 * factors["ferry_port"])
    # Category-specific effects on top (log scale): (n, categories).
    log_cat = np.zeros((n, len(CATEGORIES)))
    log_cat[:, 2] += 0.30 * z["internet_cafes"]  # online sexual exploitation
    log_cat[:, 3] += 0.40 * z["migrant_worker_share"] + 0.5 * factors["ferry_port"]
    log_cat[:, 1] += 0.15 * z["nightlife_venues"]

    # Village x category rate per child per month, scaled to the national target.
    rel = np.exp(log_space + log_factor)[:, None] * np.exp(log_cat)  # (n, 4)
    pop_now = children[-1].astype(float)
    rel /= (rel * pop_now[:, None]).sum(axis=0) / pop_now.sum()  # pop-weighted mean 1 each
    monthly = RATE_PER_100K_YEAR / 1e5 / 12 * CATEGORY_SHARE[None, :] * rel  # (n, 4)

    months = _month_labels()
    trend = np.exp(0.06 * (np.arange(MONTHS) - MONTHS + 1) / 12)  # +6 %/year, 1 at the end
    season = 1 + 0.1 * np.sin(2 * np.pi * np.arange(MONTHS) / 12)
    year_idx = np.clip(np.array([int(m[:4]) for m in months]) - YEARS[0], 0, len(YEARS) - 1)
    # Expected counts (n, months, categories), drawn as Poisson in one go (~20M cells).
    lam = (children[year_idx].T[:, :, None].astype(np.float64)
           * (trend * season)[None, :, None] * monthly[:, None, :])
    counts = rng.poisson(lam).astype(np.int32)
    del lam

    # A few villages lack some factor values (about 0.5 % per factor).
    present = {k: rng.random(n) >= 0.005 for k in factors}
    return {"codes": codes, "cells": cells, "children": children, "factors": factors,
            "present": present, "counts": counts, "months": months}


# --- writing ------------------------------------------------------------------------------

def _write_csv(path: Path, header: str, columns: list[np.ndarray]) -> int:
    """Write equal-length columns (already strings or numbers) as CSV; return the rows."""
    n = len(columns[0]) if columns else 0
    with path.open("w", newline="") as fh:
        fh.write(header + "\n")
        step = 200_000
        for lo in range(0, n, step):
            parts = [np.asarray(c[lo:lo + step]).astype(str) for c in columns]
            fh.write("\n".join(",".join(row) for row in zip(*parts, strict=True)))
            fh.write("\n")
    return n


def write_all(folder: Path, data: dict, keep: np.ndarray | None = None) -> dict:
    """Write the four files for all villages, or for those where ``keep`` is true."""
    folder.mkdir(parents=True, exist_ok=True)
    codes, cells = data["codes"], data["cells"]
    idx = np.arange(codes.size) if keep is None else np.flatnonzero(keep)
    sub_codes = codes[idx]
    write_boundaries(folder / "boundaries.gpkg", sub_codes, _boxes_wkb(cells[idx]))

    children = data["children"][:, idx]
    pop_rows = _write_csv(
        folder / "population.csv", "code,year,children",
        [np.tile(sub_codes, len(YEARS)), np.repeat(np.array(YEARS), idx.size),
         children.ravel()])

    f_codes, f_names, f_values = [], [], []
    for name, values in data["factors"].items():
        mask = data["present"][name][idx]
        f_codes.append(sub_codes[mask])
        f_names.append(np.full(int(mask.sum()), name, dtype=object))
        v = values[idx][mask]
        f_values.append(np.array([f"{x:g}" for x in v], dtype=object))
    factor_rows = _write_csv(folder / "factors.csv", "code,factor,value",
                             [np.concatenate(f_codes), np.concatenate(f_names),
                              np.concatenate(f_values)])

    counts = data["counts"][idx]  # (villages, months, categories)
    v_i, m_i, c_i = np.nonzero(counts)
    months = np.array(data["months"], dtype=object)
    cats = np.array(CATEGORIES, dtype=object)
    case_rows = _write_csv(folder / "cases.csv", "code,period,category,count",
                           [sub_codes[v_i], months[m_i], cats[c_i], counts[v_i, m_i, c_i]])
    return {"villages": int(idx.size), "population_rows": pop_rows,
            "factor_rows": factor_rows, "case_rows": case_rows,
            "cases_total": int(counts.sum()), "cells_with_cases": case_rows}


def _stamp(extra: str = "") -> str:
    st = VILLAGES.stat()
    return f"{DATA_VERSION} seed={SEED} villages={st.st_size} {extra}".strip()


def _current(folder: Path, stamp: str) -> dict | None:
    try:
        info = json.loads((folder / "VERSION").read_text())
    except (OSError, ValueError):
        return None
    if info.get("stamp") != stamp or not all((folder / f).exists() for f in FILES):
        return None
    return info


def ensure(folder: Path, subset: tuple[str, Path] | None = None) -> tuple[dict, dict | None]:
    """Write the national files (and optionally one prefix's subset) unless already current.

    ``subset`` is (code prefix or "largest", folder). Returns the national info and the
    subset's, each with ``fresh`` telling whether the files were written just now.
    """
    if subset and subset[0] == "largest":
        subset = (largest_regency(), subset[1])
    nat = _current(folder, _stamp())
    sub = _current(subset[1], _stamp(f"prefix={subset[0]}")) if subset else None
    data = None
    if nat is None:
        start = time.perf_counter()
        data = generate()
        nat = write_all(folder, data)
        nat.update(stamp=_stamp(), seconds=round(time.perf_counter() - start, 1))
        (folder / "VERSION").write_text(json.dumps(nat, indent=1) + "\n")
        nat["fresh"] = True
    if subset and sub is None:
        prefix, sub_folder = subset
        start = time.perf_counter()
        data = data or generate()
        keep = np.array([c.startswith(prefix + ".") or c == prefix for c in data["codes"]])
        if not keep.any():
            raise SystemExit(f"no village code starts with {prefix!r}")
        sub = write_all(sub_folder, data, keep)
        sub.update(stamp=_stamp(f"prefix={prefix}"), prefix=prefix,
                   seconds=round(time.perf_counter() - start, 1))
        (sub_folder / "VERSION").write_text(json.dumps(sub, indent=1) + "\n")
        sub["fresh"] = True
    return nat, sub


def largest_regency() -> str:
    """The regency code with the most villages (11.08 in the bundled data)."""
    codes = village_codes()
    regencies, counts = np.unique([c[:5] for c in codes], return_counts=True)
    return str(regencies[np.argmax(counts)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--subset", nargs=2, metavar=("PREFIX", "FOLDER"),
                        help='also write the villages under PREFIX (a code, or "largest": '
                             'the regency with the most villages) into FOLDER')
    args = parser.parse_args()
    subset = (args.subset[0], Path(args.subset[1])) if args.subset else None
    nat, sub = ensure(args.folder, subset)
    json.dump({"national": nat, "subset": sub}, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
