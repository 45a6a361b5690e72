"""The « Couverture » pages: who sees what, the seed's wording, every message in both languages."""

import html
from datetime import timedelta

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from tests.coverage.helpers import last_code, make_record, send_code
from tests.factories import make_account
from vestibule.audit.models import Event
from vestibule.coverage.models import CoverageRecord
from vestibule.notifications.models import Message
from vestibule.tokens.models import Token

pytestmark = pytest.mark.django_db
ROUTES = [
    ("get", "/coverage/"),
    ("get", "/coverage/resend/"),
    ("post", "/coverage/resend/"),
    ("post", "/coverage/claim/"),
    ("post", "/coverage/region/"),
    ("post", "/coverage/family/"),
    ("get", "/coverage/family/invitation/"),
    ("post", "/coverage/family/invitation/"),
]


@pytest.fixture(autouse=True)
def telehealth(use_profile):
    use_profile("telehealth")


def browser(account, language: str = "fr") -> Client:
    client = Client()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    client.force_login(account)
    return client


def page(response) -> str:
    return html.unescape(response.content.decode())


@pytest.fixture
def olivier():
    return make_account(
        email="o.levesque@gmail.example", first_name="Olivier", last_name="Lévesque", region="qc"
    )


@pytest.fixture
def record():
    return make_record(
        emails={"olivier@example.org": "personal", "o.levesque@acme.example": "work"},
        plan="Régime collectif Acme",
    )


@pytest.fixture
def nathalie():
    """A linked primary member whose plan allows dependents."""
    account = make_account(email="nathalie@example.org", first_name="Nathalie", region="qc")
    record = make_record(
        emails={"nathalie@example.org": "personal"},
        plan="Régime familial Boréal",
        first_name="Nathalie",
        last_name="Gagnon",
        allows_dependents=True,
    )
    CoverageRecord.objects.filter(pk=record.pk).update(account=account)
    return account


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_every_route_sends_an_anonymous_visitor_to_sign_in(client, method, path):
    response = getattr(client, method)(path)
    assert response.status_code == 302
    assert response["Location"].startswith(f"/login/?next={path}")


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_without_regions_in_the_profile_there_is_no_coverage_page(use_profile, method, path):
    use_profile("community")
    account = make_account(email="camille@example.org")
    assert getattr(browser(account), method)(path).status_code == 404


# --- Not linked: the « code d'accès » page -------------------------------------------------


def test_the_claim_page_gives_seed_004_advice_in_french(olivier):
    text = page(browser(olivier).get("/coverage/"))
    for wording in [
        "Code d'accès",
        "Débloquer mes services",
        "Renvoyer mon code d'invitation",
        "à la fois à votre adresse courriel personnelle et professionnelle",
        "Vérifiez vos dossiers de courrier indésirable et de spam",
        "Il est possible que vous n'ayez pas créé votre compte dans la bonne région",
        "région de votre compte : Québec",
        "Si vous avez accès par l'intermédiaire d'un membre de votre famille et que vous avez "
        "créé votre compte avant d'être invité",
        "soutien@telesante.example",
        "Mot de passe oublié ?",
    ]:
        assert wording in text, wording
    assert 'href="/coverage/resend/"' in text


def test_the_claim_page_in_english(olivier):
    text = page(browser(olivier, "en").get("/coverage/"))
    for wording in [
        "Access code",
        "Unlock my services",
        "Resend my invitation code",
        "Check your junk and spam folders",
        "You may not have created your account in the right region",
        "your account's region: Quebec",
        "If you have access through a family member and created your account before being invited",
        "soutien@telesante.example",
    ]:
        assert wording in text, wording


def test_the_right_code_unlocks_the_services(olivier, record):
    code = send_code(record)
    client = browser(olivier)
    response = client.post("/coverage/claim/", {"code": code.lower()})
    assert response.status_code == 302 and response["Location"] == "/coverage/"
    text = page(client.get("/coverage/"))
    assert "Vos services sont débloqués" in text
    assert "Régime collectif Acme" in text and "Olivier Lévesque" in text
    record.refresh_from_db()
    assert record.account == olivier


CLAIM_ERRORS = [
    ("fr", "", "Ce champ est obligatoire."),
    ("en", "", "This field is required."),
    ("fr", "ABC", "Un code d'accès compte 8 lettres et chiffres"),
    ("en", "ABC", "An access code has 8 letters and digits"),
    ("fr", "ABCD-EFGH", "Ce code d'accès n'est pas valide dans votre région"),
    ("en", "ABCD-EFGH", "This access code is not valid in your region"),
]


@pytest.mark.parametrize(("language", "typed", "message"), CLAIM_ERRORS)
def test_code_field_errors_in_both_languages(olivier, language, typed, message):
    response = browser(olivier, language).post("/coverage/claim/", {"code": typed})
    assert response.status_code == 200
    assert message in page(response)
    assert message in " ".join(response.context["form"].errors["code"])


