from django.contrib import admin

from cegah.activities.models import Activity, Attachment, Venue
from cegah.lib.admin import ReadOnlyAdminMixin


class AttachmentInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = Attachment
    fields = ["filename", "content_type", "size", "sha256", "uploaded_by", "uploaded_at"]
    readonly_fields = fields
    extra = 0


@admin.register(Activity)
class ActivityAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Activities are written by the actions (audited); admin shows them."""

    list_display = ["starts_on", "title", "status", "lead_organisation", "audience",
                    "reached_total", "is_synthetic"]
    list_filter = ["status", "is_synthetic", "audience"]
    search_fields = ["title", "external_id", "lead_organisation__name"]
    date_hierarchy = "starts_on"
    inlines = [AttachmentInline]


@admin.register(Venue)
class VenueAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["name", "type", "area", "is_synthetic"]
    list_filter = ["type", "is_synthetic"]
    search_fields = ["name", "area__code", "area__name"]
