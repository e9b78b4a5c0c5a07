"""The Indonesian administrative hierarchy, keyed by Kemendagri codes (``31.74.01.1001``)."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Level(models.IntegerChoices):
    PROVINCE = 1, _("province")
    REGENCY = 2, _("regency/city")
    DISTRICT = 3, _("district")
    VILLAGE = 4, _("village")

    @classmethod
    def from_name(cls, name: str) -> Level:
        return {"province": cls.PROVINCE, "regency": cls.REGENCY,
                "district": cls.DISTRICT, "village": cls.VILLAGE}[name]

    @property
    def key(self) -> str:
        return ("province", "regency", "district", "village")[self.value - 1]


class Kind(models.TextChoices):
    PROVINCE = "province", _("province")
    REGENCY = "regency", _("regency (kabupaten)")
    CITY = "city", _("city (kota)")
    DISTRICT = "district", _("district (kecamatan)")
    KELURAHAN = "kelurahan", _("urban village (kelurahan)")
    DESA = "desa", _("rural village (desa)")
    DESA_ADAT = "desa_adat", _("customary village (desa adat)")


def kind_for_code(code: str) -> str:
    """The kind of area a Kemendagri code denotes.

    Regency numbers 71-99 are cities; a village number starting with 1 is an urban
    kelurahan, with 2 a rural desa, with 3 a customary desa adat.
    """
    parts = code.split(".")
    if len(parts) == 1:
        return Kind.PROVINCE
    if len(parts) == 2:
        return Kind.CITY if int(parts[1]) >= 71 else Kind.REGENCY
    if len(parts) == 3:
        return Kind.DISTRICT
    return {"1": Kind.KELURAHAN, "2": Kind.DESA, "3": Kind.DESA_ADAT}.get(parts[3][0], Kind.DESA)


class Area(models.Model):
    code = models.CharField(_("code"), max_length=20, primary_key=True)
    name = models.CharField(_("name"), max_length=200)
    level = models.PositiveSmallIntegerField(_("level"), choices=Level.choices, db_index=True)
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children",
        verbose_name=_("parent"),
    )
    is_urban = models.BooleanField(_("urban"), null=True, blank=True)
    # GeoJSON geometry in WGS 84; optional, imported by the boundaries feature.
    geometry = models.TextField(_("geometry"), null=True, blank=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("area")
        verbose_name_plural = _("areas")

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    def get_absolute_url(self) -> str:
        from django.urls import reverse

        return reverse("areas:detail", args=[self.code])

    @property
    def level_key(self) -> str:
        return Level(self.level).key

    def ancestors(self) -> list[Area]:
        """Parents from the province down, without this area."""
        parts = self.code.split(".")
        codes = [".".join(parts[: i + 1]) for i in range(len(parts) - 1)]
        by_code = Area.objects.in_bulk(codes)
        return [by_code[c] for c in codes if c in by_code]


def subtree_q(codes, field: str = "code") -> Q:
    """A filter for the areas in ``codes`` and all their descendants.

    Kemendagri codes nest by prefix, so a descendant's code starts with the ancestor's
    code and a dot; both databases answer this from the primary-key index.
    """
    q = Q(pk__in=[])
    for code in codes:
        q |= Q(**{field: code}) | Q(**{f"{field}__startswith": f"{code}."})
    return q


def is_within(code: str, ancestor_codes) -> bool:
    return any(code == a or code.startswith(a + ".") for a in ancestor_codes)
