"""What one actor may see of the risk results: the single place pages, exports and the
API get their figures from.

Every signed-in user sees tiers, confidence, hotspots and the drivers that name factors
or neighbours. The case counts, the rates and scores derived from them, the child
population and the count-bearing drivers and flags are shown only where the policy
entitles the actor to the area's counts; elsewhere the counts pass through disclosure
control (:mod:`cegah.lib.disclosure`): 1 to 4 shows as "<5", a hidden count is not
recoverable from a visible total and its visible parts, and rates derived from hidden
counts are hidden.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

from django.db.models import QuerySet
from django.utils.translation import get_language

from cegah import policy
from cegah.areas.models import Area, Level
from cegah.risk.windows import CATEGORIES
from cegah.riskmap.models import AreaRisk, RiskRun

# Drivers anyone may read: they name factors and neighbours, not counts.
PUBLIC_DRIVER_KINDS = frozenset({"factor", "hotspot", "high_low"})
TOTAL = "total"


@dataclass
class AreaFigures:
    code: str
    name: str
    level: str
    parent_code: str
    tier: str
    confidence: str
    hotspot: str
    cluster: str
    entitled: bool
    drivers: list[str]
    flags: list[str]
    # What each driver is, in the same order: "factor:<name>", "hotspot", "high_low",
    # "parent_ratio", "reference_ratio", "trend", "underreporting".
    driver_kinds: list[str] = field(default_factory=list)
    # Shown only when entitled (or, for counts, when disclosure control allows).
    cases: int | None = None
    cases_label: str = ""
    categories: dict[str, str] = field(default_factory=dict)  # category -> label
    children: int | None = None
    crude_rate: float | None = None
    smoothed_rate: float | None = None
    rate_low: float | None = None
    rate_high: float | None = None
    score: float | None = None
    expected_cases: float | None = None
    relative_risk: float | None = None
    contextual_risk: float | None = None
    trend: str = ""
    previous_cases: int | None = None
    underreporting: bool | None = None

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _language() -> str:
    lang = (get_language() or "id")[:2]
    return lang if lang in ("en", "id") else "id"


def risk_rows(run: RiskRun, *, level: int | None = None, parent: str | None = None,
              geometry: bool = False) -> QuerySet[AreaRisk]:
    qs = AreaRisk.objects.filter(run=run).select_related("area")
    if not geometry:  # boundaries can be megabytes per page; only maps need them
        qs = qs.defer("area__geometry")
    if parent is not None:
        qs = qs.filter(parent_code=parent)
    if level is not None:
        qs = qs.filter(level=level)
    return qs.order_by("area__name", "area_id")


def figures_for(actor: Any, rows: list[AreaRisk], *, total_row: AreaRisk | None = None,
                language: str | None = None, include_total: bool = False,
                run: RiskRun | None = None) -> list[AreaFigures]:
    """The figures ``actor`` may see for ``rows`` (and the parent's ``total_row``, last,
    when ``include_total``).

    Counts come from one protection of the run's whole hierarchy for the actor's
    entitlement (:func:`protected_counts`), so an area reads the same wherever it is
    shown and no combination of pages, exports and API answers reveals a hidden count.
    """
    lang = language or _language()
    entitled = policy.counts_entitlement(actor)
    all_rows = [*rows, *([total_row] if total_row is not None and include_total else [])]
    if not all_rows:
        return []
    run = run if run is not None else all_rows[0].run
    scope = policy.counts_entitlement_scope(actor)
    protection = protected_counts(run.pk, run.finished_at, scope)
    if any(r.area_id not in protection.row for r in all_rows):
        # Rows added to a run after it was cached (tests build runs by hand; a database
        # rolled back may reuse an id): protect again from what is stored now.
        protected_counts.cache_clear()
        protection = protected_counts(run.pk, run.finished_at, scope)
    return [_one(r, entitled(r.area_id), protection(r), lang) for r in all_rows]


def _one(r: AreaRisk, ok: bool, counts: dict[str, tuple[int | None, str]],
         lang: str) -> AreaFigures:
    drivers = r.drivers.get(lang) or r.drivers.get("en") or []
    kinds = r.drivers.get("kinds") or [""] * len(drivers)
    f = AreaFigures(
        code=r.area_id, name=r.area.name, level=Level(r.level).key,
        parent_code=r.parent_code, tier=r.tier, confidence=r.confidence,
        hotspot=r.hotspot, cluster=r.cluster, entitled=ok,
        drivers=[d for d, k in zip(drivers, kinds, strict=False)
                 if ok or k.partition(":")[0] in PUBLIC_DRIVER_KINDS],
        driver_kinds=[k for k in kinds if ok or k.partition(":")[0] in PUBLIC_DRIVER_KINDS],
        flags=(r.flags.get(lang) or r.flags.get("en") or []) if ok else [],
    )
    total, label = counts[TOTAL]
    f.cases, f.cases_label = total, label
    f.categories = {c: counts[c][1] for c in CATEGORIES}
    if ok:
        f.children = r.children
        f.crude_rate, f.smoothed_rate = r.crude_rate, r.smoothed_rate
        f.rate_low, f.rate_high, f.score = r.rate_low, r.rate_high, r.score
        f.expected_cases, f.relative_risk = r.expected_cases, r.relative_risk
        f.contextual_risk, f.trend = r.contextual_risk, r.trend
        f.previous_cases, f.underreporting = r.previous_cases, r.underreporting
    elif total is not None and r.crude_rate is not None:
        f.crude_rate = r.crude_rate  # from a count shown anyway
    return f


class _Protection:
    """One run's counts as an actor with one entitlement scope may see them, compactly:
    per area, per column, the shown value (or -1) and the label."""

    def __init__(self, codes: list[str], values, labels) -> None:
        self.row = {code: i for i, code in enumerate(codes)}
        self.values = values  # int64 array (areas x columns), -1 where hidden
        self.labels = labels  # object array of the same shape
        self.columns = (*CATEGORIES, TOTAL)

    def __call__(self, r: AreaRisk) -> dict[str, tuple[int | None, str]]:
        i = self.row[r.area_id]
        return {c: (None if self.values[i, j] < 0 else int(self.values[i, j]),
                    self.labels[i, j]) for j, c in enumerate(self.columns)}


@functools.lru_cache(maxsize=8)
def protected_counts(run_id: int, finished_at: Any,
                     scope: tuple[str, ...] | None) -> _Protection:
    """Disclosure control over the run's whole hierarchy for one entitlement scope
    (``policy.counts_entitlement_scope``): every area has one state, the same in every
    table (:func:`cegah.lib.disclosure.protect_hierarchy`). Cached per process, by run
    and its completion time (a finished run never changes)."""
    import numpy as np
    import pandas as pd

    from cegah.areas.models import is_within
    from cegah.lib.disclosure import protect_hierarchy

    rows = list(AreaRisk.objects.filter(run_id=run_id).order_by("area_id").values_list(
        "area_id", "parent_code", "cases", "cases_by_category"))
    codes = [r[0] for r in rows]
    columns = (*CATEGORIES, TOTAL)
    x = np.array([[int(cats.get(c, 0)) for c in CATEGORIES] + [int(cases)]
                  for _code, _parent, cases, cats in rows], dtype=np.int64).reshape(-1, 5)
    if scope is None:  # entitled everywhere: nothing to protect
        return _Protection(codes, x, np.vectorize(str, otypes=[object])(x) if len(x) else x)
    known = set(codes)
    frame = pd.DataFrame(x, index=pd.Index(codes), columns=list(columns))
    frame["parent_code"] = [p if p in known else None for _c, p, _n, _k in rows]
    entitled = [bool(scope) and is_within(code, scope) for code in codes]
    table = protect_hierarchy(frame, parent="parent_code", parts=list(CATEGORIES),
                              total=TOTAL, entitled=entitled)
    values = table.values.reindex(columns=list(columns)).to_numpy(dtype=object)
    shown = np.array([[-1 if v is None else int(v) for v in row] for row in values],
                     dtype=np.int64).reshape(-1, 5)
    labels = table.labels().reindex(columns=list(columns)).to_numpy(dtype=object)
    return _Protection(codes, shown, labels)


def area_detail(actor: Any, run: RiskRun, area: Area) -> dict[str, Any] | None:
    """One area's figures, its parent's and its siblings' (protected as one table)."""
    row = AreaRisk.objects.filter(run=run, area=area).select_related("area").first()
    if row is None:
        return None
    siblings = list(risk_rows(run, parent=row.parent_code or None, level=row.level))
    parent = (AreaRisk.objects.filter(run=run, area_id=row.parent_code)
              .select_related("area").first() if row.parent_code else None)
    # One table, so the parent's figures and the siblings' are protected together (two
    # separately protected copies of the same counts could reveal what each hides).
    figures = figures_for(actor, siblings, total_row=parent, include_total=True, run=run)
    parent_figures = figures.pop() if parent else None
    me = next(f for f in figures if f.code == area.code)
    return {"area": me, "parent": parent_figures, "siblings": figures}


