"""Claiming coverage: by the activated account's e-mail, or with an access code (seed 004)."""

from collections import Counter
from datetime import timedelta

import pytest
from django.test import Client, RequestFactory
from django.utils import timezone

from tests.concurrency import at_once
from tests.coverage.helpers import make_record, send_code
from tests.factories import make_account
from tests.flows.walk import answer, last_link, start
from vestibule.accounts.models import Account
from vestibule.accounts.services import account_activate
from vestibule.audit.models import Event
from vestibule.config import get_profile
from vestibule.coverage import throttles
from vestibule.coverage.models import AccessCode, CoverageRecord
from vestibule.coverage.services import AccessCodeInvalid, coverage_claim, coverage_link_by_email
from vestibule.throttle import counters
from vestibule.tokens.models import Token

PASSWORD = "une phrase de passe"


@pytest.fixture(autouse=True)
def telehealth(use_profile):
    use_profile("telehealth")


def claim(account: Account, code: str, flow: str = "flow-1") -> CoverageRecord:
    return coverage_claim(account=account, code=code, flow=flow)


def refusal(account: Account, code: str, flow: str = "flow-1") -> str:
    with pytest.raises(AccessCodeInvalid) as refused:
        claim(account, code, flow)
    return refused.value.reason


@pytest.fixture
def record(db):
    return make_record()


@pytest.fixture
def account(db):
    return make_account(email="o.levesque@gmail.example", region="qc")


# --- At activation, by e-mail ------------------------------------------------------------


@pytest.mark.django_db
def test_signing_up_with_the_invited_address_links_the_account_at_activation(record):
    browser = Client()
    start(browser, "registration")
    answer(
        browser,
        "registration",
        region="qc",
        email="Olivier@Example.org",
        password=PASSWORD,
        password_confirm=PASSWORD,
    )
    assert not CoverageRecord.objects.filter(account__isnull=False).exists()  # pending: not yet
    browser.get(last_link("olivier@example.org", "activation"))
    record.refresh_from_db()
    assert record.account.email == "olivier@example.org"
    assert record.linked_at is not None
    event = Event.objects.get(kind="coverage.linked")
    assert event.data == {"record": record.pk, "how": "email"}
    assert "Vos services sont débloqués" in browser.get("/coverage/").content.decode()


@pytest.mark.django_db
def test_a_record_of_another_region_is_never_found_by_e_mail():
    on_record = make_record(region="on")
    account = make_account(email="olivier@example.org", region="qc", status="pending")
    account_activate(account=account)
    on_record.refresh_from_db()
    assert on_record.account is None


@pytest.mark.django_db
def test_linking_by_e_mail_voids_the_record_codes(record):
    code = send_code(record)
    account = make_account(email="olivier@example.org", region="qc", status="pending")
    account_activate(account=account)
    assert AccessCode.objects.get().used_at is not None
    other = make_account(email="other@example.org", region="qc")
    assert refusal(other, code) == "used"


@pytest.mark.django_db
def test_an_account_without_region_or_already_linked_is_left_alone(record):
    no_region = make_account(email="olivier@example.org", region="")
    assert coverage_link_by_email(account=no_region) is None
    no_region.region = "qc"
    other = make_record(emails={"second@example.org": "personal"})
    CoverageRecord.objects.filter(pk=other.pk).update(account=no_region)
    assert coverage_link_by_email(account=no_region) is None
    record.refresh_from_db()
    assert record.account is None


# --- With an access code -----------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("typed", [None, "lower", "spaced"])
def test_a_valid_code_links_the_account_however_it_is_typed(record, account, typed):
    code = send_code(record)
    typed_code = {None: code, "lower": code.lower(), "spaced": code.replace("-", "  ")}[typed]
    assert claim(account, typed_code) == record
    record.refresh_from_db()
    assert record.account == account
    assert AccessCode.objects.get().used_at is not None
    assert Event.objects.get(kind="coverage.linked").data["how"] == "code"


@pytest.mark.django_db
def test_every_other_code_of_the_record_is_void_once_linked(record, account):
    first = send_code(record)
    second = send_code(record)
    claim(account, second)
    assert not AccessCode.objects.filter(token__used_at__isnull=True).exists()
    assert refusal(make_account(email="x@example.org", region="qc"), first) == "used"


@pytest.mark.django_db
def test_an_unknown_code_is_refused(account):
    assert refusal(account, "ABCD-EFGH") == "unknown"
    event = Event.objects.get(kind="coverage.claim_refused")
    assert event.data == {"reason": "unknown"}


