"""Writes to the area hierarchy."""

from __future__ import annotations

import csv
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from django.db import transaction
from django.db.models import Q

from cegah.areas.models import Area, Level, is_within, kind_for_code
from cegah.audit.actions import record_event

BUNDLED_DATA_DIR = Path(__file__).resolve().parent / "data" / "idn-area-data"

# (file, level, parent column, code pattern)
_FILES = [
    ("provinces.csv", Level.PROVINCE, None, re.compile(r"^\d{2}$")),
    ("regencies.csv", Level.REGENCY, "province_code", re.compile(r"^\d{2}\.\d{2}$")),
    ("districts.csv", Level.DISTRICT, "regency_code", re.compile(r"^\d{2}\.\d{2}\.\d{2}$")),
    ("villages.csv", Level.VILLAGE, "district_code", re.compile(r"^\d{2}\.\d{2}\.\d{2}\.\d{4}$")),
]


class AreaDataError(ValueError):
    """An area file is missing or has bad rows; nothing was loaded."""


@dataclass
class LoadResult:
    created: int
    updated: int
    unchanged: int

    @property
    def total(self) -> int:
        return self.created + self.updated + self.unchanged


def read_area_files(data_dir: Path, only: tuple[str, ...] | None = None) -> list[Area]:
    """Read and validate the four idn-area-data CSV files into unsaved areas, parents first.

    ``only`` limits districts and villages to those under the given codes (all provinces
    and regencies are always read), for installations that work in a few regions.
    """
    areas: list[Area] = []
    known: set[str] = set()
    errors: list[str] = []
    for filename, level, parent_col, pattern in _FILES:
        path = data_dir / filename
        if not path.exists():
            raise AreaDataError(f"{path}: file not found (expected the idn-area-data CSV files).")
        with path.open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            needed = {"code", "name"} | ({parent_col} if parent_col else set())
            missing = needed - set(reader.fieldnames or [])
            if missing:
                raise AreaDataError(f"{path}: missing column(s) {', '.join(sorted(missing))}.")
            for line, row in enumerate(reader, start=2):
                code = (row["code"] or "").strip()
                if only and level >= Level.DISTRICT and not is_within(code, only):
                    continue
                name = (row["name"] or "").strip()
                parent = (row[parent_col] or "").strip() if parent_col else None
                if not pattern.match(code):
                    errors.append(
                        f"{path.name} line {line}: code {code!r} is not a {level.key} code")
                elif code in known:
                    errors.append(f"{path.name} line {line}: duplicate code {code}")
                elif parent_col and (parent not in known or not code.startswith(parent + ".")):
                    errors.append(
                        f"{path.name} line {line}: parent {parent!r} of {code} is unknown or does "
                        "not match the code"
                    )
                elif not name:
                    errors.append(f"{path.name} line {line}: empty name")
                else:
                    known.add(code)
                    kind = kind_for_code(code)
                    areas.append(
                        Area(
                            code=code, name=name, level=level, kind=kind, parent_id=parent,
                            is_urban=(kind == "kelurahan") if level == Level.VILLAGE else None,
                        )
                    )
                if len(errors) >= 50:
                    break
    if errors:
        raise AreaDataError("\n".join(errors))
    return areas


def do_load_areas(
    data_dir: Path | None = None,
    *,
    only: tuple[str, ...] | None = None,
    actor_label: str = "system",
    progress: Callable[[int, int], None] | None = None,
) -> LoadResult:
    """Load (or refresh) the whole hierarchy; idempotent, all or nothing."""
    data_dir = Path(data_dir or BUNDLED_DATA_DIR)
    areas = read_area_files(data_dir, only)
    existing = {
        code: (name, parent, kind)
        for code, name, parent, kind in Area.objects.values_list(
            "code", "name", "parent_id", "kind")
    }
    new = [a for a in areas if a.code not in existing]
    changed = [
        a for a in areas
        if a.code in existing and existing[a.code] != (a.name, a.parent_id, a.kind)
    ]
    batch = 5000
    done = 0
    todo = len(new) + len(changed)
    with transaction.atomic():
        for start in range(0, len(new), batch):
            Area.objects.bulk_create(new[start : start + batch])
            done += len(new[start : start + batch])
            if progress:
                progress(done, todo)
        for start in range(0, len(changed), batch):
            Area.objects.bulk_update(
                changed[start : start + batch], ["name", "parent", "kind", "is_urban"]
            )
            done += len(changed[start : start + batch])
            if progress:
                progress(done, todo)
        result = LoadResult(len(new), len(changed), len(areas) - len(new) - len(changed))
        record_event(
            actor=None, actor_label=actor_label, action="areas_load", object_type="area",
            object_key=str(data_dir.name),
            new={"created": result.created, "updated": result.updated,
                 "unchanged": result.unchanged},
        )
    return result