@pytest.mark.parametrize(
    ("language", "state", "message"),
    [
        ("fr", "used", "Ce code d'accès a déjà été utilisé"),
        ("en", "used", "This access code has already been used"),
        ("fr", "expired", "Ce code d'accès est expiré"),
        ("en", "expired", "This access code has expired"),
        ("fr", "family", "vous ne pouvez donc pas la réclamer par vous-même"),
        ("en", "family", "so you cannot claim it yourself"),
    ],
)
def test_used_expired_and_family_codes_get_their_own_message(
    olivier, record, language, state, message
):
    if state == "family":
        record.primary = make_record(emails={"p@example.org": "personal"}, allows_dependents=True)
        record.save()
        olivier.created_at = timezone.now() - timedelta(days=1)
        olivier.save()
    code = send_code(record)
    if state == "used":
        browser(make_account(email="first@example.org", region="qc")).post(
            "/coverage/claim/", {"code": code}
        )
    if state == "expired":
        Token.objects.filter(access_code__isnull=False).update(
            expires_at=timezone.now() - timedelta(minutes=1)
        )
    response = browser(olivier, language).post("/coverage/claim/", {"code": code})
    assert message in page(response)


@pytest.mark.parametrize(
    ("language", "message"),
    [
        ("fr", "Vous avez saisi trop de codes d'accès erronés"),
        ("en", "You have entered too many wrong access codes"),
    ],
)
def test_five_wrong_codes_end_the_claim_until_a_new_code_is_asked_for(
    olivier, record, language, message
):
    client = browser(olivier, language)
    for _ in range(4):
        assert "claim-ended" not in page(client.post("/coverage/claim/", {"code": "ABCD-EFGH"}))
    fifth = page(client.post("/coverage/claim/", {"code": "ABCD-EFGH"}))
    assert message in fifth and "disabled" in fifth
    code = send_code(record, "olivier@example.org")
    refused = client.post("/coverage/claim/", {"code": code})
    assert refused.status_code == 200 and message in page(refused)
    client.post("/coverage/resend/", {"email": "olivier@example.org"})
    assert (
        client.post("/coverage/claim/", {"code": last_code("olivier@example.org")}).status_code
        == 302
    )
    record.refresh_from_db()
    assert record.account == olivier


# --- « Renvoyer mon code d'invitation » ---------------------------------------------------


def test_resend_page_in_french(olivier):
    text = page(browser(olivier).get("/coverage/resend/"))
    assert "Adresse courriel à laquelle vous avez été invité(e)" in text
    assert "personnelle, professionnelle ou scolaire" in text


@pytest.mark.parametrize("address", ["o.levesque@acme.example", "nobody@example.org"])
def test_resend_answers_the_same_for_known_and_unknown_addresses(olivier, record, address):
    client = browser(olivier)
    response = client.post("/coverage/resend/", {"email": address})
    assert response.status_code == 302 and response["Location"] == "/coverage/"
    text = page(client.get("/coverage/"))
    assert "Si cette adresse a été invitée à une couverture de votre région" in text
    assert "courrier indésirable et de spam" in text
    sent = list(Message.objects.values_list("to", flat=True))
    assert sent == ([address] if address == "o.levesque@acme.example" else [])


@pytest.mark.parametrize(
    ("language", "typed", "message"),
    [
        ("fr", "", "Ce champ est obligatoire."),
        ("en", "", "This field is required."),
        ("fr", "olivier@", "Cette adresse courriel est invalide"),
        ("en", "olivier@", "This e-mail address is invalid"),
    ],
)
def test_resend_field_errors_in_both_languages(olivier, language, typed, message):
    response = browser(olivier, language).post("/coverage/resend/", {"email": typed})
    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors["email"])
    assert message in page(response)


@pytest.mark.parametrize(
    ("language", "message"),
    [("fr", "Trop de demandes. Réessayez dans une heure."), ("en", "Too many requests.")],
)
def test_resend_is_throttled_per_account(olivier, language, message):
    client = browser(olivier, language)
    for n in range(5):
        assert client.post("/coverage/resend/", {"email": f"a{n}@example.org"}).status_code == 302
    assert message in page(client.post("/coverage/resend/", {"email": "a9@example.org"}))


# --- Regions -------------------------------------------------------------------------------


def test_changing_to_the_right_region_finds_the_coverage_of_the_account_e_mail(record):
    account = make_account(email="olivier@example.org", region="on")
    client = browser(account)
    response = client.post("/coverage/region/", {"region": "qc"})
    assert response.status_code == 302
    assert "Vos services sont débloqués" in page(client.get("/coverage/"))
    account.refresh_from_db()
    record.refresh_from_db()
    assert account.region == "qc" and record.account == account
    event = Event.objects.get(kind="account.region_changed")
    assert event.data == {"before": "on", "after": "qc"}


def test_changing_region_without_coverage_there_says_so(olivier):
    client = browser(olivier, "en")
    client.post("/coverage/region/", {"region": "bc"})
    assert "Your account's region is now British Columbia." in page(client.get("/coverage/"))


@pytest.mark.parametrize(
    ("language", "message"),
    [
        ("fr", "Sélectionnez un choix valide."),
        ("en", "Select a valid choice."),
    ],
)
def test_an_unknown_region_is_refused_in_both_languages(olivier, language, message):
    response = browser(olivier, language).post("/coverage/region/", {"region": "yk"})
    assert response.status_code == 200 and message in page(response)
    olivier.refresh_from_db()
    assert olivier.region == "qc"


