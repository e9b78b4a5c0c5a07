"""The demo: reproducible synthetic data, the 17 case-study institutions, one user per role."""

from __future__ import annotations

import csv
import io

from cegah.demo.generator import SOURCE, generate
from tests.test_smoke_cli import run_cli

VILLAGES = [f"31.74.0{d}.100{v}" for d in range(1, 4) for v in range(1, 6)] + [
    f"35.17.0{d}.200{v}" for d in range(1, 4) for v in range(1, 6)]


def test_the_generator_is_reproducible_and_labelled_synthetic():
    a = generate(VILLAGES, seed=7)
    b = generate(VILLAGES, seed=7)
    c = generate(VILLAGES, seed=8)
    assert a == b
    assert a.cases != c.cases
    for data in (a.cases, a.population, a.factors):
        rows = list(csv.DictReader(io.StringIO(data.decode())))
        assert rows and all(r["source"] == SOURCE for r in rows)
        assert "SYNTHETIC" in SOURCE


def test_the_generated_rates_are_plausible():
    files = generate(VILLAGES * 1, seed=1)
    cases = list(csv.DictReader(io.StringIO(files.cases.decode())))
    pop = list(csv.DictReader(io.StringIO(files.population.decode())))
    children = sum(int(r["children"]) for r in pop) / 5  # per year, over five years
    per_year = sum(int(r["count"]) for r in cases) / 5
    rate = per_year / children * 1e5
    # Reported child sexual violence in Indonesia: roughly 10-60 per 100,000 children a year.
    assert 5 < rate < 120, rate
    assert {r["category"] for r in cases} <= {
        "sexual_abuse", "sexual_exploitation", "online_sexual_exploitation", "trafficking"}
    assert all(int(r["count"]) > 0 for r in cases)  # only non-zero months are written


def test_cegah_demo_loads_everything_and_is_idempotent(cli_env):  # noqa: F811
    first = run_cli("demo", "--no-serve", env_extra=cli_env)
    assert first.returncode == 0, first.stderr
    assert "cegah-demo-2024" in first.stdout and "polres-jaksel.manager" in first.stdout
    stats = run_cli("areas", "stats", env_extra=cli_env).stdout.split()
    assert stats == ["province", "38", "regency", "514", "district", "7277",
                     "village", "83763"]
    check = run_cli("manage", "shell", "--no-imports", "-c", (
        "from cegah.accounts.models import Organisation, User;"
        "from cegah.cases.models import CaseCount, Population, FactorValue;"
        "print(Organisation.objects.filter(is_demo=True).count(),"
        " User.objects.filter(is_demo=True).count(),"
        " CaseCount.objects.filter(is_synthetic=False).count(),"
        " CaseCount.objects.values('area_id').distinct().count() > 5000,"
        " Population.objects.filter(area__code__startswith='11.').exists(),"
        " Population.objects.filter(area__code__startswith='71.').exists())"
    ), env_extra=cli_env)
    assert check.stdout.split() == ["17", "69", "0", "True", "True", "True"], check.stderr
    again = run_cli("demo", "--no-serve", env_extra=cli_env)
    assert again.returncode == 0, again.stderr
    assert again.stdout.count("already loaded") == 3
