"""Issue 12, item 2: a second sign-up with someone's address never takes their account over.

Both orders, on every profile that lets members sign up: the owner of the mailbox (the
victim) and a stranger (the attacker) each sign up with the victim's address and a password
of their own. Whoever came first, the attacker can never sign in with their password, and
in telehealth never sees the victim's coverage. The e-mails are the real ones the SMTP peer
received.
"""

import re

import pytest
from django.test import Client

from tests.coverage.helpers import make_record
from tests.factories import make_member
from tests.flows.walk import ANSWERS, LINK, answer, start
from vestibule.accounts.models import Account
from vestibule.accounts.security_questions import security_answers_check
from vestibule.accounts.services import PasswordRequired, account_activate, account_register

# Real e-mails leave after commit: the tests commit.
pytestmark = pytest.mark.django_db(transaction=True)

VICTIM = "camille.roy@example.org"
VICTIM_PASSWORD = "la phrase de la victime 42"
VICTIM_NEW_PASSWORD = "une autre phrase de la victime"
ATTACKER_PASSWORD = "la phrase de l'intrus 42"
ATTACKER_ANSWERS = {"first_pet": "Rex", "first_car": "Lada", "favourite_teacher": "Gagnon"}

# Profile → the sign-up fields besides e-mail and password, and the member on file.
PROFILES = {
    "default": ({"code": "123456"}, {"kind": "member", "code": "123456"}),
    "dentists": ({"code": "12345", "is_member": "on"}, {"kind": "dentist", "code": "12345"}),
    "physicians": ({"code": "54321"}, {"kind": "physician", "code": "54321"}),
    "community": ({}, None),
    "telehealth": ({"region": "qc"}, None),
}


@pytest.fixture(params=list(PROFILES))
def profile(request, use_profile, settings) -> str:
    use_profile(request.param)
    settings.VESTIBULE_CAPTCHA_FIXED_ANSWER = "12345"
    member = PROFILES[request.param][1]
    if member:
        make_member(email=VICTIM, first_name="Camille", last_name="Roy", **member)
    return request.param


