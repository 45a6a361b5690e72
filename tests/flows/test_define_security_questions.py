"""Seed 002 sign-up defines security questions; « Compte » changes them."""

import pytest
from django.test import Client

from tests.factories import PASSWORD, make_account, make_member
from tests.flows.walk import answer, start
from vestibule.accounts.models import Account, SecurityAnswer
from vestibule.accounts.security_questions import answer_normalise, security_answers_check

pytestmark = pytest.mark.django_db
QUESTIONS = {
    "question_1": "first_school",
    "answer_1": "École Saint-Joseph",
    "question_2": "first_pet",
    "answer_2": "Filou",
    "question_3": "birth_city",
    "answer_3": "Québec",
}


@pytest.fixture
def physicians(use_profile):
    use_profile("physicians")
    make_member(kind="resident", code="R12345", email="luc@example.org")


def sign_up(client: Client) -> None:
    start(client, "registration")
    answer(
        client,
        "registration",
        email="luc@example.org",
        code="r12345",
        password="stethoscope",
        password_confirm="stethoscope",
    )


def test_sign_up_asks_three_questions_before_the_activation_email(physicians):
    client = Client()
    sign_up(client)
    page = client.get("/flow/registration/").content.decode()
    assert "Choisissez vos questions de sécurité" in page
    assert "Quel est le nom de votre première école ?" in page
    assert answer(client, "registration", **QUESTIONS).status_code == 302
    account = Account.objects.get()
    assert SecurityAnswer.objects.filter(account=account).count() == 3
    assert security_answers_check(account=account, answers={"first_pet": " filou "})
    assert "Filou" not in "".join(SecurityAnswer.objects.values_list("answer_hash", flat=True))
    assert "a bien été reçue" in client.get("/flow/registration/").content.decode()


@pytest.mark.parametrize(
    ("language", "change", "field", "message"),
    [
        ("fr", {"question_2": "first_school"}, "question_2", "Choisissez une question différente."),
        ("en", {"question_2": "first_school"}, "question_2", "Choose a different question."),
        ("fr", {"answer_1": ""}, "answer_1", "Ce champ est obligatoire."),
        ("en", {"answer_1": ""}, "answer_1", "This field is required."),
        ("fr", {"answer_1": "x"}, "answer_1", "au moins 2 caractères"),
        ("en", {"answer_1": "x"}, "answer_1", "at least 2 characters"),
        ("fr", {"question_3": ""}, "question_3", "Ce champ est obligatoire."),
        ("en", {"question_3": ""}, "question_3", "This field is required."),
    ],
)
def test_question_errors_are_tied_to_their_fields(physicians, language, change, field, message):
    client = Client()
    client.cookies["vestibule_language"] = language
    sign_up(client)
    response = answer(client, "registration", **{**QUESTIONS, **change})
    errors = response.context["form"].errors[field]
    assert any(message in error for error in errors), errors


def test_a_sign_up_that_met_an_existing_account_changes_none_of_its_answers(use_profile):
    use_profile("physicians")
    member = make_member(kind="resident", code="R12345", email="luc@example.org")
    existing = make_account(
        email="luc@example.org", code="R12345", member=member, status=Account.Status.PENDING
    )
    client = Client()
    sign_up(client)
    answer(client, "registration", **QUESTIONS)
    assert not SecurityAnswer.objects.filter(account=existing).exists()


def test_answers_are_normalised():
    assert answer_normalise("  École   SAINT-Joseph ") == answer_normalise("ecole saint-joseph")


def test_the_account_page_changes_the_questions_after_the_current_password(use_profile):
    use_profile("physicians")
    account = make_account(email="claire@example.org", code="54321")
    client = Client()
    client.post("/login/", {"identifier": "54321", "password": PASSWORD})
    assert "Questions de sécurité" in client.get("/account/").content.decode()
    wrong = client.post("/account/security-questions/", {**QUESTIONS, "current_password": "nope"})
    assert "pas votre mot de passe actuel" in wrong.content.decode()
    assert not SecurityAnswer.objects.exists()
    done = client.post("/account/security-questions/", {**QUESTIONS, "current_password": PASSWORD})
    assert done["Location"] == "/account/"
    assert SecurityAnswer.objects.filter(account=account).count() == 3


def test_profiles_without_questions_have_no_such_page(client):
    client.force_login(make_account())
    assert client.get("/account/security-questions/").status_code == 404
