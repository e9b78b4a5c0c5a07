"""Benchmark: load the whole bundled area hierarchy into a fresh database.

For each database (a SQLite file in a temp dir, and/or a throw-away PostgreSQL database
that this script creates and drops) it times, as cold-start subprocesses of
``.venv/bin/cegah``:

  init        ``cegah init`` (migrations on an empty database)
  load        ``cegah areas load`` (38 provinces, 514 regencies, 7,277 districts,
              83,763 villages; all new)
  re-load     ``cegah areas load`` again (idempotent: everything unchanged)

and, in a second fresh database, the in-process time of ``do_load_areas()`` (first load
and re-load) without interpreter and Django start-up.

    .venv/bin/python benchmarks/bench_areas_load.py [--databases sqlite,postgres]
        [--pg-url postgres://postgres@127.0.0.1:5432/postgres]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

from _common import (
    DEFAULT_PG_URL,
    PYTHON,
    FreshDatabase,
    cegah,
    machine_line,
    parse_databases,
    postgres_version,
    run,
    table,
)

EXPECTED = {"province": 38, "regency": 514, "district": 7277, "village": 83763}
TOTAL = sum(EXPECTED.values())


def in_process() -> None:
    """Child mode: time do_load_areas() twice in this process and print JSON."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cegah.settings")
    import django

    django.setup()
    from cegah.areas.actions import do_load_areas

    out = {}
    for step in ("load", "reload"):
        start = time.perf_counter()
        result = do_load_areas(actor_label="bench")
        out[step] = time.perf_counter() - start
        out[step + "_result"] = [result.created, result.updated, result.unchanged]
    print(json.dumps(out))


def check_stats(env) -> None:
    stats = cegah("areas", "stats", env=env).check("cegah areas stats")
    got = {line.split()[0]: int(line.split()[1]) for line in stats.stdout.splitlines()}
    if got != EXPECTED:
        raise SystemExit(f"unexpected area counts after loading: {got}")


def bench(kind: str, pg_url: str) -> dict[str, float]:
    res: dict[str, float] = {}
    with FreshDatabase(kind, pg_url, label="areas") as db:
        env = db.env
        res["init"] = cegah("init", "-v", "0", env=env).check("cegah init").seconds
        first = cegah("areas", "load", env=env).check("cegah areas load")
        if f"{TOTAL:,} created" not in first.stdout:
            raise SystemExit(f"first load did not create every area: {first.stdout}")
        res["load"] = first.seconds
        res["load_rss"] = first.max_rss_mb
        again = cegah("areas", "load", env=env).check("cegah areas load (again)")
        if f"{TOTAL:,} unchanged" not in again.stdout:
            raise SystemExit(f"re-load was not idempotent: {again.stdout}")
        res["reload"] = again.seconds
        check_stats(env)
    with FreshDatabase(kind, pg_url, label="areasip") as db:
        env = db.env
        cegah("init", "-v", "0", env=env).check("cegah init")
        child = run([str(PYTHON), __file__, "--in-process"], env).check("in-process load")
        data = json.loads(child.stdout.strip().splitlines()[-1])
        if data["load_result"] != [TOTAL, 0, 0] or data["reload_result"] != [0, 0, TOTAL]:
            raise SystemExit(f"unexpected in-process results: {data}")
        res["ip_load"] = data["load"]
        res["ip_reload"] = data["reload"]
    return res


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--databases", default="sqlite,postgres",
                        help="comma-separated: sqlite, postgres (default: both)")
    parser.add_argument("--pg-url", default=DEFAULT_PG_URL,
                        help="PostgreSQL server URL used to create/drop the throw-away database "
                             "(env CEGAH_BENCH_PG_URL; default %(default)s)")
    parser.add_argument("--in-process", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.in_process:
        in_process()
        return
    kinds = parse_databases(args.databases)
    print(f"Area hierarchy load benchmark ({TOTAL:,} areas: 38/514/7,277/83,763)")
    print(f"Machine: {machine_line()}")
    if "postgres" in kinds:
        print(f"PostgreSQL server: {postgres_version(args.pg_url)}")
    rows = []
    for kind in kinds:
        print(f"... {kind}", file=sys.stderr, flush=True)
        r = bench(kind, args.pg_url)
        rows.append([
            "SQLite" if kind == "sqlite" else "PostgreSQL",
            f"{r['init']:.1f}", f"{r['load']:.1f}", f"{r['reload']:.1f}",
            f"{r['ip_load']:.1f}", f"{r['ip_reload']:.1f}", f"{r['load_rss']:.0f}",
        ])
    print()
    print("seconds, wall clock; CLI = cold-start `cegah` subprocess; in-process = do_load_areas()")
    print(table(["database", "init (CLI)", "load (CLI)", "re-load (CLI)", "load (in-process)",
                 "re-load (in-process)", "load peak RSS MB"], rows))


if __name__ == "__main__":
    main()
