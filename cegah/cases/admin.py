from django.contrib import admin

from cegah.cases.models import ImportBatch
from cegah.lib.admin import ReadOnlyAdminMixin


@admin.register(ImportBatch)
class ImportBatchAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Imports are written by the import actions only; admin shows them."""

    list_display = ["created_at", "kind", "filename", "status", "rows_total", "actor_label",
                    "organisation", "is_synthetic"]
    list_filter = ["kind", "status", "is_synthetic"]
    search_fields = ["filename", "file_sha256", "actor_label"]
    exclude = ["content"]
