"""Coordination pages, included at ``/partners/``."""

from django.urls import path

from cegah.coordination import views

app_name = "coordination"
urlpatterns = [
    path("", views.directory, name="directory"),
    path("<int:org_id>/", views.organisation_detail, name="organisation"),
    path("calendar/", views.calendar_view, name="calendar"),
    path("calendar.ics", views.calendar_ics, name="calendar_ics"),
    path("joint/", views.joint, name="joint"),
    path("requests/", views.request_list, name="requests"),
    path("requests/new/", views.request_new, name="request_new"),
    path("requests/<int:request_id>/", views.request_detail, name="request_detail"),
    path("requests/<int:request_id>/answer/", views.request_answer, name="request_answer"),
    path("requests/<int:request_id>/withdraw/", views.request_withdraw,
         name="request_withdraw"),
    path("notifications/", views.notification_list, name="notifications"),
    path("notifications/read-all/", views.notification_mark_all,
         name="notifications_read_all"),
    path("notifications/<int:notification_id>/open/", views.notification_open,
         name="notification_open"),
]
