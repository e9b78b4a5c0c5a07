from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from cegah.api import api
from cegah.web import views as web_views

urlpatterns = [
    path("", web_views.home, name="home"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("accounts/login/", auth_views.LoginView.as_view(redirect_authenticated_user=True),
         name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/", include("cegah.accounts.urls")),
    path("areas/", include("cegah.areas.urls")),
    path("data/", include("cegah.cases.urls")),
    path("audit/", include("cegah.audit.urls")),
    path("api/v1/", api.urls),
    path("risk/", include("cegah.riskmap.urls")),
    path("", include("cegah.riskmap.urls_exports")),
    path("catalogue/", include("cegah.catalogue.urls")),
    path("activities/", include("cegah.activities.urls")),
    path("venues/", include("cegah.activities.urls_venues")),
    path("coverage/", include("cegah.activities.urls_coverage")),
    path("partners/", include("cegah.coordination.urls")),
    path("healthz", web_views.healthz, name="healthz"),
    path("admin/", admin.site.urls),
]
