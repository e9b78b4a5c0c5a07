"""Coordination between organisations: requests to take part in another organisation's
activity ("invite the police to speak at our school session") and in-app notifications."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class RequestStatus(models.TextChoices):
    OPEN = "open", _("waiting for an answer")
    ACCEPTED = "accepted", _("accepted")
    DECLINED = "declined", _("declined")
    WITHDRAWN = "withdrawn", _("withdrawn")


class PartnerRequest(models.Model):
    from_organisation = models.ForeignKey("accounts.Organisation", on_delete=models.CASCADE,
                                          related_name="requests_sent",
                                          verbose_name=_("from"))
    to_organisation = models.ForeignKey("accounts.Organisation", on_delete=models.CASCADE,
                                        related_name="requests_received",
                                        verbose_name=_("to"))
    activity = models.ForeignKey("activities.Activity", null=True, blank=True,
                                 on_delete=models.SET_NULL, related_name="requests",
                                 verbose_name=_("activity"))
    intervention = models.ForeignKey("catalogue.Intervention", null=True, blank=True,
                                     on_delete=models.SET_NULL, related_name="+",
                                     verbose_name=_("intervention"))
    area = models.ForeignKey("areas.Area", null=True, blank=True, on_delete=models.PROTECT,
                             related_name="+", verbose_name=_("area"))
    proposed_on = models.DateField(_("proposed date"), null=True, blank=True)
    title = models.CharField(_("title"), max_length=200)
    message = models.TextField(_("message"), blank=True)
    status = models.CharField(_("status"), max_length=10, choices=RequestStatus.choices,
                              default=RequestStatus.OPEN)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True,
                                     on_delete=models.SET_NULL, related_name="+",
                                     verbose_name=_("requested by"))
    responded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                     on_delete=models.SET_NULL, related_name="+",
                                     verbose_name=_("answered by"))
    response = models.TextField(_("answer"), blank=True)
    created_at = models.DateTimeField(_("sent"), auto_now_add=True)
    responded_at = models.DateTimeField(_("answered"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("request to a partner")
        verbose_name_plural = _("requests to partners")

    def __str__(self) -> str:
        return self.title


class Notification(models.Model):
    """Something a user should see inside the app. The text is rendered at display time
    from ``kind`` and ``params``, so it follows the reader's language."""

    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                  related_name="notifications")
    kind = models.CharField(max_length=40)
    params = models.JSONField(default=dict, blank=True)
    link = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["recipient", "read_at"])]

    def __str__(self) -> str:
        return f"{self.kind} for {self.recipient_id}"

    @property
    def text(self) -> str:
        """The text in the active language (rendered now, not when it was sent)."""
        from cegah.coordination.notifications import render_text

        return render_text(self.kind, self.params)

    @property
    def is_unread(self) -> bool:
        return self.read_at is None