@pytest.mark.django_db
def test_a_code_of_another_region_is_unknown_here(account):
    code = send_code(make_record(region="on"))
    assert refusal(account, code) == "unknown"
    assert CoverageRecord.objects.get().account is None


@pytest.mark.django_db
def test_a_used_code_is_refused_to_another_account(record, account):
    code = send_code(record)
    claim(account, code)
    assert refusal(make_account(email="x@example.org", region="qc"), code) == "used"


@pytest.mark.django_db
def test_the_same_account_entering_its_used_code_again_gets_its_coverage(record, account):
    code = send_code(record)
    claim(account, code)
    assert claim(account.__class__.objects.get(pk=account.pk), code) == record
    assert Event.objects.filter(kind="coverage.linked").count() == 1


@pytest.mark.django_db
def test_an_expired_code_is_refused(record, account):
    code = send_code(record)
    Token.objects.filter(access_code__isnull=False).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    assert refusal(account, code) == "expired"
    record.refresh_from_db()
    assert record.account is None


@pytest.mark.django_db
def test_an_account_already_linked_cannot_claim_a_second_coverage(record, account):
    claim(account, send_code(record))
    other_record = make_record(emails={"second@example.org": "personal"})
    assert refusal(account, send_code(other_record)) == "account_linked"


@pytest.mark.django_db
def test_a_code_of_a_record_linked_to_someone_else_is_refused(record, account):
    code = send_code(record)
    CoverageRecord.objects.filter(pk=record.pk).update(
        account=make_account(email="first@example.org", region="qc")
    )
    assert refusal(account, code) == "record_linked"


@pytest.mark.django_db
def test_five_wrong_codes_end_the_claim_even_for_the_right_code(record, account):
    code = send_code(record)
    for n in range(5):
        assert refusal(account, f"ABCD-EFG{n + 2}") == "unknown"
    assert refusal(account, code) == "flow_ended"
    # A new series (a new code asked for) may try again.
    assert claim(account, code, flow="flow-2") == record


@pytest.mark.django_db
def test_a_malformed_code_counts_as_a_wrong_one(account):
    assert refusal(account, "hello") == "unknown"


@pytest.mark.django_db
def test_wrong_codes_are_throttled_per_account_across_claims(record, account):
    code = send_code(record)
    for n in range(20):
        refusal(account, "ABCD-EFGH", flow=f"flow-{n // 5}")
    assert refusal(account, code, flow="a-fresh-one") == "throttled"


@pytest.mark.django_db
def test_a_right_code_resets_the_count_of_its_claim(record, account):
    for _ in range(4):
        refusal(account, "ABCD-EFGH")
    claim(account, send_code(record))
    left = throttles.flow_tries_left(account_id=account.pk, flow="flow-1", profile=get_profile())
    assert left == 5


# --- Family members who registered before their invitation (seed 004) ---------------------


@pytest.mark.django_db
def test_a_family_member_registered_before_the_invitation_cannot_claim_it():
    account = make_account(email="felix@example.org", region="qc")
    primary = make_record(emails={"nathalie@example.org": "personal"}, allows_dependents=True)
    dependent = make_record(
        emails={"felix.gagnon@example.org": "personal"}, first_name="Félix", primary=primary
    )
    account.created_at = timezone.now() - timedelta(days=1)
    account.save()
    code = send_code(dependent)
    assert refusal(account, code) == "family_existing_account"
    dependent.refresh_from_db()
    assert dependent.account is None
    assert AccessCode.objects.get().used_at is None


@pytest.mark.django_db
def test_a_family_member_registered_after_the_invitation_claims_it_with_the_code():
    primary = make_record(emails={"nathalie@example.org": "personal"}, allows_dependents=True)
    dependent = make_record(emails={"felix.gagnon@example.org": "personal"}, primary=primary)
    code = send_code(dependent)
    account = make_account(email="felix@example.org", region="qc")
    assert claim(account, code) == dependent


# --- Concurrency -------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_concurrent_claims_of_one_code_make_one_link():
    record = make_record()
    code = send_code(record)
    accounts = [make_account(email=f"racer{n}@example.org", region="qc") for n in range(4)]
    results = at_once(*(lambda a=a: claim(a, code, flow=f"flow-{a.pk}") for a in accounts))
    winners = [r for r in results if isinstance(r, CoverageRecord)]
    losers = [r for r in results if isinstance(r, AccessCodeInvalid)]
    assert len(winners) == 1 and len(losers) == 3, results
    assert {loser.reason for loser in losers} <= {"used", "record_linked"}
    record.refresh_from_db()
    assert record.account_id in {a.pk for a in accounts}
    assert Event.objects.filter(kind="coverage.linked").count() == 1


