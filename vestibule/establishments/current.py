"""The establishment a signed-in account is acting for, kept in its session."""

from django.http import HttpRequest

from vestibule.establishments.models import Membership
from vestibule.establishments.services import membership_of, memberships_of

CURRENT = "current_establishment"


def current_membership(request: HttpRequest) -> Membership | None:
    """The session's establishment if the account still belongs to it, else its first one."""
    user = request.user
    if not user.is_authenticated:
        return None
    if not hasattr(request, "_current_membership"):
        membership = membership_of(user, request.session.get(CURRENT))
        if membership is None:
            membership = memberships_of(user).first()
            if membership is not None:
                request.session[CURRENT] = membership.establishment_id
        request._current_membership = membership
    return request._current_membership
