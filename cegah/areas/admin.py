from django.contrib import admin

from cegah.areas.models import Area


@admin.register(Area)
class AreaAdmin(admin.ModelAdmin):
    """Areas come from `cegah areas load`; admin only looks them up."""

    list_display = ["code", "name", "level", "kind"]
    list_filter = ["level", "kind"]
    search_fields = ["code", "name"]
    readonly_fields = ["code", "name", "level", "kind", "parent", "is_urban", "geometry"]
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
