"""Recovery flows as each profile declares them (seeds 001, 002, 003, 004)."""

import html
import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from tests.factories import PASSWORD, make_account
from tests.flows.walk import ANSWERS, answer, flow_state, last_link, stage_index, start
from vestibule.accounts.models import Account, Confirmation
from vestibule.audit.models import Event
from vestibule.config import PROFILES_DIR
from vestibule.notifications.models import Message

pytestmark = pytest.mark.django_db
NEW = "a fresh passphrase 2026"
TYPED = {"first_school": "ecole  saint-joseph", "first_pet": "FILOU", "birth_city": "quebec"}


def questions_asked(client: Client) -> list[str]:
    state = client.session["flow:recovery"]
    return state["data"][f"questions:{state['index']}"]


def answer_questions(client: Client, typed: dict[str, str] = TYPED):
    return answer(client, "recovery", **{key: typed[key] for key in questions_asked(client)})


def walk_physician_to_link(client: Client, identifier: dict[str, str]):
    start(client, "recovery")
    answer(client, "recovery", **identifier)
    answer(client, "recovery", answer="12345")
    answer_questions(client)
    page = client.get("/flow/recovery/").content.decode()
    response = answer(client, "recovery", valid="yes")
    return page, response


def test_seed_002_recovery_end_to_end(physician):
    browser = Client()
    page, response = walk_physician_to_link(browser, {"code": " 543 21 "})
    assert "5*****4@50143904.com" in page
    assert "Le courriel ci-dessous est-il valide et fonctionnel ?" in page
    assert response.status_code == 302
    assert "courrier indésirable" in browser.get("/flow/recovery/").content.decode()
    mail = Message.objects.get(template="password_reset")
    assert mail.to == physician.email

    other_browser = Client()
    opened = other_browser.get(last_link(physician.email, "password_reset"))
    assert opened["Location"] == "/flow/recovery/"  # the key left the address bar
    questions_page = other_browser.get("/flow/recovery/").content.decode()
    assert "questions de sécurité" in questions_page
    answer_questions(other_browser)
    done = answer(other_browser, "recovery", password=NEW, password_confirm=NEW)
    assert done.status_code == 302
    closing = other_browser.get("/flow/recovery/").content.decode()
    assert "réinitialisé avec succès" in closing and 'href="/login/"' in closing
    assert NEW not in closing
    physician.refresh_from_db()
    assert physician.check_password(NEW)
    assert Message.objects.filter(template="password_changed").count() == 1
    assert Event.objects.filter(kind="password.reset", account=physician).exists()


def test_the_code_formats_table_of_seed_002_is_shown(physician):
    page = html.unescape(start(Client(), "recovery").content.decode())
    for example in ["54321", "R12345", "E12342012", "50012345"]:
        assert example in page
    assert "Code d'utilisateur" in page and "OU" in page


@pytest.mark.parametrize(
    ("language", "fields", "message"),
    [
        ("fr", {"email": "", "code": ""}, "Saisissez votre adresse courriel ou votre code"),
        ("en", {"email": "", "code": ""}, "Enter your e-mail address or your user code"),
        ("fr", {"email": "nope@", "code": ""}, "Cette adresse courriel est invalide"),
        ("en", {"email": "nope@", "code": ""}, "This e-mail address is invalid"),
        ("fr", {"email": "", "code": "X1"}, "aucun des formats"),
        ("en", {"email": "", "code": "X1"}, "none of the formats"),
    ],
)
def test_identify_errors(physician, language, fields, message):
    client = Client()
    client.cookies["vestibule_language"] = language
    start(client, "recovery")
    assert message in answer(client, "recovery", **fields).content.decode()


def test_a_wrong_captcha_gets_a_new_image_and_one_try_each(physician):
    client = Client()
    start(client, "recovery")
    answer(client, "recovery", email=physician.email)
    first = client.session["flow:recovery"]["data"]["captcha_nonce"]
    response = answer(client, "recovery", answer="99999")
    assert "Ce ne sont pas les chiffres de l'image" in html.unescape(response.content.decode())
    assert client.session["flow:recovery"]["data"]["captcha_nonce"] != first
    assert stage_index(client, "recovery") == 1


