"""Which catalogue interventions suit an area, and why.

:func:`recommend` is pure (no database): it scores each intervention against what is
known about the area — the risk drivers the reader may see, the most reported kinds of
case (only for readers entitled to the area's counts), the venues there, whether it is
rural, and its risk tier — and explains each score in plain words. Interventions that
already run in the area are left out. :func:`recommendations_for` gathers that picture
from the database for one reader and area.

Weights: a matching risk driver counts most (3), then a setting present in the area (2),
the most reported kind of case (1.5, for entitled readers), the fit of the prevention
level to the tier (up to 1.5: high-risk areas want secondary or targeted primary
prevention, low-risk ones universal primary prevention), reaching rural villages (1) and
strong evidence (0.5). Some interventions need something to work on: secondary
prevention a matching driver or setting, tertiary prevention a matching driver in a high-
or moderate-risk area, and an intervention bound to one kind of place (an RPTRA, a port,
a pesantren; for secondary prevention also a school) such a place recorded in the area or
its factor among the drivers. Without a risk result only primary prevention is
recommended.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cegah.catalogue.vocab import DRIVER_LABELS

W_DRIVER, W_CATEGORY, W_SETTING, W_RURAL, W_STRONG = 3.0, 1.5, 2.0, 1.0, 0.5
# A named contextual factor (a port, an industrial zone) says most about what to do; a
# high rate says little more than the tier, since nearly every high-risk area has one.
W_FACTOR, W_RATE = 4.0, 1.5
RATE_DRIVERS = frozenset({"parent_ratio", "reference_ratio"})
_STRENGTH_ORDER = {"strong": 0, "moderate": 1, "emerging": 2, "practice": 3}
# The venue type each catalogue setting is found at (cegah.activities.models.VENUE_SETTING,
# kept here so this module needs no models).
VENUE_SETTING = {
    "school": "school", "pesantren": "pesantren", "rptra": "rptra", "port": "port",
    "airport": "airport", "bus_terminal": "bus_terminal", "tourism_site": "tourism_site",
    "community_centre": "community_centre", "village_hall": "village",
    "place_of_worship": "place_of_worship",
}
# A setting reaches rural villages when it works in the village itself.
RURAL_SETTINGS = frozenset({"village"})
# Settings that exist only where such a place is: an intervention working only there is
# advised when one is recorded in the area, or a factor driver says one matters.
VENUE_BOUND = frozenset({"rptra", "port", "airport", "bus_terminal", "tourism_site",
                         "pesantren", "institution"})
# Schools are everywhere, so school programmes for everyone need no recorded school; but
# targeted (secondary) work in schools and institutions targets places known to be there.
SECONDARY_VENUE_BOUND = VENUE_BOUND | {"school"}

SETTING_REASONS = {
    "school": gettext_lazy("Fits the schools here (%(n)s)"),
    "pesantren": gettext_lazy("Fits the pesantren here (%(n)s)"),
    "rptra": gettext_lazy("Fits the child-friendly public spaces (RPTRA) here (%(n)s)"),
    "port": gettext_lazy("Fits the ports here (%(n)s)"),
    "airport": gettext_lazy("Fits the airports here (%(n)s)"),
    "bus_terminal": gettext_lazy("Fits the bus terminals here (%(n)s)"),
    "tourism_site": gettext_lazy("Fits the tourism sites here (%(n)s)"),
    "community_centre": gettext_lazy("Fits the community centres here (%(n)s)"),
    "village": gettext_lazy("Fits the village halls here (%(n)s)"),
    "place_of_worship": gettext_lazy("Fits the places of worship here (%(n)s)"),
}


@dataclass(frozen=True)
class AreaContext:
    """What is known about an area, as one reader may see it.

    ``tier`` is None without a risk result. ``driver_kinds`` are the risk engine's kinds
    (``factor:port``, ``hotspot``, ``trend`` ...), already filtered by entitlement;
    ``top_categories`` are empty unless the reader may see the area's counts.
    ``venue_types`` counts venues per type (public data); ``rural_villages`` counts the
    rural villages (desa) below a district or regency.
    """

    tier: str | None
    level: int
    is_urban: bool | None = None
    driver_kinds: frozenset[str] = frozenset()
    top_categories: tuple[str, ...] = ()
    venue_types: Mapping[str, int] = field(default_factory=dict)
    rural_villages: int = 0

    def settings_present(self) -> dict[str, int]:
        present: dict[str, int] = {}
        for venue_type, n in self.venue_types.items():
            setting = VENUE_SETTING.get(venue_type)
            if setting and n > 0:
                present[setting] = present.get(setting, 0) + n
        return present

    @property
    def is_rural(self) -> bool:
        return self.is_urban is False or (self.is_urban is None and self.rural_villages > 0)


@dataclass(frozen=True)
class InterventionSpec:
    """The parts of a catalogue entry the scoring reads (``name`` in the reader's
    language)."""

    slug: str
    name: str
    level: str
    audiences: tuple[str, ...] = ()
    settings: tuple[str, ...] = ()
    drivers: tuple[str, ...] = ()
    evidence_strength: str = ""

    @classmethod
    def from_model(cls, intervention: Any) -> InterventionSpec:
        return cls(slug=intervention.slug, name=intervention.name, level=intervention.level,
                   audiences=tuple(intervention.audiences),
                   settings=tuple(intervention.settings),
                   drivers=tuple(intervention.drivers),
                   evidence_strength=intervention.evidence_strength)


@dataclass(frozen=True)
class Recommendation:
    slug: str
    name: str
    level: str
    score: float
    reasons: tuple[str, ...]
    evidence_strength: str = ""


AREA_DRIVER_REASONS = {
    "hotspot": gettext_lazy("Addresses the hotspot driver (a cluster of high-risk areas)"),
    "high_low": gettext_lazy("Addresses a high-risk area among low-risk neighbours"),
    "trend": gettext_lazy("Addresses the rising number of reports"),
    "underreporting": gettext_lazy("Addresses possible under-reporting"),
    "parent_ratio": gettext_lazy("Addresses the high rate compared with the wider area"),
    "reference_ratio": gettext_lazy(
        "Addresses the high rate compared with the national reference"),
}


def _driver_reason(kind: str) -> str:
    if kind in AREA_DRIVER_REASONS:
        return str(AREA_DRIVER_REASONS[kind])
    if kind.startswith("category:"):
        return _("Answers the most reported kind of case here: %(category)s") % {
            "category": DRIVER_LABELS.get(kind, kind.partition(":")[2])}
    return _("Addresses the %(driver)s driver") % {"driver": DRIVER_LABELS.get(kind, kind)}


def _level_fit(tier: str | None, level: str, targeted: bool) -> tuple[float, str]:
    """How well the prevention level suits the tier, and why (empty: no reason)."""
    if tier == "high":
        if level == "secondary":
            return 1.5, _("High-risk area: secondary prevention")
        if level == "primary":
            return ((0.5, _("High-risk area: targeted primary prevention")) if targeted else
                    (0.25, _("High-risk area: prevention for everyone as a base")))
    elif tier == "moderate":
        if level == "secondary":
            return 1.0, _("Moderate-risk area: secondary prevention")
        if level == "primary":
            return 1.0, _("Moderate-risk area: primary prevention")
    elif tier == "low":
        if level == "primary":
            return 1.5, _("Low-risk area: universal primary prevention")
        if level == "secondary":
            return -1.0, ""
    elif tier is None and level == "primary":
        return 1.0, _("No risk result here yet: primary prevention for everyone")
    return 0.0, ""


def score(context: AreaContext, spec: InterventionSpec) -> Recommendation | None:
    """One intervention's fit to the area, or None when nothing speaks for it."""
    if context.tier is None and spec.level != "primary":
        return None  # without a risk picture only prevention for everyone is advised
    points = 0.0
    reasons: list[str] = []
    area_drivers = set(context.driver_kinds)
    if "high_low" in area_drivers:
        area_drivers.add("hotspot")  # an outlier answers to what answers a hotspot
    for kind in spec.drivers:
        if kind.startswith("category:"):
            continue
        if kind in area_drivers:
            points += (W_FACTOR if kind.startswith("factor:") else
                       W_RATE if kind in RATE_DRIVERS else W_DRIVER)
            reasons.append(_driver_reason(
                "high_low" if kind == "hotspot" and "hotspot" not in context.driver_kinds
                else kind))
    # Only the most reported category: that is what the reason says.
    top = context.top_categories[:1]
    for c in top:
        if f"category:{c}" in spec.drivers:
            points += W_CATEGORY
            reasons.append(_driver_reason(f"category:{c}"))
    driven = bool(reasons)
    present = context.settings_present()
    setting_hits = [s for s in spec.settings if s in present]
    for s in setting_hits:
        points += W_SETTING
        reasons.append(str(SETTING_REASONS[s] % {"n": present[s]}))
    factor_hit = any(k.startswith("factor:") and k in area_drivers for k in spec.drivers)
    bound = SECONDARY_VENUE_BOUND if spec.level == "secondary" else VENUE_BOUND
    if (spec.settings and set(spec.settings) <= bound and not setting_hits
            and not factor_hit and spec.level != "tertiary"):
        return None  # e.g. officers at an RPTRA where there is none
    if spec.level == "secondary" and not (driven or setting_hits):
        return None  # targeted prevention needs something here to target
    if spec.level == "tertiary" and not (driven and context.tier in ("high", "moderate")):
        return None  # after-abuse work follows the cases in risky areas, not the venues
    fit, why = _level_fit(context.tier, spec.level, targeted=driven or bool(setting_hits))
    points += fit
    if why:
        reasons.append(why)
    if context.is_rural and RURAL_SETTINGS & set(spec.settings):
        points += W_RURAL
        reasons.append(_("Reaches rural villages") if context.is_urban is False else
                       _("Reaches rural villages (%(n)s here)") % {"n": context.rural_villages})
    if not reasons:
        return None
    if spec.evidence_strength == "strong":
        points += W_STRONG
        reasons.append(_("Backed by strong evidence"))
    return Recommendation(slug=spec.slug, name=spec.name, level=spec.level,
                          score=round(points, 2), reasons=tuple(reasons),
                          evidence_strength=spec.evidence_strength)


