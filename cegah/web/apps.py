from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps
from django.utils.translation import gettext_lazy as _


class WebConfig(AppConfig):
    default = True
    name = "cegah.web"
    verbose_name = _("Web")


class CegahAdminConfig(admin_apps.AdminConfig):
    default = False
    default_site = "cegah.web.admin_site.CegahAdminSite"
