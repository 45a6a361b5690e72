from django.urls import include, path

from vestibule.mfa import views

app_name = "mfa"

urlpatterns = [
    path("", views.security, name="security"),
    path("app/add/", views.totp_add, name="totp_add"),
    path("factors/<int:factor_id>/remove/", views.factor_remove, name="factor_remove"),
    # Passkeys (mfa/webauthn.py): their own views, in this namespace.
    path("passkeys/", include("vestibule.mfa.passkey_urls")),
    path("recovery-codes/", views.recovery_codes_generate, name="recovery_codes"),
    path(
        "recovery-codes/download/",
        views.recovery_codes_download,
        name="recovery_codes_download",
    ),
]
