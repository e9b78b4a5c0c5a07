from django.urls import path

from cegah.activities import views, views_venues

app_name = "activities"
urlpatterns = [
    path("", views.activity_list, name="list"),
    path("new/", views.activity_new, name="new"),
    path("quick/", views.quick, name="quick"),
    path("areas/", views.area_search, name="area-search"),
    path("import/", views_venues.activity_import, name="import"),
    path("export/", views_venues.activity_export, name="export"),
    path("<int:pk>/", views.activity_detail, name="detail"),
    path("<int:pk>/edit/", views.activity_edit, name="edit"),
    path("<int:pk>/cancel/", views.activity_cancel, name="cancel"),
    path("<int:pk>/delete/", views.activity_delete, name="delete"),
    path("<int:pk>/attachments/", views.attachment_add, name="attachment-add"),
    path("<int:pk>/attachments/<int:attachment_id>/", views.attachment_download,
         name="attachment"),
    path("<int:pk>/attachments/<int:attachment_id>/remove/", views.attachment_remove,
         name="attachment-remove"),
]
