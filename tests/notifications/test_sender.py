"""Who an e-mail says it is from, what its subject names, and in which language it reads."""

import pytest

from tests.coverage.helpers import make_record
from tests.factories import make_account
from vestibule.coverage.services import access_code_send
from vestibule.flows.links import reset_link_send
from vestibule.notifications.services import message_enqueue, messages_send

pytestmark = pytest.mark.django_db


def reset_mail(inbox, language: str, email: str):
    account = make_account(email=email, language=language, kind="dentist", code="12345")
    reset_link_send(account=account, actor=None)
    messages_send()
    return inbox.wait_for(email)[0]


def test_french_mail_is_from_the_organisation_and_its_subject_names_it(inbox, use_profile):
    use_profile("dentists")
    received = reset_mail(inbox, "fr", "marie@example.org")
    assert received["From"].addresses[0].display_name == "Ordre des dentistes (démo)"
    assert "localhost" not in received["From"].addresses[0].display_name
    assert (
        received["Subject"].strip()
        == "Réinitialisation du mot de passe · Ordre des dentistes (démo)"
    )
    assert "Bonjour" in inbox.text(received)


def test_english_mail_is_from_the_organisation_in_english(inbox, use_profile):
    use_profile("dentists")
    received = reset_mail(inbox, "en", "mary@example.org")
    assert received["From"].addresses[0].display_name == "Order of Dentists (demo)"
    assert received["Subject"].strip() == "Password reset · Order of Dentists (demo)"
    assert "Hello" in inbox.text(received)
    assert "Bonjour" not in inbox.text(received)


@pytest.mark.parametrize(
    ("language", "button"), [("fr", "Réinitialiser mon mot de passe"), ("en", "Reset my password")]
)
def test_reset_mail_has_the_activation_button_and_names_the_identifier(
    inbox, use_profile, language, button
):
    use_profile("dentists")
    received = reset_mail(inbox, language, "marie@example.org")
    html = received.get_body(preferencelist=("html",)).get_content()
    assert (
        f'background:#005a53;color:#fff;text-decoration:none;border-radius:4px;">{button}</a>'
        in html
    )
    assert 'href="http' in html
    assert "12345" in html and "12345" in inbox.text(received)


def test_an_invitation_to_an_unknown_address_carries_the_other_language_when_bilingual(
    inbox, use_profile
):
    use_profile("telehealth")
    record = make_record(emails={"olivier@example.org": "personal"})
    access_code_send(record=record, email="olivier@example.org", template="coverage_invitation")
    messages_send()
    text = inbox.text(inbox.wait_for("olivier@example.org")[0])
    french, english = text.split("-------------------- EN --------------------")
    assert "Bonjour Olivier" in french and "Hello" not in french
    assert "Hello Olivier" in english


def test_a_member_with_a_language_gets_only_that_language(inbox, use_profile):
    use_profile("telehealth")
    make_account(email="olivier@example.org", language="en")
    record = make_record(emails={"olivier@example.org": "personal"})
    access_code_send(record=record, email="olivier@example.org", template="coverage_invitation")
    messages_send()
    text = inbox.text(inbox.wait_for("olivier@example.org")[0])
    assert "Hello Olivier" in text
    assert "Bonjour" not in text


def test_without_bilingual_the_invitation_is_in_the_first_language_only(inbox, use_profile):
    use_profile("default")
    account = make_account(email="marie@example.org", language="fr")
    message_enqueue(
        template="account_created",
        to="marie@example.org",
        language="fr",
        context={"account": account},
        language_known=False,
    )
    messages_send()
    text = inbox.text(inbox.wait_for("marie@example.org")[0])
    assert "-- EN --" not in text


@pytest.mark.parametrize(
    ("language", "sentence"),
    [
        ("fr", "Votre compte auprès de Vestibule — portail des membres a été créé et activé."),
        ("en", "Your account with Vestibule — members' portal has been created and activated."),
    ],
)
def test_an_organisation_named_portal_is_not_called_portal_portal(language, sentence):
    account = make_account(email="marie@example.org", language=language)
    message = message_enqueue(
        template="account_created",
        to=account.email,
        language=language,
        context={"account": account},
    )
    text = " ".join(message.text().split())
    assert sentence in text
    assert "portal portal" not in text and "portail de Vestibule — portail" not in text
