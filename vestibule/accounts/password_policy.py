"""The password policy: one function that every service setting a password calls.

No composition rules (NIST SP 800-63B): the profile's lengths, a blocklist (Django's
CommonPasswordValidator, 20,000 common passwords) and context words (SP 800-63B 3.1.1.2:
"context-specific words, such as the name of the service, the username"): the e-mail and
its local part, the member's codes and names, the organisation's name. Services raise its
ValidationError; forms only display the reasons.
"""

import functools
import re
import unicodedata
from collections.abc import Iterable
from typing import Any

from django.contrib.auth.password_validation import CommonPasswordValidator
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from vestibule.config import get_profile

# Shorter pieces ("des", "Roy") would refuse ordinary passwords that merely contain them.
CONTEXT_WORD_MIN = 4


@functools.cache
def _common() -> CommonPasswordValidator:
    return CommonPasswordValidator()  # reads its 20,000-word list once


def _fold(text: str) -> str:
    """Letters and digits only, without accents or case: « Lévesque-2 » → « levesque2 »."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed.casefold() if c.isalnum() and c.isascii())


def context_words(
    *, email: str = "", codes: Iterable[str | None] = (), names: Iterable[str | None] = ()
) -> set[str]:
    """The folded words a password may not be built on, the organisation's name included."""
    email = (email or "").strip()
    local = email.split("@")[0]
    pieces: list[str] = [email, local, *re.split(r"[._+\-]", local)]
    pieces += [code or "" for code in codes]
    texts = [name or "" for name in names]
    texts += list(get_profile().organisation.name.values())
    for text in texts:
        pieces += [text, *re.split(r"[\s'’\-(),.]+", text)]
    return {folded for piece in pieces if len(folded := _fold(piece)) >= CONTEXT_WORD_MIN}


def password_check(
    password: str,
    *,
    email: str = "",
    codes: Iterable[str | None] = (),
    names: Iterable[str | None] = (),
) -> None:
    """Raise ValidationError listing every reason `password` is refused; None when accepted.

    A password built on a context word is refused when, once every such word is taken out,
    fewer characters than the profile's minimum are left: « Tremblay2024 » is, « tremblay
    loves long walks by the river » is not.
    """
    policy = get_profile().password
    errors: list[ValidationError] = []
    if len(password) < policy.min_length:
        errors.append(
            ValidationError(
                ngettext(
                    "The password must contain at least %(min)d character.",
                    "The password must contain at least %(min)d characters.",
                    policy.min_length,
                )
                % {"min": policy.min_length},
                code="password_too_short",
            )
        )
    if len(password) > policy.max_length:
        errors.append(
            ValidationError(
                _("The password must contain at most %(max)d characters.")
                % {"max": policy.max_length},
                code="password_too_long",
            )
        )
    try:
        _common().validate(password)
    except ValidationError as common:
        errors.extend(common.error_list)
    folded = _fold(password)
    words = context_words(email=email, codes=codes, names=names)
    found = [word for word in words if word in folded]
    if found:
        rest = folded
        for word in sorted(found, key=len, reverse=True):
            rest = rest.replace(word, "")
        if len(rest) < policy.min_length:
            errors.append(
                ValidationError(
                    _(
                        "The password is too close to your e-mail address, your identifier, "
                        "your name or the organisation's name."
                    ),
                    code="password_like_context",
                )
            )
    if errors:
        raise ValidationError(errors)


def password_check_for(password: str, account: Any) -> None:
    """password_check() with an account's own context words (e-mail, codes, names)."""
    member = getattr(account, "member", None)
    password_check(
        password,
        email=getattr(account, "email", "") or "",
        codes=[getattr(account, "code", ""), getattr(member, "code", "")],
        names=[getattr(account, "first_name", ""), getattr(account, "last_name", "")],
    )


def password_help_text() -> str:
    policy = get_profile().password
    return " ".join(
        [
            ngettext(
                "At least %(min)d character; spaces and every character are allowed.",
                "At least %(min)d characters; spaces and every character are allowed.",
                policy.min_length,
            )
            % {"min": policy.min_length},
            _(
                "Not a common password, nor one close to your e-mail address, your "
                "identifier, your name or the organisation's name."
            ),
        ]
    )


class ProfilePasswordValidator:
    """password_check() for Django's own callers (admin forms, changepassword)."""

    def validate(self, password: str, user: Any = None) -> None:
        password_check_for(password, user)

    def get_help_text(self) -> str:
        return password_help_text()
