"""The OpenID Connect provider under /o/: django-oauth-toolkit's endpoints (namespace
`oauth2_provider`, which it reverses itself), its authorization endpoint replaced by
Vestibule's, which applies the sections' rules first."""

from django.urls import include, path

from vestibule.oidc.views import AuthorizeView

urlpatterns = [
    path("authorize/", AuthorizeView.as_view(), name="oidc-authorize"),
    path("", include("oauth2_provider.urls", namespace="oauth2_provider")),
]
