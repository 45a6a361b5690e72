"""Access codes: typable, hashed with a key, single-use, expiring; sent and resent by e-mail."""

import hashlib
from datetime import timedelta

import pytest
from django.utils import timezone

from tests.coverage.helpers import last_code, make_record, send_code
from tests.factories import make_account
from vestibule.audit.models import Event
from vestibule.coverage.codes import code_display, code_is_well_formed, code_normalise
from vestibule.coverage.models import AccessCode
from vestibule.coverage.services import code_resend
from vestibule.notifications.models import Message
from vestibule.tokens.models import Token
from vestibule.tokens.services import CODE_ALPHABET as ALPHABET
from vestibule.tokens.services import key_digest, key_new

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def telehealth(use_profile):
    use_profile("telehealth")


def test_a_code_is_8_characters_without_look_alikes():
    codes = {key_new(Token.Purpose.ACCESS_CODE) for _ in range(200)}
    assert len(codes) == 200
    for code in codes:
        assert len(code) == 8 and set(code) <= set(ALPHABET)
    assert not set("ILO01") & set(ALPHABET)


@pytest.mark.parametrize(
    "typed", ["ABCD-EFGH", "abcd-efgh", " abcd efgh ", "ABCDEFGH", "abcd–efgh"]
)
def test_a_code_is_accepted_with_or_without_dash_spaces_or_capitals(typed):
    assert code_normalise(typed) == "ABCDEFGH"
    assert code_is_well_formed(code_normalise(typed))


@pytest.mark.parametrize("typed", ["ABCD-EFG", "ABCD-EFGHJ", "ABCD-EFG1", "ABCD-EFGO", ""])
def test_a_code_of_the_wrong_shape_is_not_well_formed(typed):
    assert not code_is_well_formed(code_normalise(typed))


def test_a_code_is_shown_in_two_groups():
    assert code_display("ABCDEFGH") == "ABCD-EFGH"


def test_the_code_is_mailed_grouped_and_stored_only_as_a_keyed_digest():
    record = make_record()
    code = send_code(record)
    mail = Message.objects.get(template="coverage_code")
    assert mail.to == "olivier@example.org"
    assert code in mail.text() and code in mail.html()
    assert "30 jours" in mail.text()
    stored = AccessCode.objects.get()
    clear = code.replace("-", "")
    assert clear not in str(stored.__dict__) and clear not in str(stored.token.__dict__)
    assert stored.token.digest == key_digest(purpose=Token.Purpose.ACCESS_CODE, key=clear)
    # Keyed: the table alone gives no way to test guesses offline.
    assert stored.token.digest != hashlib.sha256(clear.encode()).hexdigest()
    assert Event.objects.filter(kind="coverage.code_sent", subject="olivier@example.org").exists()


def test_the_code_expires_after_the_profile_lifetime():
    before = timezone.now()
    send_code(make_record())
    expires = AccessCode.objects.get().expires_at
    assert before + timedelta(days=30) <= expires <= timezone.now() + timedelta(days=30)


def test_resend_sends_a_new_code_to_an_invited_work_address():
    make_record(emails={"olivier@example.org": "personal", "o.levesque@acme.example": "work"})
    assert code_resend(email=" O.Levesque@ACME.example ", region="qc") is True
    mail = Message.objects.get(template="coverage_code")
    assert mail.to == "o.levesque@acme.example"
    assert last_code("o.levesque@acme.example")
    assert AccessCode.objects.get().sent_to == "o.levesque@acme.example"


def test_resend_answers_the_same_and_sends_nothing_for_an_unknown_address():
    make_record()
    assert code_resend(email="nobody@example.org", region="qc") is True
    assert not Message.objects.exists()
    event = Event.objects.get(kind="coverage.code_requested")
    assert event.data["found"] is False and event.data["sent"] is False


def test_resend_finds_nothing_in_another_region():
    make_record(region="on")
    assert code_resend(email="olivier@example.org", region="qc") is True
    assert not Message.objects.exists()


def test_resend_sends_nothing_for_a_record_already_linked():
    record = make_record()
    record.account = make_account(email="olivier@example.org", region="qc")
    record.save()
    assert code_resend(email="olivier@example.org", region="qc") is True
    assert not Message.objects.exists()


def test_one_inbox_gets_at_most_three_codes_an_hour():
    make_record()
    for _ in range(5):
        code_resend(email="olivier@example.org", region="qc")
    assert Message.objects.filter(to="olivier@example.org").count() == 3


def test_resend_is_throttled_per_account():
    make_record()
    account = make_account(email="someone@example.org", region="qc")
    answers = [
        code_resend(email=f"guess{n}@example.org", region="qc", account=account) for n in range(6)
    ]
    assert answers == [True] * 5 + [False]
    assert Event.objects.filter(kind="coverage.code_request_throttled").count() == 1
