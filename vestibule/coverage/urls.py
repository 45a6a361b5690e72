from django.urls import path

from vestibule.coverage import views

app_name = "coverage"

urlpatterns = [
    path("", views.status, name="status"),
    path("claim/", views.claim, name="claim"),
    path("resend/", views.resend, name="resend"),
    path("region/", views.region, name="region"),
    path("family/", views.family_invite, name="family_invite"),
    path("family/invitation/", views.family_invitation, name="family_invitation"),
]
