from django.urls import path

from cegah.riskmap import views

app_name = "riskmap"
urlpatterns = [
    path("", views.map_view, name="map"),
    path("map.json", views.map_data, name="map_data"),
    path("search/", views.search, name="search"),
    path("status/", views.run_status, name="run_status"),
]
