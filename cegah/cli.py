"""The ``cegah`` command: set-up, areas, imports, exports, demo and the web server.

``DATABASE_URL`` selects the database (SQLite under var/ by default). Commands that touch
protected data go through the policy module: without ``--user`` they act as the local
operator (who has shell access to the database anyway) and are audited as ``cli:<login>``;
with ``--user NAME`` they get exactly that user's rights.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
import time
from pathlib import Path

EXIT_OK, EXIT_INVALID, EXIT_USAGE = 0, 1, 2
_PLURAL = {"province": "provinces", "regency": "regencies", "district": "districts",
           "village": "villages"}


def _setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cegah.settings")
    import django

    django.setup()


class Progress:
    """A one-line progress display on stderr for long work (only on a terminal)."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.tty = sys.stderr.isatty()
        self.start = time.monotonic()
        self.last = 0.0

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if not self.tty or (now - self.last < 0.2 and done < total):
            return
        self.last = now
        pct = 100 * done / total if total else 100
        sys.stderr.write(f"\r{self.label}: {done:,}/{total:,} ({pct:.0f}%) "
                         f"{now - self.start:.1f}s")
        if done >= total:
            sys.stderr.write("\n")
        sys.stderr.flush()


def actor_name(actor) -> str:
    """How messages name who acted: the local operator's label or the username."""
    return getattr(actor, "label", None) or actor.get_username()


def _actor(args):
    from cegah import policy

    if getattr(args, "user", None):
        from cegah.accounts.models import User

        user = User.objects.select_related("organisation").filter(username=args.user).first()
        if user is None or not user.is_active:
            raise SystemExit(f"--user: no active user named {args.user!r}.")
        return user
    return policy.LocalOperator(label=f"cli:{getpass.getuser()}")


def cmd_init(args) -> int:
    from django.conf import settings
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=args.verbosity)
    if settings.PRODUCTION:
        call_command("collectstatic", interactive=False, verbosity=0)
    print(f"Database ready: {_db_label()}")
    return EXIT_OK


def _db_label() -> str:
    from django.db import connection

    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"SQLite {s['NAME']}"
    return f"PostgreSQL {s.get('HOST') or 'localhost'}:{s.get('PORT') or 5432}/{s['NAME']}"


def cmd_areas_load(args) -> int:
    from cegah.areas.actions import AreaDataError, do_load_areas

    start = time.monotonic()
    try:
        only = tuple(c.strip() for c in args.only.split(",") if c.strip()) if args.only else None
        result = do_load_areas(args.data_dir, only=only, actor_label=f"cli:{getpass.getuser()}",
                               progress=Progress("areas"))
    except AreaDataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_INVALID
    print(f"areas: {result.created:,} created, {result.updated:,} updated, "
          f"{result.unchanged:,} unchanged ({time.monotonic() - start:.1f}s)")
    return EXIT_OK


def cmd_areas_stats(args) -> int:
    from cegah.areas.actions import level_counts

    for level, count in level_counts().items():
        print(f"{level} {count}")
    return EXIT_OK


def cmd_areas_show(args) -> int:
    from django.db.models import Count

    from cegah.areas.models import Area, Level

    area = Area.objects.filter(code=args.code).first()
    if area is None:
        print(f"error: no area with code {args.code!r}.", file=sys.stderr)
        return EXIT_INVALID
    print(f"{area.code} {area.name}")
    print(f"  level: {area.level_key} ({area.get_kind_display()})")
    if area.is_urban is not None:
        print(f"  urban: {'yes (kelurahan)' if area.is_urban else 'no (desa)'}")
    for parent in area.ancestors():
        print(f"  in {parent.level_key}: {parent.code} {parent.name}")
    below = (Area.objects.filter(code__startswith=area.code + ".")
             .values("level").annotate(n=Count("code")).order_by("level"))
    for row in below:
        print(f"  {_PLURAL[Level(row['level']).key]}: {row['n']:,}")
    return EXIT_OK


