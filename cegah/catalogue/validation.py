"""Checking catalogue entries before anything is written.

Every problem is reported as ``entry N (slug): field: expected ..., got ...`` so whoever
edits a catalogue file finds it; a file with any problem changes nothing.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from cegah.catalogue import vocab
from cegah.catalogue.shipped import CatalogueError

_SLUG = re.compile(r"^[-a-zA-Z0-9_]+\Z")
_MAX_LENGTH = {"slug": 80, "name_id": 200, "name_en": 200}
# Keys that are URLs of their own (/interventions/new/): an entry there could not be opened.
RESERVED_SLUGS = frozenset({"new"})


def _got(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def entry_errors(entry: Any, *, partial: bool = False) -> list[tuple[str, str]]:
    """``(field, problem)`` pairs for one entry; ``partial`` checks only the fields
    present (an edit form sends them all anyway)."""
    if not isinstance(entry, dict):
        return [("", f"expected an object with the fields {', '.join(vocab.ENTRY_FIELDS)}, "
                     f"got {type(entry).__name__}")]
    problems: list[tuple[str, str]] = []
    allowed = {*vocab.ENTRY_FIELDS, *vocab.OPTIONAL_FIELDS}
    for field in entry:
        if field not in allowed:
            problems.append((str(field), "expected no such field (unknown field), got "
                                         f"{_got(entry[field])}"))
    vocabularies = vocab.vocabularies()
    for field in vocab.ENTRY_FIELDS:
        if field not in entry:
            if not partial:
                problems.append((field, "expected a value, got nothing (missing field)"))
            continue
        value = entry[field]
        if field == "slug":
            if not isinstance(value, str) or not _SLUG.match(value):
                problems.append((field, "expected letters, digits, '-' or '_', "
                                        f"got {_got(value)}"))
            elif value in RESERVED_SLUGS:
                problems.append((field, f"expected a key other than {_got(value)} "
                                        "(a page of its own)"))
        elif field in vocab.TEXT_FIELDS:
            if not isinstance(value, str):
                problems.append((field, f"expected text, got {_got(value)}"))
            elif field in vocab.REQUIRED_TEXT and not value.strip():
                problems.append((field, "expected text, got an empty value"))
        elif field in vocab.CHOICE_FIELDS:
            if value not in vocabularies[field]:
                problems.append((field, f"one of {', '.join(vocabularies[field])}, "
                                        f"got {_got(value)}"))
        elif field in vocab.LIST_FIELDS:
            problems.extend(_list_errors(field, value, vocabularies.get(field)))
        limit = _MAX_LENGTH.get(field)
        if limit and isinstance(value, str) and len(value) > limit:
            problems.append((field, f"expected at most {limit} characters, "
                                    f"got {len(value)}"))
    if "is_active" in entry and not isinstance(entry["is_active"], bool):
        problems.append(("is_active", f"expected true or false, got {_got(entry['is_active'])}"))
    # "one of ..." reads better with its verb.
    return [(f, p if p.startswith("expected") else "expected " + p) for f, p in problems]


def _list_errors(field: str, value: Any, allowed: Sequence[str] | None) -> list[tuple[str, str]]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        return [(field, f"expected a list of texts, got {_got(value)}")]
    problems = []
    if allowed is not None:
        unknown = [v for v in value if v not in allowed]
        if unknown:
            problems.append((field, f"values from {', '.join(allowed)}, got "
                                    f"{', '.join(map(repr, unknown))}"))
    elif any(not v.strip() for v in value):
        problems.append((field, "non-empty texts, got an empty one"))
    duplicates = sorted({v for v in value if value.count(v) > 1})
    if duplicates:
        problems.append((field, f"each value once, got {', '.join(map(repr, duplicates))} "
                                "more than once"))
    return problems


def check_entries(entries: Sequence[Any]) -> list[str]:
    """Every problem in a list of entries (1-based entry numbers), duplicates included."""
    errors: list[str] = []
    seen: dict[str, int] = {}
    for n, entry in enumerate(entries, start=1):
        slug = entry.get("slug") if isinstance(entry, dict) else None
        where = f"entry {n} ({slug})" if isinstance(slug, str) and slug else f"entry {n}"
        for field, problem in entry_errors(entry):
            errors.append(f"{where}: {field}: {problem}" if field else f"{where}: {problem}")
        if isinstance(slug, str) and slug:
            if slug in seen:
                errors.append(f"{where}: slug: expected a key used once, got {slug!r} "
                              f"again (first in entry {seen[slug]})")
            seen.setdefault(slug, n)
    return errors


def validate_entries(entries: Sequence[Any]) -> list[dict[str, Any]]:
    """The entries, or :class:`CatalogueError` listing every problem."""
    errors = check_entries(entries)
    if errors:
        raise CatalogueError(errors)
    return list(entries)
