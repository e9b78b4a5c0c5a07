"""``cegah venues ...`` and ``cegah activities ...``: imports and exports."""

from __future__ import annotations


def add_parsers(sub) -> None:
    """Add the commands to the ``cegah`` parser (no Django imports here)."""
