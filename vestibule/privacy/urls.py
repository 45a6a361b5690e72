from django.urls import path

from vestibule.privacy import views

app_name = "privacy"

urlpatterns = [
    path("", views.privacy, name="index"),
    path("export/", views.export, name="export"),
    path("delete/", views.deletion_request, name="delete"),
]
