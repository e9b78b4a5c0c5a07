"""``cegah catalogue ...``: the intervention catalogue from the command line."""

from __future__ import annotations


def add_parsers(sub) -> None:
    """Add the catalogue's commands to the ``cegah`` parser (no Django imports here)."""
