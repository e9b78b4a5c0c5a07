"""Django admin for system admins only; the policy module decides who that is."""

from functools import update_wrapper

from django.contrib import admin
from django.contrib.auth.views import redirect_to_login
from django.http import Http404
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect


class CegahAdminSite(admin.AdminSite):
    site_header = "Cegah"
    site_title = _("Cegah admin")

    def has_permission(self, request) -> bool:
        from cegah import policy

        return policy.can_use_admin(request.user)

    def admin_view(self, view, cacheable=False):
        # Signed-in users who are not system admins get "not found", like any forbidden
        # page; anonymous visitors sign in through Cegah's own throttled login page.
        def inner(request, *args, **kwargs):
            if not self.has_permission(request):
                if request.user.is_authenticated:
                    raise Http404
                return redirect_to_login(request.get_full_path())
            return view(request, *args, **kwargs)

        if not cacheable:
            inner = never_cache(inner)
        if not getattr(view, "csrf_exempt", False):
            inner = csrf_protect(inner)
        return update_wrapper(inner, view)

    def login(self, request, extra_context=None):
        if request.user.is_authenticated and not self.has_permission(request):
            raise Http404
        return redirect_to_login(request.GET.get("next") or "/admin/")
