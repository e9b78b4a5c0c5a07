"""Coverage and gaps: how much prevention reached each area, and where high- and
moderate-risk areas have little or none.

Counting rules
--------------
* Only *done* activities count (planned and cancelled ones reached nobody yet).
* An activity counts for an area when one of the activity's areas lies in that area's
  subtree. An activity recorded for several areas counts **once for every area it
  touches** (a joint session in two villages counts for both villages, and once for their
  district): the per-area figures are therefore not additive across areas; an activity
  recorded for a whole regency counts for the regency, not for each of its villages.
* The period is the ``months`` calendar months up to ``as_of`` (a day): activities with
  ``as_of - months < starts_on <= as_of``.
* People reached per 1,000 children uses the child population (:class:`Population`) of
  the latest year not after the period's end, and is returned only where
  :func:`cegah.policy.can_view_coverage_rate` allows (it reveals the child population).

Activity counts, reach and officer-hours of done activities are shared with every
signed-in user (:func:`cegah.policy.visible_activities`); the tiers of the gap list are
too. Scores and count-bearing drivers come from :func:`cegah.riskmap.figures.figures_for`,
which applies the actor's entitlement.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from cegah import policy
from cegah.areas.models import Area, Level, subtree_q

DEFAULT_MONTHS = 12
# A gap: a high- or moderate-risk area with at most this many activities in the period.
# Larger areas hold more villages, so "little" grows with the level.
LITTLE = {Level.VILLAGE: 1, Level.DISTRICT: 4, Level.REGENCY: 9, Level.PROVINCE: 19}
GAP_TIERS = ("high", "moderate")
TIER_RANK = {"high": 0, "moderate": 1, "low": 2, "unknown": 3}
# Classes of the map's coverage layer: none, 1, 2-4, 5 or more activities.
COVERAGE_BREAKS = (1, 2, 5)


# --------------------------------------------------------------------------- periods

@dataclass(frozen=True)
class Period:
    """``start < starts_on <= end``."""

    start: dt.date
    end: dt.date
    months: int


def months_before(day: dt.date, months: int) -> dt.date:
    """The same day ``months`` calendar months earlier (clamped to the month's end)."""
    import calendar

    y, m = divmod(day.year * 12 + day.month - 1 - months, 12)
    m += 1
    return dt.date(y, m, min(day.day, calendar.monthrange(y, m)[1]))


def period(months: int = DEFAULT_MONTHS, as_of: dt.date | None = None) -> Period:
    if months < 1:
        raise ValueError(f"months: expected 1 or more, got {months}")
    # "Today" in Cegah's time zone (Asia/Jakarta): at 01:00 WIB the server's UTC date is
    # still yesterday, and an activity recorded this morning would fall outside.
    end = as_of or timezone.localdate()
    return Period(months_before(end, months), end, months)


def _months_between(earlier: dt.date, later: dt.date) -> int:
    """Whole calendar months from ``earlier`` to ``later`` (0 in the same month)."""
    return max(0, (later.year - earlier.year) * 12 + later.month - earlier.month
               - (1 if later.day < earlier.day else 0))


# --------------------------------------------------------------------------- coverage

@dataclass
class AreaCoverage:
    code: str
    name: str
    level: int
    is_urban: bool | None
    activities: int = 0
    reached: int = 0
    officer_hours: float = 0.0
    # Only where the actor may see the area's child population; else None.
    reach_per_1000: float | None = None
    rate_visible: bool = False
    last_activity: dt.date | None = None  # the latest done activity up to the period's end
    months_since_last: int | None = None
    interventions: list[tuple[str, str]] = field(default_factory=list)  # (slug, name)
    rural: bool | None = None

    @property
    def coverage_class(self) -> int:
        """0 none, 1 one, 2 two to four, 3 five or more activities."""
        return sum(self.activities >= b for b in COVERAGE_BREAKS)


def _prefix(code: str, level: int) -> str:
    """The code of ``code``'s ancestor (or itself) at ``level``."""
    return ".".join(code.split(".")[:level])


def _scope(codes: list[str], level: int) -> list[str]:
    """What to filter on to reach the subtrees of ``codes`` (all of ``level``): the codes
    themselves when few, else their parents (a short filter; callers drop the rest)."""
    if len(codes) <= 40 or level <= 1:
        return sorted(set(codes))
    return sorted({_prefix(c, level - 1) for c in codes})


def _links(actor: Any, within: list[str], end: dt.date, start: dt.date | None):
    """``(area code, activity id, reached, officer-hours, date, intervention id)`` of every
    link between a done activity the actor may see and an area inside ``within``; one
    query."""
    from cegah.activities.models import Activity, ActivityStatus

    through = Activity.areas.through
    qs = through.objects.filter(subtree_q(within, field="area__code"),
                                activity__status=ActivityStatus.DONE,
                                activity__starts_on__lte=end)
    if start is not None:
        qs = qs.filter(activity__starts_on__gt=start)
    # Done activities are shared with every signed-in user; the policy decides.
    qs = qs.filter(activity_id__in=policy.visible_activities(actor)
                   .filter(status=ActivityStatus.DONE).values("pk"))
    return qs.values_list("area_id", "activity_id", "activity__reached_total",
                          "activity__officer_hours", "activity__starts_on",
                          "activity__intervention_id")


def activity_counts(actor: Any, codes: list[str], level: int, *, months: int = DEFAULT_MONTHS,
                    as_of: dt.date | None = None) -> dict[str, tuple[int, int]]:
    """``code -> (activities, people reached)`` of areas ``codes`` (all of ``level``) in
    the period: the map's coverage layer. One query."""
    if not codes or not policy.can_view_catalogue(actor):
        return {}
    p = period(months, as_of)
    within = _scope(codes, level)
    wanted = set(codes)
    seen: set[tuple[str, int]] = set()
    out: dict[str, list[int]] = {}
    for area_id, activity_id, reached, _hours, _day, _iv in _links(actor, within, p.end,
                                                                   p.start):
        key = _prefix(area_id, level)
        if key not in wanted or (key, activity_id) in seen:
            continue
        seen.add((key, activity_id))
        cell = out.setdefault(key, [0, 0])
        cell[0] += 1
        cell[1] += reached or 0
    return {k: (v[0], v[1]) for k, v in out.items()}


def coverage_version() -> tuple[int, str]:
    """Changes whenever an activity is added, changed or removed (for cache keys)."""
    from cegah.activities.models import Activity
    from cegah.lib import rawsql

    row = rawsql.row(  # on every map.json request: fixed SQL
        f"SELECT COUNT(*), MAX(updated_at) FROM {Activity._meta.db_table}", [])  # noqa: S608
    return (int(row[0]), str(row[1])) if row else (0, "")


def rural_marks(areas: list[Area]) -> dict[str, bool | None]:
    """Villages: rural when not urban. Districts and regencies (and provinces): rural when
    more than half of their villages with a known kind are rural desa. One query."""
    out: dict[str, bool | None] = {}
    higher = [a for a in areas if a.level != Level.VILLAGE]
    for a in areas:
        if a.level == Level.VILLAGE:
            out[a.code] = None if a.is_urban is None else not a.is_urban
    if not higher:
        return out
    tally: dict[str, list[int]] = defaultdict(lambda: [0, 0])  # rural, known
    by_level = {a.code: a.level for a in higher}
    levels = sorted({a.level for a in higher})
    scope = sorted({c for lv in levels for c in _scope([a.code for a in higher
                                                        if a.level == lv], lv)})
    for code, urban in (Area.objects.filter(subtree_q(scope), level=Level.VILLAGE,
                                            is_urban__isnull=False)
                        .values_list("code", "is_urban")):
        for level in levels:
            key = _prefix(code, level)
            if by_level.get(key) == level:
                tally[key][1] += 1
                tally[key][0] += 0 if urban else 1
    for a in higher:
        rural, known = tally.get(a.code, (0, 0))
        out[a.code] = None if not known else rural * 2 > known
    return out


def _children_population(codes: list[str], level: int, end_year: int) -> dict[str, int]:
    """Children per area of ``codes`` (all of ``level``): the latest year not after
    ``end_year``; the area's own row when it has one, else the sum of the rows of its
    deepest level with data (villages, as imported). One query."""
    from cegah.cases.models import Population

    if not codes:
        return {}
    # (area, year) -> {row level: sum}
    sums: dict[tuple[str, int], dict[int, int]] = defaultdict(lambda: defaultdict(int))
    wanted = set(codes)
    for area_id, year, children in (Population.objects.filter(
            subtree_q(_scope(codes, level), "area__code"), year__lte=end_year)
            .values_list("area_id", "year", "children")):
        key = _prefix(area_id, level)
        if key in wanted and area_id.count(".") + 1 >= level:
            sums[(key, year)][area_id.count(".") + 1] += children
    latest: dict[str, int] = {}
    for code, year in sums:
        if year > latest.get(code, -1):
            latest[code] = year
    out = {}
    for code, year in latest.items():
        by_depth = sums[(code, year)]
        out[code] = by_depth[level] if by_depth.get(level) else by_depth[max(by_depth)]
    return out


def coverage_by_area(actor: Any, areas: list[Area], *, months: int = DEFAULT_MONTHS,
                     as_of: dt.date | None = None, with_rural: bool = True,
                     ) -> dict[str, AreaCoverage]:
    """Coverage of each of ``areas`` (all of one level) in the period; keyed by code.

    A handful of queries whatever the number of areas: the links of activities inside
    their parents, the latest activity per area, the child population (only if the
    actor may see the rate of one of them) and the intervention names.
    """
    from cegah.catalogue.models import Intervention

    if not areas:
        return {}
    level = areas[0].level
    if any(a.level != level for a in areas):
        raise ValueError("coverage_by_area: expected areas of one level")
    p = period(months, as_of)
    out = {a.code: AreaCoverage(code=a.code, name=a.name, level=a.level, is_urban=a.is_urban)
           for a in areas}
    if not policy.can_view_catalogue(actor):
        return out
    within = _scope(list(out), level)
    seen: set[tuple[str, int]] = set()
    used: dict[str, set[int]] = defaultdict(set)
    for area_id, activity_id, reached, hours, day, iv in _links(actor, within, p.end, None):
        key = _prefix(area_id, level)
        c = out.get(key)
        if c is None or (key, activity_id) in seen:
            continue
        seen.add((key, activity_id))
        if c.last_activity is None or day > c.last_activity:
            c.last_activity = day
        if day <= p.start:
            continue  # before the period: only its date matters
        c.activities += 1
        c.reached += reached or 0
        c.officer_hours += float(hours or 0)
        if iv:
            used[key].add(iv)
    names = {i.pk: (i.slug, i.name) for i in Intervention.objects.filter(
        pk__in={i for ids in used.values() for i in ids})}
    visible = [c.code for c in out.values() if policy.can_view_coverage_rate(actor, c.code)]
    children = _children_population(visible, level, p.end.year) if visible else {}
    for c in out.values():
        c.officer_hours = round(c.officer_hours, 1)
        c.interventions = sorted((names[i] for i in used.get(c.code, ()) if i in names),
                                 key=lambda x: x[1])
        if c.last_activity is not None:
            c.months_since_last = _months_between(c.last_activity, p.end)
        if c.code in visible:
            c.rate_visible = True
            n = children.get(c.code)
            c.reach_per_1000 = round(1000 * c.reached / n, 1) if n else None
    if with_rural:
        for code, rural in rural_marks(areas).items():
            out[code].rural = rural
    return out


def area_coverage(actor: Any, area: Area, *, months: int = DEFAULT_MONTHS,
                  as_of: dt.date | None = None) -> AreaCoverage:
    """One area's coverage (the area page)."""
    return coverage_by_area(actor, [area], months=months, as_of=as_of)[area.code]


def child_areas(parent: Area | None, level: int | None = None) -> list[Area]:
    """The areas of ``level`` (default: the next level) under ``parent`` (the provinces
    at the top); geometry left out."""
    base = parent.level if parent is not None else 0
    level = level or base + 1
    if level <= base or level > Level.VILLAGE:
        below = Level(base).key if base else "the country"
        raise ValueError(f"level: expected a level below {below}, got {level}")
    qs = Area.objects.filter(level=level).defer("geometry").order_by("code")
    if parent is not None:
        qs = qs.filter(code__startswith=parent.code + ".")
    return list(qs)


# --------------------------------------------------------------------------- gap list

@dataclass
class GapRow:
    rank: int
    coverage: AreaCoverage
    tier: str
    score: float | None  # only when the actor is entitled to the area's figures
    entitled: bool
    drivers: list[str]
    reasons: list[str]

    @property
    def code(self) -> str:
        return self.coverage.code

    @property
    def name(self) -> str:
        return self.coverage.name

    @property
    def why(self) -> str:
        return "; ".join(self.reasons)


@dataclass
class GapList:
    parent: Area
    level: int
    period: Period
    rows: list[GapRow]
    run: Any  # RiskRun | None
    little: int  # at most this many activities is "little"
    by_rate: bool  # ordered by reach per 1,000 children (else by reach)
    considered: int  # high- and moderate-risk areas looked at


def _reasons(c: AreaCoverage, tier: str, drivers: list[str], months: int) -> list[str]:
    from cegah.riskmap.templatetags.riskmap_tags import tier_label

    risk = _("%(tier)s risk") % {"tier": tier_label(tier)}
    if c.activities == 0:
        what = ngettext("no prevention in %(months)s month",
                        "no prevention in %(months)s months", months) % {"months": months}
    else:
        what = ngettext("%(n)s activity reaching %(people)s people",
                        "%(n)s activities reaching %(people)s people", c.activities) % {
            "n": c.activities, "people": number_format(c.reached, force_grouping=True)}
    parts = [f"{risk}, {what}"]
    if c.activities == 0 and c.months_since_last is not None:
        parts.append(ngettext("last activity %(n)s month ago", "last activity %(n)s months ago",
                              c.months_since_last) % {"n": c.months_since_last})
    if c.reach_per_1000 is not None and c.activities:
        parts.append(_("%(rate)s reached per 1,000 children")
                     % {"rate": number_format(c.reach_per_1000, decimal_pos=1)})
    if c.rural:
        parts.append(_("rural"))
    if drivers:
        parts.append(_("drivers: %(list)s") % {"list": ", ".join(drivers[:3])})
    return parts


def gap_list(actor: Any, parent: Area, *, level: int | None = None,
             months: int = DEFAULT_MONTHS, as_of: dt.date | None = None,
             little: int | None = None) -> GapList:
    """The high- and moderate-risk areas of ``level`` under ``parent`` (default: its
    children) with little or no prevention in the period, in the latest risk run.

    Order: tier (high first); fewest activities; least reach per 1,000 children when the
    actor may see the rate of every listed area, else least reach; then, only where the
    actor is entitled to the figures, the highest score; then name. Nothing the actor may
    not see (scores, count-bearing drivers, the child population) enters the order.
    """
    from cegah.riskmap.actions import latest_run
    from cegah.riskmap.figures import figures_for
    from cegah.riskmap.models import AreaRisk

    level = level or parent.level + 1
    areas = child_areas(parent, level)  # raises on a level not below the parent
    p = period(months, as_of)
    little = LITTLE.get(level, 1) if little is None else little
    run = latest_run()
    result = GapList(parent=parent, level=level, period=p, rows=[], run=run, little=little,
                     by_rate=False, considered=0)
    if run is None or not policy.can_view_risk(actor):
        return result
    risks = list(AreaRisk.objects.filter(run=run, level=level, tier__in=GAP_TIERS,
                                         area__code__startswith=parent.code + ".")
                 .select_related("area").defer("area__geometry"))
    result.considered = len(risks)
    if not risks:
        return result
    by_code = {a.code: a for a in areas}
    risky = [by_code[r.area_id] for r in risks if r.area_id in by_code]
    cover = coverage_by_area(actor, risky, months=months, as_of=as_of)
    figures = {f.code: f for f in figures_for(actor, risks, run=run)}
    candidates = [r for r in risks if r.area_id in cover
                  and cover[r.area_id].activities <= little]
    result.by_rate = bool(candidates) and all(cover[r.area_id].rate_visible
                                              for r in candidates)

    def key(r):
        c, f = cover[r.area_id], figures[r.area_id]
        reach = ((c.reach_per_1000 if c.reach_per_1000 is not None else -1.0)
                 if result.by_rate else c.reached)
        score = -(f.score or 0.0) if f.entitled and f.score is not None else 0.0
        return (TIER_RANK.get(r.tier, 9), c.activities, reach, score, c.name, c.code)

    for rank, r in enumerate(sorted(candidates, key=key), start=1):
        c, f = cover[r.area_id], figures[r.area_id]
        result.rows.append(GapRow(
            rank=rank, coverage=c, tier=r.tier,
            score=f.score if f.entitled else None, entitled=f.entitled,
            drivers=list(f.drivers), reasons=_reasons(c, r.tier, list(f.drivers), months)))
    return result


GAP_HEADER = ("rank", "code", "name", "level", "tier", "rural", "activities", "reached",
              "officer_hours", "reached_per_1000_children", "last_activity",
              "months_since_last", "score", "drivers", "interventions", "why")


def gap_table(gaps: GapList) -> list[list[Any]]:
    """The rows of a gap-list export (empty cells where the actor may not see)."""
    rows = []
    for g in gaps.rows:
        c = g.coverage
        rows.append([
            g.rank, c.code, c.name, Level(c.level).key, g.tier,
            "" if c.rural is None else ("yes" if c.rural else "no"),
            c.activities, c.reached, c.officer_hours,
            "" if c.reach_per_1000 is None else c.reach_per_1000,
            c.last_activity.isoformat() if c.last_activity else "",
            "" if c.months_since_last is None else c.months_since_last,
            "" if g.score is None else round(g.score, 3),
            "; ".join(g.drivers), "; ".join(n for _s, n in c.interventions), g.why,
        ])
    return rows


def do_export_gap_list(actor: Any, gaps: GapList, out: Any, fmt: str) -> int:
    """Write the gap list to ``out`` (path or file) as CSV or XLSX and audit the export
    (object type ``gap_list``). Needs the export right."""
    from django.core.exceptions import PermissionDenied
    from django.db import transaction

    from cegah.audit.actions import record_event
    from cegah.lib.tabular import write_table

    if not policy.can_export_activities(actor):
        raise PermissionDenied
    write_table(out, fmt, GAP_HEADER, gap_table(gaps))
    with transaction.atomic():
        record_event(actor=actor, action="export", object_type="gap_list",
                     object_key=gaps.parent.code,
                     new={"rows": len(gaps.rows), "format": fmt, "level": Level(gaps.level).key,
                          "months": gaps.period.months, "as_of": gaps.period.end.isoformat()})
    return len(gaps.rows)
