from django.urls import path  # noqa: F401  (filled by the risk map views)

app_name = "riskmap"
urlpatterns: list = []
