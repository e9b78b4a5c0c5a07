"""Audit changes made through Django admin (system admins only), in the admin's transaction."""

from __future__ import annotations

from typing import Any

from cegah.audit.actions import record_event


def _plain(value: Any) -> Any:
    if hasattr(value, "pk"):
        return value.pk
    if isinstance(value, list | tuple | set) or hasattr(value, "all"):
        items = value.all() if hasattr(value, "all") else value
        return sorted(str(getattr(v, "pk", v)) for v in items)
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


def _key(obj) -> str:
    # Users are named by username, as the actions name them; other records by primary key.
    return obj.get_username() if hasattr(obj, "get_username") else str(obj.pk)


class AuditedAdminMixin:
    audit_exclude = ("password", "last_login")

    def save_model(self, request, obj, form, change):
        fields = [f for f in form.changed_data if f not in self.audit_exclude]
        old = {f: _plain(form.initial.get(f)) for f in fields} if change else None
        super().save_model(request, obj, form, change)
        new = {f: _plain(form.cleaned_data.get(f)) for f in fields}
        if "password" in form.changed_data:
            new["password"] = "changed"  # noqa: S105 - a marker, not a password
        record_event(actor=request.user, action="update" if change else "create",
                     object_type=obj._meta.model_name, object_key=_key(obj), old=old, new=new)

    def delete_model(self, request, obj):
        record_event(actor=request.user, action="delete", object_type=obj._meta.model_name,
                     object_key=_key(obj), old={"repr": str(obj)})
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            record_event(actor=request.user, action="delete", object_type=obj._meta.model_name,
                         object_key=_key(obj), old={"repr": str(obj)})
        super().delete_queryset(request, queryset)
