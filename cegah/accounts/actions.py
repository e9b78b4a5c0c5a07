"""Creating and changing organisations and users; each write is audited."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from cegah.accounts.models import ApiToken, Organisation, Role, User
from cegah.areas.models import Area
from cegah.audit.actions import record_event
from cegah.lib import rawsql


def _org_values(org: Organisation) -> dict[str, Any]:
    return {
        "name": org.name, "short_name": org.short_name, "type": org.type,
        "is_demo": org.is_demo,
        "jurisdiction": sorted(org.jurisdiction.values_list("code", flat=True)),
    }


def do_save_organisation(
    *, actor: Any, name: str, type: str, jurisdiction: Iterable[str], short_name: str = "",
    is_demo: bool = False,
) -> tuple[Organisation, bool]:
    """Create the organisation named ``name`` or update it; returns (org, created)."""
    codes = sorted(set(jurisdiction))
    areas = list(Area.objects.filter(code__in=codes))
    unknown = sorted(set(codes) - {a.code for a in areas})
    if unknown:
        raise ValidationError(f"jurisdiction: unknown area code(s) {', '.join(unknown)}")
    with transaction.atomic():
        org = Organisation.objects.filter(name=name).first()
        old = _org_values(org) if org else None
        created = org is None
        if created:
            org = Organisation(name=name)
        org.short_name, org.type, org.is_demo = short_name, type, is_demo
        org.full_clean()
        org.save()
        org.jurisdiction.set(areas)
        new = _org_values(org)
        if old != new:
            record_event(actor=actor, action="create" if created else "update",
                         object_type="organisation", object_key=str(org.pk), old=old, new=new)
    return org, created


def do_save_user(
    *, actor: Any, username: str, organisation: Organisation | None, role: str,
    password: str | None = None, email: str | None = None, full_name: str | None = None,
    is_demo: bool = False, password_hash: str | None = None, is_active: bool | None = None,
) -> tuple[User, bool]:
    """Create or update a user; system admins get Django admin rights, no one else does.

    ``None`` leaves a field as it is (or empty for a new user).
    """
    if role not in Role.values:
        raise ValidationError(f"role: expected one of {', '.join(Role.values)}, got {role!r}")
    if role != Role.SYSTEM_ADMIN and organisation is None:
        raise ValidationError("organisation: every user but a system admin belongs to one")
    with transaction.atomic():
        user = User.objects.filter(username=username).first()
        created = user is None
        old = None if created else {"organisation": user.organisation_id, "role": user.role,
                                    "is_active": user.is_active}
        if created:
            user = User(username=username)
        user.organisation = organisation
        user.role = role
        if email is not None:
            user.email = email
        if full_name is not None:
            user.first_name = full_name[:150]
        if is_active is not None:
            user.is_active = is_active
        user.is_demo = is_demo
        user.is_staff = user.is_superuser = role == Role.SYSTEM_ADMIN
        if password is not None:
            user.set_password(password)
        elif password_hash is not None:
            user.password = password_hash
        user.save()
        new = {"organisation": user.organisation_id, "role": user.role,
               "is_active": user.is_active}
        password_changed = password is not None or password_hash is not None
        if created or old != new or password_changed:
            record_event(actor=actor, action="create" if created else "update",
                         object_type="user", object_key=username, old=old,
                         new=new | ({"password": "changed"} if password_changed else {}))
    return user, created


TOKEN_PREFIX = "cgh_"  # noqa: S105 - a marker, not a secret


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def do_create_api_token(actor: Any, user: User, name: str = "") -> str:
    """Create a personal API token for ``user``; returns it (it is not stored)."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic():
        row = ApiToken.objects.create(user=user, name=name[:100], prefix=token[:12],
                                      digest=token_digest(token))
        record_event(actor=actor, action="create", object_type="api_token",
                     object_key=str(row.pk), new={"user": user.username, "prefix": row.prefix})
    return token


def user_for_token(token: str) -> User | None:
    """The active user a token belongs to (and note its use), or None."""
    if not token.startswith(TOKEN_PREFIX):
        return None
    now = timezone.now()
    # Fixed SQL: asked on every API request (cegah.lib.rawsql). The last column says
    # whether the use is worth noting: to the minute, as a write per request would
    # serialise busy API clients.
    found = rawsql.row(
        f"SELECT id, user_id, last_used_at IS NULL OR last_used_at < %s "  # noqa: S608
        f"FROM {ApiToken._meta.db_table} WHERE digest = %s",
        [rawsql.when(now - timedelta(seconds=60)), token_digest(token)])
    if found is None:
        return None
    token_id, user_id, stale = found
    user = user_with_organisation(user_id)
    if user is None or not user.is_active:
        return None
    if stale:
        ApiToken.objects.filter(pk=token_id).update(last_used_at=now)
    return user


def user_with_organisation(user_id: Any) -> User | None:
    """The user with this primary key, their organisation loaded (the policy module asks
    for it on every request), or None."""
    user = rawsql.first(User, "id = %s", [user_id])
    if user is not None and user.organisation_id is not None:
        user.organisation = rawsql.first(Organisation, "id = %s", [user.organisation_id])
    return user