def rank(context: AreaContext, interventions: Sequence[InterventionSpec]) -> list[Recommendation]:
    """Every intervention that fits, best first (ties: stronger evidence, then name)."""
    scored = [r for r in (score(context, spec) for spec in interventions) if r is not None]
    scored.sort(key=lambda r: (-r.score, _STRENGTH_ORDER.get(r.evidence_strength, 9),
                               r.name.casefold()))
    return scored


def recommend(context: AreaContext, interventions: Sequence[InterventionSpec],
              running: set[str], limit: int = 5) -> list[Recommendation]:
    """The ``limit`` best interventions for the area, leaving out those in ``running``
    (done or planned there in the last 12 months)."""
    return split_running(rank(context, interventions), running)[0][:limit]


def split_running(ranked: Sequence[Recommendation],
                  running: set[str]) -> tuple[list[Recommendation], list[Recommendation]]:
    """``ranked`` as (those not yet running in the area, those already running)."""
    fresh = [r for r in ranked if r.slug not in running]
    return fresh, [r for r in ranked if r.slug in running]


# --- from the database -------------------------------------------------------------------

RUNNING_MONTHS = 12


@dataclass
class AreaRecommendations:
    """Recommendations for one reader and area, with what was left out and why."""

    items: list[Recommendation]
    left_out: list[Recommendation]  # would fit, but already run in the area
    context: AreaContext
    has_risk: bool


