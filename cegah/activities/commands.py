"""``cegah venues ...`` and ``cegah activities ...``: imports and exports."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from pathlib import Path

EXIT_OK, EXIT_INVALID, EXIT_USAGE = 0, 1, 2
_USER_HELP = "act with this user's rights (default: local operator)"


def add_parsers(sub: argparse._SubParsersAction) -> None:
    """Add the commands to the ``cegah`` parser (no Django imports here)."""
    venues = sub.add_parser("venues", help="venues: schools, pesantren, RPTRA, ports, ...")
    vsub = venues.add_subparsers(dest="venues_command", required=True, metavar="ACTION")
    s = vsub.add_parser(
        "import", help="import venues from CSV or XLSX (code, type, name[, latitude, "
                       "longitude])",
        description="Every row is checked; a file with any bad row changes nothing. A venue "
                    "with the same area, type and name is updated, never duplicated.")
    s.add_argument("file", help="a .csv or .xlsx file")
    s.add_argument("--dry-run", action="store_true", help="check and report; change nothing")
    s.add_argument("--user", help=_USER_HELP)
    s.set_defaults(func=cmd_venues_import)
    s = vsub.add_parser("export", help="export venues as CSV or XLSX (by --out extension)")
    s.add_argument("--out", required=True, help="output file, .csv or .xlsx")
    s.add_argument("--area", help="only this area and its sub-areas")
    s.add_argument("--user", help=_USER_HELP)
    s.set_defaults(func=cmd_venues_export)

    acts = sub.add_parser("activities", help="prevention activities: bulk import and export")
    asub = acts.add_subparsers(dest="activities_command", required=True, metavar="ACTION")
    s = asub.add_parser(
        "import", help="import activities from CSV or XLSX (one row per activity)",
        description="Every row is checked; a file with any bad row changes nothing. A row "
                    "whose reference the lead organisation already used updates that "
                    "activity, so re-running a file changes nothing.")
    s.add_argument("file", help="a .csv or .xlsx file")
    s.add_argument("--dry-run", action="store_true", help="check and report; change nothing")
    s.add_argument("--user", help=_USER_HELP)
    s.set_defaults(func=cmd_activities_import)
    s = asub.add_parser("export", help="export activities as CSV or XLSX (the import's "
                                       "columns)")
    s.add_argument("--out", required=True, help="output file, .csv or .xlsx")
    s.add_argument("--area", help="only activities in this area or its sub-areas")
    s.add_argument("--from", dest="start", help="first date YYYY-MM-DD")
    s.add_argument("--to", dest="end", help="last date YYYY-MM-DD")
    s.add_argument("--user", help=_USER_HELP)
    s.set_defaults(func=cmd_activities_export)


def _report(path: Path, result, noun: str, dry_run: bool, started: float) -> int:
    if not result.ok:
        for problem in result.problems:
            print(f"{path}: {problem}", file=sys.stderr)
        if result.problem_count > len(result.problems):
            print(f"{path}: ... and {result.problem_count - len(result.problems):,} more "
                  "problems", file=sys.stderr)
        print(f"error: {result.problem_count:,} problem(s) in {path}; nothing was imported.",
              file=sys.stderr)
        return EXIT_INVALID
    would = "would be " if dry_run else ""
    print(f"{path}: {result.rows_total:,} {noun} valid; {result.created:,} {would}created, "
          f"{result.updated:,} {would}updated, {result.unchanged:,} unchanged "
          f"({time.monotonic() - started:.1f}s)")
    return EXIT_OK


def _import(args, do_import, noun: str) -> int:
    from django.core.exceptions import PermissionDenied

    from cegah.cli import _actor, actor_name

    path = Path(args.file)
    if not path.is_file():
        print(f"error: {path}: file not found.", file=sys.stderr)
        return EXIT_USAGE
    actor = _actor(args)
    started = time.monotonic()
    try:
        result = do_import(actor, path.read_bytes(), path.name, dry_run=args.dry_run)
    except PermissionDenied:
        print(f"error: {actor_name(actor)} may not import {noun}.", file=sys.stderr)
        return EXIT_INVALID
    return _report(path, result, noun, args.dry_run, started)


def cmd_venues_import(args: argparse.Namespace) -> int:
    from cegah.activities.venues import do_import_venues

    return _import(args, do_import_venues, "venues")


def cmd_activities_import(args: argparse.Namespace) -> int:
    from cegah.activities.importing import do_import_activities

    return _import(args, do_import_activities, "activities")


def _export(args, write) -> int:
    from cegah.cli import export_table

    return export_table(args, write, "{who} may not export these (a manager's right).")


def cmd_venues_export(args: argparse.Namespace) -> int:
    from cegah.activities.venues import do_export_venues

    return _export(args, lambda actor, out, fmt: do_export_venues(
        actor, out, fmt, area_code=args.area))


def _day(value: str | None, option: str) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise SystemExit(f"error: {option}: expected a date YYYY-MM-DD, got {value!r}.") \
            from None


def cmd_activities_export(args: argparse.Namespace) -> int:
    from cegah.activities.exports import do_export_activities

    start, end = _day(args.start, "--from"), _day(args.end, "--to")
    return _export(args, lambda actor, out, fmt: do_export_activities(
        actor, out, fmt, area_code=args.area, start=start, end=end))
