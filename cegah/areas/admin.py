from django.contrib import admin

from cegah.areas.models import Area
from cegah.lib.admin import ReadOnlyAdminMixin


@admin.register(Area)
class AreaAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Areas come from `cegah areas load`; admin only looks them up."""

    list_display = ["code", "name", "level", "kind"]
    list_filter = ["level", "kind"]
    search_fields = ["code", "name"]
    readonly_fields = ["code", "name", "level", "kind", "parent", "is_urban", "geometry"]
    show_full_result_count = False
