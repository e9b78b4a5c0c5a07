from django.urls import path

from cegah.areas import views

app_name = "areas"
urlpatterns = [
    path("", views.browse, name="browse"),
    path("boundaries/", views.boundaries_import, name="boundaries"),
    path("<str:code>/", views.detail, name="detail"),
]