def test_the_captcha_image_and_sound_are_served_only_at_that_stage(physician):
    client = Client()
    start(client, "recovery")
    assert client.get("/flow/recovery/asset/image/").status_code == 404
    answer(client, "recovery", email=physician.email)
    image = client.get("/flow/recovery/asset/image/")
    assert image.status_code == 200 and image["Content-Type"] == "image/png"
    assert image.content.startswith(b"\x89PNG")
    audio = client.get("/flow/recovery/asset/audio/")
    assert audio["Content-Type"] == "audio/wav" and audio.content.startswith(b"RIFF")


def test_the_fixed_captcha_answer_is_ignored_in_production(physician, settings):
    settings.PRODUCTION = True
    client = Client()
    start(client, "recovery")
    answer(client, "recovery", email=physician.email)
    assert answer(client, "recovery", answer="12345").status_code in (200, 302)
    # 1 in 100,000 that the random digits are 12345: then the flow moved on legitimately.
    data = client.session["flow:recovery"]["data"]
    assert stage_index(client, "recovery") == 1 or data.get("captcha") != "12345"


def reach_questions(client: Client, **identifier: str) -> None:
    start(client, "recovery")
    answer(client, "recovery", **identifier)
    answer(client, "recovery", answer="12345")


def test_wrong_security_answers_count_toward_the_lockout_and_are_capped(physician):
    client = Client()
    reach_questions(client, email=physician.email)
    for _ in range(4):
        response = answer_questions(client, dict.fromkeys(ANSWERS, "wrong"))
        assert "ne correspondent pas" in response.content.decode()
    fifth = answer_questions(client, dict.fromkeys(ANSWERS, "wrong")).content.decode()
    assert "Trop de réponses erronées" in html.unescape(fifth)
    physician.refresh_from_db()
    assert physician.locked_at is not None  # the wrong answers locked sign-in too
    # Even the right answers are refused now, in a new browser as well.
    assert "Trop de réponses erronées" in html.unescape(answer_questions(client).content.decode())
    other = Client()
    reach_questions(other, code="54321")
    refused = answer_questions(other).content.decode()
    assert "Trop de réponses erronées" in html.unescape(refused)
    assert stage_index(other, "recovery") == 2


def test_the_answer_cap_says_the_same_for_an_unknown_identifier(physician):
    client = Client()
    reach_questions(client, email="nobody@example.org")
    pages = [
        html.unescape(
            answer(
                client, "recovery", **dict.fromkeys(questions_asked(client), "x")
            ).content.decode()
        )
        for _ in range(6)
    ]
    assert ["ne correspondent pas" in page for page in pages] == [True] * 4 + [False] * 2
    assert all("Trop de réponses erronées" in page for page in pages[4:])


def test_a_locked_physician_recovers_with_the_right_answers_and_is_unlocked(physician):
    for _ in range(5):
        Client().post("/login/", {"identifier": "54321", "password": "wrong one"})
    physician.refresh_from_db()
    assert physician.locked_at is not None
    browser = Client()
    walk_physician_to_link(browser, {"code": "54321"})
    browser.get(last_link(physician.email, "password_reset"))
    answer_questions(browser)
    done = answer(browser, "recovery", password=NEW, password_confirm=NEW)
    assert done.status_code == 302
    physician.refresh_from_db()
    assert physician.locked_at is None and physician.check_password(NEW)


def test_answers_are_normalised_case_accents_and_spaces(physician):
    client = Client()
    start(client, "recovery")
    answer(client, "recovery", code="54321")
    answer(client, "recovery", answer="12345")
    assert answer_questions(client).status_code == 302


