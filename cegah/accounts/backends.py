"""Authentication backend: Django's, with the session's user loaded by fixed SQL."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend as DjangoModelBackend

from cegah.accounts.actions import user_with_organisation


class ModelBackend(DjangoModelBackend):
    """Django's ``ModelBackend``; ``get_user`` (run on every signed-in request) also loads
    the organisation the policy module needs, without the ORM's query compiler."""

    def get_user(self, user_id: Any):
        user = user_with_organisation(user_id)
        return user if user is not None and self.user_can_authenticate(user) else None
