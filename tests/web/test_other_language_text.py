"""Text a page shows in another language than its own is marked with that language
(WCAG 3.1.2): a profile's strings given in one language only, and the organisation's data."""

import html
import re

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from oauth2_provider.models import Application

from tests.coverage.helpers import make_record
from tests.factories import make_account
from vestibule.config import PROFILES_DIR
from vestibule.coverage.models import CoverageRecord
from vestibule.oidc.models import Section

pytestmark = pytest.mark.django_db


def client_in(language: str, account=None) -> Client:
    client = Client()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    if account is not None:
        client.force_login(account)
    return client


def page(client: Client, path: str) -> str:
    return html.unescape(client.get(path).content.decode())


def support_contact(text: str) -> str:
    return re.search(r'<address class="support"[^>]*>(.*?)</address>', text, re.S).group(1)


def test_the_support_team_named_in_french_only_is_marked_french_on_english_pages_only(
    use_profile,
):
    use_profile("extranet")
    english = support_contact(page(client_in("en"), reverse("web:help")))
    assert '<span lang="fr">Équipe d\'assistance</span>' in english
    assert "Phone: 1 800 555-0199" in english
    french = support_contact(page(client_in("fr"), reverse("web:help")))
    assert "Équipe d'assistance<br>" in french and "lang=" not in french
    assert "Téléphone : 1 800 555-0199" in french


def test_a_plan_name_is_marked_as_the_organisations_language_on_english_pages(use_profile):
    use_profile("telehealth")
    account = make_account(email="olivier@example.org", region="qc", language="en")
    record = make_record(plan="Régime collectif Acme")
    CoverageRecord.objects.filter(pk=record.pk).update(account=account)
    for language, plan in [
        ("en", '<span lang="fr">Régime collectif Acme</span>'),
        ("fr", "Régime collectif Acme"),
    ]:
        client = client_in(language, account)
        assert f'data-testid="coverage-plan">{plan}</dd>' in page(
            client, reverse("coverage:status")
        )
        assert f"<dd>{plan}</dd>" in page(client, reverse("web:home"))


def section(name: str, **descriptions: str) -> Section:
    application = Application.objects.create(
        name=name,
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
        redirect_uris="http://section.example/callback",
    )
    return Section.objects.create(
        application=application, home_url="http://section.example/", **descriptions
    )


def test_a_section_described_in_one_language_only_is_marked_with_it():
    section("Formation", description_fr="Vos heures de formation continue")
    section("Library", description_en="Journals and books")
    section("Annuaire", description_fr="Les membres", description_en="The members")
    account = make_account()
    english = page(client_in("en", account), reverse("web:home"))
    assert '— <span lang="fr">Vos heures de formation continue</span>' in english
    assert "— Journals and books</li>" in english
    assert "— The members</li>" in english
    french = page(client_in("fr", account), reverse("web:home"))
    assert "— Vos heures de formation continue</li>" in french
    assert '— <span lang="en">Journals and books</span>' in french
    assert "— Les membres</li>" in french


def test_a_profile_text_given_in_french_only_is_marked_french_on_english_pages(
    use_profile, tmp_path
):
    profile = (PROFILES_DIR / "extranet.toml").read_text()
    profile = re.sub(
        r'(?m)^help = \{ fr = ("[^"]*"), en = "[^"]*" \}$', r"help = { fr = \1 }", profile
    )
    profile = re.sub(
        r'(?m)^sign_in_help = \{ fr = ("[^"]*"), en = ".*" \}$',
        r"sign_in_help = { fr = \1 }",
        profile,
    )
    path = tmp_path / "extranet.toml"
    path.write_text(profile)
    use_profile(str(path))
    english = client_in("en")
    assert '<p><span lang="fr">L\'extranet des établissements' in page(english, "/")
    help_page = page(english, reverse("web:help"))
    assert '<p><span lang="fr">L\'extranet des établissements' in help_page
    assert '<p><span lang="fr">Votre nom d\'utilisateur, également appelé' in help_page
    assert "<p>L'extranet des établissements" in page(client_in("fr"), "/")
    sign_in = page(english, reverse("accounts:login"))
    assert 'data-testid="sign-in-help"><span lang="fr">Votre nom d\'utilisateur' in sign_in
