"""Security questions (seed 002): answers normalised, hashed, and checked in constant work.

They are not an authenticator (NIST SP 800-63B, OWASP ASVS 6.4.2): a flow uses them in
addition to the e-mailed link, never instead of it.
"""

import unicodedata

from django.contrib.auth.hashers import check_password, make_password
from django.db import transaction
from django.http import HttpRequest
from django.utils.crypto import salted_hmac

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


_DRAW_SALT = "vestibule.accounts.security_questions.draw"


def questions_draw(
    *, account: Account | None, profile: Profile, count: int, typed: str = "", position: int = 0
) -> list[str]:
    """`count` question keys: the account's, or for no account the profile's, ranked by a
    keyed hash of the identifier typed, the stage's `position` in its flow and the key.

    The same draw for one identifier every time, known or not: random draws for known
    identifiers and a fixed one for unknown ones told them apart to anyone who started the
    flow twice; and a restart cannot shop for an easier question. Keyed with SECRET_KEY
    (salted_hmac, a salt of its own), so nobody can work out an identifier's draw ahead.
    """
    defined = (
        list(SecurityAnswer.objects.filter(account=account).values_list("question", flat=True))
        if account is not None
        else []
    )
    keys = defined if len(defined) >= count else [q.key for q in profile.security_questions]
    subject = f"{typed.strip().lower()}\x00{position}"

    def rank(key: str) -> bytes:
        return salted_hmac(_DRAW_SALT, f"{subject}\x00{key}").digest()

    return sorted(keys, key=rank)[:count]


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
