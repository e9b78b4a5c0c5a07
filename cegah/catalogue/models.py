"""The intervention catalogue: prevention strategies from the ECPAT Indonesia case study
and evidence-based programmes, in Indonesian and English.

The vocabularies here (prevention level, audience, setting, risk driver) are shared by
the activity registry, the gap list and the recommendations.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _


class PreventionLevel(models.TextChoices):
    PRIMARY = "primary", _("primary (before abuse: everyone)")
    SECONDARY = "secondary", _("secondary (groups and places at risk)")
    TERTIARY = "tertiary", _("tertiary (after abuse: victims and children who offended)")


class Audience(models.TextChoices):
    CHILDREN = "children", _("children (under 12)")
    ADOLESCENTS = "adolescents", _("adolescents (12-17)")
    PARENTS = "parents", _("parents and caregivers")
    TEACHERS = "teachers", _("teachers and school staff")
    COMMUNITY_LEADERS = "community_leaders", _("community leaders (RT/RW, village officials)")
    RELIGIOUS_LEADERS = "religious_leaders", _("religious leaders and pesantren staff")
    WOMEN_GROUPS = "women_groups", _("women's groups (PKK, Dasa Wisma)")
    VULNERABLE_FAMILIES = "vulnerable_families", _("vulnerable families")
    TRAVELLERS = "travellers", _("travellers and passengers")
    TRANSPORT_TOURISM_WORKERS = "transport_tourism_workers", _(
        "transport, hotel and tourism workers")
    OFFICERS = "officers", _("police and service officers")
    GENERAL_PUBLIC = "general_public", _("general public")
    ONLINE_USERS = "online_users", _("people online")
    CHILDREN_IN_CONFLICT = "children_in_conflict", _("children in conflict with the law")
    VICTIMS = "victims", _("child victims and their families")


class Setting(models.TextChoices):
    SCHOOL = "school", _("school")
    PESANTREN = "pesantren", _("pesantren (Islamic boarding school)")
    VILLAGE = "village", _("village or neighbourhood (RT/RW)")
    RPTRA = "rptra", _("child-friendly public space (RPTRA)")
    PORT = "port", _("port")
    AIRPORT = "airport", _("airport")
    BUS_TERMINAL = "bus_terminal", _("bus terminal")
    TOURISM_SITE = "tourism_site", _("tourism site")
    COMMUNITY_CENTRE = "community_centre", _("community centre")
    PLACE_OF_WORSHIP = "place_of_worship", _("place of worship")
    INSTITUTION = "institution", _("residential institution or boarding school")
    CORRECTIONS = "corrections", _("correctional institution (LPKA, Bapas)")
    ONLINE = "online", _("online and messaging apps")
    MASS_MEDIA = "mass_media", _("mass media")
    POLICE_STATION = "police_station", _("police station or service office")


class EvidenceStrength(models.TextChoices):
    STRONG = "strong", _("strong (several rigorous evaluations)")
    MODERATE = "moderate", _("moderate (some evaluations)")
    EMERGING = "emerging", _("emerging (promising, little evaluation)")
    PRACTICE = "practice", _("practice-based (described by practitioners)")


class Source(models.TextChoices):
    CASE_STUDY = "case_study", _("ECPAT Indonesia case study (2024)")
    EVIDENCE = "evidence", _("evidence-based programme")


class Intervention(models.Model):
    """One prevention strategy.

    ``drivers`` lists what in an area's risk picture the intervention answers, in the
    risk engine's driver vocabulary: ``factor:<name>`` (a contextual factor such as
    ``factor:port`` or ``factor:poverty_rate``), ``hotspot``, ``trend``,
    ``underreporting``, ``parent_ratio``/``reference_ratio`` (a high rate) and
    ``category:<case category>`` (e.g. ``category:online_sexual_exploitation``).
    """

    slug = models.SlugField(_("key"), max_length=80, unique=True)
    name_id = models.CharField(_("name (Indonesian)"), max_length=200)
    name_en = models.CharField(_("name (English)"), max_length=200)
    summary_id = models.TextField(_("summary (Indonesian)"))
    summary_en = models.TextField(_("summary (English)"))
    level = models.CharField(_("prevention level"), max_length=10,
                             choices=PreventionLevel.choices)
    audiences = models.JSONField(_("audiences"), default=list, blank=True)
    settings = models.JSONField(_("settings"), default=list, blank=True)
    drivers = models.JSONField(_("risk drivers addressed"), default=list, blank=True)
    lead_types = models.JSONField(_("who usually leads"), default=list, blank=True)
    cultural_notes_id = models.TextField(_("cultural notes (Indonesian)"), blank=True)
    cultural_notes_en = models.TextField(_("cultural notes (English)"), blank=True)
    evidence_id = models.TextField(_("evidence (Indonesian)"), blank=True)
    evidence_en = models.TextField(_("evidence (English)"), blank=True)
    evidence_strength = models.CharField(_("strength of evidence"), max_length=10,
                                         choices=EvidenceStrength.choices)
    citations = models.JSONField(_("citations"), default=list, blank=True)
    measures_id = models.TextField(_("how to measure it (Indonesian)"), blank=True)
    measures_en = models.TextField(_("how to measure it (English)"), blank=True)
    source = models.CharField(_("source"), max_length=12, choices=Source.choices)
    is_active = models.BooleanField(_("in use"), default=True)
    updated_at = models.DateTimeField(_("changed"), auto_now=True)

    class Meta:
        ordering = ["level", "name_en"]
        verbose_name = _("intervention")
        verbose_name_plural = _("interventions")

    def __str__(self) -> str:
        return self.name

    def _pick(self, field: str) -> str:
        language = (get_language() or "id")[:2]
        value = getattr(self, f"{field}_{'en' if language == 'en' else 'id'}")
        return value or getattr(self, f"{field}_id") or getattr(self, f"{field}_en")

    @property
    def name(self) -> str:
        return self._pick("name")

    @property
    def summary(self) -> str:
        return self._pick("summary")

    @property
    def cultural_notes(self) -> str:
        return self._pick("cultural_notes")

    @property
    def evidence(self) -> str:
        return self._pick("evidence")

    @property
    def measures(self) -> str:
        return self._pick("measures")