@pytest.mark.django_db(transaction=True)
def test_one_account_claiming_two_codes_at_once_gets_one_coverage():
    first = make_record()
    second = make_record(emails={"second@example.org": "personal"})
    codes = [send_code(first), send_code(second)]
    account = make_account(email="racer@example.org", region="qc")
    results = at_once(*(lambda c=c: claim(account, c) for c in codes))
    assert sum(isinstance(r, CoverageRecord) for r in results) == 1, results
    assert CoverageRecord.objects.filter(account=account).count() == 1
    assert AccessCode.objects.filter(token__used_at__isnull=False).count() == 1


# --- Parallel wrong codes: each try is counted before its code is compared ---------------

ADDRESS = "203.0.113.50"
WRONG = "ABCD-EFGH"  # well formed, never issued


def claim_from(account: Account, code: str, flow: str) -> str:
    """One try from ADDRESS: "linked", or the reason it was refused."""
    request = RequestFactory().post("/coverage/claim/", REMOTE_ADDR=ADDRESS)
    try:
        coverage_claim(account=account, code=code, flow=flow, request=request)
    except AccessCodeInvalid as refused:
        return refused.reason
    return "linked"


def burst(account: Account, code: str, flow: str, size: int = 15) -> Counter:
    """`size` tries of `code` released together in one claim, as an attacker sends them."""
    return Counter(at_once(*(lambda: claim_from(account, code, flow) for _ in range(size))))


@pytest.mark.django_db(transaction=True)
def test_parallel_wrong_codes_never_get_more_compared_than_the_limits():
    """15 tries at once, 6 rounds: at most 5 compared a claim, 20 an account, then none.

    A compared wrong code answers "unknown"; a try refused before any comparison answers
    "flow_ended" or "throttled". Before the tries were reserved, a burst of 15 had 7 or
    more compared against the limit of 5.
    """
    record = make_record()
    code = send_code(record)
    account = make_account(email="guesser@example.org", region="qc")
    per_claim = get_profile().coverage.max_code_attempts
    per_account = throttles.WRONG_CODES_PER_ACCOUNT.limit
    compared = 0
    for round_ in range(6):
        flow = f"burst-{round_}"
        answers = burst(account, WRONG, flow)
        assert set(answers) <= {"unknown", "flow_ended", "throttled"}, answers
        assert answers["unknown"] == min(per_claim, per_account - compared), answers
        compared += answers["unknown"]
        # Sent after the limit, the right code is refused like the others, uncompared.
        limit = "flow_ended" if answers["unknown"] == per_claim else "throttled"
        assert burst(account, code, flow, size=3) == Counter({limit: 3})
    assert compared == per_account
    refused = Event.objects.filter(kind="coverage.claim_refused", account=account)
    assert refused.filter(data__reason="unknown").count() == per_account
    record.refresh_from_db()
    assert record.account is None
    assert AccessCode.objects.get().used_at is None


@pytest.mark.django_db(transaction=True)
def test_parallel_wrong_codes_from_one_address_stop_at_its_limit():
    """Eight accounts behind one address, each sending 15 wrong codes at once: 30 compared."""
    per_address = throttles.WRONG_CODES_PER_ADDRESS.limit
    compared = 0
    for n in range(8):
        account = make_account(email=f"guesser{n}@example.org", region="qc")
        answers = burst(account, WRONG, f"claim-{n}")
        assert answers["unknown"] <= get_profile().coverage.max_code_attempts
        compared += answers["unknown"]
    assert compared == per_address


@pytest.mark.django_db(transaction=True)
def test_a_right_code_in_a_burst_within_the_limit_links_and_is_not_counted():
    record = make_record()
    code = send_code(record)
    account = make_account(email="owner@example.org", region="qc")
    answers = Counter(
        at_once(
            lambda: claim_from(account, code, "mixed"),
            *(lambda: claim_from(account, WRONG, "mixed") for _ in range(3)),
        )
    )
    assert answers == Counter({"linked": 1, "unknown": 3})
    # The right code's reservation was given back: only the three wrong ones count.
    assert counters.count("coverage_wrong_account", str(account.pk)) == 3
    assert counters.count("coverage_wrong_address", ADDRESS) == 3
