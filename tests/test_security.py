"""Security baseline: deploy checks, password hashing, login throttling, sessions, settings."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client

from cegah.accounts.actions import do_save_user
from cegah.accounts.models import Role

ROOT = Path(__file__).resolve().parent.parent
PRODUCTION_ENV = {
    "CEGAH_ENV": "production",
    "CEGAH_SECRET_KEY": "x" * 20 + "-not-a-real-secret-but-long-enough-for-the-check-0123456789",
    "CEGAH_ALLOWED_HOSTS": "cegah.example.org",
}


def _django(args, env_extra, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("CEGAH_")}
    env.update({"DJANGO_SETTINGS_MODULE": "cegah.settings", "CEGAH_VAR_DIR": str(tmp_path),
                "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"})
    env.update(env_extra)
    return subprocess.run([sys.executable, "-m", "django", *args], capture_output=True,
                          text=True, env=env, cwd=ROOT, timeout=120)


def test_deploy_check_is_clean_under_production_settings(tmp_path):
    result = _django(["check", "--deploy", "--fail-level", "WARNING"], PRODUCTION_ENV, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"CEGAH_ENV": "production", "CEGAH_ALLOWED_HOSTS": "x.org"}, "CEGAH_SECRET_KEY"),
        ({**PRODUCTION_ENV, "CEGAH_SECRET_KEY": "short"}, "CEGAH_SECRET_KEY"),
        ({**PRODUCTION_ENV, "CEGAH_ALLOWED_HOSTS": ""}, "CEGAH_ALLOWED_HOSTS"),
        ({**PRODUCTION_ENV, "CEGAH_DEBUG": "1"}, "CEGAH_DEBUG"),
        ({"CEGAH_ENV": "staging"}, "CEGAH_ENV"),
        ({"CEGAH_SESSION_HOURS": "eight"}, "CEGAH_SESSION_HOURS"),
        ({"CEGAH_LOGIN_THROTTLING": "maybe"}, "CEGAH_LOGIN_THROTTLING"),
        ({"DATABASE_URL": "mysql://root@localhost/x"}, "DATABASE_URL"),
    ],
)
def test_bad_settings_fail_loudly_naming_the_variable(tmp_path, env, message):
    result = _django(["check"], env, tmp_path)
    assert result.returncode != 0
    assert message in result.stderr


def test_passwords_are_hashed_with_argon2(db, operator):
    user, _ = do_save_user(actor=operator, username="dina", organisation=None,
                           role=Role.SYSTEM_ADMIN, password="a-long-enough-password")
    assert user.password.startswith("argon2$")
    assert "a-long-enough-password" not in user.password


def test_login_is_throttled_after_repeated_failures(db, operator, org_jaksel):
    do_save_user(actor=operator, username="eko", organisation=org_jaksel, role=Role.VIEWER,
                 password="the-right-password-123")
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        resp = client.post("/accounts/login/", {"username": "eko", "password": "wrong"})
        assert resp.status_code == 200
    last = client.post("/accounts/login/", {"username": "eko", "password": "wrong"})
    assert last.status_code == 429
    locked = client.post("/accounts/login/", {"username": "eko",
                                              "password": "the-right-password-123"})
    assert locked.status_code == 429
    assert "_auth_user_id" not in client.session


def test_a_right_password_logs_in(db, operator, org_jaksel):
    do_save_user(actor=operator, username="fitri", organisation=org_jaksel, role=Role.VIEWER,
                 password="the-right-password-123")
    client = Client()
    resp = client.post("/accounts/login/", {"username": "fitri",
                                            "password": "the-right-password-123"})
    assert resp.status_code == 302 and resp["Location"] == "/"
    assert client.get("/").status_code == 200


def test_sessions_expire_and_cookies_are_protected():
    assert settings.SESSION_COOKIE_AGE <= 12 * 3600
    assert "cegah.web.middleware.SessionTouchMiddleware" in settings.MIDDLEWARE
    assert settings.SESSION_EXPIRE_AT_BROWSER_CLOSE
    assert settings.SESSION_COOKIE_HTTPONLY
    assert "django.middleware.csrf.CsrfViewMiddleware" in settings.MIDDLEWARE


def test_posts_without_a_csrf_token_are_refused(db, alice):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    resp = client.post("/data/imports/new/", {"kind": "cases"})
    assert resp.status_code == 403


def test_no_secret_is_committed():
    tracked = subprocess.run(["git", "ls-files"], capture_output=True, text=True, cwd=ROOT)
    if tracked.returncode != 0:
        pytest.fail("git ls-files failed: the suite runs from a git checkout")
    names = tracked.stdout.split()
    assert not [n for n in names if n.endswith(("secret_key", ".sqlite3", ".env"))]


@pytest.mark.django_db
def test_the_session_is_renewed_at_most_once_a_minute(alice, monkeypatch):
    import time

    from django.contrib.sessions.models import Session

    from tests.conftest import client_for

    client = client_for(alice)
    client.get("/")
    key = client.cookies[settings.SESSION_COOKIE_NAME].value
    first = Session.objects.get(pk=key).expire_date
    client.get("/")
    assert Session.objects.get(pk=key).expire_date == first  # no write within the minute
    later = time.time() + 120
    monkeypatch.setattr("cegah.web.middleware.time.time", lambda: later)
    client.get("/")
    assert Session.objects.get(pk=key).expire_date > first  # renewed: the timeout slides


@pytest.mark.django_db
def test_an_expired_or_deactivated_session_signs_nobody_in(alice, bob):
    from datetime import timedelta

    from django.contrib.sessions.models import Session
    from django.utils import timezone

    from tests.conftest import client_for

    client = client_for(alice)
    assert client.get("/risk/").status_code == 200
    key = client.cookies[settings.SESSION_COOKIE_NAME].value
    Session.objects.filter(pk=key).update(expire_date=timezone.now() - timedelta(seconds=1))
    assert client.get("/risk/").status_code == 302  # to the login page
    other = client_for(bob)
    assert other.get("/risk/").status_code == 200
    bob.is_active = False
    bob.save()
    assert other.get("/risk/").status_code == 302
