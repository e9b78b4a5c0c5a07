"""A reproducible generator of SYNTHETIC case counts, child populations and risk factors.

Nothing here is real data. The numbers are plausible in size (national reporting of
child sexual violence is in the order of 10-30 reports per 100,000 children a year) and
have structure for the risk engine to find: regency and district effects, factor effects
(transit points, tourism, poverty, internet use for online exploitation), more reporting
in urban kelurahan and less where the topic is taboo, and a rising trend in online
exploitation. Only non-zero monthly counts are written: a missing row means zero.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

SOURCE = "SYNTHETIC demo data (Cegah generator)"
DEFAULT_SEED = 20240517
DEFAULT_UNTIL = (2026, 10)  # fixed, so that the demo is the same on every machine
YEARS = 5

# Reports per 100,000 children per year before area effects.
BASE_RATES = {
    "sexual_abuse": 22.0,
    "sexual_exploitation": 4.0,
    "online_sexual_exploitation": 3.0,
    "trafficking": 1.5,
}
# Yearly growth of reports per category (online exploitation rises fastest).
TRENDS = {"sexual_abuse": 0.06, "sexual_exploitation": 0.0,
          "online_sexual_exploitation": 0.25, "trafficking": -0.03}
# Provinces where talking about sexual violence is harder: fewer reports reach the data.
LOW_REPORTING = {"11": 0.55}

FACTORS = (
    "poverty_rate", "internet_penetration", "port", "bus_terminal", "airport",
    "tourism_site", "pesantren_count", "industrial_zone", "entertainment_venues",
    "school_count",
)
# Log relative risk per unit of each factor (the "truth" the risk engine should find).
FACTOR_EFFECTS = {
    "poverty_rate": 1.5, "port": 0.7, "bus_terminal": 0.4, "airport": 0.3,
    "tourism_site": 0.5, "industrial_zone": 0.3, "entertainment_venues": 0.15,
}


@dataclass(frozen=True)
class DemoFiles:
    cases: bytes
    population: bytes
    factors: bytes
    n_cases: int
    n_population: int
    n_factors: int


def _months(until: tuple[int, int], years: int) -> list[tuple[int, int]]:
    y, m = until
    out = []
    for _ in range(12 * years):
        out.append((y, m))
        m -= 1
        if m == 0:
            y, m = y - 1, 12
    return out[::-1]


def _csv(header: Sequence[str], rows) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue().encode()


def generate(
    village_codes: Sequence[str], *, seed: int = DEFAULT_SEED,
    until: tuple[int, int] = DEFAULT_UNTIL, years: int = YEARS,
) -> DemoFiles:
    """Generate the three import files for the given villages (Kemendagri codes)."""
    rng = np.random.default_rng(seed)
    codes = sorted(village_codes)
    n = len(codes)
    urban = np.array([c.split(".")[3][0] == "1" for c in codes])
    regencies = sorted({c[:5] for c in codes})
    districts = sorted({c[:8] for c in codes})
    reg_effect = dict(zip(regencies, rng.normal(0, 0.35, len(regencies)), strict=True))
    dis_effect = dict(zip(districts, rng.normal(0, 0.2, len(districts)), strict=True))

    # Children under 18 per village, first year; urban kelurahan are larger.
    children0 = np.where(urban, rng.lognormal(np.log(3500), 0.5, n),
                         rng.lognormal(np.log(900), 0.6, n)).round().astype(int) + 50
    growth = rng.normal(0.005, 0.01, n)

    f = {
        "poverty_rate": np.clip(np.where(urban, rng.beta(2, 25, n), rng.beta(2.5, 14, n)), 0, 1),
        "internet_penetration": np.clip(np.where(urban, rng.normal(0.86, 0.06, n),
                                                 rng.normal(0.62, 0.12, n)), 0.05, 0.99),
        "port": (rng.random(n) < np.where(urban, 0.03, 0.015)).astype(int),
        "bus_terminal": (rng.random(n) < np.where(urban, 0.06, 0.01)).astype(int),
        "airport": (rng.random(n) < 0.002).astype(int),
        "tourism_site": (rng.random(n) < np.where(urban, 0.05, 0.04)).astype(int),
        "pesantren_count": rng.poisson(np.where(urban, 0.6, 0.9)),
        "industrial_zone": (rng.random(n) < np.where(urban, 0.04, 0.01)).astype(int),
        "entertainment_venues": rng.poisson(np.where(urban, 1.5, 0.2)),
        "school_count": rng.poisson(np.where(urban, 8, 4)) + 1,
    }
    log_rr = np.array([reg_effect[c[:5]] + dis_effect[c[:8]] for c in codes])
    log_rr += rng.normal(0, 0.15, n)
    for name, beta in FACTOR_EFFECTS.items():
        values = f[name] if name != "poverty_rate" else f[name] - 0.1
        log_rr += beta * values
    reporting = np.where(urban, 1.3, 0.8) * np.array(
        [LOW_REPORTING.get(c[:2], 1.0) for c in codes])

    months = _months(until, years)
    first_year = months[0][0]
    year_list = sorted({y for y, _ in months})

    pop_rows, by_year = [], {}
    for k, year in enumerate(year_list):
        kids = np.round(children0 * (1 + growth) ** k).astype(int)
        by_year[year] = kids
        pop_rows.extend((codes[i], year, int(kids[i])) for i in range(n))
    population = _csv(["code", "year", "children", "source"],
                      ((c, y, k, SOURCE) for c, y, k in pop_rows))

    factor_rows = []
    for name in FACTORS:
        values = f[name]
        for i in range(n):
            v = values[i]
            v = round(float(v), 4) if name in ("poverty_rate", "internet_penetration") else int(v)
            factor_rows.append((codes[i], name, v, until[0], SOURCE))
    factors = _csv(["code", "factor", "value", "year", "source"], factor_rows)

    case_rows = []
    for category, base in BASE_RATES.items():
        cat_rr = log_rr.copy()
        if category == "online_sexual_exploitation":
            cat_rr = cat_rr + 2.0 * (f["internet_penetration"] - 0.7)
        if category == "trafficking":
            cat_rr = cat_rr + 0.8 * f["port"] + 0.5 * f["airport"] + 0.5 * f["bus_terminal"]
        risk = np.exp(cat_rr) * reporting
        for y, m in months:
            trend = (1 + TRENDS[category]) ** (y - first_year + (m - 1) / 12)
            seasonal = 1 + 0.15 * np.cos(2 * np.pi * (m - 7) / 12)  # school holidays
            lam = by_year[y] * base / 1e5 / 12 * risk * trend * seasonal
            counts = rng.poisson(lam)
            for i in np.flatnonzero(counts):
                case_rows.append((codes[i], f"{y:04d}-{m:02d}", category, int(counts[i]), SOURCE))
    case_rows.sort()
    cases = _csv(["code", "period", "category", "count", "source"], case_rows)
    return DemoFiles(cases, population, factors, len(case_rows), len(pop_rows), len(factor_rows))
