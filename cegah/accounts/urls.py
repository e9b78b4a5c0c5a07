from django.urls import path

from cegah.accounts import views

app_name = "accounts"
urlpatterns = [
    path("people/", views.members, name="members"),
    path("people/new/", views.member_new, name="member-new"),
    path("people/<int:pk>/", views.member_edit, name="member-edit"),
]
