"""One word for the identifier per profile, on every page and e-mail that names it."""

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from tests.factories import make_account
from vestibule.notifications.services import messages_send

pytestmark = pytest.mark.django_db

# (profile, language, the word, what the help page says the identifier is)
CASES = [
    ("dentists", "fr", "Identifiant", "numéro de permis"),
    ("dentists", "en", "Identifier", "licence number"),
    ("extranet", "fr", "Nom d&#x27;utilisateur", "adresse e-mail"),
    ("extranet", "en", "Username", "e-mail address"),
    ("default", "fr", "Identifiant", "Membre — Identifiant : votre numéro de membre"),
    ("default", "en", "Identifier", "Member — Identifier: your member number (e.g. 123456)"),
]


def client_in(language: str) -> Client:
    client = Client()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    return client


@pytest.mark.parametrize(("profile", "language", "word", "help_text"), CASES)
def test_sign_in_and_recovery_label_the_field_with_the_profile_word(
    use_profile, profile, language, word, help_text
):
    use_profile(profile)
    client = client_in(language)
    sign_in = client.get(reverse("accounts:login")).content.decode()
    assert f'for="id_identifier">{word}' in sign_in
    recovery = client.get(reverse("flows:start", args=["recovery"]), follow=True)
    assert f'for="id_identifier">{word}' in recovery.content.decode()


@pytest.mark.parametrize(("profile", "language", "word", "help_text"), CASES)
def test_help_and_reminder_pages_describe_the_profile_identifiers(
    use_profile, profile, language, word, help_text
):
    use_profile(profile)
    client = client_in(language)
    help_page = client.get(reverse("web:help")).content.decode()
    assert help_text in help_page
    # The default profile signs in with a member number: its help no longer says e-mail.
    if profile == "default":
        assert "e-mail address of your account" not in help_page
        assert "adresse courriel de votre compte" not in help_page


@pytest.mark.parametrize(
    ("profile", "language", "label"),
    [
        ("dentists", "fr", "Identifiant : 12345"),
        ("dentists", "en", "Identifier: 12345"),
        ("default", "fr", "Identifiant : 12345"),
        ("default", "en", "Identifier: 12345"),
    ],
)
def test_the_reminder_email_uses_the_profile_word(inbox, use_profile, profile, language, label):
    use_profile(profile)
    kind = "dentist" if profile == "dentists" else "member"
    code = "12345" if profile == "dentists" else "123456"
    make_account(email="marie@example.org", language=language, kind=kind, code=code)
    client_in(language).post(
        reverse("accounts:forgotten_identifier"), {"email": "marie@example.org"}
    )
    messages_send()
    text = inbox.text(inbox.wait_for("marie@example.org")[0])
    assert label.replace("12345", code) in text
