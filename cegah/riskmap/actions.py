"""Risk runs: request one (after an import, from the CLI or the web) and compute it.

The computation reads the stored counts, populations, factors and boundaries, calls the
risk engine (:mod:`cegah.risk.score`, the same code as ``cegah risk score``) once per
level, and stores every area's result in one transaction. Until that transaction
commits, pages keep showing the previous completed run.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from django.db import transaction
from django.db.models import Count, Max
from django.utils import timezone

from cegah.audit.actions import actor_fields, record_event
from cegah.lib import rawsql
from cegah.riskmap.models import AreaRisk, RiskFactorEstimate, RiskRun, RunStatus

logger = logging.getLogger(__name__)

LEVELS = (4, 3, 2, 1)  # village first: the largest, so progress moves early
SEED = 20240517  # fixed: the same data give the same hotspots
LANGUAGES = ("en", "id")


def do_request_risk_run(actor: Any, *, trigger: str) -> RiskRun:
    """Queue a risk run (audited) and start it in the background after commit.

    A run that is still waiting covers any number of further requests: imports of three
    files in a row give one run, not three.
    """
    with transaction.atomic():
        waiting = RiskRun.objects.filter(status=RunStatus.QUEUED).order_by("created_at").first()
        if waiting is not None:
            return waiting
        fields = actor_fields(actor, None)
        run = RiskRun.objects.create(
            trigger=trigger, requested_by=fields.get("actor"),
            requested_label=fields.get("actor_label", ""))
        record_event(actor=actor, action="request", object_type="risk_run",
                     object_key=str(run.pk), new={"trigger": trigger})
        transaction.on_commit(lambda: _enqueue(run.pk))
    return run


def _enqueue(run_id: int) -> None:
    from cegah.riskmap.tasks import compute_risk_run

    compute_risk_run.enqueue(run_id)


def _set_progress(run_id: int, progress: int, step: str) -> None:
    # Outside the result transaction, so other processes see it while the run works.
    RiskRun.objects.filter(pk=run_id).update(progress=progress, step=step[:200])


def do_compute_risk_run(run_id: int, *, say: Callable[[str], None] | None = None) -> RiskRun:
    """Compute a queued (or failed) run. Safe to call twice: a finished run is left alone."""
    claimed = RiskRun.objects.filter(
        pk=run_id, status__in=[RunStatus.QUEUED, RunStatus.FAILED]).update(
        status=RunStatus.RUNNING, started_at=timezone.now(), progress=1, error="",
        step="reading data")
    run = RiskRun.objects.get(pk=run_id)
    if not claimed:
        return run
    say = say or (lambda _msg: None)
    start = time.monotonic()
    try:
        data = load_inputs()
        results = []
        for k, level in enumerate(LEVELS):
            message = f"level {level}"
            _set_progress(run_id, 5 + 80 * k // len(LEVELS), message)
            say(message)
            results.append((level, _score_level(data, level)))
        _set_progress(run_id, 90, "saving")
        say("saving")
        with transaction.atomic():
            n = _store(run, results, data)
            first = next((r for _lv, r in results if r is not None), None)
            run.status = RunStatus.DONE
            run.finished_at = timezone.now()
            run.progress = 100
            run.step = ""
            run.as_of = first.metadata["as_of"] if first else ""
            run.parameters = _parameters(first)
            run.inputs = data["versions"]
            run.summary = {
                "areas": n, "seconds": round(time.monotonic() - start, 1),
                "levels": {str(lv): (r.metadata | {"settings": None}) if r else None
                           for lv, r in results},
            }
            run.save()
            record_event(actor=None, actor_label="system:risk", action="complete",
                         object_type="risk_run", object_key=str(run.pk),
                         new={"areas": n, "as_of": run.as_of})
    except Exception as exc:
        logger.exception("risk run %s failed", run_id)
        RiskRun.objects.filter(pk=run_id).update(
            status=RunStatus.FAILED, finished_at=timezone.now(), step="",
            error=f"{type(exc).__name__}: {exc}"[:2000])
        raise
    return RiskRun.objects.get(pk=run_id)


# Completed runs never change, so each process keeps the few it has shown, keyed by id and
# completion time (a rolled-back test run's id can come back on SQLite; its time cannot).
_DONE_RUNS: dict[tuple[Any, Any], RiskRun] = {}


def latest_run() -> RiskRun | None:
    """The run whose results pages show: the latest completed one."""
    # Asked on every risk page, map.json and API request: fixed SQL (cegah.lib.rawsql)
    # for its key, the row itself only the first time.
    key = rawsql.row(
        f"SELECT id, finished_at FROM {RiskRun._meta.db_table} "  # noqa: S608
        "WHERE status = %s ORDER BY finished_at DESC, id DESC LIMIT 1", [RunStatus.DONE])
    if key is None:
        return None
    run = _DONE_RUNS.get(key)
    if run is None:
        run = RiskRun.objects.filter(pk=key[0], status=RunStatus.DONE).first()
        if run is None:  # deleted in between
            return None
        if len(_DONE_RUNS) >= 8:
            _DONE_RUNS.clear()
        _DONE_RUNS[key] = run
    return run


def run_in_progress() -> RiskRun | None:
    return rawsql.first(RiskRun, "status IN (%s, %s)", [RunStatus.QUEUED, RunStatus.RUNNING],
                        order_by="created_at DESC, id DESC")


# ---------------------------------------------------------------------------- inputs

def load_inputs() -> dict[str, Any]:
    """The stored data as the engine's tables (only the areas the data speak about)."""
    from cegah.areas.models import Area
    from cegah.cases.models import CaseCount, FactorValue, ImportBatch, Population

    population = pd.DataFrame(
        list(Population.objects.values_list("area_id", "year", "children")),
        columns=["code", "year", "children"])
    cases = pd.DataFrame(
        list(CaseCount.objects.values_list("area_id", "period", "category", "count")),
        columns=["code", "period", "category", "count"])
    if len(cases):
        cases["period"] = pd.to_datetime(cases["period"]).dt.strftime("%Y-%m")
    factors = pd.DataFrame(
        list(FactorValue.objects.values_list("area_id", "factor", "value", "year")),
        columns=["code", "factor", "value", "year"])
    codes = set(population["code"]) | set(cases["code"]) | set(factors["code"])
    wanted = set(codes)
    for code in codes:  # and their ancestors (Kemendagri codes nest by prefix)
        parts = code.split(".")
        wanted.update(".".join(parts[:k]) for k in range(1, len(parts)))
    rows = list(Area.objects.filter(pk__in=wanted).values_list(
        "code", "name", "level", "parent_id"))
    areas = pd.DataFrame(rows, columns=["code", "name", "level", "parent_code"])
    versions: dict[str, Any] = {}
    for kind, model in (("cases", CaseCount), ("population", Population),
                        ("factors", FactorValue)):
        last = (ImportBatch.objects.filter(kind=kind, status="applied")
                .order_by("-applied_at").values("id", "file_sha256", "applied_at").first())
        stats = model.objects.aggregate(rows=Count("id"), updated=Max("updated_at"))
        versions[kind] = {
            "rows": stats["rows"],
            "updated": stats["updated"].isoformat() if stats["updated"] else None,
            "last_import": last["id"] if last else None,
            "sha256": last["file_sha256"] if last else None,
        }
    return {"areas": areas, "population": population, "cases": cases, "factors": factors,
            "versions": versions}


