"""Risk runs: queued after imports, computed in the background, stored per run."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from django.db.models import Count
from django_tasks.backends.dummy import DummyBackend

from cegah.areas.models import Area
from cegah.audit.models import AuditEvent
from cegah.cases.actions import do_delete_data, do_import
from cegah.demo.generator import generate
from cegah.riskmap.actions import (
    do_compute_risk_run,
    latest_run,
    run_in_progress,
)
from cegah.riskmap.models import AreaRisk, RiskFactorEstimate, RiskRun, RunStatus
from tests.test_smoke_cli import run_cli

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def jaksel_files(db):
    """SYNTHETIC demo files for the villages of South Jakarta (31.74)."""
    villages = list(Area.objects.filter(level=4, code__startswith="31.74.")
                    .values_list("code", flat=True))
    return generate(villages)


@pytest.fixture
def import_all(django_capture_on_commit_callbacks):
    """Import the files, running what waits for the commit (the enqueueing)."""
    def run(actor, files):
        with django_capture_on_commit_callbacks(execute=True):
            for kind in ("population", "factors", "cases"):
                batch, _plan = do_import(actor, kind, getattr(files, kind), f"{kind}.csv",
                                         synthetic=True)
                assert batch.status == "applied", batch.errors
    return run


def queued_tasks():
    from django_tasks import task_backends

    backend = task_backends["default"]
    assert isinstance(backend, DummyBackend)
    return [r for r in backend.results if r.task.name == "compute_risk_run"]


def test_imports_queue_one_risk_run_in_the_background(operator, jaksel_files, import_all):
    import_all(operator, jaksel_files)
    runs = list(RiskRun.objects.all())
    assert len(runs) == 1 and runs[0].status == RunStatus.QUEUED
    assert runs[0].trigger == "import"
    assert [r.args for r in queued_tasks()] == [[runs[0].pk]]
    assert AuditEvent.objects.filter(object_type="risk_run", action="request").count() == 1
    # Re-importing the same file changes nothing and queues nothing new.
    do_import(operator, "cases", jaksel_files.cases, "cases.csv", synthetic=True)
    assert RiskRun.objects.count() == 1
    assert run_in_progress() == runs[0] and latest_run() is None


def test_a_run_scores_every_level_and_keeps_the_previous_results_until_done(
        operator, jaksel_files, import_all):
    import_all(operator, jaksel_files)
    first = do_compute_risk_run(RiskRun.objects.get().pk)
    assert first.status == RunStatus.DONE and first.progress == 100
    assert first.as_of == "2026-10"
    levels = dict(AreaRisk.objects.filter(run=first).values_list("level").annotate(
        n=Count("id")))
    n_villages = Area.objects.filter(level=4, code__startswith="31.74.").count()
    assert levels[4] == n_villages and levels[3] == 10 and levels[2] == 1 and levels[1] == 1
    village = AreaRisk.objects.filter(run=first, level=4).order_by("-score").first()
    assert village.tier in ("high", "moderate", "low")
    assert village.drivers["en"] and village.drivers["id"]
    assert village.cases == sum(village.cases_by_category.values())
    assert RiskFactorEstimate.objects.filter(run=first, level=4, selected=True).exists()
    assert first.inputs["cases"]["rows"] > 0 and first.inputs["cases"]["sha256"]
    assert first.parameters["settings"]["seed"] == 20240517

    # New data queue a second run; until it is computed the first stays the latest.
    do_delete_data(operator, "cases", "31.74.01")
    second = run_in_progress()
    assert second is not None and second != first
    assert latest_run() == first
    do_compute_risk_run(second.pk)
    assert latest_run().pk == second.pk
    # Computing a finished run again does nothing.
    assert do_compute_risk_run(second.pk).finished_at == RiskRun.objects.get(
        pk=second.pk).finished_at


def test_a_failed_run_records_its_error_and_shows_nothing_new(operator, jaksel_files,
                                                              import_all, monkeypatch):
    import_all(operator, jaksel_files)
    run = RiskRun.objects.get()

    def broken(*_args, **_kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr("cegah.riskmap.actions._store", broken)
    with pytest.raises(RuntimeError):
        do_compute_risk_run(run.pk)
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED and "disk full" in run.error
    assert not AreaRisk.objects.filter(run=run).exists() and latest_run() is None


def test_the_worker_computes_queued_runs_and_the_cli_runs_one(tmp_path, cli_env):
    env = dict(cli_env, CEGAH_TASK_BACKEND="database")
    assert run_cli("init", env_extra=env).returncode == 0
    assert run_cli("areas", "load", "--only", "71.71", env_extra=env).returncode == 0
    with (ROOT / "cegah/areas/data/idn-area-data/villages.csv").open(encoding="utf-8") as f:
        villages = [r["code"] for r in csv.DictReader(f) if r["code"].startswith("71.71.")]
    files = generate(villages)
    for kind in ("population", "cases"):
        (tmp_path / f"{kind}.csv").write_bytes(getattr(files, kind))
        out = run_cli("import", kind, str(tmp_path / f"{kind}.csv"), env_extra=env)
        assert out.returncode == 0, out.stderr
    # Two imports, one queued run; the worker computes it and exits (--batch).
    worker = run_cli("worker", "--batch", env_extra=env)
    assert worker.returncode == 0, worker.stderr
    out = run_cli("manage", "shell", "-c",
                  "from cegah.riskmap.models import RiskRun; "
                  "print([(r.pk, r.status, r.trigger) for r in RiskRun.objects.order_by('pk')])",
                  env_extra=env)
    assert "[(1, 'done', 'import')]" in out.stdout, out.stderr
    out = run_cli("risk", "run", env_extra=env)
    assert out.returncode == 0, out.stderr
    assert "risk run 2: done, as of 2026-10" in out.stdout
    assert "village" in out.stdout and "district" in out.stdout


def test_pages_follow_the_newest_completed_run_and_forget_deleted_ones(db):
    from datetime import timedelta

    from django.utils import timezone

    now = timezone.now()
    first = RiskRun.objects.create(status=RunStatus.DONE, trigger="cli", as_of="2024-06",
                                   finished_at=now - timedelta(hours=1))
    assert latest_run().pk == first.pk
    assert latest_run() is latest_run()  # a completed run is read once per process
    assert latest_run().finished_at == first.finished_at  # converted, not a string
    waiting = RiskRun.objects.create(status=RunStatus.QUEUED, trigger="import")
    assert run_in_progress().pk == waiting.pk
    assert latest_run().pk == first.pk  # the queued run shows nothing yet
    RiskRun.objects.filter(pk=waiting.pk).update(status=RunStatus.DONE, finished_at=now)
    assert latest_run().pk == waiting.pk and run_in_progress() is None
    RiskRun.objects.filter(pk=waiting.pk).delete()
    assert latest_run().pk == first.pk
    RiskRun.objects.all().delete()
    assert latest_run() is None
