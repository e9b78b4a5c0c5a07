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
    return counts