def sign_up(profile: str, password: str, answers: dict[str, str]) -> str:
    """One sign-up in a fresh browser; the page it ends on, without its form keys."""
    browser = Client()
    start(browser, "registration")
    fields, _member = PROFILES[profile]
    response = answer(
        browser,
        "registration",
        email=VICTIM,
        password=password,
        password_confirm=password,
        **fields,
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    if profile == "physicians":  # define_security_questions:3
        numbered = {}
        for n, (key, value) in enumerate(answers.items(), start=1):
            numbered |= {f"question_{n}": key, f"answer_{n}": value}
        assert answer(browser, "registration", **numbered).status_code == 302
    page = browser.get("/flow/registration/").content.decode()
    return re.sub(r'(value|content)="[^"]*"', "", page)


def activation_links(inbox, count: int) -> list[str]:
    mails = inbox.wait_for(VICTIM, count=count)
    links = [LINK.search(inbox.text(mail)) for mail in mails]
    return [link.group(1) for link in links if link and "/registration/" in link.group(1)]


def signs_in(password: str) -> Client | None:
    """The browser, when the password was taken: signed in, or sent on to a second factor
    (where the profile requires one of the account)."""
    browser = Client()
    answer = browser.post("/login/", {"identifier": VICTIM, "password": password})
    on_to_factor = answer.status_code == 302 and answer["Location"] == "/flow/sign_in/"
    return browser if "_auth_user_id" in browser.session or on_to_factor else None


def choose_password(browser: Client, profile: str, password: str) -> None:
    fields = {"password": password, "password_confirm": password}
    if profile == "physicians":
        for n, (key, value) in enumerate(ANSWERS.items(), start=1):
            fields |= {f"question_{n}": key, f"answer_{n}": value}
    response = answer(browser, "registration", **fields)
    assert response.status_code == 302 and response["Location"] == "/portal/"


@pytest.mark.parametrize("opened", ["first", "last"])
@pytest.mark.parametrize("order", ["victim_first", "attacker_first"])
def test_the_attacker_never_signs_in_whoever_signed_up_first(profile, order, opened, inbox):
    coverage = make_record(emails={VICTIM: "personal"}) if profile == "telehealth" else None
    signers = [(VICTIM_PASSWORD, ANSWERS), (ATTACKER_PASSWORD, ATTACKER_ANSWERS)]
    if order == "attacker_first":
        signers.reverse()
    first_page = sign_up(profile, *signers[0])
    second_page = sign_up(profile, *signers[1])
    # The second signer learns nothing: the same page as the first.
    assert second_page == first_page
    account = Account.objects.get()
    assert account.status == Account.Status.PENDING and account.signed_up_again_at
    # The first signer's password stays until the owner chooses one: never the second's.
    first_password = signers[0][0]
    assert account.check_password(first_password)

    links = activation_links(inbox, count=2)
    assert len(links) == 2
    owner = Client()
    opened_page = owner.get(links[0] if opened == "first" else links[-1], follow=True)
    # Opening the link does not activate an account signed up for twice: its owner chooses
    # the password first.
    assert "Choisissez votre mot de passe" in opened_page.content.decode()
    assert Account.objects.get().status == Account.Status.PENDING
    assert signs_in(ATTACKER_PASSWORD) is None
    choose_password(owner, profile, VICTIM_NEW_PASSWORD)

    account.refresh_from_db()
    assert account.status == Account.Status.ACTIVE
    assert signs_in(ATTACKER_PASSWORD) is None
    assert signs_in(VICTIM_PASSWORD) is None  # not even the victim's first one: replaced
    assert signs_in(VICTIM_NEW_PASSWORD) is not None
    if profile == "physicians":
        assert security_answers_check(account=account, answers=ANSWERS)
        assert not security_answers_check(
            account=account, answers={"first_pet": ATTACKER_ANSWERS["first_pet"]}
        )
    if coverage is not None:
        coverage.refresh_from_db()
        assert coverage.account == account
        assert "Vos services sont débloqués" in owner.get("/coverage/").content.decode()
        attacker = Client()
        attacker.post("/login/", {"identifier": VICTIM, "password": ATTACKER_PASSWORD})
        assert attacker.get("/coverage/").status_code == 302  # to the sign-in page
    # Every other link is spent: the attacker's sign-up left none that works.
    for link in links:
        assert Client().get(link).status_code == 410


def test_the_choose_password_page_speaks_english(use_profile, inbox):
    use_profile("community")
    for password in (ATTACKER_PASSWORD, VICTIM_PASSWORD):
        sign_up("community", password, {})
    owner = Client()
    owner.cookies["vestibule_language"] = "en"
    page = owner.get(activation_links(inbox, count=2)[-1], follow=True).content.decode()
    assert "Choose your password" in page
    assert "used more than once to ask for an account" in page
    assert "Activate my account" in page


def test_the_chosen_password_goes_through_the_policy_fr_and_en(use_profile, inbox):
    use_profile("community")
    for password in (ATTACKER_PASSWORD, VICTIM_PASSWORD):
        sign_up("community", password, {})
    owner = Client()
    owner.get(activation_links(inbox, count=2)[-1], follow=True)
    refused = answer(owner, "registration", password="camille.roy", password_confirm="camille.roy")
    assert "trop proche de votre adresse courriel" in refused.content.decode()
    owner.cookies["vestibule_language"] = "en"
    refused = answer(owner, "registration", password="camille.roy", password_confirm="camille.roy")
    assert "too close to your e-mail address" in refused.content.decode()
    assert Account.objects.get().status == Account.Status.PENDING


def test_a_single_sign_up_still_activates_on_opening_with_its_password(use_profile, inbox):
    """Seeds 000 and 003: one form, then « Activer »; nothing more to type."""
    use_profile("community")
    sign_up("community", VICTIM_PASSWORD, {})
    opened = Client().get(activation_links(inbox, count=1)[0])
    assert opened["Location"] == "/portal/"
    assert signs_in(VICTIM_PASSWORD) is not None


def test_the_service_never_replaces_a_pending_password_and_refuses_to_activate_it_as_is(
    use_profile,
):
    use_profile("community")
    first = account_register(email=VICTIM, password=ATTACKER_PASSWORD, language="fr")
    second = account_register(email=VICTIM.upper(), password=VICTIM_PASSWORD, language="fr")
    assert (first.outcome, second.outcome) == ("created", "pending")
    assert second.account.pk == first.account.pk
    account = Account.objects.get()
    assert account.check_password(ATTACKER_PASSWORD) and not account.check_password(VICTIM_PASSWORD)
    with pytest.raises(PasswordRequired):
        account_activate(account=account)
    assert Account.objects.get().status == Account.Status.PENDING
    assert account_activate(account=account, password=VICTIM_NEW_PASSWORD)
    account.refresh_from_db()
    assert account.is_active and account.check_password(VICTIM_NEW_PASSWORD)


def test_the_same_password_sent_again_is_the_same_person_and_marks_nothing(use_profile):
    """A member who lost the e-mail and signs up again keeps the one-form sign-up; only
    another password makes the account's activation ask for a new one."""
    use_profile("community")
    first = account_register(email=VICTIM, password=VICTIM_PASSWORD, language="fr")
    again = account_register(email=VICTIM, password=VICTIM_PASSWORD, language="fr")
    assert again.outcome == "pending" and again.account.pk == first.account.pk
    first.account.refresh_from_db()
    assert first.account.signed_up_again_at is None
    account_register(email=VICTIM, password=ATTACKER_PASSWORD, language="fr")
    first.account.refresh_from_db()
    assert first.account.signed_up_again_at is not None
    assert first.account.check_password(VICTIM_PASSWORD)  # never replaced
