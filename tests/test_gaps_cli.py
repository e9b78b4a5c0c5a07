"""``cegah gaps``: the gap list through the real command line (a private SQLite database)."""

from __future__ import annotations

import csv

import pytest
from openpyxl import load_workbook

from tests.test_smoke_cli import run_cli

SETUP = """
import datetime as dt
from django.utils import timezone
from cegah.accounts.actions import do_save_organisation, do_save_user
from cegah.activities.models import Activity
from cegah.areas.models import Area
from cegah.policy import LocalOperator
from cegah.riskmap.models import AreaRisk, RiskRun
op = LocalOperator(label="cli:test")
org, _ = do_save_organisation(actor=op, name="Unit PPA Polres Jakarta Selatan", type="police",
                              jurisdiction=["31.74"])
do_save_user(actor=op, username="alice", organisation=org, role="manager", password_hash="!")
do_save_user(actor=op, username="bob", organisation=org, role="viewer", password_hash="!")
run = RiskRun.objects.create(status="done", trigger="test", finished_at=timezone.now(),
                             as_of="2026-10")
drivers = {"en": ["a port in the area"], "id": ["ada pelabuhan"], "kinds": ["factor:port"]}
tiers = {"31.74.01": ("high", 2.0), "31.74.02": ("moderate", 1.3), "31.74.04": ("high", 1.9),
         "31.74.07": ("high", 1.5), "31.74.03": ("low", 0.9)}
for code in ["31.74.%02d" % d for d in range(1, 11)]:
    tier, score = tiers.get(code, ("low", 0.8))
    area = Area.objects.get(code=code)
    AreaRisk.objects.create(run=run, area=area, level=3, parent_code="31.74", cases=9,
                            cases_by_category={"sexual_abuse": 9}, tier=tier, score=score,
                            drivers=drivers, flags={"en": [], "id": []})
a = Activity.objects.create(title="MPLS", lead_organisation=org, starts_on=dt.date(2026, 8, 1),
                            audience="adolescents", girls_12_17=25, boys_12_17=15,
                            officer_hours=3)
a.areas.set(["31.74.01.1001"])
"""


@pytest.fixture
def gaps_env(cli_env):
    for args in (("init",), ("areas", "load", "--only", "31.74"),
                 ("manage", "shell", "--no-imports", "-c", SETUP)):
        out = run_cli(*args, env_extra=cli_env)
        assert out.returncode == 0, out.stderr
    return cli_env


def test_it_writes_the_gap_list_and_prints_the_top_ten(gaps_env, tmp_path):
    path = tmp_path / "gaps.csv"
    out = run_cli("gaps", "--parent", "31.74", "--as-of", "2026-10-31", "--out", str(path),
                  env_extra=gaps_env)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert "JAKARTA SELATAN (31.74), district level, 12 months to 2026-10-31" in lines[0]
    assert "4 high- or moderate-risk areas" in lines[1] and "4 with at most 4" in lines[1]
    assert lines[2].split()[:2] == ["1.", "31.74.04"]  # high, none, highest score
    assert "high risk, no prevention in 12 months; drivers: a port in the area" in lines[2]
    assert lines[3].split()[1] == "31.74.07"
    assert "high risk, 1 activity reaching 40 people" in lines[4]  # Tebet
    assert lines[5].split()[1] == "31.74.02"
    with open(path, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["code"] for r in rows] == ["31.74.04", "31.74.07", "31.74.01", "31.74.02"]
    tebet = rows[2]
    assert (tebet["activities"], tebet["reached"], tebet["officer_hours"]) == ("1", "40", "3.0")
    assert tebet["score"] == "2.0" and tebet["rural"] == "no" and tebet["tier"] == "high"
    assert tebet["reached_per_1000_children"] == ""  # no child population imported


def test_it_writes_xlsx_and_acts_with_a_users_rights(gaps_env, tmp_path):
    path = tmp_path / "gaps.xlsx"
    out = run_cli("gaps", "--parent", "31.74", "--as-of", "2026-10-31", "--months", "3",
                  "--out", str(path), "--user", "alice", env_extra=gaps_env)
    assert out.returncode == 0, out.stderr
    rows = list(load_workbook(path).worksheets[0].iter_rows(values_only=True))
    assert rows[0][:3] == ("rank", "code", "name")
    # Three months back from October: Tebet's August activity still counts.
    assert [r[1] for r in rows[1:]] == ["31.74.04", "31.74.07", "31.74.01", "31.74.02"]
    denied = run_cli("gaps", "--parent", "31.74", "--out", str(tmp_path / "b.csv"),
                     "--user", "bob", env_extra=gaps_env)
    assert denied.returncode == 1 and "not allowed" in denied.stderr
    assert not (tmp_path / "b.csv").exists() and not (tmp_path / "b.csv.part").exists()
    audit = run_cli("manage", "shell", "--no-imports", "-c",
                    "from cegah.audit.models import AuditEvent as E;"
                    "print(E.objects.filter(object_type='gap_list', action='export').count())",
                    env_extra=gaps_env)
    assert audit.stdout.split() == ["1"], audit.stderr


BAD = [
    (("--parent", "99.99"), "--parent: no area with code '99.99'"),
    (("--parent", "31.74", "--level", "regency"), "--level: expected a level below"),
    (("--parent", "31.74", "--as-of", "2026-13-01"), "expected a date YYYY-MM-DD"),
    (("--parent", "31.74", "--months", "0"), "expected a number of months"),
    (("--parent", "31.74", "--user", "nobody"), "no active user named 'nobody'"),
]


def test_it_rejects_bad_arguments(gaps_env, tmp_path):
    for args, message in BAD:
        out = run_cli("gaps", *args, "--out", str(tmp_path / "g.csv"), env_extra=gaps_env)
        assert out.returncode != 0 and message in out.stderr, (args, out.stderr)
    out = run_cli("gaps", "--parent", "31.74", "--out", str(tmp_path / "g.txt"),
                  env_extra=gaps_env)
    assert out.returncode == 2 and "expected a .csv or .xlsx file" in out.stderr
    assert not (tmp_path / "g.csv").exists()


def test_it_says_when_there_is_nothing_to_rank(gaps_env, tmp_path):
    out = run_cli("gaps", "--parent", "31.74", "--level", "village", "--out",
                  str(tmp_path / "v.csv"), env_extra=gaps_env)
    assert out.returncode == 0, out.stderr
    assert "0 high- or moderate-risk areas" in out.stdout and "v.csv: 0 rows" in out.stdout
