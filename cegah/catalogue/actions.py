"""Writing the intervention catalogue: loading catalogue files (the shipped one by
default) and system admins' edits. Every write is audited as ``intervention``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction

from cegah import policy
from cegah.audit.actions import record_event
from cegah.catalogue import vocab
from cegah.catalogue.models import Intervention
from cegah.catalogue.shipped import CatalogueError, shipped_entries
from cegah.catalogue.validation import entry_errors, validate_entries

OBJECT_TYPE = "intervention"
# What an entry sets on the model (is_active only when the file says so).
_FIELDS = tuple(f for f in vocab.ENTRY_FIELDS if f != "slug")


def values_of(intervention: Intervention) -> dict[str, Any]:
    """An intervention as a catalogue entry (the shipped JSON's format)."""
    return {"slug": intervention.slug,
            **{f: getattr(intervention, f) for f in _FIELDS},
            "is_active": intervention.is_active}


def _changes(old: dict[str, Any], new: dict[str, Any]) -> tuple[dict, dict]:
    """Only the fields that differ, as (old, new) for the audit trail."""
    changed = [k for k in new if old.get(k) != new[k]]
    return {k: old.get(k) for k in changed}, {k: new[k] for k in changed}


@dataclass
class SyncPlan:
    """What loading a list of entries does: new slugs, changed ones, the rest."""

    create: list[dict[str, Any]] = field(default_factory=list)
    update: list[tuple[Intervention, dict[str, Any]]] = field(default_factory=list)
    unchanged: int = 0

    @property
    def counts(self) -> tuple[int, int, int]:
        return len(self.create), len(self.update), self.unchanged


def plan_sync(entries: Sequence[dict[str, Any]], *, update: bool) -> SyncPlan:
    """Compare valid entries with the database; writes nothing."""
    existing = {i.slug: i for i in Intervention.objects.filter(
        slug__in=[e["slug"] for e in entries])}
    plan = SyncPlan()
    for entry in entries:
        current = existing.get(entry["slug"])
        if current is None:
            plan.create.append(entry)
            continue
        old = values_of(current)
        differs = any(old[k] != v for k, v in entry.items())
        if update and differs:
            plan.update.append((current, entry))
        else:
            plan.unchanged += 1
    return plan


def do_sync_catalogue(actor: Any, entries: Sequence[Any] | None = None,
                      update: bool = False, dry_run: bool = False) -> tuple[int, int, int]:
    """Load catalogue entries (the shipped catalogue when ``entries`` is None).

    Inserts the slugs the database lacks; with ``update`` also overwrites the fields of
    existing ones with the file's; never deletes and, without ``update``, never changes
    an entry (so admins' edits survive a re-run). All entries are checked first: any
    problem raises :class:`CatalogueError` and nothing is written. ``dry_run`` only
    counts. Returns ``(created, updated, unchanged)``.
    """
    if not policy.can_edit_catalogue(actor):
        raise PermissionDenied("Only system admins change the catalogue.")
    entries = validate_entries(shipped_entries() if entries is None else entries)
    with transaction.atomic():
        plan = plan_sync(entries, update=update)
        if dry_run:
            return plan.counts
        for entry in plan.create:
            obj = Intervention(**entry)
            obj.full_clean()
            obj.save()
            record_event(actor=actor, action="create", object_type=OBJECT_TYPE,
                         object_key=str(obj.pk), new=values_of(obj))
        for obj, entry in plan.update:
            old = values_of(obj)
            for k, v in entry.items():
                setattr(obj, k, v)
            obj.full_clean()
            obj.save()
            before, after = _changes(old, values_of(obj))
            record_event(actor=actor, action="update", object_type=OBJECT_TYPE,
                         object_key=str(obj.pk), old={"slug": obj.slug, **before},
                         new={"slug": obj.slug, **after})
    return plan.counts


def do_save_intervention(actor: Any, intervention: Intervention | None,
                         data: dict[str, Any]) -> Intervention:
    """Create (``intervention`` None) or change an intervention from an admin's form.

    ``data`` holds entry fields (see :mod:`cegah.catalogue.vocab`); the slug is fixed
    once created. Audited with the old and new values of the changed fields.
    """
    if not policy.can_edit_catalogue(actor):
        raise PermissionDenied("Only system admins change the catalogue.")
    data = dict(data)
    if intervention is not None:
        data.pop("slug", None)
    problems = entry_errors(data, partial=intervention is not None)
    if problems:
        raise CatalogueError([f"{f}: {p}" if f else p for f, p in problems])
    with transaction.atomic():
        created = intervention is None
        if created:
            if Intervention.objects.filter(slug=data["slug"]).exists():
                raise CatalogueError([f"slug: expected a key not yet used, got "
                                      f"{data['slug']!r}"])
            intervention = Intervention()
            old: dict[str, Any] = {}
        else:
            intervention = Intervention.objects.select_for_update().get(pk=intervention.pk)
            old = values_of(intervention)
        for k, v in data.items():
            setattr(intervention, k, v)
        intervention.full_clean()
        intervention.save()
        new = values_of(intervention)
        if created:
            record_event(actor=actor, action="create", object_type=OBJECT_TYPE,
                         object_key=str(intervention.pk), new=new)
        else:
            before, after = _changes(old, new)
            if after:
                record_event(actor=actor, action="update", object_type=OBJECT_TYPE,
                             object_key=str(intervention.pk),
                             old={"slug": intervention.slug, **before},
                             new={"slug": intervention.slug, **after})
    return intervention


def do_set_intervention_active(actor: Any, intervention: Intervention,
                               active: bool) -> Intervention:
    """Deactivate (hide from lists and recommendations; activities keep it) or
    reactivate an intervention."""
    return do_save_intervention(actor, intervention, {"is_active": bool(active)})


# --- export ---------------------------------------------------------------------------

EXPORT_HEADER = (*vocab.ENTRY_FIELDS, "is_active")


def export_entries(actor: Any) -> list[dict[str, Any]]:
    """Every intervention as an entry, in slug order (loadable with ``catalogue load``)."""
    if not policy.can_view_catalogue(actor):
        raise PermissionDenied("Sign in to see the catalogue.")
    return [values_of(i) for i in Intervention.objects.order_by("slug")]


def export_catalogue(actor: Any, path: str | Path) -> int:
    """Write the catalogue to ``path``: .json (entries) or .csv (one row per entry,
    list fields joined by " | ", formula-safe). Returns the number of entries."""
    import json

    from cegah.lib.tabular import write_table

    path = Path(path)
    entries = export_entries(actor)
    if path.suffix.lower() == ".json":
        path.write_text(json.dumps(entries, ensure_ascii=False, indent=2) + "\n",
                        encoding="utf-8")
    elif path.suffix.lower() == ".csv":
        def cell(value: Any) -> Any:
            if isinstance(value, list):
                return " | ".join(value)
            return value
        write_table(path, "csv", EXPORT_HEADER,
                    ([cell(e[k]) for k in EXPORT_HEADER] for e in entries))
    else:
        raise CatalogueError([f"{path.name}: expected a .json or .csv file, got "
                              f"{path.suffix or 'no extension'}."])
    return len(entries)
