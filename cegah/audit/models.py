"""The audit trail: who did what to which protected record, with old and new values."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class AuditEvent(models.Model):
    at = models.DateTimeField(_("time"), auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+", verbose_name=_("user"),
    )
    # Kept even when the user is deleted, and names CLI operators ("cli:root").
    actor_label = models.CharField(_("actor"), max_length=150)
    organisation = models.ForeignKey(
        "accounts.Organisation", null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+", verbose_name=_("organisation"),
    )
    action = models.CharField(_("action"), max_length=40, db_index=True)
    object_type = models.CharField(_("object type"), max_length=40)
    object_key = models.CharField(_("object"), max_length=200, blank=True)
    old = models.JSONField(_("old values"), null=True, blank=True)
    new = models.JSONField(_("new values"), null=True, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["object_type", "object_key"])]
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_label} {self.action} {self.object_type}"


ACTION_LABELS = {
    "create": _("created"),
    "update": _("changed"),
    "delete": _("deleted"),
    "import": _("imported"),
    "export": _("exported"),
    "areas_load": _("loaded areas"),
    "cancel": _("cancelled"),
    "download": _("downloaded"),
}
OBJECT_LABELS = {
    "cases": _("reported case counts"),
    "population": _("child population"),
    "factors": _("risk factors"),
    "organisation": _("organisation"),
    "user": _("user"),
    "area": _("areas"),
    "boundaries": _("boundaries"),
    "risk_run": _("risk run"),
    "risk_table": _("risk table export"),
    "risk_map": _("risk map export"),
    "api_token": _("API token"),
    "intervention": _("intervention"),
    "activity": _("prevention activity"),
    "activities": _("prevention activities"),
    "activity_attachment": _("activity attachment"),
    "venue": _("venue"),
    "venues": _("venues"),
    "partner_request": _("request to a partner"),
    "gap_list": _("prevention gap list export"),
}
