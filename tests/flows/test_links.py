"""Links staff and operators send a member (flows/links.py): they resume the member's own flow."""

import pytest
from django.test import Client
from django.utils import translation

from tests.factories import make_account
from tests.flows.test_recovery import answer_questions
from tests.flows.walk import answer, last_link
from vestibule.accounts.models import Account
from vestibule.audit.models import Event
from vestibule.flows.links import LinkRefused, activation_link_resend, reset_link_send
from vestibule.notifications.models import Message

pytestmark = pytest.mark.django_db
NEW = "a fresh passphrase 2026"


def test_an_operator_reset_link_leads_to_the_new_password_page(use_profile):
    use_profile("community")
    account = make_account(email="member@example.org")
    reset_link_send(account=account, actor=None)
    browser = Client()
    assert browser.get(last_link(account.email, "password_reset"))["Location"] == "/flow/recovery/"
    assert answer(browser, "recovery", password=NEW, password_confirm=NEW).status_code == 302
    account.refresh_from_db()
    assert account.check_password(NEW)
    sent = Event.objects.get(kind="recovery.link_sent")
    assert (sent.account, sent.data["by"]) == (account, "operator")


def test_a_staff_reset_link_still_asks_the_questions_the_flow_asks_after_the_link(physician):
    staff = make_account(email="staff@example.org", is_staff=True)
    reset_link_send(account=physician, actor=staff)
    browser = Client()
    browser.get(last_link(physician.email, "password_reset"))
    page = browser.get("/flow/recovery/").content.decode()
    assert "questions de sécurité" in page  # not the identifier, not the captcha
    refused = answer(browser, "recovery", password=NEW, password_confirm=NEW)
    physician.refresh_from_db()
    assert not physician.check_password(NEW) and refused.status_code == 200
    answer_questions(browser)
    answer(browser, "recovery", password=NEW, password_confirm=NEW)
    physician.refresh_from_db()
    assert physician.check_password(NEW)
    assert Event.objects.get(kind="recovery.link_sent").data["by"] == "staff@example.org"


@pytest.mark.parametrize("status", [Account.Status.PENDING, Account.Status.DISABLED])
def test_no_reset_link_for_an_account_that_is_not_active(use_profile, status):
    use_profile("community")
    account = make_account(email="member@example.org", status=status)
    with pytest.raises(LinkRefused) as refused:
        reset_link_send(account=account, actor=None)
    assert refused.value.code == "not_active"
    assert not Message.objects.exists() and not Event.objects.exists()


def test_a_staff_account_gets_its_link_only_from_a_superuser_or_the_operator(use_profile):
    use_profile("community")
    colleague = make_account(email="colleague@example.org", is_staff=True)
    staff = make_account(email="staff@example.org", is_staff=True)
    with pytest.raises(LinkRefused) as refused:
        reset_link_send(account=colleague, actor=staff)
    assert refused.value.code == "staff_needs_superuser"
    assert not Message.objects.exists()
    superuser = make_account(email="root@example.org", is_staff=True, is_superuser=True)
    reset_link_send(account=colleague, actor=superuser)
    reset_link_send(account=colleague, actor=None)
    assert Message.objects.filter(to=colleague.email).count() == 2


def test_the_activation_link_sent_again_activates_the_account(use_profile):
    use_profile("community")
    account = make_account(email="new@example.org", status=Account.Status.PENDING)
    staff = make_account(email="staff@example.org", is_staff=True)
    activation_link_resend(account=account, actor=staff)
    browser = Client()
    assert browser.get(last_link(account.email, "activation")).status_code == 302
    account.refresh_from_db()
    assert account.status == Account.Status.ACTIVE
    sent = Event.objects.get(kind="activation.sent")
    assert (sent.account, sent.data["by"]) == (account, "staff@example.org")
    assert browser.get("/portal/").status_code == 200  # signed in, as the ordinary link does


def test_no_activation_link_for_an_active_account(use_profile):
    use_profile("community")
    account = make_account(email="member@example.org")
    with pytest.raises(LinkRefused) as refused:
        activation_link_resend(account=account, actor=None)
    assert refused.value.code == "not_pending"
    assert not Message.objects.exists()


def test_no_activation_link_where_the_profile_has_no_sign_up(use_profile):
    use_profile("extranet")
    account = make_account(email="new@example.org", status=Account.Status.PENDING)
    with pytest.raises(LinkRefused) as refused:
        activation_link_resend(account=account, actor=None)
    assert refused.value.code == "no_flow"
    assert not Message.objects.exists()


@pytest.mark.parametrize(
    "code, language, text",
    [
        (
            "not_active",
            "en",
            "This account is not active: no password reset link can be sent to it.",
        ),
        (
            "not_active",
            "fr",
            "Ce compte n'est pas actif : aucun lien de réinitialisation du mot de passe ne peut "
            "lui être envoyé.",
        ),
        (
            "not_pending",
            "en",
            "This account is not waiting for activation: there is nothing to resend.",
        ),
        ("not_pending", "fr", "Ce compte n'attend pas d'activation : il n'y a rien à renvoyer."),
        ("no_flow", "en", "The profile has no flow that sends this link."),
        ("no_flow", "fr", "Le profil ne comporte aucune étape qui envoie ce lien."),
    ],
)
def test_a_refusal_says_why_in_french_and_english(code, language, text):
    with translation.override(language):
        assert LinkRefused(code).message == text
