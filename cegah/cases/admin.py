from django.contrib import admin

from cegah.cases.models import ImportBatch


@admin.register(ImportBatch)
class ImportBatchAdmin(admin.ModelAdmin):
    """Imports are written by the import actions only; admin shows them."""

    list_display = ["created_at", "kind", "filename", "status", "rows_total", "actor_label",
                    "organisation", "is_synthetic"]
    list_filter = ["kind", "status", "is_synthetic"]
    search_fields = ["filename", "file_sha256", "actor_label"]
    exclude = ["content"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
