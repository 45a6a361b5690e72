from django.contrib import admin
from django.urls import include, path, reverse_lazy
from django.views.generic import RedirectView

urlpatterns = [
    path("", include("vestibule.web.urls")),
    path("", include("vestibule.accounts.urls")),
    path("flow/", include("vestibule.flows.urls")),
    path("establishments/", include("vestibule.establishments.urls")),
    path("coverage/", include("vestibule.coverage.urls")),
    path("o/", include("vestibule.oidc.urls")),
    path("api/", include("vestibule.api.urls")),
    path("account/privacy/", include("vestibule.privacy.urls")),
    path("account/security/", include("vestibule.mfa.urls")),
    # Staff sign in on the members' sign-in page: one place for lockout, blocking and audit.
    path(
        "admin/login/",
        RedirectView.as_view(url=reverse_lazy("accounts:login"), query_string=True),
    ),
    # Staff change their password where members do: the policy, the notice and the audit.
    path(
        "admin/password_change/",
        RedirectView.as_view(url=reverse_lazy("accounts:password_change")),
    ),
    path("admin/", admin.site.urls),
]

handler403 = "vestibule.web.views.permission_denied"
handler404 = "vestibule.web.views.page_not_found"
handler500 = "vestibule.web.views.server_error"