def cmd_areas_boundaries(args) -> int:
    from django.core.exceptions import PermissionDenied

    from cegah import policy
    from cegah.areas.actions import do_import_boundaries
    from cegah.areas.boundaries import check_boundaries, describe_counts

    path = Path(args.file)
    if not path.is_file():
        print(f"error: {path}: file not found.", file=sys.stderr)
        return EXIT_USAGE
    actor = _actor(args)
    if not policy.can_import_boundaries(actor):
        print(f"error: {args.user} may not import boundaries (system admins only).",
              file=sys.stderr)
        return EXIT_INVALID
    bars: dict[str, Progress] = {}

    def progress(stage: str, done: int, total: int) -> None:
        bars.setdefault(stage, Progress(f"boundaries: {stage}"))(done, total)

    start = time.monotonic()
    plan = check_boundaries(path, dissolve=not args.no_dissolve, progress=progress)
    if not plan.ok:
        for problem in plan.problems:
            print(problem.text(str(path)), file=sys.stderr)
        if plan.problem_count > len(plan.problems):
            print(f"{path}: ... and {plan.problem_count - len(plan.problems):,} more problems",
                  file=sys.stderr)
        print(f"error: {plan.problem_count:,} problem(s) in {path}; nothing was imported.",
              file=sys.stderr)
        return EXIT_INVALID
    if not args.dry_run:
        try:
            do_import_boundaries(actor, plan, progress=progress)
        except PermissionDenied:  # pragma: no cover - checked above
            return EXIT_INVALID
    verb = "would change" if args.dry_run else "changed"
    note = f", converted from {plan.reprojected_from}" if plan.reprojected_from else ""
    print(f"{path}: {plan.features:,} features valid{note}; {verb} {plan.changes:,} "
          f"boundaries ({time.monotonic() - start:.1f}s)")
    print(f"  {'level':9} {'new':>8} {'replaced':>9} {'unchanged':>10} {'dissolved':>10}")
    for level, c in describe_counts(plan):
        print(f"  {level:9} {c.new:8,} {c.replaced:9,} {c.unchanged:10,} {c.dissolved:10,}")
    return EXIT_OK


def cmd_import(args) -> int:
    from django.core.exceptions import PermissionDenied

    from cegah.cases.actions import check_file, do_import

    path = Path(args.file)
    if not path.is_file():
        print(f"error: {path}: file not found.", file=sys.stderr)
        return EXIT_USAGE
    actor = _actor(args)
    data = path.read_bytes()
    start = time.monotonic()
    try:
        if args.dry_run:
            plan = check_file(actor, args.kind, data, path.name)
        else:
            batch, plan = do_import(actor, args.kind, data, path.name,
                                    progress=Progress(f"import {args.kind}"))
    except PermissionDenied:
        print(f"error: {actor.label if hasattr(actor, 'label') else actor.username} may not "
              "import data.", file=sys.stderr)
        return EXIT_INVALID
    v = plan.validated
    if not v.ok:
        for err in v.errors:
            print(f"{path}: {err}", file=sys.stderr)
        if v.error_count > len(v.errors):
            print(f"{path}: ... and {v.error_count - len(v.errors):,} more errors",
                  file=sys.stderr)
        print(f"error: {v.error_count:,} bad row(s) in {path}; nothing was imported.",
              file=sys.stderr)
        return EXIT_INVALID
    verb = "would add" if args.dry_run else "added"
    print(f"{path}: {v.rows_total:,} rows valid; {verb} {plan.created:,} new, "
          f"{'would replace' if args.dry_run else 'replaced'} {plan.updated:,}, "
          f"{plan.unchanged:,} unchanged ({time.monotonic() - start:.1f}s)"
          + ("" if args.dry_run else f"; import #{batch.pk}"))
    return EXIT_OK


def _area_exists(code: str) -> bool:
    from cegah.areas.models import Area

    if Area.objects.filter(code=code).exists():
        return True
    print(f"error: --area: no area with code {code!r}.", file=sys.stderr)
    return False


