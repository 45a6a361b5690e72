"""The OpenID Connect provider under /o/: django-oauth-toolkit's endpoints (namespace
`oauth2_provider`, which it reverses itself), its authorization endpoint replaced by
Vestibule's, which applies the sections' rules first."""

from django.urls import include, path

from vestibule.oidc.logout import DiscoveryView, LogoutView
from vestibule.oidc.views import (
    AuthorizeView,
    IntrospectEndpoint,
    RevokeEndpoint,
    TokenEndpoint,
    with_protocol_metadata,
)

urlpatterns = [
    path("authorize/", AuthorizeView.as_view(), name="oidc-authorize"),
    # DOT's, audited; introspection for a confidential client's own tokens (views.py).
    path("token/", TokenEndpoint.as_view(), name="oidc-token"),
    path("revoke_token/", RevokeEndpoint.as_view(), name="oidc-revoke"),
    path("introspect/", IntrospectEndpoint.as_view(), name="oidc-introspect"),
    # Back-channel logout (logout.py): advertised in discovery, triggered by end_session.
    path(
        ".well-known/openid-configuration",
        with_protocol_metadata(DiscoveryView.as_view()),
        name="oidc-discovery",
    ),
    path("logout/", LogoutView.as_view(), name="oidc-logout"),
    path("", include("oauth2_provider.urls", namespace="oauth2_provider")),
]
