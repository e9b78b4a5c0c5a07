"""``cegah catalogue ...``: the intervention catalogue from the command line."""

from __future__ import annotations

import sys
from pathlib import Path

EXIT_OK, EXIT_INVALID, EXIT_USAGE = 0, 1, 2


def cmd_catalogue_load(args) -> int:
    from django.core.exceptions import PermissionDenied

    from cegah.catalogue.actions import do_sync_catalogue
    from cegah.catalogue.shipped import SHIPPED_PATH, CatalogueError, read_entries
    from cegah.cli import _actor, actor_name

    path = Path(args.file) if args.file else SHIPPED_PATH
    if not path.is_file():
        print(f"error: {path}: file not found.", file=sys.stderr)
        return EXIT_USAGE
    actor = _actor(args)
    try:
        created, updated, unchanged = do_sync_catalogue(
            actor, read_entries(path), update=args.update, dry_run=args.dry_run)
    except PermissionDenied:
        print(f"error: {actor_name(actor)} may not change the catalogue (system admins only).",
              file=sys.stderr)
        return EXIT_INVALID
    except CatalogueError as exc:
        for err in exc.errors:
            print(f"{path}: {err}", file=sys.stderr)
        print(f"error: {len(exc.errors):,} problem(s) in {path}; nothing was loaded.",
              file=sys.stderr)
        return EXIT_INVALID
    verb = "would be " if args.dry_run else ""
    note = "" if args.update else " (existing entries kept; --update overwrites them)"
    print(f"{path}: {created} {verb}created, {updated} {verb}updated, "
          f"{unchanged} unchanged{note}")
    return EXIT_OK


def cmd_catalogue_export(args) -> int:
    from django.core.exceptions import PermissionDenied

    from cegah.catalogue.actions import export_catalogue
    from cegah.catalogue.shipped import CatalogueError
    from cegah.cli import _actor

    out = Path(args.out)
    if out.suffix.lower() not in (".json", ".csv"):
        print(f"error: --out {out.name}: expected a .json or .csv file, got "
              f"{out.suffix or 'no extension'}.", file=sys.stderr)
        return EXIT_USAGE
    tmp = out.with_name(out.name + ".part" + out.suffix)
    try:
        n = export_catalogue(_actor(args), tmp)
    except (PermissionDenied, CatalogueError) as exc:
        tmp.unlink(missing_ok=True)
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_INVALID
    tmp.replace(out)
    print(f"{out}: {n:,} interventions")
    return EXIT_OK


def add_parsers(sub) -> None:
    """Add the catalogue's commands to the ``cegah`` parser (no Django imports here)."""
    cat = sub.add_parser("catalogue", help="the intervention catalogue")
    csub = cat.add_subparsers(dest="catalogue_command", required=True, metavar="ACTION")
    s = csub.add_parser(
        "load", help="load interventions from a JSON file (default: the shipped catalogue)",
        description="Adds the interventions the database lacks. Existing ones are kept "
                    "as they are (admins' edits survive) unless --update. Nothing is "
                    "ever deleted. A file with any bad entry changes nothing.")
    s.add_argument("file", nargs="?", help="a .json file (a list of interventions)")
    s.add_argument("--update", action="store_true",
                   help="also overwrite existing interventions with the file's fields")
    s.add_argument("--dry-run", action="store_true", help="check and report; change nothing")
    s.add_argument("--user", help="act with this user's rights (default: local operator)")
    s.set_defaults(func=cmd_catalogue_load)
    s = csub.add_parser("export", help="write the catalogue as JSON (loadable) or CSV")
    s.add_argument("--out", required=True, help="output file, .json or .csv")
    s.add_argument("--user", help="act with this user's rights (default: local operator)")
    s.set_defaults(func=cmd_catalogue_export)