def export_table(args, write, denied: str) -> int:
    """Run ``write(actor, path, fmt)`` for an export command's ``--out`` (and ``--area``),
    writing to ``OUT.part`` and renaming it, so a failed export leaves no half file.
    ``denied`` is the message when the policy refuses (``{who}`` names the actor)."""
    from django.core.exceptions import PermissionDenied

    from cegah.lib.tabular import TableError, format_for

    try:
        fmt = format_for(args.out)
    except TableError as exc:
        print(f"error: --out {exc}", file=sys.stderr)
        return EXIT_USAGE
    if getattr(args, "area", None) and not _area_exists(args.area):
        return EXIT_USAGE
    actor = _actor(args)
    out = Path(args.out)
    tmp = out.with_name(out.name + ".part")
    try:
        n = write(actor, tmp, fmt)
    except PermissionDenied:
        tmp.unlink(missing_ok=True)
        print(f"error: {denied.format(who=actor_name(actor))}", file=sys.stderr)
        return EXIT_INVALID
    tmp.replace(out)
    print(f"{out}: {n:,} rows")
    return EXIT_OK


def cmd_export(args) -> int:
    from cegah.cases.actions import do_export

    return export_table(
        args, lambda actor, out, fmt: do_export(actor, args.kind, out, fmt,
                                                area_code=args.area),
        "not allowed (no export right, or area outside the jurisdiction).")


def cmd_delete(args) -> int:
    import datetime as dt

    from django.core.exceptions import PermissionDenied

    from cegah.cases.actions import do_delete_data

    def bound(value: str | None, name: str):
        if not value:
            return None
        try:
            if args.kind == "cases":
                return dt.datetime.strptime(value, "%Y-%m").date()
            return int(value)
        except ValueError:
            expected = "YYYY-MM" if args.kind == "cases" else "a year YYYY"
            raise SystemExit(f"error: {name}: expected {expected}, got {value!r}.") from None

    start, end = bound(args.start, "--from"), bound(args.end, "--to")
    if not _area_exists(args.area):
        return EXIT_USAGE
    try:
        n = do_delete_data(_actor(args), args.kind, args.area, start=start, end=end)
    except PermissionDenied:
        print("error: not allowed (no import right, or area outside the jurisdiction).",
              file=sys.stderr)
        return EXIT_INVALID
    print(f"deleted {n:,} {args.kind} value(s) under {args.area}")
    return EXIT_OK


def cmd_users_create(args) -> int:
    from django.core.exceptions import ValidationError

    from cegah.accounts.actions import do_save_user
    from cegah.accounts.models import Organisation

    org = None
    if args.org:
        org = (Organisation.objects.filter(name=args.org).first()
               or Organisation.objects.filter(short_name=args.org).first())
        if org is None:
            print(f"error: --org: no organisation named {args.org!r}.", file=sys.stderr)
            return EXIT_USAGE
    password = sys.stdin.readline().rstrip("\n") if args.password_stdin else getpass.getpass()
    from django.contrib.auth.password_validation import validate_password

    try:
        validate_password(password)
        user, created = do_save_user(actor=_actor(args), username=args.username,
                                     organisation=org, role=args.role, password=password)
    except ValidationError as exc:
        print("error: " + "; ".join(exc.messages), file=sys.stderr)
        return EXIT_USAGE
    print(f"{'created' if created else 'updated'} {user.username} ({user.role})")
    return EXIT_OK


def cmd_users_token(args) -> int:
    from cegah.accounts.actions import do_create_api_token
    from cegah.accounts.models import User

    user = User.objects.filter(username=args.username, is_active=True).first()
    if user is None:
        print(f"error: no active user named {args.username!r}.", file=sys.stderr)
        return EXIT_INVALID
    token = do_create_api_token(_actor(argparse.Namespace(user=None)), user, args.name)
    print(token)
    print(f"(for {user.username}; shown once: keep it secret. Use it as "
          "'Authorization: Bearer <token>' on /api/v1/.)", file=sys.stderr)
    return EXIT_OK


