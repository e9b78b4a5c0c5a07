from django.contrib import admin

from cegah.coordination.models import PartnerRequest
from cegah.lib.admin import ReadOnlyAdminMixin


@admin.register(PartnerRequest)
class PartnerRequestAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Requests are written by the coordination actions only (audited); admin shows them.
    Notifications are people's own messages and are not listed."""

    list_display = ["created_at", "title", "from_organisation", "to_organisation", "status"]
    list_filter = ["status"]
    search_fields = ["title"]
