"""The risk pipeline: from areas, children, reported cases, factors and boundaries to a
score, a tier, drivers and data-quality flags for every area of one level.

Each step is a separate estimator (see ``docs/risk-method.md``):

1. rates per 100,000 children over a window (:mod:`cegah.risk.windows`);
2. empirical-Bayes smoothing toward the parent area and the neighbours
   (:mod:`cegah.risk.smoothing`);
3. a count model of cases on the factors, with penalised factor selection
   (:mod:`cegah.risk.model`);
4. hotspots, Getis-Ord Gi* and local Moran's I (:mod:`cegah.risk.hotspots`);
5. the trend against the previous window (:mod:`cegah.risk.trend`);
6. score and tier by explicit rules (this module);
7. drivers in plain words and data-quality flags (this module).

Nothing here reads or writes files (that is :mod:`cegah.risk.io`) and nothing is about
individuals: the inputs are counts per area, period and category.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from cegah.risk.distributions import gamma_sf
from cegah.risk.smoothing import EmpiricalBayesRates
from cegah.risk.trend import classify_trend, trend_test
from cegah.risk.windows import CATEGORIES, month_numbers

LEVEL_NAMES = {1: "province", 2: "regency", 3: "district", 4: "village"}
PER = 100_000  # rates are per 100,000 children
TIERS = ("high", "moderate", "low")

Progress = Callable[[str], None]


@dataclass
class RiskSettings:
    """Every threshold of the method, with its default (see docs/risk-method.md)."""

    level: int | None = None  # depth to score; default the deepest level with children
    window: int = 12  # months per window
    as_of: str | None = None  # last month of the current window; default latest in cases
    categories: tuple[str, ...] = CATEGORIES
    seed: int | None = None
    interval: float = 0.9  # probability content of rate_low..rate_high
    permutations: int = 999
    hotspot_alpha: float = 0.05  # after the false-discovery-rate correction
    fdr: bool = True
    trend_alpha: float = 0.05
    few_children: int = 200  # below this an area is flagged "few children"
    min_group_size: int = 5  # areas needed for a parent to get its own prior
    burden_weight: float = 0.7  # weight of observed burden against contextual risk
    high_score: float = 1.5  # score (x reference) from which an area can be "high"
    moderate_score: float = 1.2  # score from which an area is at least "moderate"
    high_probability: float = 0.8  # P(true rate > reference) needed for "high"
    underreport_ratio: float = 2.0  # expected >= ratio x reported ...
    underreport_alpha: float = 0.05  # ... and P(X <= reported | expected) below this
    driver_ratio: float = 1.25  # smallest multiplier worth naming as a driver
    allow_missing_population: bool = False  # else cases without children are an error
    family: str = "auto"  # count model: auto | poisson | negative_binomial
    language: str = "en"  # drivers and flags: en | id
    extra_languages: tuple[str, ...] = ()  # also write drivers_<lang>, flags_<lang>

    def check(self) -> None:
        problems = []
        if self.window < 1:
            problems.append(f"window: expected at least 1 month, got {self.window!r}")
        for name in ("interval", "hotspot_alpha", "trend_alpha", "high_probability",
                     "underreport_alpha"):
            value = getattr(self, name)
            if not 0 < value < 1:
                problems.append(f"{name}: expected a probability in (0, 1), got {value!r}")
        if not 0 <= self.burden_weight <= 1:
            problems.append(f"burden_weight: expected 0..1, got {self.burden_weight!r}")
        if self.permutations < 0:
            problems.append(f"permutations: expected >= 0, got {self.permutations!r}")
        if not 0 < self.moderate_score <= self.high_score:
            problems.append("moderate_score, high_score: expected 0 < moderate <= high, got "
                            f"{self.moderate_score!r} and {self.high_score!r}")
        for lang in (self.language, *self.extra_languages):
            if lang not in TEXT:
                problems.append(f"language: expected one of {', '.join(TEXT)}, got {lang!r}")
        if self.family not in ("auto", "poisson", "negative_binomial"):
            problems.append("family: expected auto, poisson or negative_binomial, "
                            f"got {self.family!r}")
        if problems:
            raise ValueError("; ".join(problems) + ".")


class DataProblem(ValueError):
    """Input data that cannot be scored: ``(file kind, line, message)`` problems."""

    def __init__(self, problems: list[tuple[str, int | None, str]]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{k}, line {n}: {m}" if n else f"{k}: {m}"
                                   for k, n, m in problems[:20]))


@dataclass
class RiskResult:
    table: pd.DataFrame  # one row per area (see OUTPUT_COLUMNS)
    factors: pd.DataFrame  # factor, relative_risk, low, high, p, unit, selected
    metadata: dict[str, Any] = field(default_factory=dict)


OUTPUT_COLUMNS = [
    "code", "name", "level", "parent_code", "children", "cases", "crude_rate",
    "smoothed_rate", "rate_low", "rate_high", "expected_cases", "relative_risk",
    "contextual_risk", "hotspot", "cluster", "trend", "previous_cases", "score", "tier",
    "confidence", "drivers", "flags",
]

# Plain-language texts, English and Indonesian. The library never imports Django, so its
# few sentences are translated here rather than through gettext.
TEXT: dict[str, dict[str, str]] = {
    "en": {
        "factor_present": "{factor}: ×{ratio}",
        "factor_high": "{factor} high: ×{ratio}",
        "factor_low": "{factor} low: ×{ratio}",
        "parent_ratio": "rate {ratio}× the {level}'s",
        "reference_ratio": "rate {ratio}× the average",
        "hotspot": "hotspot with neighbours",
        "high_low": "high rate among low-rate neighbours",
        "trend_new": "new reports this window ({cases})",
        "trend_intensifying": "rising: {cases} reports, {previous} before",
        "underreporting": "expected {expected} reports, {cases} made: possible under-reporting",
        "few_children": "few children ({children})",
        "missing_population": "missing population",
        "zero_population_cases": "cases with zero population",
        "no_factor_data": "no factor data",
        "incomplete_factor_data": "incomplete factor data",
        "no_neighbours": "no neighbours in the boundary file",
        "no_boundary": "not in the boundary file",
        "population_year": "children counted in {year}",
        "level": "{level}",
    },
    "id": {
        "factor_present": "{factor}: ×{ratio}",
        "factor_high": "{factor} tinggi: ×{ratio}",
        "factor_low": "{factor} rendah: ×{ratio}",
        "parent_ratio": "angka {ratio}× angka {level}",
        "reference_ratio": "angka {ratio}× rata-rata",
        "hotspot": "titik panas bersama wilayah tetangga",
        "high_low": "angka tinggi di antara tetangga berangka rendah",
        "trend_new": "laporan baru pada periode ini ({cases})",
        "trend_intensifying": "meningkat: {cases} laporan, sebelumnya {previous}",
        "underreporting": "diperkirakan {expected} laporan, tercatat {cases}: "
                          "kemungkinan kurang lapor",
        "few_children": "sedikit anak ({children})",
        "missing_population": "data penduduk anak tidak ada",
        "zero_population_cases": "ada kasus tetapi jumlah anak nol",
        "no_factor_data": "tidak ada data faktor",
        "incomplete_factor_data": "data faktor tidak lengkap",
        "no_neighbours": "tidak bertetangga dalam berkas batas wilayah",
        "no_boundary": "tidak ada dalam berkas batas wilayah",
        "population_year": "jumlah anak dari tahun {year}",
        "level": "{level}",
    },
}
LEVEL_TEXT = {
    "en": {"province": "province", "regency": "regency", "district": "district",
           "village": "village", "all areas": "all areas"},
    "id": {"province": "provinsi", "regency": "kabupaten/kota", "district": "kecamatan",
           "village": "desa/kelurahan", "all areas": "semua wilayah"},
}


def _fmt_ratio(x: float) -> str:
    return f"{x:.1f}" if x < 10 else f"{x:.0f}"


def _month_label(month: int) -> str:
    return f"{month // 12:04d}-{month % 12 + 1:02d}"


def _ancestor_at(areas: pd.DataFrame, depth: int) -> pd.Series:
    """For every area code, the code of its ancestor at ``depth`` (itself at that depth;
    missing for areas above it)."""
    parent = areas["parent_code"].where(areas["parent_code"].notna() &
                                        (areas["parent_code"] != ""), None)
    level = areas["level"]
    current = pd.Series(areas.index, index=areas.index, dtype=object)
    current_level = level.copy()
    for _ in range(int(level.max()) if len(level) else 0):
        deeper = current_level > depth
        if not deeper.any():
            break
        moved = parent.reindex(current[deeper].to_numpy()).to_numpy()
        current[deeper] = moved
        current_level[deeper] = current_level[deeper] - 1
    return current.where(current_level == depth)


def score_areas(
    areas: pd.DataFrame,
    population: pd.DataFrame,
    cases: pd.DataFrame,
    factors: pd.DataFrame | None = None,
    boundaries: tuple[np.ndarray, np.ndarray] | None = None,
    settings: RiskSettings | None = None,
    progress: Progress | None = None,
) -> RiskResult:
    """Score every area of one level.

    Parameters
    ----------
    areas : DataFrame indexed by ``code`` with ``name, level, parent_code``
    population : DataFrame with ``code, year, children``
    cases : DataFrame with ``code, period, category, count`` (and optionally ``line``)
    factors : DataFrame with ``code, factor, value`` (and optionally ``year``), optional
    boundaries : (codes, geometries), optional
        Polygons of the scored areas; enables spatial smoothing and hotspots.
    settings : RiskSettings, optional
    progress : callable(str), optional
        Called with the name of each step as it starts.
    """
    s = settings or RiskSettings()
    s.check()
    say = progress or (lambda _msg: None)
    rng_seed = s.seed
    areas = _normalise_areas(areas)

    say("windows")
    depth = _choose_depth(areas, population, s.level)
    targets = areas.index[areas["level"] == depth]
    if len(targets) == 0:
        raise ValueError(f"level: no areas at level {depth} in the areas table.")
    up = _ancestor_at(areas, depth)
    months = month_numbers(cases["period"]) if len(cases) else pd.Series([], dtype=int)
    if s.as_of is None:
        if not len(cases):
            raise ValueError("as_of: no cases to take the latest month from; give --as-of.")
        end = int(months.max())
    else:
        from cegah.risk.windows import month_index

        end = month_index(s.as_of)
    as_of = _month_label(end)
    start = end - s.window + 1
    prev_start = start - s.window
    year_now, year_prev = end // 12, (start - 1) // 12

    tab = pd.DataFrame(index=pd.Index(targets, name="code"))
    tab["name"] = areas.loc[targets, "name"].to_numpy()
    level_name = LEVEL_NAMES.get(depth, str(depth))
    tab["level"] = level_name
    tab["parent_code"] = areas.loc[targets, "parent_code"].fillna("").to_numpy()

    # Children: the latest year up to the window's end year (else the earliest after).
    children_now, pop_year, pop_source = _children(population, up, targets, year_now)
    children_prev, _y, _src = _children(population, up, targets, year_prev)
    children_prev = children_prev.fillna(children_now)

    # Cases per window, category and area (data below the level are summed up to it).
    cats = list(s.categories)
    c = cases.assign(_m=months.to_numpy(), _a=up.reindex(cases["code"]).to_numpy())
    above = c["_a"].isna() & (c["_m"] >= start) & (c["_m"] <= end)
    c = c[c["_a"].notna() & c["category"].isin(cats)]
    now = c[(c["_m"] >= start) & (c["_m"] <= end)]
    before = c[(c["_m"] >= prev_start) & (c["_m"] < start)]
    per_cat = now.pivot_table(index="_a", columns="category", values="count", aggfunc="sum",
                              fill_value=0).reindex(index=targets, columns=cats, fill_value=0)
    tab["cases"] = per_cat.sum(axis=1).astype("int64").to_numpy()
    tab["previous_cases"] = (before.groupby("_a")["count"].sum()
                             .reindex(targets, fill_value=0).astype("int64").to_numpy())
    tab["children"] = children_now.to_numpy()

    # Flags as (text key, parameters), rendered in each language at the end.
    flags: list[list[tuple[str, dict]]] = [[] for _ in range(len(tab))]

    missing = tab["children"].isna().to_numpy()
    zero = (tab["children"] == 0).to_numpy()
    bad = (missing | zero) & (tab["cases"].to_numpy() > 0)
    if bad.any() and not s.allow_missing_population:
        _raise_cases_without_children(now, tab.index[bad], pop_source)
    for i in np.flatnonzero(missing):
        flags[i].append(("missing_population", {}))
    for i in np.flatnonzero(bad):
        flags[i].append(("zero_population_cases", {}))
    few = (~missing) & (tab["children"].fillna(0).to_numpy() < s.few_children) & ~zero
    for i in np.flatnonzero(few):
        flags[i].append(("few_children", {"children": int(tab["children"].iloc[i])}))
    for i in np.flatnonzero(~missing & (pop_year.to_numpy() != year_now)):
        if not np.isnan(pop_year.iloc[i]):
            flags[i].append(("population_year", {"year": int(pop_year.iloc[i])}))

    ok = ~(missing | zero)  # areas with children: the ones that get rates
    idx = np.flatnonzero(ok)
    e = tab["cases"].to_numpy(dtype=float)
    b = tab["children"].to_numpy(dtype=float)
    n_ok = idx.size
    if n_ok == 0:
        raise ValueError("population: no area of the scored level has children > 0.")
    reference = e[idx].sum() / b[idx].sum()

    # Per-category crude rates (descriptive).
    with np.errstate(divide="ignore", invalid="ignore"):
        for cat in cats:
            tab[f"cases_{cat}"] = per_cat[cat].astype("int64").to_numpy()
            tab[f"rate_{cat}"] = np.where(ok, per_cat[cat].to_numpy() / b * PER, np.nan)
        tab["crude_rate"] = np.where(ok, e / b * PER, np.nan)

    # Neighbours from the boundaries (only among areas with children).
    adjacency = None
    has_geometry = np.zeros(len(tab), bool)
    if boundaries is not None:
        say("neighbours")
        from cegah.risk.weights import contiguity

        bcodes, geoms = boundaries
        pos = pd.Series(np.arange(len(bcodes)), index=pd.Index(np.asarray(bcodes, dtype=object)))
        where = pos.reindex(tab.index).to_numpy()
        has_geometry = ~np.isnan(where)
        if has_geometry.sum() == 0:
            raise ValueError("boundaries: none of the boundary codes is an area of the scored "
                             f"level ({LEVEL_NAMES.get(depth, depth)}).")
        inside = np.flatnonzero(has_geometry & ok)
        geoms_ok = np.asarray(geoms, dtype=object)[where[inside].astype(int)]
        adj_inside = contiguity(geoms_ok)
        # Re-index into positions among the ``ok`` areas.
        import scipy.sparse as sp

        rank = np.full(len(tab), -1)
        rank[idx] = np.arange(n_ok)
        sel = rank[inside]
        coo = adj_inside.tocoo()
        adjacency = sp.csr_matrix((np.ones(coo.nnz), (sel[coo.row], sel[coo.col])),
                                  shape=(n_ok, n_ok))
        degree = np.asarray(adjacency.sum(axis=1)).ravel()
        for j in np.flatnonzero(degree == 0):
            i = idx[j]
            flags[i].append(("no_neighbours" if has_geometry[i] else "no_boundary", {}))

    # Smoothing toward the parent (and the neighbours).
    say("smoothing")
    groups = tab["parent_code"].to_numpy()[idx] if depth > 1 else None
    eb = EmpiricalBayesRates(level=s.interval, min_group_size=s.min_group_size).fit(
        e[idx], b[idx], groups=groups, adjacency=adjacency)
    smoothed = np.full(len(tab), np.nan)
    smoothed[idx] = eb.rate_
    tab["smoothed_rate"] = smoothed * PER
    tab["rate_low"] = np.nan
    tab["rate_high"] = np.nan
    tab.iloc[idx, tab.columns.get_loc("rate_low")] = eb.low_ * PER
    tab.iloc[idx, tab.columns.get_loc("rate_high")] = eb.high_ * PER
    # Posterior probability that the true rate exceeds the reference rate.
    p_above = np.full(len(tab), np.nan)
    p_above[idx] = gamma_sf(reference, eb.posterior_shape_, eb.posterior_rate_)

    # Contextual risk from the factors.
    factor_table = pd.DataFrame(columns=["factor", "relative_risk", "low", "high", "p",
                                         "unit", "selected"])
    contextual = np.ones(len(tab))
    expected = b * reference
    underreport = np.zeros(len(tab), bool)
    contributions = None
    model_info: dict[str, Any] = {}
    if factors is not None and len(factors):
        say("count model")
        from cegah.risk.model import CountModel, underreporting

        matrix, coverage = _factor_matrix(factors, up, tab.index, children_now, year_now)
        no_data = coverage.to_numpy() == 0
        partial = (coverage.to_numpy() > 0) & (coverage.to_numpy() < 1)
        for i in np.flatnonzero(no_data):
            flags[i].append(("no_factor_data", {}))
        for i in np.flatnonzero(partial):
            flags[i].append(("incomplete_factor_data", {}))
        # Missing values take the median, so an area without data is "typical" (flagged).
        filled = matrix.fillna(matrix.median()).fillna(0.0)
        # The model learns from the current and the previous window together (twice the
        # reports, steadier factor effects); its expectation is then for the current one.
        e_model = e[idx] + tab["previous_cases"].to_numpy()[idx]
        exposure = b[idx] + children_prev.to_numpy(dtype=float)[idx]
        if e_model.sum() > 0 and filled.shape[1] > 0:
            model = CountModel(family=s.family, level=s.interval).fit(
                filled.iloc[idx].reset_index(drop=True), e_model.astype(int), exposure)
            expected = np.full(len(tab), np.nan)
            expected[idx] = model.expected_ * b[idx] / exposure
            contextual = np.full(len(tab), np.nan)
            contextual[idx] = model.relative_risk_
            factor_table = model.all_factors_.sort_values(
                ["selected", "relative_risk"], ascending=[False, False]).reset_index(drop=True)
            contributions = pd.DataFrame(np.nan, index=tab.index,
                                         columns=model.contributions_.columns)
            contributions.iloc[idx] = model.contributions_.to_numpy()
            flag = underreporting(e[idx], expected[idx], ratio=s.underreport_ratio,
                                  alpha=s.underreport_alpha,
                                  alpha_dispersion=getattr(model, "alpha_", 0.0))
            underreport[idx] = flag
            model_info = {"family": model.family_, "dispersion": float(model.alpha_),
                          "selected": [str(f) for f in model.factors_["factor"]]}
    tab["expected_cases"] = np.where(ok, expected, np.nan)
    tab["relative_risk"] = tab["smoothed_rate"] / (reference * PER)
    tab["contextual_risk"] = np.where(ok, contextual, np.nan)

    # Hotspots on the smoothed rates.
    hotspot = np.full(len(tab), "", dtype=object)
    cluster = np.full(len(tab), "", dtype=object)
    if adjacency is not None and n_ok > 2:
        say(f"hotspots ({s.permutations} permutations)")
        from cegah.risk.hotspots import LocalHotspots

        hs = LocalHotspots(permutations=s.permutations, alpha=s.hotspot_alpha, fdr=s.fdr,
                           seed=rng_seed).fit(eb.rate_, adjacency)
        hotspot[idx] = hs.hotspot_
        cluster[idx] = hs.cluster_
    tab["hotspot"] = hotspot
    tab["cluster"] = cluster

    say("trend")
    exposure_prev = children_prev.to_numpy(dtype=float)
    trend = np.full(len(tab), "", dtype=object)
    trend[idx] = classify_trend(tab["previous_cases"].to_numpy()[idx], e[idx].astype(int),
                                exposure_prev[idx], b[idx], alpha=s.trend_alpha)
    tab["trend"] = trend
    # A significant rise: "intensifying", or "new" with enough reports to be significant
    # (one report after none is not a trend).
    p_trend = np.ones(len(tab))
    p_trend[idx] = trend_test(tab["previous_cases"].to_numpy()[idx], e[idx], exposure_prev[idx],
                              b[idx])[0]
    rising = (trend == "intensifying") | ((trend == "new") & (p_trend < s.trend_alpha))

    say("score and tier")
    burden = tab["relative_risk"].to_numpy()
    ctx = np.where(np.isfinite(contextual) & (contextual > 0), contextual, 1.0)
    w = s.burden_weight
    with np.errstate(divide="ignore", invalid="ignore"):
        score = np.exp(w * np.log(np.maximum(burden, 1e-12)) + (1 - w) * np.log(ctx))
    score = np.where(ok, score, np.nan)
    tab["score"] = score
    tier, confidence = _tiers(s, score, p_above, hotspot, rising, underreport, ctx, ok,
                              tab["rate_low"].to_numpy(), tab["rate_high"].to_numpy(), flags,
                              has_flags_for_confidence=few | missing | zero)
    tab["tier"] = tier
    tab["confidence"] = confidence

    for k, lang in enumerate((s.language, *(x for x in s.extra_languages
                                            if x != s.language))):
        suffix = "" if k == 0 else f"_{lang}"
        ls = replace(s, language=lang)
        pairs = _drivers(ls, tab, depth, reference, contributions, factor_table, hotspot,
                         cluster, trend, underreport, expected, ok)
        tab["drivers" + suffix] = [[text for _kind, text in row] for row in pairs]
        if k == 0:  # the same kinds, in the same order, in every language
            tab["driver_kinds"] = [[kind for kind, _text in row] for row in pairs]
        tab["flags" + suffix] = [[TEXT[lang][key].format(**params) for key, params in row]
                                 for row in flags]
    tab["underreporting"] = underreport
    tab["children"] = tab["children"].round().astype("Int64")  # counts, NA where unknown
    tab = tab.reset_index()
    ordered = OUTPUT_COLUMNS + [c for c in tab.columns if c not in OUTPUT_COLUMNS]
    tab = tab[ordered]

    metadata = {
        "method": "cegah risk engine; see docs/risk-method.md",
        "as_of": as_of,
        "window": {"months": s.window, "from": _month_label(start), "to": as_of},
        "previous_window": {"from": _month_label(prev_start), "to": _month_label(start - 1)},
        "level": level_name,
        "areas": int(len(tab)),
        "areas_with_children": int(n_ok),
        "reference_rate_per_100000": float(reference * PER),
        "cases_in_window": int(e.sum()),
        "cases_above_level": int(cases.loc[above.to_numpy(), "count"].sum()),
        "rates": "per 100,000 children over the window",
        "settings": {k: (list(v) if isinstance(v, tuple) else v)
                     for k, v in asdict(s).items()},
        "boundaries": boundaries is not None,
        "model": model_info,
        "tiers": {tr: int((tab["tier"] == tr).sum()) for tr in (*TIERS, "unknown")},
    }
    return RiskResult(table=tab, factors=factor_table.reset_index(drop=True), metadata=metadata)


def _normalise_areas(areas: pd.DataFrame) -> pd.DataFrame:
    a = areas
    if "code" in a.columns:
        a = a.set_index("code")
    a = a.copy()
    a.index = a.index.astype(str)
    if "parent_code" not in a.columns:
        a["parent_code"] = None
    a["level"] = a["level"].astype(int)
    return a


def _choose_depth(areas: pd.DataFrame, population: pd.DataFrame, level) -> int:
    if level is not None:
        depth = int(level)
        if depth not in set(areas["level"].unique()):
            raise ValueError(f"level: expected one of the levels in the areas table "
                             f"({', '.join(map(str, sorted(areas['level'].unique())))}), "
                             f"got {level!r}.")
        return depth
    known = population["code"].astype(str)
    levels = areas["level"].reindex(known.unique()).dropna()
    return int(levels.max()) if len(levels) else int(areas["level"].max())


def _children(population: pd.DataFrame, up: pd.Series, targets: pd.Index, year: int):
    """Children per target area for ``year``: each source code's latest year <= ``year``
    (else its earliest year), summed up to the target level; rows at the target level
    itself win over sums from below."""
    pop = population[["code", "year", "children"]].copy()
    pop["code"] = pop["code"].astype(str)
    # Distance to ``year``: earlier years count back from it, later ones after all of them.
    years = pop["year"].to_numpy()
    pop["key"] = np.where(years <= year, year - years, 10_000 + years - year)
    pop = pop.sort_values(["code", "key"]).drop_duplicates("code", keep="first")
    pop["target"] = up.reindex(pop["code"]).to_numpy()
    pop = pop[pop["target"].notna()]
    direct = pop[pop["code"] == pop["target"]].set_index("target")
    below = pop[pop["code"] != pop["target"]].groupby("target").agg(
        children=("children", "sum"), year=("year", "max"))
    children = below["children"].astype(float).reindex(targets)
    years = below["year"].astype(float).reindex(targets)
    source = pd.Series("below", index=targets)
    children.update(direct["children"].astype(float))
    years.update(direct["year"].astype(float))
    source[direct.index.intersection(targets)] = "direct"
    return children, years, source


def _raise_cases_without_children(now: pd.DataFrame, codes: pd.Index, pop_source) -> None:
    problems = []
    rows = now[now["_a"].isin(set(codes))]
    for code, group in rows.groupby("_a", sort=True):
        line = group["line"].min() if "line" in group.columns else None
        problems.append(("cases", int(line) if line is not None else None,
                         f"cases in area {code}, which has no children in the population "
                         "file (give its child population, or use "
                         "--allow-missing-population to score it with a flag)"))
    raise DataProblem(problems)


def _factor_matrix(factors: pd.DataFrame, up: pd.Series, targets: pd.Index,
                   children: pd.Series, year: int) -> tuple[pd.DataFrame, pd.Series]:
    """Areas x factors: each factor's value for the latest year <= ``year`` (rows without
    a year count as current), averaged over sub-areas weighted by their children when the
    factor is given below the scored level. Also the share of factors known per area."""
    f = factors.copy()
    f["code"] = f["code"].astype(str)
    if "year" in f.columns:
        y = pd.to_numeric(f["year"], errors="coerce")
        f = f[y.isna() | (y <= year)]
        f = f.assign(_y=y.fillna(year + 1)).sort_values("_y")
        f = f.drop_duplicates(["code", "factor"], keep="last")
    f["target"] = up.reindex(f["code"]).to_numpy()
    f = f[f["target"].notna()]
    names = sorted(f["factor"].unique())
    direct = f[f["code"] == f["target"]].pivot_table(index="target", columns="factor",
                                                     values="value", aggfunc="mean")
    below = f[f["code"] != f["target"]]
    if len(below):
        wts = children.reindex(below["code"]).fillna(1.0).clip(lower=1.0).to_numpy()
        below = below.assign(_w=wts, _wv=below["value"].to_numpy() * wts)
        sums = below.groupby(["target", "factor"])[["_w", "_wv"]].sum()
        avg = (sums["_wv"] / sums["_w"]).unstack("factor")
        matrix = avg.reindex(index=targets, columns=names)
    else:
        matrix = pd.DataFrame(np.nan, index=targets, columns=names)
    if len(direct):
        direct = direct.reindex(index=targets, columns=names)
        matrix = direct.combine_first(matrix)
    matrix = matrix.reindex(index=targets, columns=names)
    coverage = matrix.notna().mean(axis=1) if names else pd.Series(0.0, index=targets)
    return matrix.astype(float), coverage


def _tiers(s: RiskSettings, score, p_above, hotspot, rising, underreport, ctx, ok, low, high,
           flags, has_flags_for_confidence):
    """The tier rules (docs/risk-method.md, "Score and tier"):

    * high: score >= high_score and P(rate > reference) >= high_probability; or a Gi*
      hotspot with score >= moderate_score;
    * moderate: score >= moderate_score; or a significant rise (intensifying, or new
      with p < trend_alpha); or probable under-reporting; or contextual risk >= high_score;
    * low: everything else with children; ``unknown`` where there are no children.
    """
    n = score.size
    tier = np.full(n, "low", dtype=object)
    moderate = ((score >= s.moderate_score) | rising
                | underreport | (ctx >= s.high_score))
    high = ((score >= s.high_score) & (p_above >= s.high_probability)) | (
        (hotspot == "hot") & (score >= s.moderate_score))
    tier[moderate] = "moderate"
    tier[high] = "high"
    tier[~ok] = "unknown"
    # Confidence: how far the interval is from the tier boundaries, and the data flags.
    with np.errstate(divide="ignore", invalid="ignore"):
        spread = high / np.maximum(low, 1e-9 * np.nanmax(np.r_[high, 1.0]))
    sure = (p_above >= 0.9) | (p_above <= 0.1)
    confidence = np.where(sure & (spread < 4), "high", "medium").astype(object)
    confidence[has_flags_for_confidence | ~ok] = "low"
    confidence[(p_above > 0.3) & (p_above < 0.7)] = "low"
    return tier, confidence


def _drivers(s, tab, depth, reference, contributions, factor_table, hotspot, cluster, trend,
             underreport, expected, ok):
    """Plain-language drivers per area, strongest first (vectorised per kind of driver)."""
    t = TEXT[s.language]
    lv = LEVEL_TEXT.get(s.language, LEVEL_TEXT["en"])
    n = len(tab)
    # Each candidate: (weight used for ordering, positions, (kind, text) at those positions).
    candidates: list[tuple[np.ndarray, np.ndarray, list[tuple[str, str]]]] = []

    def add(weight, mask, make, kind: str) -> None:
        where = np.flatnonzero(mask & ok)
        if where.size:
            w = np.broadcast_to(np.asarray(weight, dtype=float), (n,))[where]
            candidates.append((w, where, [(kind, make(i)) for i in where]))

    if contributions is not None:
        unit = dict(zip(factor_table["factor"], factor_table["unit"], strict=False))
        values = contributions.to_numpy(dtype=float)
        for j, name in enumerate(contributions.columns):
            mult = values[:, j]
            label = str(name).replace("_", " ")
            key = "factor_present" if unit.get(name) == "present" else "factor_high"
            with np.errstate(invalid="ignore"):
                mask = np.isfinite(mult) & (mult >= s.driver_ratio)
            add(mult, mask, lambda i, m=mult, lb=label, k=key: t[k].format(
                factor=lb, ratio=_fmt_ratio(m[i])), f"factor:{name}")

    smoothed = tab["smoothed_rate"].to_numpy() / PER
    parent = tab["parent_code"].to_numpy()
    pooled = pd.DataFrame({"p": parent, "e": tab["cases"].to_numpy(),
                           "b": tab["children"].fillna(0).to_numpy()})[ok]
    sums = pooled.groupby("p")[["e", "b"]].sum()
    parent_rate = (sums["e"] / sums["b"]).reindex(parent).to_numpy(dtype=float)
    parent_level = lv.get(LEVEL_NAMES.get(depth - 1, ""), "")
    with np.errstate(divide="ignore", invalid="ignore"):
        to_parent = np.where((depth > 1) & (parent_rate > 0), smoothed / parent_rate, np.nan)
        to_reference = smoothed / reference if reference > 0 else np.full(n, np.nan)
        by_parent = np.nan_to_num(to_parent) >= s.driver_ratio + 0.25
        by_reference = ~by_parent & (np.nan_to_num(to_reference) >= s.driver_ratio + 0.25)
    add(to_parent, by_parent, lambda i: t["parent_ratio"].format(
        ratio=_fmt_ratio(to_parent[i]), level=parent_level), "parent_ratio")
    add(to_reference, by_reference, lambda i: t["reference_ratio"].format(
        ratio=_fmt_ratio(to_reference[i])), "reference_ratio")
    add(np.inf, hotspot == "hot", lambda i: t["hotspot"], "hotspot")
    add(np.inf, (hotspot != "hot") & (cluster == "high-low"), lambda i: t["high_low"],
        "high_low")
    cases = tab["cases"].to_numpy()
    prev = tab["previous_cases"].to_numpy()
    add(100.0, (trend == "new") & (cases >= 2),
        lambda i: t["trend_new"].format(cases=int(cases[i])), "trend")
    add(100.0, trend == "intensifying", lambda i: t["trend_intensifying"].format(
        cases=int(cases[i]), previous=int(prev[i])), "trend")
    add(50.0, underreport, lambda i: t["underreporting"].format(
        expected=f"{expected[i]:.1f}", cases=int(cases[i])), "underreporting")

    out: list[list[tuple[str, str]]] = [[] for _ in range(n)]
    if not candidates:
        return out
    weights = np.concatenate([c[0] for c in candidates])
    rows = np.concatenate([c[1] for c in candidates])
    texts = [text for c in candidates for text in c[2]]
    # Sort by area, then strongest first; stable so equal weights keep their kind order.
    order = np.lexsort((-weights, rows))
    for k in order:
        out[rows[k]].append(texts[k])
    return out