def cmd_demo(args) -> int:
    from django.conf import settings

    from cegah.areas.models import Area
    from cegah.demo.actions import do_load_demo_data, do_load_demo_people
    from cegah.demo.organisations import DEMO_PASSWORD

    if settings.PRODUCTION and not args.force:
        print("error: refusing to load demo accounts with CEGAH_ENV=production "
              "(use --force on a throw-away installation).", file=sys.stderr)
        return EXIT_USAGE
    cmd_init(argparse.Namespace(verbosity=0))
    if Area.objects.count() < 100_000:
        cmd_areas_load(argparse.Namespace(data_dir=None, only=None))
    actor = _actor(argparse.Namespace(user=None))
    print("Demo organisations and people (synthetic) ...")
    logins = do_load_demo_people(actor)
    print("Synthetic demo data for Aceh, DKI Jakarta, Jawa Timur, Sulawesi Utara, "
          "Klaten and Kendari ...")
    do_load_demo_data(actor, say=print)
    _demo_risk_run(actor)
    print()
    print("Demo logins (all synthetic; password for every one: " + DEMO_PASSWORD + ")")
    shown = [lg for lg in logins if lg[0].startswith(("polres-jaksel.", "kemenpppa.",
                                                       "compassion-first.", "demo-admin"))]
    for username, org, role in shown:
        print(f"  {username:32} {role:13} {org}")
    print(f"  ... and {len(logins) - len(shown)} more: <organisation>.<role>, e.g. "
          "laha.viewer, bapas-klaten.data-entry")
    if args.no_serve:
        return EXIT_OK
    return cmd_serve(args)


def cmd_risk_run(args) -> int:
    from cegah.riskmap.actions import do_compute_risk_run, do_request_risk_run

    run = do_request_risk_run(_actor(argparse.Namespace(user=None)), trigger="cli")
    if args.background:
        print(f"risk run {run.pk} queued; `cegah worker` (or `cegah serve`) computes it.")
        return EXIT_OK
    start = time.monotonic()
    run = do_compute_risk_run(run.pk, say=lambda step: print(f"  {step} ...", flush=True))
    levels = run.summary.get("levels", {})
    print(f"risk run {run.pk}: {run.status}, as of {run.as_of or '-'}, "
          f"{run.summary.get('areas', 0):,} areas in {time.monotonic() - start:.1f}s")
    for _level, meta in sorted(levels.items(), reverse=True):
        if meta:
            tiers = meta["tiers"]
            print(f"  {meta['level']:9} high {tiers['high']:,}, moderate {tiers['moderate']:,}, "
                  f"low {tiers['low']:,}")
    return EXIT_OK if run.status == "done" else EXIT_INVALID


def cmd_worker(args) -> int:
    from django.core.management import call_command

    call_command("db_worker", batch=args.batch, verbosity=1)
    return EXIT_OK


def _demo_risk_run(actor) -> None:
    """Score the demo data now, so the first page already shows tiers."""
    from cegah.riskmap.actions import (
        do_compute_risk_run,
        do_request_risk_run,
        latest_run,
        run_in_progress,
    )

    pending = run_in_progress()
    if latest_run() is not None and pending is None:
        return
    run = pending or do_request_risk_run(actor, trigger="demo")
    start = time.monotonic()
    run = do_compute_risk_run(run.pk)
    print(f"Risk run {run.pk} on the synthetic data: {run.summary.get('areas', 0):,} areas "
          f"scored in {time.monotonic() - start:.1f}s")