def level_counts() -> dict[str, int]:
    counts = {lvl.key: 0 for lvl in Level}
    from django.db.models import Count

    for row in Area.objects.values("level").annotate(n=Count("code")):
        counts[Level(row["level"]).key] = row["n"]
    return counts


# --- boundaries --------------------------------------------------------------------------

def do_import_boundaries(
    actor, plan, *, progress: Callable[[str, int, int], None] | None = None,
) -> dict:
    """Store the geometries of a checked boundary plan, all or nothing, in one transaction.

    ``plan`` comes from :func:`cegah.areas.boundaries.check_boundaries` (or
    ``plan_boundaries`` for generated boundaries). A plan with any problem is refused and
    changes nothing; a plan that changes nothing (the same file again) writes no geometry.
    One audit event records the import: file, SHA-256 and counts per level, never the
    geometries. Returns that summary.
    """
    from django.core.exceptions import PermissionDenied
    from django.db import connection

    from cegah import policy

    if not policy.can_import_boundaries(actor):
        raise PermissionDenied
    if not plan.ok:
        raise ValueError(f"{plan.filename}: the file has {plan.problem_count} problem(s); "
                         "nothing was imported")
    items = sorted(plan.geometries.items())
    table = connection.ops.quote_name(Area._meta.db_table)
    sql = (f"UPDATE {table} SET {connection.ops.quote_name('geometry')} = %s "  # noqa: S608
           f"WHERE {connection.ops.quote_name('code')} = %s")
    with transaction.atomic():
        done = 0
        with connection.cursor() as cursor:
            for start in range(0, len(items), 2000):
                chunk = items[start : start + 2000]
                cursor.executemany(sql, [(text, code) for code, text in chunk])
                done += len(chunk)
                if progress:
                    progress("write", done, len(items))
        summary = plan.summary()
        record_event(actor=actor, action="import", object_type="boundaries",
                     object_key=plan.filename, new=summary)
        if items:
            _boundaries_changed(actor)
    return summary


def _boundaries_changed(actor) -> None:
    """Neighbours come from the boundaries: queue a risk run (after this transaction)."""
    from cegah.riskmap.actions import do_request_risk_run

    do_request_risk_run(actor, trigger="boundaries")


def do_clear_boundaries(actor, codes) -> int:
    """Remove the boundaries of these areas and of every area below them, and the
    boundaries dissolved from them above; audited. Returns how many areas changed."""
    from django.core.exceptions import PermissionDenied

    from cegah import policy
    from cegah.areas.boundaries import _DISSOLVED_PREFIXES
    from cegah.areas.models import subtree_q

    if not policy.can_import_boundaries(actor):
        raise PermissionDenied
    codes = sorted(set(codes))
    above: set[str] = set()
    for code in codes:
        parts = code.split(".")
        above.update(".".join(parts[:i]) for i in range(1, len(parts)))
    dissolved = Q(code__in=above) & (Q(geometry__startswith=_DISSOLVED_PREFIXES[0])
                                     | Q(geometry__startswith=_DISSOLVED_PREFIXES[1]))
    with transaction.atomic():
        n = Area.objects.filter((subtree_q(codes) | dissolved) & Q(geometry__isnull=False)
                                ).update(geometry=None)
        record_event(actor=actor, action="delete", object_type="boundaries",
                     object_key=",".join(codes)[:200], old={"areas": n, "codes": codes[:50]})
        if n:
            _boundaries_changed(actor)
    return n
