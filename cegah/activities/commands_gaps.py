"""``cegah gaps``: where high- and moderate-risk areas lack recent prevention."""

from __future__ import annotations


def add_parsers(sub) -> None:
    """Add the command to the ``cegah`` parser (no Django imports here)."""
