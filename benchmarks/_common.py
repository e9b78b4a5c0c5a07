"""Shared helpers for the benchmarks: fresh throw-away databases and timed CLI runs.

Every step runs ``.venv/bin/cegah`` as a subprocess with ``DATABASE_URL`` and
``CEGAH_VAR_DIR`` set, so the figures include Python and Django start-up (cold start).
"""

from __future__ import annotations

import os
import platform
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
CEGAH = ROOT / ".venv" / "bin" / "cegah"
PYTHON = ROOT / ".venv" / "bin" / "python"
DEFAULT_PG_URL = os.environ.get("CEGAH_BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432/postgres")
DATABASES = ("sqlite", "postgres")


@dataclass
class Run:
    seconds: float
    returncode: int
    stdout: str
    stderr: str
    max_rss_mb: float  # peak resident set size of that one child process
    cpu_seconds: float  # user + system CPU time of that child (not the database server's)

    def check(self, what: str) -> Run:
        if self.returncode != 0:
            sys.stderr.write(f"\n{what} failed (exit {self.returncode}):\n{self.stdout}\n"
                             f"{self.stderr}\n")
            raise SystemExit(1)
        return self


def run(args: list[str], env: dict[str, str], cwd: Path | None = None) -> Run:
    """Run a command, timing it (wall clock) and reading its CPU time and peak RSS via wait4().

    Linux counts the parent's peak RSS at fork() in the child's ru_maxrss, so the calling
    process must stay small (well under the child's own size) for the figure to hold.
    """
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(args, env=env, stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                                cwd=cwd or ROOT)
        _pid, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        # ru_maxrss is in KiB on Linux, bytes on macOS.
        rss = usage.ru_maxrss / (1024 * 1024 if sys.platform == "darwin" else 1024)
        cpu = usage.ru_utime + usage.ru_stime
        return Run(seconds, proc.returncode, out.read(), err.read(), rss, cpu)


def cegah(*args: str, env: dict[str, str]) -> Run:
    return run([str(CEGAH), *args], env)


class FreshDatabase:
    """A brand-new empty database (SQLite file in a temp dir, or a new PostgreSQL database).

    Used as a context manager; the database and its temp dir are removed on exit.
    """

    def __init__(self, kind: str, pg_url: str = DEFAULT_PG_URL, label: str = "bench") -> None:
        if kind not in DATABASES:
            raise ValueError(f"database: expected one of {', '.join(DATABASES)}, got {kind!r}")
        self.kind = kind
        self.pg_url = pg_url
        self.label = label
        self.tmp = Path(tempfile.mkdtemp(prefix=f"cegah-{label}-{kind}-"))
        self.pg_name: str | None = None
        self.url = ""

    def __enter__(self) -> FreshDatabase:
        if self.kind == "sqlite":
            self.url = f"sqlite:///{self.tmp / 'cegah.sqlite3'}"
        else:
            self.pg_name = f"cegah_{self.label}_{os.getpid()}_{secrets.token_hex(4)}"
            self._pg_admin(f'CREATE DATABASE "{self.pg_name}"')
            parts = urlsplit(self.pg_url)
            self.url = urlunsplit(parts._replace(path="/" + self.pg_name))
        return self

    def __exit__(self, *exc) -> None:
        try:
            if self.pg_name:
                self._pg_admin(f'DROP DATABASE IF EXISTS "{self.pg_name}" WITH (FORCE)')
        finally:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def _pg_admin(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(self.pg_url, autocommit=True) as conn:
            conn.execute(sql)

    @property
    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("CEGAH_")}
        env.update(DATABASE_URL=self.url, CEGAH_VAR_DIR=str(self.tmp), CEGAH_ENV="development",
                   PYTHONDONTWRITEBYTECODE="1")
        return env

    @property
    def description(self) -> str:
        if self.kind == "sqlite":
            return "SQLite (WAL, temp file)"
        parts = urlsplit(self.url)
        return f"PostgreSQL {parts.hostname}:{parts.port or 5432}"


def parse_databases(value: str) -> list[str]:
    kinds = [v.strip().lower() for v in value.split(",") if v.strip()]
    kinds = ["postgres" if k in ("pg", "postgresql") else k for k in kinds]
    bad = [k for k in kinds if k not in DATABASES]
    if bad or not kinds:
        raise SystemExit(f"--databases: expected a comma-separated list of {', '.join(DATABASES)}")
    return kinds


def machine_line() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f", {kb / 1024 / 1024:.0f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    return (f"{time.strftime('%Y-%m-%d')}, {os.cpu_count()} CPU(s) {cpu}{mem}, "
            f"Python {platform.python_version()}, {platform.system()} {platform.release()}")


def postgres_version(pg_url: str) -> str:
    try:
        import psycopg

        with psycopg.connect(pg_url, autocommit=True) as conn:
            return conn.execute("SHOW server_version").fetchone()[0].split()[0]
    except Exception as exc:  # noqa: BLE001 - only for the header line
        return f"unavailable ({exc.__class__.__name__})"


def table(headers: list[str], rows: list[list[str]], left: int = 1) -> str:
    """A plain-text table; the first ``left`` columns are left-aligned, the rest right."""
    widths = [max(len(str(x)) for x in col) for col in zip(headers, *rows, strict=True)]
    right = [i >= left for i in range(len(headers))]

    def fmt(cells):
        return "  ".join(
            str(c).rjust(w) if r else str(c).ljust(w)
            for c, w, r in zip(cells, widths, right, strict=True)
        )

    lines = [fmt(headers), "  ".join("-" * w for w in widths)]
    lines += [fmt(r) for r in rows]
    return "\n".join(lines)
