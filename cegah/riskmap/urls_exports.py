from django.urls import path  # noqa: F401  (filled by the export and public views)

app_name = "riskexports"
urlpatterns: list = []
