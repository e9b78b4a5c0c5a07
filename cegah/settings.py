"""Django settings for Cegah, read from the environment.

Every setting an operator may change is an environment variable named ``CEGAH_*``
(or ``DATABASE_URL``); README.md lists them. A bad value fails at start-up, naming
the variable.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from cegah.lib.env import env_bool, env_choice, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = BASE_DIR.parent
VAR_DIR = Path(env_str("CEGAH_VAR_DIR", str(PROJECT_DIR / "var"))).resolve()

ENVIRONMENT = env_choice("CEGAH_ENV", "development", ("development", "production"))
PRODUCTION = ENVIRONMENT == "production"
DEBUG = env_bool("CEGAH_DEBUG", default=False)
if PRODUCTION and DEBUG:
    raise ImproperlyConfigured("CEGAH_DEBUG must not be on when CEGAH_ENV=production.")


def _secret_key() -> str:
    key = env_str("CEGAH_SECRET_KEY")
    if key:
        if PRODUCTION and len(key) < 50:
            raise ImproperlyConfigured("CEGAH_SECRET_KEY must be at least 50 characters long.")
        return key
    if PRODUCTION:
        raise ImproperlyConfigured("CEGAH_SECRET_KEY must be set when CEGAH_ENV=production.")
    # Development: one random key per installation, shared by every local process.
    path = VAR_DIR / "secret_key"
    if not path.exists():
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(64))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _secret_key()
ALLOWED_HOSTS = env_list(
    "CEGAH_ALLOWED_HOSTS", [] if PRODUCTION else ["localhost", "127.0.0.1", "[::1]", "testserver"]
)
if PRODUCTION and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("CEGAH_ALLOWED_HOSTS must list the site's host names in production.")
CSRF_TRUSTED_ORIGINS = env_list("CEGAH_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "cegah.web.apps.CegahAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "axes",
    "cegah.web",
    "cegah.areas",
    "cegah.accounts",
    "cegah.audit",
    "cegah.cases",
    "cegah.riskmap",
    "cegah.catalogue",
    "cegah.activities",
    "cegah.coordination",
    "django_tasks",
    "django_tasks_db",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "cegah.web.middleware.SessionTouchMiddleware",
    "cegah.web.middleware.LanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "cegah.urls"
WSGI_APPLICATION = "cegah.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "cegah.web.context_processors.cegah",
                "cegah.coordination.context_processors.notifications",
            ],
        },
    }
]

# Database: SQLite (WAL) under var/ by default; PostgreSQL when DATABASE_URL names one.
DATABASE_URL = env_str("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'cegah.sqlite3'}"
try:
    _db = dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("CEGAH_DB_CONN_MAX_AGE", 60))
except ValueError as exc:
    raise ImproperlyConfigured(
        f"DATABASE_URL is not a database URL Cegah understands: {exc}") from None
if _db["ENGINE"] == "django.db.backends.sqlite3":
    _db["OPTIONS"] = {
        # WAL lets readers and one writer work at once; IMMEDIATE avoids lock upgrades.
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=10000;"
        ),
        "transaction_mode": "IMMEDIATE",
    }
    _db["TEST"] = {"NAME": env_str("CEGAH_TEST_SQLITE_NAME") or None}
    Path(_db["NAME"]).parent.mkdir(parents=True, exist_ok=True)
elif _db["ENGINE"] == "django.db.backends.postgresql":
    _db["CONN_HEALTH_CHECKS"] = True
else:
    raise ImproperlyConfigured("DATABASE_URL must name a SQLite or PostgreSQL database.")
DATABASES = {"default": _db}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Background work (risk runs after imports): Django's task framework (the django-tasks
# backport on Django 5.2) with a database-backed queue, so any number of web and worker
# processes share it. "immediate" runs tasks inline; "dummy" only records them (tests).
TASK_BACKEND = env_choice("CEGAH_TASK_BACKEND", "database", ("database", "immediate", "dummy"))
TASKS = {
    "default": {
        "BACKEND": {
            "database": "django_tasks_db.DatabaseBackend",
            "immediate": "django_tasks.backends.immediate.ImmediateBackend",
            "dummy": "django_tasks.backends.dummy.DummyBackend",
        }[TASK_BACKEND],
        "QUEUES": ["default"],
    }
}
# `cegah serve` also runs one worker thread unless this is off (then run `cegah worker`).
WORKER_THREAD = env_bool("CEGAH_WORKER_THREAD", True)

# Disclosure: may viewers see the case counts of their jurisdiction (else tiers and
# protected counts only)? And is the public summary page (no login) switched on?
VIEWERS_SEE_COUNTS = env_bool("CEGAH_VIEWERS_SEE_COUNTS", True)
PUBLIC_SUMMARY = env_bool("CEGAH_PUBLIC_SUMMARY", False)

# The risk map's basemap: none unless a tile server is named (no internet assumed), e.g.
# CEGAH_MAP_TILE_URL=https://tile.openstreetmap.org/{z}/{x}/{y}.png with its attribution.
MAP_TILE_URL = env_str("CEGAH_MAP_TILE_URL", "")
MAP_TILE_ATTRIBUTION = env_str("CEGAH_MAP_TILE_ATTRIBUTION", "")

AUTH_USER_MODEL = "accounts.User"
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "cegah.accounts.backends.ModelBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Login throttling (django-axes): lock a username+address pair after repeated failures.
AXES_ENABLED = env_bool("CEGAH_LOGIN_THROTTLING", default=True)
AXES_FAILURE_LIMIT = env_int("CEGAH_LOGIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("CEGAH_LOGIN_COOLOFF_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "accounts/locked_out.html"
AXES_VERBOSE = False

# Sessions expire after a working day of inactivity and when the browser closes.
SESSION_COOKIE_AGE = env_int("CEGAH_SESSION_HOURS", 8, minimum=1) * 3600
SESSION_ENGINE = "cegah.accounts.sessions"  # database sessions, read by fixed SQL
SESSION_SAVE_EVERY_REQUEST = False  # SessionTouchMiddleware renews it once a minute
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True

X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
if PRODUCTION:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env_bool("CEGAH_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = env_int("CEGAH_HSTS_SECONDS", 31_536_000, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env_bool("CEGAH_HSTS_PRELOAD", default=True)
    if env_bool("CEGAH_BEHIND_PROXY", default=False):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

LANGUAGE_CODE = "id"
LANGUAGES = [("id", _("Indonesian")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env_str("CEGAH_TIME_ZONE", "Asia/Jakarta")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = not PRODUCTION
if not PRODUCTION:
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)

# Uploads: imports are read in memory up to this size, then refused with a clear message.
CEGAH_MAX_UPLOAD_MB = env_int("CEGAH_MAX_UPLOAD_MB", 100, minimum=1)
DATA_UPLOAD_MAX_MEMORY_SIZE = CEGAH_MAX_UPLOAD_MB * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("CEGAH_LOG_LEVEL", "WARNING").upper()},
}
