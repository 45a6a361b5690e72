"""Pages of « Ajouter et gérer des utilisateurs » (seed 001): thin views over services.py.

The current establishment is the session's choice among the account's memberships, read
again from the database at every request: a removed membership or right counts at once.
"""

from collections.abc import Callable
from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from vestibule.accounts.redirects import safe_next
from vestibule.accounts.selectors import account_by_identifier
from vestibule.config import get_profile
from vestibule.establishments import forms
from vestibule.establishments.current import CURRENT, current_membership
from vestibule.establishments.invitations import (
    InvitationInvalid,
    invitation_accept,
    invitation_find,
    invitation_needs_password,
    invitation_resend,
    invitation_revoke,
    invitation_send,
)
from vestibule.establishments.models import Invitation, Membership
from vestibule.establishments.services import (
    RightsError,
    administered_count,
    can_administer,
    membership_remove,
    membership_rights_change,
)

INVITATION_KEY = "establishment_invitation_key"
LAST_ADMINISTRATOR = gettext_lazy(
    "An establishment keeps at least one administrator: give the right to another user first."
)
OWNER_PROTECTED = gettext_lazy(
    "Only another owner of the establishment, or the support team, can remove its owner or "
    "change their access rights."
)


def administrator_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Signed in, and holding the user-administration right in the current establishment."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not get_profile().access_rights:
            raise Http404
        membership = current_membership(request)
        if not can_administer(membership):
            raise PermissionDenied
        return view(request, membership, *args, **kwargs)

    return wrapper


@administrator_required
def users(request: HttpRequest, membership: Membership) -> HttpResponse:
    establishment = membership.establishment
    return render(
        request,
        "establishments/users.html",
        {
            "establishment": establishment,
            "memberships": establishment.memberships.select_related("account"),
            "invitations": establishment.invitations.filter(
                state=Invitation.State.PENDING
            ).select_related("token"),
        },
    )


@administrator_required
def user_add(request: HttpRequest, membership: Membership) -> HttpResponse:
    return render(request, "establishments/user_add.html")


