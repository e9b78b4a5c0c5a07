from django.urls import path

from cegah.cases import views

app_name = "cases"
urlpatterns = [
    path("imports/", views.import_list, name="imports"),
    path("imports/new/", views.import_new, name="import-new"),
    path("imports/<int:pk>/", views.import_detail, name="import-detail"),
    path("imports/<int:pk>/confirm/", views.import_confirm, name="import-confirm"),
    path("imports/<int:pk>/discard/", views.import_discard, name="import-discard"),
    path("export/", views.export, name="export"),
]
