"""Protected aggregate data: reported case counts, child populations, risk factors.

There is no personal data here: a case count is a number of reports per area, month and
category. The imports that wrote them are recorded as ``ImportBatch``.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Category(models.TextChoices):
    SEXUAL_ABUSE = "sexual_abuse", _("sexual abuse")
    SEXUAL_EXPLOITATION = "sexual_exploitation", _("sexual exploitation")
    ONLINE_SEXUAL_EXPLOITATION = "online_sexual_exploitation", _("online sexual exploitation")
    TRAFFICKING = "trafficking", _("trafficking")


class DataKind(models.TextChoices):
    CASES = "cases", _("reported case counts")
    POPULATION = "population", _("child population")
    FACTORS = "factors", _("risk factors")


class ImportStatus(models.TextChoices):
    PREVIEW = "preview", _("checked, waiting for confirmation")
    INVALID = "invalid", _("refused: the file has errors")
    APPLIED = "applied", _("imported")
    DISCARDED = "discarded", _("discarded")


class ImportBatch(models.Model):
    kind = models.CharField(_("data"), max_length=20, choices=DataKind.choices)
    status = models.CharField(_("status"), max_length=20, choices=ImportStatus.choices)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+", verbose_name=_("uploaded by"),
    )
    actor_label = models.CharField(_("by"), max_length=150)
    organisation = models.ForeignKey(
        "accounts.Organisation", null=True, blank=True, on_delete=models.SET_NULL,
        related_name="imports", verbose_name=_("organisation"),
    )
    created_at = models.DateTimeField(_("uploaded"), auto_now_add=True)
    applied_at = models.DateTimeField(_("imported"), null=True, blank=True)
    filename = models.CharField(_("file"), max_length=255)
    file_sha256 = models.CharField(_("SHA-256"), max_length=64, db_index=True)
    # The uploaded file, kept in the database between preview and confirmation so that
    # any web process can finish the import; cleared once applied or discarded.
    content = models.BinaryField(null=True, blank=True, editable=False)
    rows_total = models.PositiveIntegerField(_("rows"), default=0)
    rows_created = models.PositiveIntegerField(_("new"), default=0)
    rows_updated = models.PositiveIntegerField(_("replaced"), default=0)
    rows_unchanged = models.PositiveIntegerField(_("unchanged"), default=0)
    error_count = models.PositiveIntegerField(_("errors"), default=0)
    errors = models.JSONField(_("first errors"), default=list, blank=True)
    is_synthetic = models.BooleanField(_("synthetic"), default=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("import")
        verbose_name_plural = _("imports")

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.filename} ({self.get_status_display()})"


class _AreaData(models.Model):
    area = models.ForeignKey("areas.Area", on_delete=models.PROTECT, related_name="+",
                             verbose_name=_("area"))
    source = models.CharField(_("source"), max_length=200, blank=True)
    is_synthetic = models.BooleanField(_("synthetic"), default=False)
    import_batch = models.ForeignKey(ImportBatch, null=True, blank=True,
                                     on_delete=models.SET_NULL, related_name="+")
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        abstract = True


class CaseCount(_AreaData):
    period = models.DateField(_("month"), help_text=_("First day of the month."))
    category = models.CharField(_("category"), max_length=40, choices=Category.choices)
    count = models.PositiveIntegerField(_("reported cases"))

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["area", "period", "category"],
                                    name="casecount_natural_key"),
        ]
        indexes = [models.Index(fields=["period", "category"])]
        verbose_name = _("reported case count")
        verbose_name_plural = _("reported case counts")

    def __str__(self) -> str:
        return f"{self.area_id} {self.period:%Y-%m} {self.category}: {self.count}"


class Population(_AreaData):
    year = models.PositiveSmallIntegerField(_("year"))
    children = models.PositiveIntegerField(_("children (under 18)"))

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["area", "year"], name="population_natural_key"),
        ]
        verbose_name = _("child population")
        verbose_name_plural = _("child populations")

    def __str__(self) -> str:
        return f"{self.area_id} {self.year}: {self.children}"


class FactorValue(_AreaData):
    factor = models.CharField(_("factor"), max_length=64)
    year = models.PositiveSmallIntegerField(_("year"), null=True, blank=True)
    value = models.FloatField(_("value"))

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["area", "factor", "year"],
                                    condition=models.Q(year__isnull=False),
                                    name="factor_natural_key"),
            models.UniqueConstraint(fields=["area", "factor"],
                                    condition=models.Q(year__isnull=True),
                                    name="factor_natural_key_no_year"),
        ]
        verbose_name = _("risk factor value")
        verbose_name_plural = _("risk factor values")

    def __str__(self) -> str:
        return f"{self.area_id} {self.factor} {self.year or ''}: {self.value}"
