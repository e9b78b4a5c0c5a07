"""Writes to the protected data: imports (all or nothing, idempotent) and exports."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from cegah import policy
from cegah.areas.models import Area, subtree_q
from cegah.audit.actions import actor_fields, record_event, record_events
from cegah.cases.importing import SPECS, ValidatedFile, validate_file
from cegah.cases.models import DataKind, ImportBatch, ImportStatus

_WRITE_BATCH = 5000


@dataclass
class Plan:
    """What applying a valid file would change."""

    validated: ValidatedFile
    new: list[tuple] = field(default_factory=list)  # keys
    changed: list[tuple[tuple, int, tuple]] = field(default_factory=list)  # key, pk, old values
    unchanged: int = 0

    @property
    def created(self) -> int:
        return len(self.new)

    @property
    def updated(self) -> int:
        return len(self.changed)


def _known_codes() -> frozenset[str]:
    return frozenset(Area.objects.values_list("code", flat=True))


def _iter_existing(spec, keys) -> Iterator[tuple[tuple, int, tuple]]:
    """``(key, pk, values)`` of the stored rows whose natural key is in ``keys``."""
    if not keys:
        return
    codes = {k[0] for k in keys}
    q = Q()
    if len(codes) <= 500:
        q &= Q(area_id__in=codes)
    if spec.kind == DataKind.CASES:
        periods = [k[1] for k in keys]
        q &= Q(period__gte=min(periods), period__lte=max(periods),
               category__in={k[2] for k in keys})
    elif spec.kind == DataKind.POPULATION:
        q &= Q(year__in={k[1] for k in keys})
    else:
        q &= Q(factor__in={k[1] for k in keys})
    wanted = keys if isinstance(keys, dict | set | frozenset) else set(keys)
    fields = ("pk", *spec.key_fields, *spec.values)
    nk = len(spec.key_fields)
    for row in spec.model.objects.filter(q).values_list(*fields).iterator(chunk_size=20000):
        key = row[1 : 1 + nk]
        if key in wanted:
            yield key, row[0], row[1 + nk :]


def plan_import(validated: ValidatedFile) -> Plan:
    plan = Plan(validated)
    if not validated.ok:
        return plan
    rows = validated.rows
    # key -> None (new), True (unchanged) or (pk, old values), in file order. Updating an
    # entry keeps the file's key object, so a million stored rows cost no extra keys.
    status: dict[tuple, Any] = dict.fromkeys(rows)
    for key, pk, old in _iter_existing(validated.spec, rows):
        status[key] = True if old == rows[key] else (pk, old)
    for key, hit in status.items():
        if hit is None:
            plan.new.append(key)
        elif hit is True:
            plan.unchanged += 1
        else:
            plan.changed.append((key, hit[0], hit[1]))
    return plan


def _key_label(key: tuple) -> str:
    return "/".join("" if k is None else (k.strftime("%Y-%m") if hasattr(k, "strftime") else str(k))
                    for k in key)


def _apply(plan: Plan, batch: ImportBatch, actor: Any, synthetic: bool,
           progress: Callable[[int, int], None] | None) -> None:
    spec = plan.validated.spec
    rows = plan.validated.rows
    model = spec.model
    now = timezone.now()

    def build(key: tuple, pk: int | None = None):
        obj = model(pk=pk, import_batch=batch, is_synthetic=synthetic, updated_at=now,
                    **dict(zip(spec.key_fields, key, strict=True)),
                    **dict(zip(spec.values, rows[key], strict=True)))
        return obj

    todo = len(plan.new) + len(plan.changed)
    done = 0
    # New rows go in with plain multi-row INSERTs: building a million model instances
    # would cost more than the database work itself.
    columns = [model._meta.get_field(f.removesuffix("_id")).column
               for f in (*spec.key_fields, *spec.values)]
    columns += ["is_synthetic", "import_batch_id", "updated_at"]
    qn = connection.ops.quote_name
    # Table and column names come from the model, never from input; values are bound.
    table, names = qn(model._meta.db_table), ", ".join(qn(c) for c in columns)
    marks = ", ".join(["%s"] * len(columns))
    sql = f"INSERT INTO {table} ({names}) VALUES ({marks})"  # noqa: S608
    # Bound as Django binds it (SQLite: naive UTC text), so lookups on updated_at match.
    extra = (synthetic, batch.pk, connection.ops.adapt_datetimefield_value(now))
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql" and plan.new and hasattr(cursor.cursor, "copy"):
            # PostgreSQL: COPY streams the new rows several times faster than INSERTs, in
            # the same transaction (psycopg 3's cursor under Django's wrapper).
            copy_sql = f"COPY {table} ({names}) FROM STDIN"
            with cursor.cursor.copy(copy_sql) as copy:
                write_row = copy.write_row
                for start in range(0, len(plan.new), _WRITE_BATCH):
                    chunk = plan.new[start : start + _WRITE_BATCH]
                    for k in chunk:
                        write_row((*k, *rows[k], *extra))
                    done += len(chunk)
                    if progress:
                        progress(done, todo)
        else:
            for start in range(0, len(plan.new), _WRITE_BATCH):
                chunk = plan.new[start : start + _WRITE_BATCH]
                cursor.executemany(sql, [(*k, *rows[k], *extra) for k in chunk])
                done += len(chunk)
                if progress:
                    progress(done, todo)
    update_fields = [*spec.values, "import_batch", "is_synthetic", "updated_at"]
    for start in range(0, len(plan.changed), _WRITE_BATCH):
        chunk = plan.changed[start : start + _WRITE_BATCH]
        # An upsert on the primary key replaces the values in one statement per chunk.
        model.objects.bulk_create(
            [build(k, pk) for k, pk, _old in chunk],
            update_conflicts=True, unique_fields=["id"], update_fields=update_fields,
        )
        done += len(chunk)
        if progress:
            progress(done, todo)
    record_events(
        actor=actor, action="update", object_type=spec.kind,
        actor_label=batch.actor_label,
        changes=(
            (_key_label(k), dict(zip(spec.values, old, strict=True)),
             dict(zip(spec.values, rows[k], strict=True)) | {"import": batch.pk})
            for k, _pk, old in plan.changed
        ),
    )


def _new_batch(actor: Any, kind: str, data: bytes, filename: str, synthetic: bool) -> ImportBatch:
    who = actor_fields(actor)
    return ImportBatch(
        kind=kind, uploaded_by=who["actor"], actor_label=who["actor_label"],
        organisation_id=who["organisation_id"], filename=filename[:255],
        file_sha256=hashlib.sha256(data).hexdigest(), is_synthetic=synthetic,
    )


def _fill_counts(batch: ImportBatch, plan: Plan) -> None:
    v = plan.validated
    batch.rows_total = v.rows_total
    batch.error_count = v.error_count
    batch.errors = [e.as_dict() for e in v.errors]
    batch.rows_created, batch.rows_updated, batch.rows_unchanged = (
        plan.created, plan.updated, plan.unchanged)


def check_file(actor: Any, kind: str, data: bytes, filename: str) -> Plan:
    """Validate a file for this actor and work out what it would change; writes nothing."""
    if kind not in SPECS:
        raise ValueError(f"kind: expected one of {', '.join(SPECS)}, got {kind!r}")
    if not policy.can_import(actor):
        raise PermissionDenied
    validated = validate_file(kind, data, filename, known_codes=_known_codes(),
                              may_write=lambda code: policy.can_import_area(actor, code))
    return plan_import(validated)


def do_import(
    actor: Any, kind: str, data: bytes, filename: str, *, synthetic: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[ImportBatch, Plan]:
    """Validate and, if every row is good, apply a file in one transaction.

    A file with any bad row changes no data (the refusal itself is recorded). Re-importing
    the same file changes nothing; a corrected file replaces values by natural key.
    """
    with transaction.atomic():
        plan = check_file(actor, kind, data, filename)
        batch = _new_batch(actor, kind, data, filename, synthetic)
        _fill_counts(batch, plan)
        if not plan.validated.ok:
            batch.status = ImportStatus.INVALID
            batch.save()
            return batch, plan
        batch.status = ImportStatus.APPLIED
        batch.applied_at = timezone.now()
        batch.save()
        _apply(plan, batch, actor, synthetic, progress)
        record_event(actor=actor, actor_label=batch.actor_label, action="import",
                     object_type=kind, object_key=f"import {batch.pk}", new=_batch_summary(batch))
        _data_changed(actor, batch)
    return batch, plan


def _data_changed(actor: Any, batch: ImportBatch | None = None) -> None:
    """New or replaced data: queue a risk run (it starts after this transaction commits)."""
    from cegah.riskmap.actions import do_request_risk_run

    if batch is None or batch.rows_created or batch.rows_updated:
        do_request_risk_run(actor, trigger="import" if batch else "delete")


def _batch_summary(batch: ImportBatch) -> dict[str, Any]:
    return {"import": batch.pk, "file": batch.filename, "sha256": batch.file_sha256,
            "rows": batch.rows_total, "created": batch.rows_created,
            "updated": batch.rows_updated, "unchanged": batch.rows_unchanged,
            "synthetic": batch.is_synthetic}


def do_preview_import(actor: Any, kind: str, data: bytes, filename: str) -> ImportBatch:
    """Check an uploaded file and keep it for confirmation (web upload with preview)."""
    plan = check_file(actor, kind, data, filename)
    with transaction.atomic():
        batch = _new_batch(actor, kind, data, filename, synthetic=False)
        _fill_counts(batch, plan)
        batch.status = ImportStatus.PREVIEW if plan.validated.ok else ImportStatus.INVALID
        batch.content = data if plan.validated.ok else None
        batch.save()
    return batch


def do_confirm_import(actor: Any, batch: ImportBatch) -> ImportBatch:
    """Apply a previewed upload; the file is checked again against the data as they are now."""
    if batch.status != ImportStatus.PREVIEW or batch.content is None:
        raise ValueError("only a previewed import can be confirmed")
    with transaction.atomic():
        batch = ImportBatch.objects.select_for_update().get(pk=batch.pk)
        if batch.status != ImportStatus.PREVIEW:
            raise ValueError("only a previewed import can be confirmed")
        plan = check_file(actor, batch.kind, bytes(batch.content), batch.filename)
        _fill_counts(batch, plan)
        batch.content = None
        if not plan.validated.ok:
            batch.status = ImportStatus.INVALID
            batch.save()
            return batch
        batch.status = ImportStatus.APPLIED
        batch.applied_at = timezone.now()
        batch.save()
        _apply(plan, batch, actor, False, None)
        record_event(actor=actor, actor_label=batch.actor_label, action="import",
                     object_type=batch.kind, object_key=f"import {batch.pk}",
                     new=_batch_summary(batch))
        _data_changed(actor, batch)
    return batch


def do_discard_import(actor: Any, batch: ImportBatch) -> None:
    with transaction.atomic():
        if batch.status == ImportStatus.PREVIEW:
            batch.status = ImportStatus.DISCARDED
            batch.content = None
            batch.save(update_fields=["status", "content"])


# --- exports ---------------------------------------------------------------------------

EXPORT_HEADERS = {
    DataKind.CASES: ["code", "period", "category", "count", "source"],
    DataKind.POPULATION: ["code", "year", "children", "source"],
    DataKind.FACTORS: ["code", "factor", "value", "year", "source"],
}


def export_rows(actor: Any, kind: str, area_code: str | None = None) -> Iterator[list[Any]]:
    """The rows of one kind of data the actor may export, in the import format."""
    spec = SPECS[kind]
    qs = policy.visible_data(actor, spec.model)
    if area_code:
        qs = qs.filter(subtree_q([area_code], field="area__code"))
    if kind == DataKind.CASES:
        for code, period, cat, count, source in qs.order_by("area_id", "period", "category") \
                .values_list("area_id", "period", "category", "count", "source").iterator(5000):
            yield [code, period.strftime("%Y-%m"), cat, count, source]
    elif kind == DataKind.POPULATION:
        yield from (list(r) for r in qs.order_by("area_id", "year").values_list(
            "area_id", "year", "children", "source").iterator(5000))
    else:
        for code, factor, value, year, source in qs.order_by("area_id", "factor", "year") \
                .values_list("area_id", "factor", "value", "year", "source").iterator(5000):
            yield [code, factor, value, "" if year is None else year, source]


def do_export(actor: Any, kind: str, out, fmt: str, area_code: str | None = None) -> int:
    """Write an export to ``out`` (path or file object) and audit it; returns the row count."""
    from cegah.lib.tabular import write_table

    if kind not in SPECS:
        raise ValueError(f"kind: expected one of {', '.join(SPECS)}, got {kind!r}")
    if not policy.can_export(actor):
        raise PermissionDenied
    if area_code and not policy.can_view_area_data(actor, area_code):
        raise PermissionDenied
    count = 0

    def counted():
        nonlocal count
        for row in export_rows(actor, kind, area_code):
            count += 1
            yield row

    write_table(out, fmt, EXPORT_HEADERS[kind], counted())
    record_event(actor=actor, action="export", object_type=kind, object_key=area_code or "",
                 new={"rows": count, "format": fmt})
    return count


# --- deletion --------------------------------------------------------------------------

def do_delete_data(
    actor: Any, kind: str, area_code: str, *, start: Any = None, end: Any = None,
) -> int:
    """Delete one kind of data for an area and its sub-areas, optionally within a range of
    months (cases, ``datetime.date`` first-of-month) or years (population, factors).

    Each deleted value is recorded in the audit trail with its old value, in the same
    transaction. The actor needs the import right for the area.
    """
    if kind not in SPECS:
        raise ValueError(f"kind: expected one of {', '.join(SPECS)}, got {kind!r}")
    if not policy.can_import_area(actor, area_code):
        raise PermissionDenied
    spec = SPECS[kind]
    qs = policy.visible_data(actor, spec.model).filter(subtree_q([area_code], "area__code"))
    field = "period" if kind == DataKind.CASES else "year"
    if start is not None:
        qs = qs.filter(**{f"{field}__gte": start})
    if end is not None:
        qs = qs.filter(**{f"{field}__lte": end})
    with transaction.atomic():
        rows = list(qs.values_list("pk", *spec.key_fields, *spec.values))
        nk = len(spec.key_fields)
        record_events(
            actor=actor, action="delete", object_type=kind,
            changes=((_key_label(r[1 : 1 + nk]), dict(zip(spec.values, r[1 + nk :], strict=True)),
                      None) for r in rows),
        )
        pks = [r[0] for r in rows]
        for i in range(0, len(pks), _WRITE_BATCH):
            spec.model.objects.filter(pk__in=pks[i : i + _WRITE_BATCH]).delete()
        record_event(actor=actor, action="delete", object_type=kind, object_key=area_code,
                     new={"deleted": len(pks), "from": str(start or ""), "to": str(end or "")})
        if pks:
            _data_changed(actor)
    return len(pks)