def test_an_unknown_user_goes_through_the_same_pages_and_nothing_is_sent(physician):
    known, unknown = Client(), Client()
    start(known, "recovery")
    start(unknown, "recovery")
    answer(known, "recovery", email=physician.email)
    answer(unknown, "recovery", email="nobody@example.org")
    for client in (known, unknown):
        answer(client, "recovery", answer="12345")
    assert len(questions_asked(unknown)) == 2
    # The same made-up questions when the stranger looks again.
    again = Client()
    start(again, "recovery")
    answer(again, "recovery", email="nobody@example.org")
    answer(again, "recovery", answer="12345")
    assert questions_asked(again) == questions_asked(unknown)
    wrong = answer(unknown, "recovery", **dict.fromkeys(questions_asked(unknown), "x"))
    assert "ne correspondent pas" in wrong.content.decode()
    assert not Message.objects.exists()


def test_an_unknown_identifier_gets_a_consistent_made_up_mask(use_profile):
    use_profile("extranet")
    pages = []
    for _ in range(2):
        client = Client()
        start(client, "recovery")
        answer(client, "recovery", identifier="nobody@hotel.example")
        pages.append(client.get("/flow/recovery/").content.decode())
    masks = [re.search(r'data-testid="masked-email"><strong>([^<]+)<', p).group(1) for p in pages]
    assert masks[0] == masks[1] == "n*****y@hotel.example"


def test_no_means_the_support_contact(physician):
    client = Client()
    start(client, "recovery")
    answer(client, "recovery", email=physician.email)
    answer(client, "recovery", answer="12345")
    answer_questions(client)
    page = answer(client, "recovery", valid="no").content.decode()
    assert "soutien@medecins.example" in page and "514 933-4325" in page
    assert "flow:recovery" not in client.session
    assert not Message.objects.exists()


def test_seed_001_recovery_unlocks_a_locked_account(use_profile):
    use_profile("extranet")
    account = make_account(email="direction@hotel.example")
    for _ in range(5):
        Client().post("/login/", {"identifier": account.email, "password": "wrong one"})
    account.refresh_from_db()
    assert account.locked_at is not None
    client = Client()
    page = start(client, "recovery").content.decode()
    assert "Saisissez votre nom d'utilisateur, puis cliquez sur Confirmer." in page
    answer(client, "recovery", identifier="direction@hotel.example")
    confirm = client.get("/flow/recovery/").content.decode()
    assert "Oui, créer mon mot de passe" in confirm and "d*****n@hotel.example" in confirm
    answer(client, "recovery")
    link = last_link(account.email, "password_reset")
    client.get(link)
    answer(client, "recovery", password=NEW, password_confirm=NEW)
    account.refresh_from_db()
    assert account.locked_at is None
    response = Client().post("/login/", {"identifier": account.email, "password": NEW})
    assert response["Location"] == "/portal/"


@pytest.mark.parametrize("profile", ["dentists", "community", "telehealth"])
def test_short_recovery_link_then_new_password(use_profile, profile):
    use_profile(profile)
    account = make_account(email="member@example.org")
    client = Client()
    start(client, "recovery")
    answer(client, "recovery", identifier="member@example.org")
    client.get(last_link(account.email, "password_reset"))
    answer(client, "recovery", password=NEW, password_confirm=NEW)
    account.refresh_from_db()
    assert account.check_password(NEW)


def test_a_reset_ends_every_session_of_the_account(use_profile):
    use_profile("community")
    account = make_account(email="member@example.org")
    signed_in = Client()
    signed_in.post("/login/", {"identifier": account.email, "password": PASSWORD})
    assert signed_in.get("/portal/").status_code == 200
    client = Client()
    start(client, "recovery")
    answer(client, "recovery", identifier=account.email)
    client.get(last_link(account.email, "password_reset"))
    answer(client, "recovery", password=NEW, password_confirm=NEW)
    assert signed_in.get("/portal/").status_code == 302


