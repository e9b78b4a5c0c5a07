from django.conf import settings

from cegah import policy


def cegah(request):
    user = getattr(request, "user", None)
    return {
        "cegah_env": settings.ENVIRONMENT,
        "can_import": policy.can_import(user),
        "can_export": policy.can_export(user),
        "can_manage": policy.has_capability(user, policy.Capability.MANAGE_ORGANISATION),
        "can_admin": policy.can_use_admin(user),
    }
