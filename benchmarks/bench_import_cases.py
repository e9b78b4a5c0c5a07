"""Benchmark: import a large SYNTHETIC case-count file with the ``cegah`` CLI.

Generates a synthetic file of N rows (default 1,000,000) in the case-count import format
``code,period,category,count,source``: real village codes from the bundled
idn-area-data villages.csv, months YYYY-MM from 2019-01 up to last month (never in the
future), the four categories, unique natural keys (code, period, category), made-up counts
and ``source`` = "synthetic benchmark data". A "corrected" copy changes the count of about
1% of the rows. None of these numbers are real reports.

For each database (a SQLite file in a temp dir and/or a throw-away PostgreSQL database the
script creates and drops), after ``cegah init`` and ``cegah areas load``, it times these
cold-start ``cegah`` subprocesses and checks what each one reports:

  dry-run            cegah import cases FILE --dry-run   (empty table: would add N)
  import             cegah import cases FILE             (N new rows)
  re-import          cegah import cases FILE             (all N unchanged)
  dry-run corrected  cegah import cases FIXED --dry-run  (against the N stored rows)
  import corrected   cegah import cases FIXED            (~1% replaced, rest unchanged)

    .venv/bin/python benchmarks/bench_import_cases.py [--rows N]
        [--databases sqlite,postgres] [--pg-url URL] [--keep-files DIR]
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import random
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

from _common import (
    DEFAULT_PG_URL,
    PYTHON,
    ROOT,
    FreshDatabase,
    cegah,
    machine_line,
    parse_databases,
    postgres_version,
    run,
    table,
)

VILLAGES = ROOT / "cegah" / "areas" / "data" / "idn-area-data" / "villages.csv"
CATEGORIES = ("sexual_abuse", "sexual_exploitation", "online_sexual_exploitation", "trafficking")
SOURCE = "synthetic benchmark data"
FIRST_MONTH = (2019, 1)
SUMMARY = re.compile(
    r"([\d,]+) rows valid; (?:would add|added) ([\d,]+) new, (?:would replace|replaced) "
    r"([\d,]+), ([\d,]+) unchanged"
)


def _months() -> list[str]:
    """Every month from FIRST_MONTH to last month (so never in the future in any zone)."""
    today = dt.date.today()
    last = (today.year, today.month - 1) if today.month > 1 else (today.year - 1, 12)
    out = []
    y, m = FIRST_MONTH
    while (y, m) <= last:
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y, m + 1) if m < 12 else (y + 1, 1)
    return out


def generate(rows: int, path: Path, fixed_path: Path, seed: int = 20241) -> int:
    """Write the synthetic file and its corrected copy; return how many counts differ."""
    with VILLAGES.open(newline="", encoding="utf-8-sig") as fh:
        codes = [r["code"] for r in csv.DictReader(fh)]
    months = _months()
    per_code = len(months) * len(CATEGORIES)
    space = len(codes) * per_code
    if rows > space:
        raise SystemExit(f"--rows: at most {space:,} unique keys are available")
    rng = random.Random(seed)
    keys = sorted(rng.sample(range(space), rows))  # sorted: code, then month, then category
    changed = 0
    with path.open("w", newline="") as f1, fixed_path.open("w", newline="") as f2:
        w1, w2 = csv.writer(f1), csv.writer(f2)
        header = ["code", "period", "category", "count", "source"]
        w1.writerow(header)
        w2.writerow(header)
        for idx in keys:
            code_i, rest = divmod(idx, per_code)
            month_i, cat_i = divmod(rest, len(CATEGORIES))
            count = min(int(rng.expovariate(0.25)), 500)
            row = [codes[code_i], months[month_i], CATEGORIES[cat_i], count, SOURCE]
            w1.writerow(row)
            if rng.random() < 0.01:
                row[3] = count + 1 + rng.randrange(5)
                changed += 1
            w2.writerow(row)
    return changed


def _summary(out: str) -> tuple[int, int, int, int]:
    m = SUMMARY.search(out)
    if not m:
        raise SystemExit(f"could not read the import summary from: {out!r}")
    return tuple(int(g.replace(",", "")) for g in m.groups())  # type: ignore[return-value]


def bench(kind: str, pg_url: str, path: Path, fixed: Path, rows: int, changed: int):
    steps = [
        ("dry-run", path, True, (rows, rows, 0, 0)),
        ("import", path, False, (rows, rows, 0, 0)),
        ("re-import (unchanged)", path, False, (rows, 0, 0, rows)),
        ("dry-run corrected", fixed, True, (rows, 0, changed, rows - changed)),
        ("import corrected (~1%)", fixed, False, (rows, 0, changed, rows - changed)),
    ]
    results = []
    with FreshDatabase(kind, pg_url, label="import") as db:
        env = db.env
        setup = time.perf_counter()
        cegah("init", "-v", "0", env=env).check("cegah init")
        cegah("areas", "load", env=env).check("cegah areas load")
        print(f"    {kind}: database ready with areas in {time.perf_counter() - setup:.1f}s",
              file=sys.stderr, flush=True)
        for name, file, dry, expected in steps:
            args = ["import", "cases", str(file)] + (["--dry-run"] if dry else [])
            r = cegah(*args, env=env).check(f"cegah {' '.join(args)}")
            got = _summary(r.stdout)
            if got != expected:
                raise SystemExit(f"{kind} {name}: expected (rows, new, replaced, unchanged) = "
                                 f"{expected}, got {got}")
            print(f"    {kind}: {name}: {r.seconds:.1f}s, peak RSS {r.max_rss_mb:.0f} MB",
                  file=sys.stderr, flush=True)
            results.append((name, r.seconds, rows / r.seconds, r.cpu_seconds, r.max_rss_mb))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000,
                        help="rows in the synthetic file (default %(default)s)")
    parser.add_argument("--databases", default="sqlite,postgres",
                        help="comma-separated: sqlite, postgres (default: both)")
    parser.add_argument("--pg-url", default=DEFAULT_PG_URL,
                        help="PostgreSQL server URL used to create/drop the throw-away database "
                             "(env CEGAH_BENCH_PG_URL; default %(default)s)")
    parser.add_argument("--keep-files", type=Path, metavar="DIR",
                        help="write the synthetic CSV files here and keep them")
    parser.add_argument("--generate-only", nargs=2, type=Path, metavar=("FILE", "FIXED"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.generate_only:
        print(generate(args.rows, *args.generate_only))
        return
    if args.rows < 1:
        parser.error("--rows must be at least 1")
    kinds = parse_databases(args.databases)

    workdir = args.keep_files or Path(tempfile.mkdtemp(prefix="cegah-bench-cases-"))
    workdir.mkdir(parents=True, exist_ok=True)
    path = workdir / f"synthetic_cases_{args.rows}.csv"
    fixed = workdir / f"synthetic_cases_{args.rows}_corrected.csv"
    try:
        start = time.perf_counter()
        # Generate in a child process: Linux counts a parent's peak RSS at fork() in the
        # child's ru_maxrss, so this process must stay small for the RSS figures to hold.
        gen = run([str(PYTHON), __file__, "--rows", str(args.rows), "--generate-only",
                   str(path), str(fixed)], {}).check("generating the synthetic files")
        changed = int(gen.stdout.strip())
        print(f"SYNTHETIC case-count import benchmark: {args.rows:,} rows "
              f"({path.stat().st_size / 1e6:.1f} MB CSV, generated in "
              f"{time.perf_counter() - start:.1f}s); corrected file changes {changed:,} counts")
        print(f"Machine: {machine_line()}")
        if "postgres" in kinds:
            print(f"PostgreSQL server: {postgres_version(args.pg_url)}")
        table_rows = []
        for kind in kinds:
            print(f"... {kind}", file=sys.stderr, flush=True)
            label = "SQLite" if kind == "sqlite" else "PostgreSQL"
            for name, seconds, rate, cpu, rss in bench(kind, args.pg_url, path, fixed, args.rows,
                                                       changed):
                table_rows.append([label, name, f"{seconds:.1f}", f"{rate:,.0f}", f"{cpu:.1f}",
                                   f"{rss:,.0f}"])
        print()
        print("Each step is one cold-start `cegah import cases` subprocess: wall-clock seconds "
              "including start-up, rows/s from those, the CLI's own CPU seconds (user+sys, not "
              "the PostgreSQL server's) and its peak RSS.")
        print(table(["database", "step", "seconds", "rows/s", "CLI CPU s", "peak RSS MB"],
                    table_rows, left=2))
    finally:
        if not args.keep_files:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
