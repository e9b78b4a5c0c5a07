from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CasesConfig(AppConfig):
    name = "cegah.cases"
    verbose_name = _("Case counts, population and risk factors")
