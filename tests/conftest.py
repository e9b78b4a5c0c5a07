"""Shared fixtures.

The test database gets a slice of the real area hierarchy once per session (all
provinces and regencies; districts and villages of DKI Jakarta, Kota Manado and
Kabupaten Jombang). Named users follow healthchecks' convention: Alice (the owner, in
South Jakarta police), Bob (her colleague), Charlie (an outsider in an NGO in North
Sulawesi).
"""

from __future__ import annotations

import csv
import io

import pytest
from django.conf import settings
from django.test import Client

from cegah.accounts.actions import do_save_organisation, do_save_user
from cegah.accounts.models import OrganisationType, Role
from cegah.areas.actions import do_load_areas
from cegah.policy import LocalOperator

TEST_REGIONS = ("31", "71.71", "35.17")
PASSWORD = "correct-horse-battery-staple"


def restore_session_data() -> None:
    """The session's shared reference data: the area slice and the shipped intervention
    catalogue (also called after the flushes of transactional browser tests)."""
    from cegah.catalogue.models import Intervention
    from cegah.catalogue.shipped import install_missing

    do_load_areas(only=TEST_REGIONS, actor_label="test")
    install_missing(Intervention)


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        restore_session_data()


@pytest.fixture(scope="module")
def reference_data_restored(django_db_blocker):
    """For modules of transactional tests (the browser tests), whose flushes empty the
    database: the session's reference data are put back after the module."""
    yield
    with django_db_blocker.unblock():
        restore_session_data()


@pytest.fixture(autouse=True)
def _english_outside_requests():
    """Each test starts in English, the language of the command line and of the
    messages' source text: a request leaves the language it activated in the thread (as
    in Django), which would otherwise leak into the next test. Pages are still
    Indonesian by default: the language middleware activates a language per request."""
    from django.utils import translation

    translation.activate("en")
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def _tasks_are_recorded_not_run():
    """Imports queue risk runs; tests record the tasks instead of running them (a test
    that wants the run computes it, or overrides TASKS itself)."""
    from django.test import override_settings

    with override_settings(TASKS={"default": {
            "BACKEND": "django_tasks.backends.dummy.DummyBackend", "QUEUES": ["default"]}}):
        yield


@pytest.fixture
def cli_env(tmp_path):
    """A private SQLite database for CLI subprocesses, whatever DATABASE_URL the suite
    runs with."""
    return {"DATABASE_URL": f"sqlite:///{tmp_path / 'cli.sqlite3'}",
            "CEGAH_VAR_DIR": str(tmp_path)}


@pytest.fixture
def operator():
    return LocalOperator(label="cli:test")


@pytest.fixture
def org_jaksel(db, operator):
    org, _ = do_save_organisation(actor=operator, name="Unit PPA Polres Jakarta Selatan",
                                  type=OrganisationType.POLICE, jurisdiction=["31.74"])
    return org


@pytest.fixture
def org_manado(db, operator):
    org, _ = do_save_organisation(actor=operator, name="LSM Perlindungan Anak Manado",
                                  type=OrganisationType.NGO, jurisdiction=["71.71"])
    return org


@pytest.fixture
def org_jatim(db, operator):
    org, _ = do_save_organisation(actor=operator, name="DP3A Jawa Timur",
                                  type=OrganisationType.GOVERNMENT, jurisdiction=["35"])
    return org


def make_user(operator, username, org, role):
    user, _ = do_save_user(actor=operator, username=username, organisation=org, role=role,
                           password_hash="!")  # unusable password: tests log in by force
    return user


@pytest.fixture
def alice(org_jaksel, operator):
    return make_user(operator, "alice", org_jaksel, Role.MANAGER)


@pytest.fixture
def bob(org_jaksel, operator):
    return make_user(operator, "bob", org_jaksel, Role.VIEWER)


@pytest.fixture
def charlie(org_manado, operator):
    return make_user(operator, "charlie", org_manado, Role.MANAGER)


@pytest.fixture
def sysadmin(db, operator):
    return make_user(operator, "root-admin", None, Role.SYSTEM_ADMIN)


def client_for(user, language: str | None = None) -> Client:
    client = Client()
    client.force_login(user)
    if language:
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    return client


def csv_bytes(header, rows=(), sep=",", encoding="utf-8") -> bytes:
    """A CSV file as bytes: a header and rows of cells (anything str() can show)."""
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=sep, lineterminator="\n")
    writer.writerow(header)
    writer.writerows([["" if c is None else c for c in row] for row in rows])
    return buf.getvalue().encode(encoding)


@pytest.fixture
def scored_jaksel(db, operator, django_capture_on_commit_callbacks):
    """SYNTHETIC demo data for South Jakarta's villages (31.74), imported and scored."""
    from cegah.areas.models import Area
    from cegah.cases.actions import do_import
    from cegah.demo.generator import generate
    from cegah.riskmap.actions import do_compute_risk_run, run_in_progress

    villages = list(Area.objects.filter(level=4, code__startswith="31.74.")
                    .values_list("code", flat=True))
    files = generate(villages)
    with django_capture_on_commit_callbacks(execute=True):
        for kind in ("population", "factors", "cases"):
            batch, _plan = do_import(operator, kind, getattr(files, kind), f"{kind}.csv",
                                     synthetic=True)
            assert batch.status == "applied", batch.errors
    return do_compute_risk_run(run_in_progress().pk)
