"""« Sécurité de la connexion » → « Ajouter une clé d'accès »: the two requests of adding one.

The page (mfa/passkeys.html, in the security page) posts for the options, the browser makes
the passkey, and mfa/passkey.js posts its answer with the name the member gave it.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from vestibule.mfa.webauthn import PasskeyRefused, registration_options, registration_verify


@never_cache
@require_POST
@login_required
def passkey_options(request: HttpRequest) -> HttpResponse:
    """The options for navigator.credentials.create(); the challenge waits in the session."""
    return JsonResponse(registration_options(request=request, account=request.user))


@never_cache
@require_POST
@login_required
def passkey_add(request: HttpRequest) -> HttpResponse:
    try:
        factor = registration_verify(
            request=request,
            account=request.user,
            credential=request.POST.get("credential", ""),
            name=request.POST.get("name", ""),
        )
    except PasskeyRefused as refused:
        messages.error(request, refused.message)
    else:
        messages.success(
            request, _("The passkey “%(name)s” has been added.") % {"name": factor.name}
        )
    return HttpResponseRedirect(reverse("mfa:security"))