def cmd_serve(args) -> int:
    from django.conf import settings
    from waitress import serve

    from cegah.wsgi import application

    host = args.host
    url_host = "localhost" if host in ("127.0.0.1", "0.0.0.0") else host  # noqa: S104
    print(f"Cegah is running at http://{url_host}:{args.port}/  (Ctrl+C stops it)",
          flush=True)
    if not settings.PRODUCTION:
        print("  development settings; database: " + _db_label(), flush=True)
    if settings.WORKER_THREAD and settings.TASK_BACKEND == "database":
        _start_worker_thread()
        print("  background tasks: one worker thread in this process "
              "(CEGAH_WORKER_THREAD=false and `cegah worker` to run them apart)", flush=True)
    serve(application, host=host, port=args.port, threads=args.threads, ident="cegah")
    return EXIT_OK


def _start_worker_thread() -> None:
    """The database queue's worker in a daemon thread, so one `cegah serve` is enough on a
    single machine; deployments with several processes run `cegah worker` instead."""
    import threading

    from django.utils.crypto import get_random_string
    from django_tasks_db.management.commands.db_worker import Worker

    worker = Worker(queue_names=["default"], interval=1.0, batch=False,
                    backend_name="default", startup_delay=False, max_tasks=None,
                    worker_id=f"serve-{get_random_string(8)}", excluded_queue_names=[])
    threading.Thread(target=worker.run, name="cegah-worker", daemon=True).start()