def test_a_used_link_cannot_be_replayed(use_profile):
    use_profile("community")
    account = make_account(email="member@example.org")
    client = Client()
    start(client, "recovery")
    answer(client, "recovery", identifier=account.email)
    link = last_link(account.email, "password_reset")
    assert client.get(link).status_code == 302
    answer(client, "recovery", password=NEW, password_confirm=NEW)
    replay = Client().get(link)
    assert replay.status_code == 410
    assert "/flow/recovery/start/" in replay.content.decode()


def test_a_link_opened_first_by_a_mail_scanner_still_works_once(use_profile):
    use_profile("community")
    account = make_account(email="member@example.org")
    member = Client()
    start(member, "recovery")
    answer(member, "recovery", identifier=account.email)
    link = last_link(account.email, "password_reset")
    scanner = Client()
    assert scanner.get(link).status_code == 302  # a link preview or a mail filter
    assert member.get(link).status_code == 302
    assert answer(member, "recovery", password=NEW, password_confirm=NEW).status_code == 302
    account.refresh_from_db()
    assert account.check_password(NEW)
    # The other browser that opened it can no longer use it.
    late = answer(
        scanner, "recovery", password="another passphrase", password_confirm="another passphrase"
    )
    assert "déjà été utilisé" in html.unescape(late.content.decode())
    account.refresh_from_db()
    assert account.check_password(NEW)


def test_a_link_is_void_once_the_password_changed(use_profile):
    use_profile("community")
    account = make_account(email="member@example.org")
    client = Client()
    start(client, "recovery")
    answer(client, "recovery", identifier=account.email)
    link = last_link(account.email, "password_reset")
    signed_in = Client()
    signed_in.post("/login/", {"identifier": account.email, "password": PASSWORD})
    signed_in.post(
        "/account/password/",
        {"current_password": PASSWORD, "password": NEW, "password_confirm": NEW},
    )
    assert Client().get(link).status_code == 410


def test_an_expired_link_is_refused(use_profile):
    use_profile("community")
    account = make_account(email="member@example.org")
    client = Client()
    start(client, "recovery")
    answer(client, "recovery", identifier=account.email)
    Confirmation.objects.update(expires_at=timezone.now())
    assert "a expiré" in Client().get(last_link(account.email, "password_reset")).content.decode()


def test_the_new_password_stage_cannot_be_reached_without_the_link(use_profile):
    use_profile("community")
    account = make_account(email="member@example.org")
    client = Client()
    start(client, "recovery")
    answer(client, "recovery", identifier=account.email)
    # Answering the link stage from the page, or naming the next stage, does nothing.
    answer(client, "recovery")
    state = client.session["flow:recovery"]
    client.post(
        "/flow/recovery/",
        {"flow_id": state["id"], "stage_index": "2", "password": NEW, "password_confirm": NEW},
    )
    assert stage_index(client, "recovery") == 1
    account.refresh_from_db()
    assert account.check_password(PASSWORD)


def test_two_tabs_on_one_flow_answer_only_the_current_stage(use_profile):
    use_profile("community")
    make_account(email="member@example.org")
    client = Client()
    start(client, "recovery")
    state = flow_state(client, "recovery")
    stale = {"flow_id": state["id"], "stage_index": "0", "identifier": "member@example.org"}
    assert client.post("/flow/recovery/", stale).status_code == 302
    assert client.post("/flow/recovery/", stale).status_code == 302  # second tab: stale
    assert Message.objects.filter(template="password_reset").count() == 1


def test_a_flow_left_past_its_lifetime_starts_again_with_a_message(use_profile):
    use_profile("community")
    client = Client()
    start(client, "recovery")
    answer(client, "recovery", identifier="member@example.org")
    session = client.session
    session["flow:recovery"]["expires"] = 0
    session.save()
    page = client.get("/flow/recovery/", follow=True).content.decode()
    assert "Cette demande a expiré" in page


