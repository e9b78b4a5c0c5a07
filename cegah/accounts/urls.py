from django.urls import path

from cegah.accounts import views

app_name = "accounts"
urlpatterns = [
    path("people/", views.members, name="members"),
]
