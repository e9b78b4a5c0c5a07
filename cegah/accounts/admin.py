from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _

from cegah.accounts.models import Organisation, Role, User
from cegah.audit.admin_mixins import AuditedAdminMixin


@admin.register(Organisation)
class OrganisationAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ["name", "short_name", "type", "is_demo", "is_active"]
    list_filter = ["type", "is_demo", "is_active"]
    search_fields = ["name", "short_name"]
    autocomplete_fields = ["jurisdiction"]


@admin.register(User)
class UserAdmin(AuditedAdminMixin, BaseUserAdmin):
    list_display = ["username", "first_name", "organisation", "role", "is_active", "is_demo"]
    list_filter = ["role", "is_active", "is_demo", "organisation"]
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        (_("Personal info"), {"fields": ("first_name", "last_name", "email")}),
        (_("Organisation and role"), {"fields": ("organisation", "role", "is_active")}),
    )
    add_fieldsets = (
        (None, {"classes": ("wide",),
                "fields": ("username", "organisation", "role", "password1", "password2")}),
    )

    def save_model(self, request, obj, form, change):
        # Admin rights follow the role; nobody edits is_staff/is_superuser by hand.
        obj.is_staff = obj.is_superuser = obj.role == Role.SYSTEM_ADMIN
        super().save_model(request, obj, form, change)
