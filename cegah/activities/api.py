"""API endpoints under ``/api/v1/activities`` (added to ``cegah.api.api``)."""

from __future__ import annotations

from ninja import Router

router = Router(tags=["activities"])
