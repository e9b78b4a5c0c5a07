"""The demo: reproducible synthetic data, the 17 case-study institutions, one user per role."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections import Counter

from cegah.demo.activities import KINDS, POLICE, Village, match_interventions, plan
from cegah.demo.generator import SOURCE, generate
from cegah.demo.organisations import DEMO_ORGANISATIONS
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


def test_cegah_demo_loads_everything_and_is_idempotent(cli_env, tmp_path):  # noqa: F811
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
    assert again.stdout.count("already loaded") == 4  # three files and the activities

    # A year of synthetic activities across the organisations, mostly in towns.
    check = run_cli("manage", "shell", "--no-imports", "-c", (
        "import datetime as dt;"
        "from cegah.activities.models import Activity;"
        "done = Activity.objects.filter(status='done');"
        "days = (dt.date.today() - done.order_by('starts_on').first().starts_on).days;"
        "print(done.count(), Activity.objects.filter(is_synthetic=False).count(),"
        " done.values('lead_organisation').distinct().count(), days,"
        " Activity.objects.filter(status='planned').count() > 20,"
        " done.filter(intervention__isnull=False).count() == done.count())"
    ), env_extra=cli_env)
    done, real, leads, days, planned, with_interventions = check.stdout.split()
    assert 700 < int(done) < 2000 and real == "0" and int(leads) >= 12, check.stdout
    assert 330 <= int(days) <= 365 and planned == "True" and with_interventions == "True"
    gaps = run_cli("gaps", "--parent", "35.17", "--level", "village", "--out",
                   str(tmp_path / "gaps.csv"), env_extra=cli_env)
    assert gaps.returncode == 0, gaps.stderr
    top = gaps.stdout.splitlines()[2:12]
    assert len(top) == 10 and all("risk" in line for line in top), gaps.stdout
    assert top[0].split()[1].startswith("35.17.") and "high risk" in top[0]
    assert sum("rural" in line for line in top) >= 8  # the case study: rural desa left out
    # The demo's activities pass the registry's own checks: an export imports unchanged.
    export = run_cli("activities", "export", "--area", "35.17", "--out",
                     str(tmp_path / "acts.csv"), env_extra=cli_env)
    assert export.returncode == 0, export.stderr
    again = run_cli("activities", "import", str(tmp_path / "acts.csv"), "--dry-run",
                    env_extra=cli_env)
    assert again.returncode == 0 and " 0 would be created, 0 would be updated" in again.stdout, (
        again.stderr[-2000:])


def _villages() -> list[Village]:
    """A small made-up region: a town district (kelurahan) and rural desa, some poor."""
    out = []
    for d in range(1, 6):
        for v in range(1, 11):
            urban = d == 1
            code = f"35.17.{d:02d}.{1 if urban else 2}{v:03d}"
            out.append(Village(code, f"Desa {d}-{v}", urban, poverty=0.05 if urban else 0.25,
                               port=v == 3, pesantren=v % 4))
    return out


def test_the_demo_activities_fill_a_year_and_follow_the_case_study():
    anchor = dt.date(2026, 11, 29)
    slugs = [o.slug for o in DEMO_ORGANISATIONS]
    names = {"35": "JAWA TIMUR", "35.17": "KABUPATEN JOMBANG"}
    a = plan(_villages(), names, slugs, seed=3, anchor=anchor)
    assert a == plan(_villages(), names, slugs, seed=3, anchor=anchor)  # reproducible
    assert a != plan(_villages(), names, slugs, seed=4, anchor=anchor)
    done = [x for x in a if x.status == "done"]
    planned = [x for x in a if x.status == "planned"]
    assert len(done) > 150 and len(planned) > 5
    assert min(x.starts_on for x in done) >= anchor - dt.timedelta(days=365)
    assert max(x.starts_on for x in done) <= anchor
    assert {x.starts_on.month for x in done} == set(range(1, 13))  # the whole year
    assert all(anchor < x.starts_on <= anchor + dt.timedelta(days=60) for x in planned)
    assert len({x.lead for x in a}) >= 5 and len({x.external_id for x in a}) == len(a)
    # Police rarely lead; they join others' activities as partners.
    led = sum(x.lead in POLICE for x in done)
    joined = sum(any(p in POLICE for p in x.partners) for x in done)
    assert led < joined and any(len(x.partners) >= 2 for x in done)
    # Most village activities happen in the town; poor rural desa get few.
    towns = Counter(x.areas[0].split(".")[3][0] == "1" for x in done if x.areas[0].count(".") == 3)
    assert towns[True] > 2 * towns[False]
    for x in done:
        assert sum(x.reach.values()) > 0 and x.audience and x.title
        assert all(k in {"girls_under_12", "boys_under_12", "girls_12_17", "boys_12_17",
                         "women_18_plus", "men_18_plus", "reached_unknown"} for k in x.reach)
    assert all(not x.reach for x in planned)


def test_the_demo_activities_record_catalogue_interventions():
    chosen = match_interventions(["school-sessions-mpls", "bhabinkamtibmas-village-education",
                                  "transit-monitoring", "parenting-support"])
    assert chosen["school_session"] == "school-sessions-mpls"
    assert chosen["transit"] == "transit-monitoring"
    assert chosen["dasa_wisma"] is None  # not in this catalogue: recorded without one
    assert set(chosen) == set(KINDS)
