from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RiskMapConfig(AppConfig):
    name = "cegah.riskmap"
    verbose_name = _("Risk runs and the risk map")