def _boundaries(level: int, codes) -> tuple[np.ndarray, np.ndarray] | None:
    import shapely

    from cegah.areas.models import Area

    rows = list(Area.objects.filter(level=level, pk__in=list(codes), geometry__isnull=False)
                .exclude(geometry="").values_list("code", "geometry"))
    if len(rows) < 3:
        return None
    found = np.array([c for c, _g in rows], dtype=object)
    geoms = shapely.from_geojson([g for _c, g in rows], on_invalid="ignore")
    return found, geoms


def _score_level(data: dict[str, Any], level: int):
    from cegah.risk.score import RiskSettings, score_areas

    areas = data["areas"]
    if not (areas["level"] == level).any() or not len(data["cases"]):
        return None
    settings = RiskSettings(level=level, seed=SEED, language=LANGUAGES[0],
                            extra_languages=LANGUAGES[1:], allow_missing_population=True)
    codes = areas.loc[areas["level"] == level, "code"]
    try:
        return score_areas(areas, data["population"], data["cases"],
                           data["factors"] if len(data["factors"]) else None,
                           _boundaries(level, codes), settings)
    except ValueError as exc:  # e.g. no children known at this level
        logger.warning("risk run: level %s not scored: %s", level, exc)
        return None


def _parameters(result) -> dict[str, Any]:
    if result is None:
        return {}
    settings = dict(result.metadata.get("settings") or {})
    settings.pop("level", None)
    return {"settings": settings, "window": result.metadata.get("window"),
            "previous_window": result.metadata.get("previous_window")}


def _num(value) -> float | None:
    if value is None or value is pd.NA:
        return None
    value = float(value)
    return value if np.isfinite(value) else None


def _store(run: RiskRun, results, data) -> int:
    from cegah.risk.windows import CATEGORIES

    objects = []
    factors = []
    for level, result in results:
        if result is None:
            continue
        t = result.table
        for row in t.itertuples(index=False):
            r = row._asdict()
            children = r["children"]
            objects.append(AreaRisk(
                run=run, area_id=r["code"], level=level, parent_code=r["parent_code"] or "",
                children=None if children is pd.NA or children is None else int(children),
                cases=int(r["cases"]), previous_cases=int(r["previous_cases"]),
                cases_by_category={c: int(r[f"cases_{c}"]) for c in CATEGORIES},
                crude_rate=_num(r["crude_rate"]), smoothed_rate=_num(r["smoothed_rate"]),
                rate_low=_num(r["rate_low"]), rate_high=_num(r["rate_high"]),
                expected_cases=_num(r["expected_cases"]),
                relative_risk=_num(r["relative_risk"]),
                contextual_risk=_num(r["contextual_risk"]), score=_num(r["score"]),
                tier=r["tier"], confidence=r["confidence"], hotspot=r["hotspot"] or "",
                cluster=r["cluster"] or "", trend=r["trend"] or "",
                underreporting=bool(r["underreporting"]),
                drivers={"en": list(r["drivers"]), "id": list(r["drivers_id"]),
                         "kinds": list(r["driver_kinds"])},
                flags={"en": list(r["flags"]), "id": list(r["flags_id"])},
            ))
        for f in result.factors.itertuples(index=False):
            factors.append(RiskFactorEstimate(
                run=run, level=level, factor=f.factor, relative_risk=_num(f.relative_risk),
                low=_num(f.low), high=_num(f.high), p=_num(f.p), unit=f.unit or "",
                selected=bool(f.selected)))
    AreaRisk.objects.bulk_create(objects, batch_size=2000)
    RiskFactorEstimate.objects.bulk_create(factors)
    return len(objects)
