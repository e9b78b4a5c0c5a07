"""Admin helpers."""


class ReadOnlyAdminMixin:
    """Records written only by actions (areas, imports, the audit trail): admin shows them."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
