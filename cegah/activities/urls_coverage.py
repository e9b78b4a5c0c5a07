from django.urls import path

from cegah.activities import views_coverage

app_name = "coverage"
urlpatterns = [
    path("", views_coverage.coverage_table, name="table"),
    path("gaps/", views_coverage.gaps, name="gaps"),
]
