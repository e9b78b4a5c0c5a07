"""Loading the demo: organisations, one user per role, synthetic data for the case-study regions."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.db.models import Q

from cegah.accounts.actions import do_save_organisation, do_save_user
from cegah.accounts.models import Role
from cegah.areas.models import Area, Level
from cegah.cases.actions import do_import
from cegah.cases.models import DataKind, ImportBatch, ImportStatus
from cegah.demo.generator import DEFAULT_SEED, generate
from cegah.demo.organisations import (
    ALL_PROVINCES,
    DEMO_ADMIN,
    DEMO_ORGANISATIONS,
    DEMO_PASSWORD,
)

# The regions the case study names: DKI Jakarta, Jawa Timur (Jombang), Sulawesi Utara and
# Aceh, plus the regencies of two interviewed institutions (Klaten, Kendari).
DEMO_REGIONS = ("11", "31", "35", "71", "33.10", "74.71")
DEMO_ROLES = (Role.VIEWER, Role.DATA_ENTRY, Role.MANAGER, Role.ORG_ADMIN)


def demo_username(slug: str, role: str) -> str:
    return f"{slug}.{role.replace('_', '-')}"


def do_load_demo_people(actor) -> list[tuple[str, str, str]]:
    """Create the demo organisations and users; returns (username, organisation, role)."""
    provinces = list(Area.objects.filter(level=Level.PROVINCE).values_list("code", flat=True))
    logins = []
    # One Argon2 hash for all demo accounts: hashing is slow on purpose.
    demo_hash = make_password(DEMO_PASSWORD)
    with transaction.atomic():
        for spec in DEMO_ORGANISATIONS:
            codes = provinces if spec.jurisdiction == (ALL_PROVINCES,) else spec.jurisdiction
            org, _ = do_save_organisation(
                actor=actor, name=spec.name, short_name=spec.short_name, type=spec.type,
                jurisdiction=codes, is_demo=True)
            for role in DEMO_ROLES:
                username = demo_username(spec.slug, role)
                if not _exists(username):
                    do_save_user(actor=actor, username=username, organisation=org, role=role,
                                 password_hash=demo_hash, is_demo=True,
                                 full_name=f"Demo {Role(role).label}")
                logins.append((username, org.short_name, role))
        if not _exists(DEMO_ADMIN):
            do_save_user(actor=actor, username=DEMO_ADMIN, organisation=None,
                         role=Role.SYSTEM_ADMIN, password_hash=demo_hash, is_demo=True,
                         full_name="Demo system admin")
        logins.append((DEMO_ADMIN, "-", Role.SYSTEM_ADMIN))
    return logins


def _exists(username: str) -> bool:
    from cegah.accounts.models import User

    return User.objects.filter(username=username).exists()


def demo_villages(regions=DEMO_REGIONS) -> list[str]:
    q = Q(pk__in=[])
    for code in regions:
        q |= Q(code__startswith=code + ".")
    return list(Area.objects.filter(q, level=Level.VILLAGE).values_list("code", flat=True))


def do_load_demo_data(
    actor, *, seed: int = DEFAULT_SEED, say: Callable[[str], None] = lambda s: None,
) -> dict[str, int]:
    """Generate and import the synthetic files through the normal import path.

    Skips files already imported (same SHA-256), so running the demo again is quick and
    changes nothing. Then loads the ILLUSTRATIVE (generated, not real) boundaries of the
    demo regions (:mod:`cegah.demo.boundaries`).
    """
    import hashlib

    villages = demo_villages()
    files = generate(villages, seed=seed)
    counts = {}
    for kind, data in ((DataKind.POPULATION, files.population),
                       (DataKind.FACTORS, files.factors), (DataKind.CASES, files.cases)):
        sha = hashlib.sha256(data).hexdigest()
        if ImportBatch.objects.filter(file_sha256=sha, status=ImportStatus.APPLIED).exists():
            say(f"  {kind}: already loaded")
            counts[kind] = 0
            continue
        rows = data.count(b"\n") - 1
        say(f"  {kind}: importing {rows:,} synthetic rows ...")
        batch, plan = do_import(actor, kind, data, f"demo-{kind}-seed{seed}.csv", synthetic=True)
        if not plan.validated.ok:  # a bug in the generator, not user input
            raise RuntimeError(f"demo {kind} file failed validation: {plan.validated.errors[:3]}")
        counts[kind] = batch.rows_created + batch.rows_updated
    from cegah.demo.boundaries import do_load_demo_boundaries

    counts["boundaries"] = do_load_demo_boundaries(actor, DEMO_REGIONS, say=say)
    counts["activities"] = do_load_demo_activities(actor, seed=seed, say=say)
    return counts


DEMO_FACTORS = ("poverty_rate", "port", "bus_terminal", "tourism_site", "pesantren_count")


def do_load_demo_activities(
    actor, *, seed: int = DEFAULT_SEED, anchor=None, regions=DEMO_REGIONS,
    say: Callable[[str], None] = lambda s: None,
) -> int:
    """A year of SYNTHETIC prevention activities up to ``anchor`` (default: today) and
    their venues, led by the demo organisations (:mod:`cegah.demo.activities`).

    Loaded once: when demo activities exist already, nothing changes. One audit event
    (``import`` of ``activity``, key ``demo``) records the load. Returns the number of
    activities created.
    """
    import datetime as dt

    from cegah.accounts.models import Organisation
    from cegah.activities.models import REACH_FIELDS, Activity, Venue
    from cegah.audit.actions import record_event
    from cegah.cases.models import FactorValue
    from cegah.catalogue.models import Intervention
    from cegah.demo import activities as demo

    if Activity.objects.filter(is_synthetic=True,
                               external_id__startswith=demo.EXTERNAL_PREFIX).exists():
        say("  activities: already loaded")
        return 0
    anchor = anchor or dt.date.today()
    q = Q(pk__in=[])
    for code in regions:
        q |= Q(code=code) | Q(code__startswith=code + ".")
    rows = list(Area.objects.filter(q, level=Level.VILLAGE).values_list("code", "name",
                                                                         "is_urban"))
    names = dict(Area.objects.filter(level__lt=Level.VILLAGE).filter(q | Q(level=1))
                 .values_list("code", "name"))
    factors: dict[str, dict[str, float]] = {}
    fq = Q(pk__in=[])
    for code in regions:
        fq |= Q(area__code__startswith=code + ".")
    for code, name, value in (FactorValue.objects.filter(fq, factor__in=DEMO_FACTORS)
                              .values_list("area_id", "factor", "value")):
        factors.setdefault(code, {})[name] = value
    villages = [demo.Village(code=c, name=n, urban=bool(u),
                             poverty=factors.get(c, {}).get("poverty_rate", 0.15),
                             port=bool(factors.get(c, {}).get("port")),
                             terminal=bool(factors.get(c, {}).get("bus_terminal")),
                             tourism=bool(factors.get(c, {}).get("tourism_site")),
                             pesantren=int(factors.get(c, {}).get("pesantren_count", 0)))
                for c, n, u in rows]
    by_name = {o.name: o for o in Organisation.objects.filter(is_demo=True)}
    orgs = {spec.slug: by_name[spec.name] for spec in DEMO_ORGANISATIONS if spec.name in by_name}
    interventions = dict(Intervention.objects.filter(is_active=True).values_list("slug", "pk"))
    chosen = demo.match_interventions(list(interventions))
    planned = demo.plan(villages, names, list(orgs), seed=seed, anchor=anchor)
    say(f"  activities: creating {len(planned):,} synthetic activities "
        f"({sum(p.status == 'planned' for p in planned):,} planned) ...")
    reach_fields = [f for f, _s, _a in REACH_FIELDS]
    with transaction.atomic():
        keys = sorted({p.venue for p in planned if p.venue})
        existing = {(v.area_id, v.type, v.name): v.pk for v in Venue.objects.filter(
            area_id__in={k[0] for k in keys})}
        Venue.objects.bulk_create(
            [Venue(area_id=a, type=t, name=n, is_synthetic=True) for a, t, n in keys
             if (a, t, n) not in existing], batch_size=2000)
        venues = {(v.area_id, v.type, v.name): v.pk for v in Venue.objects.filter(
            area_id__in={k[0] for k in keys})}
        objects = []
        for p in planned:
            reach = {f: p.reach.get(f, 0) for f in reach_fields}
            slug = chosen.get(p.intervention)
            objects.append(Activity(
                title=p.title, intervention_id=interventions.get(slug) if slug else None,
                lead_organisation=orgs[p.lead], venue_id=venues.get(p.venue) if p.venue
                else None, status=p.status, starts_on=p.starts_on,
                duration_minutes=p.minutes, audience=p.audience, **reach,
                reached_total=sum(reach.values()), topics=p.topics, laws=p.laws,
                officer_count=p.officer_count, officer_hours=p.officer_hours, cost=p.cost,
                external_id=p.external_id, is_synthetic=True,
                notes="SYNTHETIC demo activity (Cegah generator)."))
        created = Activity.objects.bulk_create(objects, batch_size=1000)
        ids = {a.external_id: a.pk for a in created if a.pk} or dict(
            Activity.objects.filter(external_id__startswith=demo.EXTERNAL_PREFIX,
                                    is_synthetic=True).values_list("external_id", "pk"))
        areas_through = Activity.areas.through
        partners_through = Activity.partners.through
        areas_through.objects.bulk_create(
            [areas_through(activity_id=ids[p.external_id], area_id=code)
             for p in planned for code in dict.fromkeys(p.areas)], batch_size=2000)
        partners_through.objects.bulk_create(
            [partners_through(activity_id=ids[p.external_id], organisation_id=orgs[s].pk)
             for p in planned for s in p.partners if s in orgs], batch_size=2000)
        record_event(actor=actor, action="import", object_type="activity", object_key="demo",
                     new={"activities": len(objects), "venues": len(venues), "seed": seed,
                          "anchor": anchor.isoformat(), "synthetic": True})
    return len(objects)
