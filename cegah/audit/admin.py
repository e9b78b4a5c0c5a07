from django.contrib import admin

from cegah.audit.models import AuditEvent
from cegah.lib.admin import ReadOnlyAdminMixin


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["at", "actor_label", "organisation", "action", "object_type", "object_key"]
    list_filter = ["action", "object_type"]
    search_fields = ["actor_label", "object_key"]
    readonly_fields = [f.name for f in AuditEvent._meta.fields]
