"""Exports of the risk picture and the optional public summary (included at the root)."""

from django.urls import path, re_path

from cegah.riskmap import exports, public

app_name = "riskexports"
urlpatterns = [
    re_path(r"^risk/export/table\.(?P<fmt>csv|xlsx)$", exports.table_export, name="table"),
    re_path(r"^risk/export/map\.(?P<fmt>png|pdf)$", exports.map_export, name="map"),
    path("public/", public.summary, name="public"),
]
