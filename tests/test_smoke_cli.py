"""The CLI, run as a user runs it: a separate process on a fresh database."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_cli(*args, env_extra=None, tmp_path=None, input=None):
    env = dict(os.environ)
    env.update(env_extra or {})
    return subprocess.run([sys.executable, "-m", "cegah.cli", *args], capture_output=True,
                          text=True, env=env, cwd=ROOT, input=input, timeout=300)


def test_it_initialises_and_loads_areas_idempotently(cli_env):
    first = run_cli("init", env_extra=cli_env)
    assert first.returncode == 0, first.stderr
    again = run_cli("init", env_extra=cli_env)
    assert again.returncode == 0, again.stderr
    load = run_cli("areas", "load", "--only", "31.74", env_extra=cli_env)
    assert load.returncode == 0, load.stderr
    stats = run_cli("areas", "stats", env_extra=cli_env)
    lines = dict(line.split() for line in stats.stdout.splitlines())
    assert lines["province"] == "38" and lines["regency"] == "514"
    assert int(lines["district"]) == 10  # the districts of South Jakarta
    reload = run_cli("areas", "load", "--only", "31.74", env_extra=cli_env)
    assert " 0 created, 0 updated" in reload.stdout
    show = run_cli("areas", "show", "31.74.01.1001", env_extra=cli_env)
    assert "Tebet Timur" in show.stdout and "31.74 KOTA ADMINISTRASI JAKARTA SELATAN" in show.stdout
    assert "urban: yes" in show.stdout
    missing = run_cli("areas", "show", "99.99", env_extra=cli_env)
    assert missing.returncode == 1 and "no area with code" in missing.stderr