def trend_series(actor: Any, run: RiskRun, area: Area, *, years: int = 5) -> dict[str, Any]:
    """Reported cases of the area (and its sub-areas) per year and category, for the
    ``years`` years up to the run's month, protected like every other count."""
    import datetime as dt

    from django.db.models import Sum
    from django.db.models.functions import ExtractYear

    from cegah.areas.models import subtree_q
    from cegah.cases.models import CaseCount
    from cegah.lib.disclosure import protect_counts

    if not run.as_of:
        return {"years": [], "rows": []}
    end_year, end_month = (int(x) for x in run.as_of.split("-"))
    last = [end_year - k for k in range(years - 1, -1, -1)]
    start = dt.date(last[0], 1, 1)
    end = dt.date(end_year, end_month, 1)
    sums = (CaseCount.objects.filter(subtree_q([area.code], field="area__code"),
                                     period__gte=start, period__lte=end)
            .annotate(year=ExtractYear("period")).values("year", "category")
            .annotate(n=Sum("count")))
    table = {y: dict.fromkeys(CATEGORIES, 0) for y in last}
    for row in sums:
        if row["category"] in CATEGORIES:
            table[row["year"]][row["category"]] += row["n"]
    rows = [{**table[y], TOTAL: sum(table[y].values())} for y in last]
    entitled = policy.counts_entitlement(actor)(area.code)
    cells = protect_counts(rows, parts=list(CATEGORIES), total=TOTAL,
                           entitled=[entitled] * len(rows))
    return {
        "years": last,
        "partial_year": end_month < 12,
        "rows": [{"year": y, **{k: {"value": p.value, "label": p.label}
                                for k, p in c.items()}} for y, c in zip(last, cells,
                                                                       strict=True)],
    }
