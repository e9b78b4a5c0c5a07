"""``cegah gaps``: where high- and moderate-risk areas lack recent prevention."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

EXIT_OK, EXIT_INVALID, EXIT_USAGE = 0, 1, 2
LEVEL_NAMES = ("village", "district", "regency")


def _date(value: str):
    import datetime as dt

    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date YYYY-MM-DD, got {value!r}") from None


def _months(value: str) -> int:
    if not value.isdigit() or not 1 <= int(value) <= 120:
        raise argparse.ArgumentTypeError(f"expected a number of months from 1 to 120, "
                                         f"got {value!r}")
    return int(value)


def add_parsers(sub: argparse._SubParsersAction) -> None:
    """Add the command to the ``cegah`` parser (no Django imports here)."""
    s = sub.add_parser(
        "gaps", help="rank high- and moderate-risk areas with little or no recent prevention")
    s.add_argument("--parent", required=True, help="area code whose sub-areas are ranked")
    s.add_argument("--months", type=_months, default=12,
                   help="the period: months up to --as-of (default 12)")
    s.add_argument("--level", choices=LEVEL_NAMES,
                   help="rank the areas of this level inside --parent (default: its children)")
    s.add_argument("--as-of", type=_date, help="last day of the period, YYYY-MM-DD "
                   "(default: today)")
    s.add_argument("--out", required=True, help="output file, .csv or .xlsx")
    s.add_argument("--user", help="act with this user's rights (default: local operator)")
    s.set_defaults(func=cmd_gaps)


def cmd_gaps(args: argparse.Namespace) -> int:
    from django.core.exceptions import PermissionDenied
    from django.http import Http404

    from cegah import policy
    from cegah.activities.coverage import do_export_gap_list, gap_list
    from cegah.areas.models import Level
    from cegah.cli import _actor
    from cegah.lib.tabular import TableError, format_for

    try:
        fmt = format_for(args.out)
    except TableError as exc:
        print(f"error: --out {exc}", file=sys.stderr)
        return EXIT_USAGE
    actor = _actor(args)
    try:  # the policy answers "missing" for an area the actor may not see
        parent = policy.access_area_by_code(actor, args.parent.strip())
    except Http404:
        print(f"error: --parent: no area with code {args.parent!r}.", file=sys.stderr)
        return EXIT_USAGE
    level = Level.from_name(args.level) if args.level else parent.level + 1
    if level <= parent.level or level > Level.VILLAGE:
        print(f"error: --level: expected a level below {parent.level_key} {parent.code} "
              f"(village, district or regency), got {args.level or 'none'}.", file=sys.stderr)
        return EXIT_USAGE
    gaps = gap_list(actor, parent, level=level, months=args.months, as_of=args.as_of)
    out = Path(args.out)
    tmp = out.with_name(out.name + ".part")
    try:
        n = do_export_gap_list(actor, gaps, tmp, fmt)
    except PermissionDenied:
        tmp.unlink(missing_ok=True)
        print("error: not allowed (the user has no export right).", file=sys.stderr)
        return EXIT_INVALID
    tmp.replace(out)
    p = gaps.period
    print(f"Gaps in {parent.name} ({parent.code}), {Level(level).key} level, "
          f"{p.months} months to {p.end.isoformat()}:")
    if gaps.run is None:
        print("  no risk results yet: run `cegah risk run` after importing data.")
    else:
        print(f"  {gaps.considered:,} high- or moderate-risk areas (risk run {gaps.run.pk}, "
              f"as of {gaps.run.as_of}); {n:,} with at most {gaps.little} "
              f"{'activity' if gaps.little == 1 else 'activities'}.")
    for g in gaps.rows[:10]:
        print(f"  {g.rank:>3}. {g.code:13} {g.name}: {g.why}")
    if n > 10:
        print(f"  ... {n - 10:,} more in {out}")
    print(f"{out}: {n:,} rows")
    return EXIT_OK
