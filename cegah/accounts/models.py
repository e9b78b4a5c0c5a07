"""Organisations, their jurisdictions, and the people who work in them."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _


class OrganisationType(models.TextChoices):
    POLICE = "police", _("police unit")
    GOVERNMENT = "government", _("government child-protection office")
    NGO = "ngo", _("NGO")
    CORRECTIONS = "corrections", _("corrections institution")
    OTHER = "other", _("other")


class Role(models.TextChoices):
    VIEWER = "viewer", _("viewer")
    DATA_ENTRY = "data_entry", _("data entry")
    MANAGER = "manager", _("manager")
    ORG_ADMIN = "org_admin", _("organisation admin")
    SYSTEM_ADMIN = "system_admin", _("system admin")


class Organisation(models.Model):
    name = models.CharField(_("name"), max_length=200, unique=True)
    short_name = models.CharField(_("short name"), max_length=60, blank=True)
    type = models.CharField(_("type"), max_length=20, choices=OrganisationType.choices)
    # The areas the organisation works in; each includes all its descendants.
    jurisdiction = models.ManyToManyField(
        "areas.Area", blank=True, related_name="+", verbose_name=_("jurisdiction")
    )
    is_demo = models.BooleanField(_("demo"), default=False)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")

    def __str__(self) -> str:
        return self.short_name or self.name


class User(AbstractUser):
    organisation = models.ForeignKey(
        Organisation, null=True, blank=True, on_delete=models.PROTECT, related_name="members",
        verbose_name=_("organisation"),
    )
    role = models.CharField(_("role"), max_length=20, choices=Role.choices, default=Role.VIEWER)
    is_demo = models.BooleanField(_("demo"), default=False)

    class Meta(AbstractUser.Meta):
        verbose_name = _("user")
        verbose_name_plural = _("users")


class ApiToken(models.Model):
    """A personal token for the JSON API (``Authorization: Bearer <token>``).

    Only a SHA-256 digest is stored; the token itself is shown once, when created.
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("name"), max_length=100, blank=True)
    prefix = models.CharField(_("starts with"), max_length=12)
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"
