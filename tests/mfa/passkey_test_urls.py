"""The project's URLs with mfa/passkey_urls.py included under the security page.

Until mfa/urls.py includes it, in one line:
    path("passkeys/", include("vestibule.mfa.passkey_urls")),
the passkey tests use this URLconf; afterwards it changes nothing and can go.
"""

from django.urls import include, path

from vestibule import urls as project
from vestibule.mfa import passkey_urls
from vestibule.mfa import urls as mfa_urls

_mfa = [*mfa_urls.urlpatterns, path("passkeys/", include(passkey_urls))]
urlpatterns = [path("account/security/", include((_mfa, "mfa"))), *project.urlpatterns]
handler403 = project.handler403
handler404 = project.handler404
handler500 = project.handler500
