"""Prevention work: the venues where it happens and the activities organisations record.

No personal data about children: reach is a count per sex and age band. Officers are
the organisations' own staff (users), named only to their colleagues.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class VenueType(models.TextChoices):
    SCHOOL = "school", _("school")
    PESANTREN = "pesantren", _("pesantren")
    RPTRA = "rptra", _("child-friendly public space (RPTRA)")
    PORT = "port", _("port")
    AIRPORT = "airport", _("airport")
    BUS_TERMINAL = "bus_terminal", _("bus terminal")
    TOURISM_SITE = "tourism_site", _("tourism site")
    COMMUNITY_CENTRE = "community_centre", _("community centre")
    VILLAGE_HALL = "village_hall", _("village hall")
    PLACE_OF_WORSHIP = "place_of_worship", _("place of worship")
    OTHER = "other", _("other")


# The catalogue setting each venue type is (cegah.catalogue.models.Setting).
VENUE_SETTING = {
    "school": "school", "pesantren": "pesantren", "rptra": "rptra", "port": "port",
    "airport": "airport", "bus_terminal": "bus_terminal", "tourism_site": "tourism_site",
    "community_centre": "community_centre", "village_hall": "village",
    "place_of_worship": "place_of_worship", "other": "",
}


class Venue(models.Model):
    """A place where prevention happens; public reference data, like areas."""

    name = models.CharField(_("name"), max_length=200)
    type = models.CharField(_("type"), max_length=20, choices=VenueType.choices)
    area = models.ForeignKey("areas.Area", on_delete=models.PROTECT, related_name="venues",
                             verbose_name=_("area"))
    latitude = models.FloatField(_("latitude"), null=True, blank=True)
    longitude = models.FloatField(_("longitude"), null=True, blank=True)
    is_synthetic = models.BooleanField(_("synthetic"), default=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["area_id", "type", "name"]
        verbose_name = _("venue")
        verbose_name_plural = _("venues")
        constraints = [models.UniqueConstraint(fields=["area", "type", "name"],
                                               name="one_venue_per_name_type_area")]

    def __str__(self) -> str:
        return self.name


class ActivityStatus(models.TextChoices):
    PLANNED = "planned", _("planned")
    DONE = "done", _("done")
    CANCELLED = "cancelled", _("cancelled")


class Topic(models.TextChoices):
    BODY_SAFETY = "body_safety", _("body safety and safe/unsafe touch")
    CONSENT = "consent", _("consent and healthy relationships")
    ONLINE_SAFETY = "online_safety", _("online safety and sextortion")
    GROOMING = "grooming", _("recognising grooming")
    REPORTING = "reporting", _("how and where to report")
    SERVICES = "services", _("help and services for victims")
    TRAFFICKING = "trafficking", _("trafficking and exploitation")
    PARENTING = "parenting", _("positive parenting")
    CHILD_MARRIAGE = "child_marriage", _("child marriage")
    LAW = "law", _("the law and its penalties")


class Law(models.TextChoices):
    TPKS = "uu_12_2022", _("Law 12/2022 on Sexual Violence Crimes (UU TPKS)")
    CHILD_PROTECTION = "uu_35_2014", _("Law 35/2014 on Child Protection")
    SPPA = "uu_11_2012", _("Law 11/2012 on the Juvenile Justice System (UU SPPA)")
    TPPO = "uu_21_2007", _("Law 21/2007 on Trafficking in Persons (UU TPPO)")
    ITE = "uu_1_2024", _("Law 1/2024 on Electronic Information and Transactions (UU ITE)")
    PORNOGRAPHY = "uu_44_2008", _("Law 44/2008 on Pornography")
    MARRIAGE = "uu_16_2019", _("Law 16/2019 on Marriage (minimum age)")


# Reach: (field, sex, age band). A count per cell; nothing about any one person.
REACH_FIELDS = (
    ("girls_under_12", "female", "0-11"), ("boys_under_12", "male", "0-11"),
    ("girls_12_17", "female", "12-17"), ("boys_12_17", "male", "12-17"),
    ("women_18_plus", "female", "18+"), ("men_18_plus", "male", "18+"),
    ("reached_unknown", "", ""),
)


class Activity(models.Model):
    """One prevention activity, planned or done, led by one organisation, possibly with
    partners (a joint activity)."""

    title = models.CharField(_("title"), max_length=200)
    intervention = models.ForeignKey("catalogue.Intervention", null=True, blank=True,
                                     on_delete=models.PROTECT, related_name="activities",
                                     verbose_name=_("intervention"))
    lead_organisation = models.ForeignKey("accounts.Organisation", on_delete=models.PROTECT,
                                          related_name="led_activities",
                                          verbose_name=_("lead organisation"))
    partners = models.ManyToManyField("accounts.Organisation", blank=True,
                                      related_name="partner_activities",
                                      verbose_name=_("partner organisations"))
    areas = models.ManyToManyField("areas.Area", related_name="activities",
                                   verbose_name=_("areas"))
    venue = models.ForeignKey(Venue, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="activities", verbose_name=_("venue"))
    status = models.CharField(_("status"), max_length=10, choices=ActivityStatus.choices,
                              default=ActivityStatus.DONE)
    starts_on = models.DateField(_("date"))
    start_time = models.TimeField(_("start time"), null=True, blank=True)
    duration_minutes = models.PositiveIntegerField(_("duration (minutes)"), default=60)
    audience = models.CharField(_("audience"), max_length=30)  # catalogue Audience
    girls_under_12 = models.PositiveIntegerField(_("girls under 12"), default=0)
    boys_under_12 = models.PositiveIntegerField(_("boys under 12"), default=0)
    girls_12_17 = models.PositiveIntegerField(_("girls 12-17"), default=0)
    boys_12_17 = models.PositiveIntegerField(_("boys 12-17"), default=0)
    women_18_plus = models.PositiveIntegerField(_("women 18+"), default=0)
    men_18_plus = models.PositiveIntegerField(_("men 18+"), default=0)
    reached_unknown = models.PositiveIntegerField(_("reached, sex or age not recorded"),
                                                  default=0)
    reached_total = models.PositiveIntegerField(_("people reached"), default=0,
                                                editable=False)  # kept by save()
    topics = models.JSONField(_("topics"), default=list, blank=True)
    laws = models.JSONField(_("laws covered"), default=list, blank=True)
    officers = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True,
                                      related_name="prevention_activities",
                                      verbose_name=_("officers"))
    officer_count = models.PositiveIntegerField(_("officers involved"), default=0)
    officer_hours = models.DecimalField(_("officer-hours"), max_digits=8, decimal_places=1,
                                        default=0)
    cost = models.DecimalField(_("cost (IDR)"), max_digits=14, decimal_places=0, null=True,
                               blank=True)
    materials = models.TextField(_("materials"), blank=True)
    notes = models.TextField(_("notes"), blank=True)
    outcomes = models.JSONField(_("outcome measures"), default=dict, blank=True)
    external_id = models.CharField(_("reference"), max_length=100, blank=True)
    is_synthetic = models.BooleanField(_("synthetic"), default=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+",
                                   verbose_name=_("recorded by"))
    created_at = models.DateTimeField(_("recorded"), auto_now_add=True)
    updated_at = models.DateTimeField(_("changed"), auto_now=True)

    class Meta:
        ordering = ["-starts_on", "-id"]
        verbose_name = _("activity")
        verbose_name_plural = _("activities")
        constraints = [
            # Re-running an import with the same references updates, never duplicates.
            models.UniqueConstraint(fields=["lead_organisation", "external_id"],
                                    condition=~Q(external_id=""),
                                    name="one_activity_per_reference"),
        ]
        indexes = [models.Index(fields=["starts_on", "status"])]

    def __str__(self) -> str:
        return f"{self.starts_on} {self.title}"

    def save(self, *args, **kwargs) -> None:
        self.reached_total = sum(getattr(self, f) or 0 for f, _s, _a in REACH_FIELDS)
        if "update_fields" in kwargs and kwargs["update_fields"] is not None:
            kwargs["update_fields"] = {*kwargs["update_fields"], "reached_total"}
        super().save(*args, **kwargs)


ATTACHMENT_TYPES = {
    # extension: content type (checked against the file's first bytes too)
    "pdf": "application/pdf", "jpg": "image/jpeg", "jpeg": "image/jpeg",
    "png": "image/png", "docx": "application/vnd.openxmlformats-officedocument."
    "wordprocessingml.document", "xlsx": "application/vnd.openxmlformats-officedocument."
    "spreadsheetml.sheet", "pptx": "application/vnd.openxmlformats-officedocument."
    "presentationml.presentation",
}
ATTACHMENT_MAX_BYTES = 10 * 1024 * 1024


class Attachment(models.Model):
    """A file kept with an activity (attendance sheet, materials, report), in the
    database so any web process can serve it."""

    activity = models.ForeignKey(Activity, on_delete=models.CASCADE,
                                 related_name="attachments")
    filename = models.CharField(_("file"), max_length=255)
    content_type = models.CharField(max_length=120)
    size = models.PositiveIntegerField(_("size"))
    sha256 = models.CharField(max_length=64)
    content = models.BinaryField(editable=False)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")
    uploaded_at = models.DateTimeField(_("uploaded"), auto_now_add=True)

    class Meta:
        ordering = ["uploaded_at", "id"]
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")

    def __str__(self) -> str:
        return self.filename
