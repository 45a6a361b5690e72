"""Included by mfa/urls.py under "passkeys/" (names in the "mfa" namespace)."""

from django.urls import path

from vestibule.mfa import passkey_views

urlpatterns = [
    path("options/", passkey_views.passkey_options, name="passkey_options"),
    path("add/", passkey_views.passkey_add, name="passkey_add"),
]
