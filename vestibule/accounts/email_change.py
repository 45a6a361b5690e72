"""A login e-mail changed: asked for by the member (password typed again) or by staff,
confirmed only from a link sent to the new address.

The old address never gets the link: it hears of the change once it is done, with the
support contact, so a stolen session cannot quietly move the account to another inbox.
A member is never told that the new address belongs to another account (its owner gets a
notice instead); staff are, plainly.
"""

from datetime import timedelta

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from vestibule.accounts.lifecycle import AccountActionRefused
from vestibule.accounts.models import Account
from vestibule.audit.services import actor_label, event_record
from vestibule.config import get_profile
from vestibule.notifications.services import message_enqueue
from vestibule.throttle import counters
from vestibule.tokens import services as tokens
from vestibule.tokens.models import Token
from vestibule.tokens.services import (
    TokenInvalid,
    token_find,
    token_issue,
    token_use,
    tokens_revoke,
)

PURPOSE = Token.Purpose.EMAIL_CHANGE
# tokens/services.py names a salt per purpose; until it names this one, it is added here.
tokens.SALTS.setdefault(PURPOSE, "vestibule.tokens.email_change")
CONFIRM_PATH = "/account/email/confirm/{key}/"
# A member's requests each send an e-mail to an address they choose: not a mail cannon.
REQUESTS_PER_ACCOUNT = counters.Rate(limit=5, period=3600)
# The links a new login makes useless: they were sent to the old address.
REVOKED_ON_CHANGE = (Token.Purpose.ACTIVATION, Token.Purpose.RECOVERY, PURPOSE)


class EmailChangeRefused(AccountActionRefused):
    MESSAGES = {
        **AccountActionRefused.MESSAGES,
        "email_invalid": _("This e-mail address is invalid. Check it and try again."),
        "email_same": _("This is already the account's e-mail address."),
        "email_taken": _("Another account already uses this e-mail address."),
        "disabled": _("This account is disabled: its e-mail address cannot be changed."),
        "too_many": _("Too many e-mail address changes asked for: try again in an hour."),
        "link_unknown": _("This link is not valid. Check that you copied all of it."),
        "link_used": _("This link has already been used."),
        "link_expired": _("This link has expired: ask for the change again."),
        "sign_in_required": _("Sign in to the account to confirm its new e-mail address."),
        "email_taken_meanwhile": _(
            "Another account has taken this e-mail address since the link was sent: the "
            "e-mail address has not changed."
        ),
    }


def _by(actor: Account | None) -> str:
    return actor_label(actor)


def email_normalise(email: str) -> str:
    """The address as logins store it (trimmed, lower case); EmailChangeRefused if invalid."""
    email = (email or "").strip().lower()
    try:
        validate_email(email)
    except ValidationError:
        raise EmailChangeRefused("email_invalid") from None
    return email


def email_change_allowed(account: Account) -> bool:
    """Reserve one of the member's e-mail change requests of the hour; False when spent."""
    if counters.hit("email_change", str(account.pk), REQUESTS_PER_ACCOUNT) > (
        REQUESTS_PER_ACCOUNT.limit
    ):
        counters.give_back("email_change", str(account.pk))
        return False
    return True


@transaction.atomic
def email_change_request(
    *,
    account: Account,
    new_email: str,
    actor: Account | None,
    request: HttpRequest | None = None,
) -> None:
    """Send a link to `new_email`; opening it makes it the login of `account`.

    `actor` is the account itself (its member), a staff account, or None (the operator).
    Refused (EmailChangeRefused): an invalid or the same address, a disabled account, a
    staff account's address changed by non-superuser staff, and, for staff only, an
    address another account uses. Earlier links of the account stay unused for good.
    """
    by_member = actor is not None and actor.pk == account.pk
    new_email = email_normalise(new_email)
    if (
        not by_member
        and actor is not None
        and (account.is_staff or account.is_superuser)
        and not actor.is_superuser
    ):
        raise EmailChangeRefused("staff_needs_superuser")
    if account.status == Account.Status.DISABLED:
        raise EmailChangeRefused("disabled")
    if new_email == account.email.lower():
        raise EmailChangeRefused("email_same")
    owner = Account.objects.by_email(new_email).exclude(pk=account.pk).first()
    if owner is not None and not by_member:
        raise EmailChangeRefused("email_taken")
    tokens_revoke(Token.objects.filter(account=account, purpose=PURPOSE))
    # The same audit event either way: the member's own data tells nothing of the owner.
    event_record(
        "email_change.requested", request=request, account=account, by=_by(actor), email=new_email
    )
    if owner is not None:
        # The page says a link was sent; the owner of the address hears of the attempt.
        message_enqueue(
            template="email_change_taken",
            to=owner.email,
            language=owner.language,
            context={"account": owner},
        )
        return
    lifetime = timedelta(hours=get_profile().accounts.email_change_link_hours)
    key, _token = token_issue(
        purpose=PURPOSE,
        lifetime=lifetime,
        account=account,
        payload={"email": new_email, "by_member": by_member},
    )
    message_enqueue(
        template="email_change_link",
        to=new_email,
        language=account.language,
        context={
            "account": account,
            "new_email": new_email,
            "link_path": CONFIRM_PATH.format(key=key),
            "lifetime_hours": int(lifetime.total_seconds() // 3600),
        },
    )


def _link_refused(invalid: TokenInvalid) -> EmailChangeRefused:
    return EmailChangeRefused(f"link_{invalid.reason}")


def email_change_pending(*, key: str) -> tuple[Account, str]:
    """The account and new address behind a live link; nothing is spent (GET shows this)."""
    try:
        token = token_find(key=key, purpose=PURPOSE)
    except TokenInvalid as invalid:
        raise _link_refused(invalid) from None
    return token.account, token.payload["email"]


def _signed_in_as(request: HttpRequest | None, account: Account) -> bool:
    user = getattr(request, "user", None)
    return bool(user is not None and user.is_authenticated and user.pk == account.pk)


@transaction.atomic
def email_change_confirm(*, key: str, request: HttpRequest | None = None) -> Account:
    """Make the link's new address the account's login; the link is spent.

    Refused: an unknown, used or expired link; a disabled account; an address another
    account took since; a change the member asked for, confirmed by someone not signed in
    to that account (a mistyped address's owner cannot take the account over). The account's
    pending activation and reset links end (they went to the old address), which hears of
    the change.
    """
    try:
        token = token_use(key=key, purpose=PURPOSE)
    except TokenInvalid as invalid:
        raise _link_refused(invalid) from None
    account = Account.objects.select_for_update().get(pk=token.account_id)
    new_email = token.payload["email"]
    if token.payload.get("by_member") and not _signed_in_as(request, account):
        raise EmailChangeRefused("sign_in_required")
    if account.status == Account.Status.DISABLED:
        raise EmailChangeRefused("disabled")
    if Account.objects.by_email(new_email).exclude(pk=account.pk).exists():
        raise EmailChangeRefused("email_taken_meanwhile")
    old_email = account.email
    account.email = new_email
    try:
        with transaction.atomic():
            account.save(update_fields=["email"])
    except IntegrityError:
        # Taken by a sign-up committed between the check and this write.
        raise EmailChangeRefused("email_taken_meanwhile") from None
    tokens_revoke(Token.objects.filter(account=account, purpose__in=REVOKED_ON_CHANGE))
    event_record(
        "email_change.confirmed",
        request=request,
        account=account,
        old_email=old_email,
        email=new_email,
    )
    message_enqueue(
        template="email_changed",
        to=old_email,
        language=account.language,
        context={"account": account, "new_email": new_email},
    )
    return account
