"""Security questions (seed 002): answers normalised, hashed, and checked in constant work.

They are not an authenticator (NIST SP 800-63B, OWASP ASVS 6.4.2): a flow uses them in
addition to the e-mailed link, never instead of it.
"""

import hmac
import secrets
import unicodedata

from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.db import transaction
from django.http import HttpRequest

from vestibule.accounts.models import Account, SecurityAnswer
from vestibule.audit.services import event_record
from vestibule.config import Profile


def answer_normalise(answer: str) -> str:
    """« Évelyne  TREMBLAY » and « evelyne tremblay » are the same answer."""
    decomposed = unicodedata.normalize("NFKD", answer)
    without_accents = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(without_accents.casefold().split())


@transaction.atomic
def security_answers_set(
    *, account: Account, answers: dict[str, str], request: HttpRequest | None = None
) -> None:
    """Replace the account's answers with `answers` (question key → answer)."""
    SecurityAnswer.objects.filter(account=account).delete()
    SecurityAnswer.objects.bulk_create(
        SecurityAnswer(
            account=account, question=key, answer_hash=make_password(answer_normalise(answer))
        )
        for key, answer in answers.items()
    )
    event_record("security_questions.changed", request=request, account=account)


def questions_draw(
    *, account: Account | None, profile: Profile, count: int, typed: str = ""
) -> list[str]:
    """`count` question keys: at random among the account's, or, for no account, drawn
    deterministically from the profile's list so a repeated look shows the same ones."""
    defined = (
        list(SecurityAnswer.objects.filter(account=account).values_list("question", flat=True))
        if account is not None
        else []
    )
    if len(defined) >= count:
        return secrets.SystemRandom().sample(defined, count)
    keys = [question.key for question in profile.security_questions]
    seed = hmac.new(settings.SECRET_KEY.encode(), typed.lower().encode(), "sha256").digest()
    ordered = sorted(keys, key=lambda key: hmac.new(seed, key.encode(), "sha256").digest())
    return ordered[:count]


def security_answers_check(*, account: Account | None, answers: dict[str, str]) -> bool:
    """True when every answer matches. The same number of hashes runs whatever the case."""
    stored = (
        dict(
            SecurityAnswer.objects.filter(account=account, question__in=answers).values_list(
                "question", "answer_hash"
            )
        )
        if account is not None
        else {}
    )
    correct = True
    for key, answer in answers.items():
        encoded = stored.get(key)
        if encoded is None:
            make_password(answer)  # same cost as a real check
            correct = False
        elif not check_password(answer_normalise(answer), encoded):
            correct = False
    return correct
