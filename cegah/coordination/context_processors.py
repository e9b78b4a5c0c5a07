"""``unread_notifications`` for the navigation badge: one COUNT query, signed-in users
only (anonymous pages such as the login form ask nothing)."""

from __future__ import annotations

from django.http import HttpRequest

from cegah import policy


def notifications(request: HttpRequest) -> dict[str, int]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"unread_notifications":
            policy.visible_notifications(user).filter(read_at__isnull=True).count()}
