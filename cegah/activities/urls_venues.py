from django.urls import path

from cegah.activities import views_venues

app_name = "venues"
urlpatterns = [
    path("", views_venues.venue_list, name="list"),
    path("export/", views_venues.venue_export, name="export"),
    path("import/", views_venues.venue_import, name="import"),
]