def _top_categories(me: Any) -> tuple[str, ...]:
    """The categories with the most reports, only for a reader entitled to the counts."""
    if not getattr(me, "entitled", False):
        return ()
    counts = []
    for category, label in (me.categories or {}).items():
        if str(label).isdigit() and int(label) > 0:
            counts.append((int(label), category))
    counts.sort(key=lambda x: (-x[0], x[1]))
    return tuple(c for _n, c in counts)


def build_context(actor: Any, area: Any, risk: dict[str, Any] | None = None) -> AreaContext:
    """What ``actor`` may know about ``area``: the risk figures from
    ``cegah.riskmap.views.area_risk_context`` (already filtered for the reader) when
    given, and the venues and rural villages there."""
    from django.db.models import Count

    from cegah import policy
    from cegah.areas.models import Area, Level, subtree_q

    me = (risk or {}).get("me")
    venues = (policy.visible_venues(actor).filter(subtree_q([area.code], field="area__code"))
              .values("type").annotate(n=Count("pk")))
    rural = 0
    if area.level != Level.VILLAGE:
        rural = Area.objects.filter(subtree_q([area.code]), level=Level.VILLAGE,
                                    is_urban=False).count()
    return AreaContext(
        tier=me.tier if me is not None else None,
        level=area.level,
        is_urban=area.is_urban if area.level == Level.VILLAGE else None,
        driver_kinds=frozenset(me.driver_kinds) if me is not None else frozenset(),
        top_categories=_top_categories(me) if me is not None else (),
        venue_types={row["type"]: row["n"] for row in venues},
        rural_villages=rural,
    )


def running_slugs(actor: Any, area: Any, today: dt.date | None = None) -> set[str]:
    """Interventions of activities done or planned in the area's subtree in the last 12
    months (and planned ahead), among the activities ``actor`` may see."""
    from django.utils import timezone

    from cegah import policy
    from cegah.activities.models import ActivityStatus
    from cegah.areas.models import subtree_q

    today = today or timezone.localdate()
    since = today - dt.timedelta(days=365 * RUNNING_MONTHS // 12)
    return set(
        policy.visible_activities(actor)
        .filter(subtree_q([area.code], field="areas__code"), starts_on__gte=since,
                intervention__isnull=False)
        .exclude(status=ActivityStatus.CANCELLED)
        .values_list("intervention__slug", flat=True).distinct())


def area_recommendations(actor: Any, area: Any, risk: dict[str, Any] | None = None,
                         limit: int = 5) -> AreaRecommendations:
    """Recommendations for the area page (see :func:`recommendations_for`)."""
    from cegah.catalogue.models import Intervention

    context = build_context(actor, area, risk)
    specs = [InterventionSpec.from_model(i) for i in Intervention.objects.filter(is_active=True)]
    fresh, left_out = split_running(rank(context, specs), running_slugs(actor, area))
    return AreaRecommendations(items=fresh[:limit], left_out=left_out, context=context,
                               has_risk=context.tier is not None)


def recommendations_for(actor: Any, area: Any, risk: dict[str, Any] | None = None,
                        limit: int = 5) -> list[Recommendation]:
    """The interventions recommended for ``area`` as ``actor`` may see it.

    ``risk`` is ``cegah.riskmap.views.area_risk_context(actor, area)`` (its ``me`` figures
    are filtered by entitlement); without it, only primary prevention is recommended, by
    the venues and villages there. Interventions already done or planned in the area in
    the last 12 months are left out.
    """
    return area_recommendations(actor, area, risk, limit).items
