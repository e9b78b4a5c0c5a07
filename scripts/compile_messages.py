"""Compile Cegah's message catalogs (django.po -> django.mo) without GNU gettext.

Usage, from anywhere:

    python scripts/compile_messages.py           # write every stale cegah/locale/*/.../django.mo
    python scripts/compile_messages.py --check   # exit 1 naming the .mo files that are stale

The .mo files are committed, so a fresh machine needs no ``msgfmt``; this script (pure
Python, with ``polib``) is how they are made. The output depends only on the .po file:
the same catalog always gives the same bytes. Fuzzy and untranslated entries are left
out, as ``msgfmt`` does. A catalog whose translations drop or invent a ``%(name)s``
placeholder is refused, since Django would fail on it at run time.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import polib

PROJECT_DIR = Path(__file__).resolve().parent.parent
LOCALE_DIR = PROJECT_DIR / "cegah" / "locale"

# printf-style conversions as Python's % operator reads them: %(name)s, %s, %r, %d, %%.
_PLACEHOLDER = re.compile(r"%(?:\((?P<name>[^)]*)\))?[-#0 +]*(?:\*|\d+)?(?:\.(?:\*|\d+))?"
                          r"(?P<conv>[diouxXeEfFgGcrsa%])")


def catalogs(locale_dir: Path = LOCALE_DIR) -> list[Path]:
    """Every ``<lang>/LC_MESSAGES/django.po`` under ``locale_dir``, in a stable order."""
    return sorted(locale_dir.glob("*/LC_MESSAGES/django.po"))


def placeholders(text: str) -> list[str]:
    """The printf-style placeholders of ``text`` (``%%`` excluded), sorted."""
    found = []
    for m in _PLACEHOLDER.finditer(text):
        if m.group("conv") == "%":
            continue
        found.append(f"%({m.group('name')}){m.group('conv')}" if m.group("name") is not None
                     else f"%{m.group('conv')}")
    return sorted(found)


def format_errors(po: polib.POFile) -> list[str]:
    """Translations whose placeholders differ from those of their source text."""
    errors = []
    for entry in po.translated_entries():
        if "python-format" not in entry.flags:
            continue
        if entry.msgid_plural:
            # Any form may leave out the count (e.g. "one file" for n=1), but no form may
            # use a placeholder the source does not have.
            allowed = set(placeholders(entry.msgid) + placeholders(entry.msgid_plural))
            for index, text in sorted(entry.msgstr_plural.items()):
                extra = set(placeholders(text)) - allowed
                if extra:
                    errors.append(f"{entry.msgid!r} [{index}]: unknown {sorted(extra)}")
        elif placeholders(entry.msgstr) != placeholders(entry.msgid):
            errors.append(f"{entry.msgid!r}: placeholders {placeholders(entry.msgstr)}, "
                          f"expected {placeholders(entry.msgid)}")
    return errors


def compile_catalog(po_path: Path) -> bytes:
    """The .mo bytes of one catalog; ``ValueError`` if its placeholders do not match."""
    po = polib.pofile(str(po_path), wrapwidth=0)
    errors = format_errors(po)
    if errors:
        raise ValueError(f"{po_path}:\n  " + "\n  ".join(errors))
    return po.to_binary()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 if any .mo file is missing or stale")
    parser.add_argument("--locale-dir", type=Path, default=LOCALE_DIR,
                        help="folder holding <lang>/LC_MESSAGES/django.po (default: %(default)s)")
    args = parser.parse_args(argv)

    paths = catalogs(args.locale_dir)
    if not paths:
        print(f"no catalogs under {args.locale_dir}", file=sys.stderr)
        return 1
    stale, failed = [], []
    for po_path in paths:
        mo_path = po_path.with_suffix(".mo")
        try:
            data = compile_catalog(po_path)
        except (OSError, ValueError) as exc:
            failed.append(str(exc))
            continue
        if mo_path.exists() and mo_path.read_bytes() == data:
            continue
        stale.append(mo_path)
        if not args.check:
            mo_path.write_bytes(data)
            print(f"compiled {_shown(mo_path)}")
    for message in failed:
        print(f"error: {message}", file=sys.stderr)
    if args.check and stale:
        print("stale .mo files (run `python scripts/compile_messages.py`):", file=sys.stderr)
        for mo_path in stale:
            print(f"  {_shown(mo_path)}", file=sys.stderr)
        return 1
    return 1 if failed else 0


def _shown(path: Path) -> str:
    try:
        return str(path.relative_to(PROJECT_DIR))
    except ValueError:
        return str(path)


if __name__ == "__main__":
    sys.exit(main())