@administrator_required
def user_add_new(request: HttpRequest, membership: Membership) -> HttpResponse:
    """Two steps on one URL: name and e-mail, then « configuration des droits d'accès »."""
    step2 = "rights_step" in request.POST
    form_class = forms.NewUserRightsForm if step2 else forms.NewUserForm
    form = form_class(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if not step2:
            return render(
                request,
                "establishments/user_rights.html",
                {"form": forms.NewUserRightsForm(initial=form.cleaned_data), "new": True},
            )
        forms.rights_required(form)
        if not form.errors:
            invitation_send(
                establishment=membership.establishment,
                email=form.cleaned_data["email"],
                first_name=form.cleaned_data["first_name"],
                last_name=form.cleaned_data["last_name"],
                rights=form.cleaned_data["rights"],
                inviter=request.user,
                request=request,
            )
            messages.success(request, _("The invitation has been sent."))
            return HttpResponseRedirect(reverse("establishments:users"))
    template = "establishments/user_rights.html" if step2 else "establishments/user_new.html"
    return render(request, template, {"form": form, "new": True})


@administrator_required
def user_add_existing(request: HttpRequest, membership: Membership) -> HttpResponse:
    """« Utilisateur existant »: identifier and e-mail of one account, then its rights."""
    step2 = "rights_step" in request.POST
    form_class = forms.ExistingUserRightsForm if step2 else forms.ExistingUserForm
    form = form_class(request.POST or None)
    if request.method == "POST" and form.is_valid():
        account = account_by_identifier(form.cleaned_data["identifier"])
        if account is None or account.email.lower() != form.cleaned_data["email"].lower():
            form.add_error(None, _("No account has this identifier and this e-mail address."))
        elif not step2:
            return render(
                request,
                "establishments/user_rights.html",
                {"form": forms.ExistingUserRightsForm(initial=form.cleaned_data)},
            )
        else:
            forms.rights_required(form)
            if not form.errors:
                invitation_send(
                    establishment=membership.establishment,
                    email=account.email,
                    first_name=account.first_name,
                    last_name=account.last_name,
                    rights=form.cleaned_data["rights"],
                    inviter=request.user,
                    for_existing_account=True,
                    request=request,
                )
                messages.success(request, _("The invitation has been sent."))
                return HttpResponseRedirect(reverse("establishments:users"))
    template = "establishments/user_rights.html" if step2 else "establishments/user_existing.html"
    return render(request, template, {"form": form})


@administrator_required
def user_manage(request: HttpRequest, membership: Membership, pk: int) -> HttpResponse:
    """« Gérer »: change the rights of one user of this establishment, or remove them."""
    target = get_object_or_404(
        Membership.objects.select_related("account"), pk=pk, establishment=membership.establishment
    )
    form = forms.RightsForm(request.POST or None, initial={"rights": target.rights})
    if request.method == "POST":
        try:
            if "remove" in request.POST and "confirm" not in request.POST:
                # « Supprimer l'utilisateur » asks first: the removal signs them out at once.
                return render(request, "establishments/user_remove.html", {"target": target})
            if "remove" in request.POST:
                membership_remove(membership=target, by=request.user, request=request)
                messages.success(request, _("The user has been removed."))
                return HttpResponseRedirect(reverse("establishments:users"))
            if form.is_valid():
                membership_rights_change(
                    membership=target,
                    rights=form.cleaned_data["rights"],
                    by=request.user,
                    request=request,
                )
                messages.success(request, _("The access rights have been saved."))
                return HttpResponseRedirect(reverse("establishments:users"))
        except RightsError as refused:
            form.add_error(None, OWNER_PROTECTED if refused.code == "owner" else LAST_ADMINISTRATOR)
    return render(request, "establishments/user_manage.html", {"target": target, "form": form})


@require_POST
@administrator_required
def invitation_action(
    request: HttpRequest, membership: Membership, pk: int, action: str
) -> HttpResponse:
    invitation = get_object_or_404(Invitation, pk=pk, establishment=membership.establishment)
    if action == "revoke":
        invitation_revoke(invitation=invitation, by=request.user, request=request)
        messages.success(request, _("The invitation has been revoked."))
    elif action == "resend" and invitation.state == Invitation.State.PENDING:
        invitation_resend(invitation=invitation, by=request.user, request=request)
        messages.success(request, _("The invitation has been sent again."))
    else:
        raise Http404
    return HttpResponseRedirect(reverse("establishments:users"))


def invitation_open(request: HttpRequest, key: str) -> HttpResponse:
    """The e-mailed link: its key moves into the session and leaves the address bar."""
    request.session[INVITATION_KEY] = key
    return HttpResponseRedirect(reverse("establishments:invitation"))


def invitation(request: HttpRequest) -> HttpResponse:
    key = request.session.get(INVITATION_KEY, "")
    try:
        pending = invitation_find(key)
    except InvitationInvalid as invalid:
        return render(
            request,
            "establishments/invitation_invalid.html",
            {"reason": invalid.reason},
            status=410,
        )
    # A new user, or a delegate removed earlier from every establishment (its account is
    # disabled, so it could not sign in to accept): both choose a password here.
    is_new_user = invitation_needs_password(pending)
    form = forms.InvitationPasswordForm(request.POST or None) if is_new_user else None
    if request.method == "POST" and (form is None or form.is_valid()):
        try:
            invitation_accept(
                key=key,
                account=request.user if request.user.is_authenticated else None,
                password=form.cleaned_data["password"] if form else "",
                request=request,
            )
        except InvitationInvalid as invalid:
            return render(
                request,
                "establishments/invitation_invalid.html",
                {"reason": invalid.reason, "invitation": pending},
                status=410,
            )
        except ValidationError as refused:  # the password policy: the invitation stays open
            assert form is not None
            form.add_error("password", refused)
            return render(
                request,
                "establishments/invitation.html",
                {"invitation": pending, "form": form, "is_new_user": is_new_user},
            )
        del request.session[INVITATION_KEY]
        if is_new_user:
            messages.success(
                request, _("Your account is ready. Sign in with your e-mail address as identifier.")
            )
            return HttpResponseRedirect(reverse("accounts:login"))
        request.session[CURRENT] = pending.establishment_id
        messages.success(
            request, _("You now have access to %(name)s.") % {"name": pending.establishment.name}
        )
        return HttpResponseRedirect(reverse("web:home"))
    return render(
        request,
        "establishments/invitation.html",
        {"invitation": pending, "form": form, "is_new_user": is_new_user},
    )


@require_POST
@login_required
def switch(request: HttpRequest) -> HttpResponse:
    form = forms.SwitchForm(request.POST)
    if (
        form.is_valid()
        and request.user.memberships.filter(
            establishment_id=form.cleaned_data["establishment"]
        ).exists()
    ):
        request.session[CURRENT] = form.cleaned_data["establishment"]
    return HttpResponseRedirect(safe_next(request, reverse("web:home")))


@login_required
def section(request: HttpRequest, right: str) -> HttpResponse:
    """A members-only section of the current establishment, open to holders of `right`."""
    profile = get_profile()
    access_right = next((r for r in profile.access_rights if r.key == right), None)
    if access_right is None:
        raise Http404
    membership = current_membership(request)
    if membership is None or right not in membership.rights:
        raise PermissionDenied
    return render(
        request,
        "establishments/section.html",
        {"access_right": access_right, "establishment": membership.establishment},
    )


@login_required
def login_email(request: HttpRequest) -> HttpResponse:
    """Seed 001: the login e-mail cannot be changed by its owner; this page says what to do."""
    if not get_profile().access_rights:
        raise Http404
    threshold = get_profile().establishments.support_threshold
    return render(
        request,
        "establishments/login_email.html",
        {"through_support": administered_count(request.user) >= threshold, "threshold": threshold},
    )
