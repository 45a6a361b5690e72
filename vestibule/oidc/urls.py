"""The OpenID Connect provider under /o/: django-oauth-toolkit's endpoints (namespace
`oauth2_provider`, which it reverses itself), its authorization endpoint replaced by
Vestibule's, which applies the sections' rules first."""

from django.urls import include, path

from vestibule.oidc.logout import DiscoveryView, LogoutView
from vestibule.oidc.views import AuthorizeView

urlpatterns = [
    path("authorize/", AuthorizeView.as_view(), name="oidc-authorize"),
    # Back-channel logout (logout.py): advertised in discovery, triggered by end_session.
    path(".well-known/openid-configuration", DiscoveryView.as_view(), name="oidc-discovery"),
    path("logout/", LogoutView.as_view(), name="oidc-logout"),
    path("", include("oauth2_provider.urls", namespace="oauth2_provider")),
]