def test_the_same_answer_for_an_unknown_address(use_profile):
    use_profile("community")
    make_account(email="member@example.org")
    pages = []
    for address in ["member@example.org", "nobody@example.org"]:
        client = Client()
        start(client, "recovery")
        answer(client, "recovery", identifier=address)
        page = client.get("/flow/recovery/").content.decode()
        pages.append(re.sub(r'value="[^"]*"', "", page))
    assert pages[0] == pages[1]
    assert Message.objects.filter(template="password_reset").count() == 1


def test_recovery_requests_are_throttled_per_address(use_profile):
    use_profile("community")
    for _ in range(10):
        client = Client()
        start(client, "recovery")
        answer(client, "recovery", identifier="someone@example.org")
    client = Client()
    start(client, "recovery")
    response = answer(client, "recovery", identifier="someone@example.org")
    assert "Trop de demandes" in response.content.decode()


def test_the_default_profile_has_no_security_questions():
    from vestibule.config import load_profile

    assert load_profile("default").security_questions == ()
    assert not any("questions" in s for s in load_profile("default").flows["recovery"].stages)


def test_pending_accounts_get_no_reset_link(use_profile):
    use_profile("community")
    make_account(email="member@example.org", status=Account.Status.PENDING)
    client = Client()
    start(client, "recovery")
    answer(client, "recovery", identifier="member@example.org")
    assert not Message.objects.exists()


def test_the_reset_link_lives_as_long_as_the_profile_says(settings, tmp_path):
    text = (PROFILES_DIR / "default.toml").read_text()
    custom = tmp_path / "custom.toml"
    custom.write_text(text.replace("link_lifetime_hours = 1", "link_lifetime_hours = 3"))
    settings.VESTIBULE_PROFILE = str(custom)
    account = make_account(email="member@example.org")
    client = Client()
    start(client, "recovery")
    answer(client, "recovery", identifier="member@example.org")
    page = client.get("/flow/recovery/").content.decode()
    assert "pendant 3 heures" in page
    link = Confirmation.objects.get(account=account)
    assert timedelta(minutes=179) < link.expires_at - timezone.now() <= timedelta(hours=3)
    mail = Message.objects.get(template="password_reset")
    assert "3 heures" in mail.text()


def test_the_answer_cap_and_the_spent_link_speak_english_too(physician, use_profile):
    client = Client()
    client.cookies["vestibule_language"] = "en"
    reach_questions(client, email="nobody@example.org")
    for _ in range(5):
        page = answer(client, "recovery", **dict.fromkeys(questions_asked(client), "x"))
    assert "Too many wrong answers. Try again tomorrow or contact support." in html.unescape(
        page.content.decode()
    )
    use_profile("community")
    account = make_account(email="member@example.org")
    member, other = Client(), Client()
    other.cookies["vestibule_language"] = "en"
    start(member, "recovery")
    answer(member, "recovery", identifier=account.email)
    link = last_link(account.email, "password_reset")
    other.get(link)
    member.get(link)
    answer(member, "recovery", password=NEW, password_confirm=NEW)
    late = answer(other, "recovery", password=NEW + "x", password_confirm=NEW + "x")
    assert "This link has already been used or has expired." in html.unescape(late.content.decode())


@pytest.mark.django_db(transaction=True)
def test_parallel_answers_to_one_captcha_image_get_one_try(physician):
    """Posts sent at once from one session all read the same image: it is checked once."""
    from tests.concurrency import at_once

    client = Client()
    start(client, "recovery")
    answer(client, "recovery", email=physician.email)
    state = client.session["flow:recovery"]
    data = {"flow_id": state["id"], "stage_index": str(state["index"])}
    # One browser, many connections: each post carries the same session cookie.
    cookie = client.cookies.output(header="", sep=";")
    at_once(
        *(
            lambda n=n: Client(HTTP_COOKIE=cookie).post(
                "/flow/recovery/", {**data, "answer": f"{n:05d}"}
            )
            for n in range(12)
        )
    )
    images = [e.data["image"] for e in Event.objects.filter(kind="recovery.captcha_failed")]
    assert images
    assert len(images) == len(set(images))  # never two tries of one image
