"""Reading catalogue files (JSON). Shared by the data migration that installs the
shipped catalogue and by ``cegah catalogue load``; no Django imports, so the migration
does not depend on today's models."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

SHIPPED_PATH = Path(__file__).resolve().parent / "data" / "interventions.json"


class CatalogueError(ValueError):
    """A catalogue file or entry that cannot be loaded; ``errors`` says where and why."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("; ".join(errors[:3]) + (" ..." if len(errors) > 3 else ""))
        self.errors = errors


def parse_entries(text: str, name: str = "catalogue") -> list[Any]:
    """The entries of a catalogue file: a JSON list of objects, or an object whose
    ``interventions`` key holds that list. Entries are not checked here."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CatalogueError([f"{name}: line {exc.lineno}, column {exc.colno}: "
                              f"not valid JSON ({exc.msg})."]) from None
    if isinstance(data, dict) and "interventions" in data:
        data = data["interventions"]
    if not isinstance(data, list):
        raise CatalogueError([f"{name}: expected a JSON list of interventions, got "
                              f"{type(data).__name__}."])
    return data


def read_entries(path: str | Path) -> list[Any]:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CatalogueError([f"{path.name}: not UTF-8 text (byte {exc.start})."]) from None
    return parse_entries(text, path.name)


def shipped_entries() -> list[dict[str, Any]]:
    """The catalogue shipped with Cegah (``data/interventions.json``)."""
    return read_entries(SHIPPED_PATH)


def install_missing(model) -> int:
    """Insert the shipped entries whose slug ``model`` (the Intervention model, or the
    data migration's historical copy) lacks; not audited: this is installation, not an
    edit. Returns the number inserted."""
    fields = {f.name for f in model._meta.get_fields()}
    existing = set(model.objects.values_list("slug", flat=True))
    # Only the fields the model has, whatever the file grows later.
    rows = [model(**{k: v for k, v in entry.items() if k in fields})
            for entry in shipped_entries() if entry["slug"] not in existing]
    model.objects.bulk_create(rows)
    return len(rows)