def test_a_linked_account_keeps_its_coverage_region(nathalie):
    browser(nathalie).post("/coverage/region/", {"region": "on"})
    nathalie.refresh_from_db()
    assert nathalie.region == "qc"


# --- Linked: the status page and family members --------------------------------------------


def test_a_primary_member_sees_the_family_and_invites_a_member(nathalie):
    client = browser(nathalie)
    text = page(client.get("/coverage/"))
    assert "Vos services sont débloqués" in text and "Régime familial Boréal" in text
    assert "Inviter un membre de la famille" in text
    response = client.post(
        "/coverage/family/",
        {"first_name": "Félix", "last_name": "Gagnon", "email": "felix@example.org"},
    )
    assert response.status_code == 302
    text = page(client.get("/coverage/"))
    assert "L'invitation a été envoyée à felix@example.org." in text
    assert "Félix Gagnon" in text and "Invitation envoyée" in text
    assert Message.objects.get(template="coverage_family_invitation").to == "felix@example.org"


@pytest.mark.parametrize(
    ("language", "field", "fields", "message"),
    [
        ("fr", "first_name", {"first_name": ""}, "Ce champ est obligatoire."),
        ("en", "first_name", {"first_name": ""}, "This field is required."),
        ("fr", "last_name", {"last_name": ""}, "Ce champ est obligatoire."),
        ("en", "last_name", {"last_name": ""}, "This field is required."),
        ("fr", "email", {"email": ""}, "Ce champ est obligatoire."),
        ("en", "email", {"email": ""}, "This field is required."),
        ("fr", "email", {"email": "felix@"}, "Cette adresse courriel est invalide"),
        ("en", "email", {"email": "felix@"}, "This e-mail address is invalid"),
        ("fr", "email", {"email": "nathalie@example.org"}, "figure déjà dans un dossier"),
        ("en", "email", {"email": "nathalie@example.org"}, "already on a coverage record"),
    ],
)
def test_family_invitation_errors_in_both_languages(nathalie, language, field, fields, message):
    data = {"first_name": "Félix", "last_name": "Gagnon", "email": "felix@example.org", **fields}
    response = browser(nathalie, language).post("/coverage/family/", data)
    assert response.status_code == 200
    assert message in " ".join(response.context["invite_form"].errors[field])
    assert message in page(response)


def test_a_plan_without_dependents_shows_no_invitation_form_and_refuses_one(nathalie):
    CoverageRecord.objects.update(allows_dependents=False)
    client = browser(nathalie)
    assert "invite-form" not in page(client.get("/coverage/"))
    data = {"first_name": "Félix", "last_name": "Gagnon", "email": "felix@example.org"}
    assert client.post("/coverage/family/", data).status_code == 403
    assert not CoverageRecord.objects.filter(first_name="Félix").exists()


# --- Nobody reaches another person's coverage ------------------------------------------------


def test_another_account_sees_only_its_own_claim_page_and_cannot_reuse_a_used_code(olivier, record):
    code = send_code(record)
    browser(olivier).post("/coverage/claim/", {"code": code})
    stranger = make_account(email="stranger@example.org", region="qc")
    client = browser(stranger)
    text = page(client.get("/coverage/"))
    assert "Régime collectif Acme" not in text and "Olivier" not in text
    assert "Ce code d'accès a déjà été utilisé" in page(
        client.post("/coverage/claim/", {"code": code})
    )
    data = {"first_name": "X", "last_name": "Y", "email": "x@example.org"}
    assert client.post("/coverage/family/", data).status_code == 302  # not linked: back to claim
    assert not CoverageRecord.objects.filter(first_name="X").exists()
    record.refresh_from_db()
    assert record.account == olivier


def test_a_dependent_sees_the_family_but_cannot_invite(nathalie):
    felix = make_account(email="felix@example.org", region="qc")
    make_record(
        emails={"felix@example.org": "personal"},
        first_name="Félix",
        last_name="Gagnon",
        primary=nathalie.coverage,
    )
    CoverageRecord.objects.filter(first_name="Félix").update(account=felix)
    text = page(browser(felix).get("/coverage/"))
    assert "Nathalie Gagnon" in text and "membre principal" in text
    assert "invite-form" not in text


# --- The portal home --------------------------------------------------------------------------


def test_the_portal_home_shows_the_region_and_the_coverage_status(olivier, record):
    client = browser(olivier)
    text = page(client.get("/portal/"))
    assert 'data-testid="coverage-panel"' in text
    assert "Québec" in text and "Votre compte n'est pas encore associé à votre couverture" in text
    client.post("/coverage/claim/", {"code": send_code(record)})
    text = page(client.get("/portal/"))
    assert "Vos services sont débloqués" in text and "Régime collectif Acme" in text


def test_the_portal_home_of_a_profile_without_regions_has_no_coverage_panel(use_profile):
    use_profile("community")
    text = page(browser(make_account(email="camille@example.org")).get("/portal/"))
    assert "coverage-panel" not in text
