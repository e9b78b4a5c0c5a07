from django.urls import path

from cegah.catalogue import views

app_name = "catalogue"
urlpatterns = [
    path("", views.catalogue_list, name="list"),
    path("new/", views.catalogue_new, name="new"),
    path("<slug:slug>/", views.catalogue_detail, name="detail"),
    path("<slug:slug>/edit/", views.catalogue_edit, name="edit"),
    path("<slug:slug>/deactivate/", views.catalogue_deactivate, name="deactivate"),
    path("<slug:slug>/reactivate/", views.catalogue_reactivate, name="reactivate"),
]
