"""A SYNTHETIC world with known true relative risks, for testing the risk engine.

1,280 villages on a 40 x 32 grid of unit squares; 64 districts (blocks of 5 x 4
villages), 16 regencies (2 x 2 districts), one province. The true log relative risk of a
village adds a regency effect, a district effect, a smooth spatial field (three Gaussian
"blobs"), factor effects (a ferry port ×2.0 in 6 % of villages, poverty ×1.35 per
standard deviation, two factors without effect) and village noise. Populations are
log-normal with many small villages (median 350 children). Counts are Poisson per
month and category over 24 months at about 60 reports per 100,000 children per year.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely

from cegah.risk.windows import CATEGORIES

COLS, ROWS = 40, 32
BASE_RATE = 60 / 100_000 / 12  # per child per month


@dataclass
class World:
    areas: pd.DataFrame
    population: pd.DataFrame
    cases: pd.DataFrame
    factors: pd.DataFrame
    boundaries: tuple[np.ndarray, np.ndarray]
    true_rr: pd.Series  # per village code


def make_world(seed: int, *, months: int = 24) -> World:
    rng = np.random.default_rng(seed)
    x, y = np.meshgrid(np.arange(COLS), np.arange(ROWS))
    x, y = x.ravel(), y.ravel()
    district = (y // 4) * (COLS // 5) + x // 5  # 8 x 8 districts
    regency = (y // 8) * (COLS // 10) + x // 10  # 4 x 4 regencies
    reg_codes = np.array([f"P.{r:02d}" for r in range(16)])
    dis_codes = np.array([f"{reg_codes[regency[np.flatnonzero(district == d)[0]]]}.{d:02d}"
                          for d in range(64)])
    vil_codes = np.array([f"{dis_codes[district[i]]}.{i:04d}" for i in range(x.size)])

    areas = pd.concat([
        pd.DataFrame({"code": ["P"], "name": ["Synthetic province"], "level": [1],
                      "parent_code": [None]}),
        pd.DataFrame({"code": reg_codes, "name": [f"Regency {r}" for r in range(16)],
                      "level": 2, "parent_code": "P"}),
        pd.DataFrame({"code": dis_codes, "name": [f"District {d}" for d in range(64)],
                      "level": 3, "parent_code": [c.rsplit(".", 1)[0] for c in dis_codes]}),
        pd.DataFrame({"code": vil_codes, "name": [f"Village {i}" for i in range(x.size)],
                      "level": 4, "parent_code": dis_codes[district]}),
    ], ignore_index=True)

    ferry = (rng.random(x.size) < 0.06).astype(float)
    poverty = rng.normal(20, 6, x.size).clip(2, 60)
    noise_a = rng.normal(0, 1, x.size)
    noise_b = (rng.random(x.size) < 0.3).astype(float)
    blobs = np.zeros(x.size)
    for _ in range(3):
        cx, cy = rng.uniform(0, COLS), rng.uniform(0, ROWS)
        blobs += 0.9 * np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * 3.0**2))
    log_rr = (rng.normal(0, 0.3, 16)[regency] + rng.normal(0, 0.25, 64)[district] + blobs
              + np.log(2.0) * ferry + np.log(1.35) * (poverty - poverty.mean()) / poverty.std()
              + rng.normal(0, 0.15, x.size))
    log_rr -= np.log(np.mean(np.exp(log_rr)))
    rr = np.exp(log_rr)
    children = np.maximum(20, rng.lognormal(np.log(350), 0.9, x.size)).round().astype(int)

    lam = children * BASE_RATE * rr / len(CATEGORIES)
    counts = rng.poisson(np.repeat(lam[:, None], months * len(CATEGORIES), axis=1))
    end_year, end_month = 2026, 10
    periods = []
    for k in range(months):
        m = end_year * 12 + end_month - 1 - (months - 1 - k)
        periods.append(f"{m // 12:04d}-{m % 12 + 1:02d}")
    village_idx, cell = np.nonzero(counts)
    cases = pd.DataFrame({
        "code": vil_codes[village_idx],
        "period": np.array(periods)[cell // len(CATEGORIES)],
        "category": np.array(CATEGORIES)[cell % len(CATEGORIES)],
        "count": counts[village_idx, cell],
    })
    population = pd.DataFrame({"code": np.repeat(vil_codes, 2),
                               "year": np.tile([2025, 2026], x.size),
                               "children": np.repeat(children, 2)})
    factors = pd.concat([
        pd.DataFrame({"code": vil_codes, "factor": name, "value": values})
        for name, values in (("ferry_port", ferry), ("poverty_rate", poverty),
                             ("mosque_density", noise_a), ("river_village", noise_b))
    ], ignore_index=True)
    geoms = shapely.box(x, y, x + 1, y + 1)
    return World(areas, population, cases, factors, (vil_codes, geoms),
                 pd.Series(rr, index=vil_codes))


def auc(scores, positives) -> float:
    """Area under the ROC curve (Mann-Whitney U / (n1 n0)), ties counted as 1/2."""
    from scipy.stats import rankdata

    s = np.asarray(scores, dtype=float)
    p = np.asarray(positives, dtype=bool)
    ranks = rankdata(s)
    n1, n0 = p.sum(), (~p).sum()
    return float((ranks[p].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))
