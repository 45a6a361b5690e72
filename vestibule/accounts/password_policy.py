"""Password validators that read the active profile: lengths, and nothing like the identifier.

No composition rules (NIST SP 800-63B): length, a blocklist (Django's
CommonPasswordValidator, 20,000 common passwords) and this account's own identifiers.
"""

from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from vestibule.config import get_profile


class ProfileLengthValidator:
    def validate(self, password: str, user: Any = None) -> None:
        policy = get_profile().password
        if len(password) < policy.min_length:
            raise ValidationError(
                ngettext(
                    "The password must contain at least %(min)d character.",
                    "The password must contain at least %(min)d characters.",
                    policy.min_length,
                )
                % {"min": policy.min_length},
                code="password_too_short",
            )
        if len(password) > policy.max_length:
            raise ValidationError(
                _("The password must contain at most %(max)d characters.")
                % {"max": policy.max_length},
                code="password_too_long",
            )

    def get_help_text(self) -> str:
        policy = get_profile().password
        return ngettext(
            "At least %(min)d character; spaces and every character are allowed.",
            "At least %(min)d characters; spaces and every character are allowed.",
            policy.min_length,
        ) % {"min": policy.min_length}


class NotLikeIdentifierValidator:
    """Refuse a password equal to the account's e-mail, its local part or its code."""

    def validate(self, password: str, user: Any = None) -> None:
        if user is None:
            return
        email = (getattr(user, "email", "") or "").lower()
        taken = {email, email.split("@")[0], (getattr(user, "code", "") or "").lower()}
        if password.strip().lower() in taken - {""}:
            raise ValidationError(
                _("The password cannot be your e-mail address or your identifier."),
                code="password_like_identifier",
            )

    def get_help_text(self) -> str:
        return _("It cannot be your e-mail address or your identifier.")
