"""Writing the audit trail. Callers run inside the transaction of the change they record."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from cegah.audit.models import AuditEvent


def actor_fields(actor: Any, actor_label: str | None = None) -> dict[str, Any]:
    """The columns naming who acted: a user, or a labelled local operator."""
    if actor is not None and getattr(actor, "pk", None) is not None:
        return {
            "actor": actor,
            "actor_label": actor_label or actor.get_username(),
            "organisation_id": getattr(actor, "organisation_id", None),
        }
    return {"actor": None, "actor_label": actor_label or getattr(actor, "label", "system"),
            "organisation_id": None}


def record_event(
    *,
    actor: Any,
    action: str,
    object_type: str,
    object_key: str = "",
    old: Any = None,
    new: Any = None,
    actor_label: str | None = None,
) -> AuditEvent:
    return AuditEvent.objects.create(
        action=action, object_type=object_type, object_key=object_key[:200], old=old, new=new,
        **actor_fields(actor, actor_label),
    )


def record_events(
    *, actor: Any, action: str, object_type: str,
    changes: Iterable[tuple[str, Any, Any]], actor_label: str | None = None,
    batch_size: int = 5000,
) -> int:
    """Record one event per changed record: ``(object_key, old, new)``."""
    who = actor_fields(actor, actor_label)
    batch: list[AuditEvent] = []
    n = 0
    for key, old, new in changes:
        batch.append(AuditEvent(action=action, object_type=object_type, object_key=key,
                                old=old, new=new, **who))
        if len(batch) >= batch_size:
            AuditEvent.objects.bulk_create(batch)
            n += len(batch)
            batch = []
    if batch:
        AuditEvent.objects.bulk_create(batch)
        n += len(batch)
    return n
