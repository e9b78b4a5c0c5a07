"""Risk runs: the risk engine's results for every level, stored per run.

A run records its parameters, the versions of its inputs and its time. Pages always show
the latest *completed* run, so the previous results stay visible while a new run works.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class RunStatus(models.TextChoices):
    QUEUED = "queued", _("waiting")
    RUNNING = "running", _("running")
    DONE = "done", _("complete")
    FAILED = "failed", _("failed")


class Tier(models.TextChoices):
    HIGH = "high", _("high")
    MODERATE = "moderate", _("moderate")
    LOW = "low", _("low")
    UNKNOWN = "unknown", _("unknown")


class RiskRun(models.Model):
    status = models.CharField(_("status"), max_length=10, choices=RunStatus.choices,
                              default=RunStatus.QUEUED, db_index=True)
    trigger = models.CharField(_("started by"), max_length=20)  # import, cli, web, demo
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                     on_delete=models.SET_NULL, related_name="+")
    requested_label = models.CharField(_("requested by"), max_length=150, blank=True)
    created_at = models.DateTimeField(_("requested"), auto_now_add=True)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    as_of = models.CharField(_("as of"), max_length=7, blank=True)
    parameters = models.JSONField(_("parameters"), default=dict, blank=True)
    inputs = models.JSONField(_("input versions"), default=dict, blank=True)
    progress = models.PositiveSmallIntegerField(_("progress"), default=0)  # percent
    step = models.CharField(_("step"), max_length=200, blank=True)
    error = models.TextField(_("error"), blank=True)
    summary = models.JSONField(_("summary"), default=dict, blank=True)

    class Meta:
        verbose_name = _("risk run")
        verbose_name_plural = _("risk runs")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"risk run {self.pk} ({self.status})"


class AreaRisk(models.Model):
    """One area's result in one run (all figures as the engine gave them; what a user
    may see of them is decided by the policy module and disclosure control)."""

    run = models.ForeignKey(RiskRun, on_delete=models.CASCADE, related_name="areas")
    area = models.ForeignKey("areas.Area", on_delete=models.CASCADE, related_name="risks")
    level = models.PositiveSmallIntegerField(_("level"))
    parent_code = models.CharField(_("parent"), max_length=20, blank=True)
    children = models.PositiveIntegerField(_("children"), null=True, blank=True)
    cases = models.PositiveIntegerField(_("cases"), default=0)
    previous_cases = models.PositiveIntegerField(_("cases in the previous window"), default=0)
    cases_by_category = models.JSONField(default=dict, blank=True)
    crude_rate = models.FloatField(null=True, blank=True)
    smoothed_rate = models.FloatField(null=True, blank=True)
    rate_low = models.FloatField(null=True, blank=True)
    rate_high = models.FloatField(null=True, blank=True)
    expected_cases = models.FloatField(null=True, blank=True)
    relative_risk = models.FloatField(null=True, blank=True)
    contextual_risk = models.FloatField(null=True, blank=True)
    score = models.FloatField(null=True, blank=True)
    tier = models.CharField(_("tier"), max_length=10, choices=Tier.choices)
    confidence = models.CharField(_("confidence"), max_length=10, blank=True)
    hotspot = models.CharField(max_length=10, blank=True)
    cluster = models.CharField(max_length=12, blank=True)
    trend = models.CharField(max_length=15, blank=True)
    underreporting = models.BooleanField(default=False)
    drivers = models.JSONField(default=list, blank=True)  # {"en": [...], "id": [...]}
    flags = models.JSONField(default=list, blank=True)

    class Meta:
        verbose_name = _("area risk")
        constraints = [models.UniqueConstraint(fields=["run", "area"], name="one_risk_per_run")]
        indexes = [models.Index(fields=["run", "level", "tier"]),
                   models.Index(fields=["run", "parent_code"])]

    def __str__(self) -> str:
        return f"{self.area_id} in run {self.run_id}: {self.tier}"


class RiskFactorEstimate(models.Model):
    run = models.ForeignKey(RiskRun, on_delete=models.CASCADE, related_name="factors")
    level = models.PositiveSmallIntegerField(_("level"))
    factor = models.CharField(_("factor"), max_length=64)
    relative_risk = models.FloatField(null=True, blank=True)
    low = models.FloatField(null=True, blank=True)
    high = models.FloatField(null=True, blank=True)
    p = models.FloatField(null=True, blank=True)
    unit = models.CharField(max_length=20, blank=True)
    selected = models.BooleanField(default=False)

    class Meta:
        ordering = ["level", "-selected", "-relative_risk"]

    def __str__(self) -> str:
        return f"{self.factor} (level {self.level}, run {self.run_id})"