def cmd_manage(args) -> int:
    from django.core.management import execute_from_command_line

    execute_from_command_line(["cegah manage", *args.rest])
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="cegah",
        description="Cegah: evidence for preventing child sexual abuse and exploitation.",
        epilog="DATABASE_URL selects the database; see README.md for all settings.",
    )
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    s = sub.add_parser("init", help="create or migrate the database (idempotent)")
    s.add_argument("-v", "--verbosity", type=int, default=1)
    s.set_defaults(func=cmd_init)

    areas = sub.add_parser("areas", help="the administrative area hierarchy")
    asub = areas.add_subparsers(dest="areas_command", required=True, metavar="ACTION")
    s = asub.add_parser("load", help="load or refresh all areas (idempotent)")
    s.add_argument("--data-dir", type=Path, default=None,
                   help="folder with idn-area-data CSV files (default: the bundled copy)")
    s.add_argument("--only", metavar="CODES",
                   help="comma-separated area codes: load districts and villages only under these")
    s.set_defaults(func=cmd_areas_load)
    s = asub.add_parser("stats", help="print LEVEL COUNT for each level")
    s.set_defaults(func=cmd_areas_stats)
    s = asub.add_parser("show", help="print an area, its parents and child counts")
    s.add_argument("code")
    s.set_defaults(func=cmd_areas_show)
    s = asub.add_parser(
        "boundaries", help="import area boundaries (GeoJSON, GeoPackage, Shapefile)",
        description="Import boundaries keyed on area code (a 'code' property): checked "
                    "per feature, converted to WGS 84, simplified per level for display, "
                    "one geometry per code. A file with any bad feature changes nothing.")
    s.add_argument("file", help=".geojson, .json, .gpkg, .shp or a .zip holding a Shapefile")
    s.add_argument("--dry-run", action="store_true", help="check and report; change nothing")
    s.add_argument("--no-dissolve", action="store_true",
                   help="do not fill in parents without a boundary from their children")
    s.add_argument("--user", help="act with this user's rights (default: local operator)")
    s.set_defaults(func=cmd_areas_boundaries)

    kinds = ("cases", "population", "factors")
    s = sub.add_parser("import", help="import case counts, child population or risk factors")
    s.add_argument("kind", choices=kinds)
    s.add_argument("file", help="a .csv or .xlsx file")
    s.add_argument("--dry-run", action="store_true", help="check and report; change nothing")
    s.add_argument("--user", help="act with this user's rights (default: local operator)")
    s.set_defaults(func=cmd_import)

    s = sub.add_parser("export", help="export data as CSV or XLSX (by --out extension)")
    s.add_argument("kind", choices=kinds)
    s.add_argument("--out", required=True, help="output file, .csv or .xlsx")
    s.add_argument("--area", help="only this area and its sub-areas")
    s.add_argument("--user", help="act with this user's rights (default: local operator)")
    s.set_defaults(func=cmd_export)

    s = sub.add_parser("delete", help="delete data of an area and its sub-areas (audited)")
    s.add_argument("kind", choices=kinds)
    s.add_argument("--area", required=True, help="area code; its sub-areas are included")
    s.add_argument("--from", dest="start", help="first month YYYY-MM (cases) or year")
    s.add_argument("--to", dest="end", help="last month YYYY-MM (cases) or year")
    s.add_argument("--user", help="act with this user's rights (default: local operator)")
    s.set_defaults(func=cmd_delete)

    users = sub.add_parser("users", help="people")
    usub = users.add_subparsers(dest="users_command", required=True, metavar="ACTION")
    s = usub.add_parser("create", help="create or update a user (asks for the password)")
    s.add_argument("username")
    s.add_argument("--role", required=True,
                   choices=("viewer", "data_entry", "manager", "org_admin", "system_admin"))
    s.add_argument("--org", help="organisation name or short name")
    s.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    s.add_argument("--user", help=argparse.SUPPRESS)
    s.set_defaults(func=cmd_users_create)
    s = usub.add_parser("token", help="print a new personal API token for a user")
    s.add_argument("username")
    s.add_argument("--name", default="", help="a label, e.g. the script that uses it")
    s.set_defaults(func=cmd_users_token)

    for name, helptext in (("demo", "load demo organisations and synthetic data, then serve"),
                           ("serve", "serve the web app")):
        s = sub.add_parser(name, help=helptext)
        s.add_argument("--host", default=os.environ.get("CEGAH_HOST", "127.0.0.1"))
        s.add_argument("--port", type=int, default=int(os.environ.get("CEGAH_PORT", "8000")))
        s.add_argument("--threads", type=int, default=8)
        if name == "demo":
            s.add_argument("--no-serve", action="store_true", help="load only, do not serve")
            s.add_argument("--force", action="store_true", help=argparse.SUPPRESS)
            s.set_defaults(func=cmd_demo)
        else:
            s.set_defaults(func=cmd_serve)

    from cegah.risk.commands import add_parsers as add_risk_parsers

    rsub = add_risk_parsers(sub)
    s = rsub.add_parser("run", help="compute a risk run on the stored data (all levels)")
    s.add_argument("--background", action="store_true",
                   help="only queue it for the worker (`cegah worker`)")
    s.set_defaults(func=cmd_risk_run)

    from cegah.activities.commands import add_parsers as add_activity_parsers
    from cegah.activities.commands_gaps import add_parsers as add_gap_parsers
    from cegah.catalogue.commands import add_parsers as add_catalogue_parsers

    add_catalogue_parsers(sub)
    add_activity_parsers(sub)
    add_gap_parsers(sub)

    s = sub.add_parser("worker", help="run background tasks (risk runs after imports)")
    s.add_argument("--batch", action="store_true", help="exit when the queue is empty")
    s.set_defaults(func=cmd_worker)

    s = sub.add_parser("manage", help="run a Django management command")
    s.add_argument("rest", nargs=argparse.REMAINDER)
    s.set_defaults(func=cmd_manage)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "no_django", False):
        # The risk engine runs on files and never needs Django (nor its start-up time).
        try:
            return args.func(args)
        except KeyboardInterrupt:
            return 130
    from django.core.exceptions import ImproperlyConfigured

    try:
        _setup_django()
    except ImproperlyConfigured as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    from django.conf import settings
    from django.utils import translation

    # The command line speaks English (its own messages are not translated) unless
    # CEGAH_LANGUAGE=id asks for Indonesian validation messages.
    language = os.environ.get("CEGAH_LANGUAGE", "en")
    if language not in dict(settings.LANGUAGES):
        print(f"configuration error: CEGAH_LANGUAGE must be one of "
              f"{', '.join(dict(settings.LANGUAGES))}; got {language!r}.", file=sys.stderr)
        return EXIT_USAGE
    translation.activate(language)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
