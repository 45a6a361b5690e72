"""Issue 17: axe-core finds no WCAG 2.0/2.1/2.2 A or AA violation, nor a best-practice one, on
any page state, in French and in English, on a 1280 px screen and on a 375 px phone.

axe-core is the real JavaScript (the copy bundled by the PyPI package axe-playwright-python),
injected through Playwright's evaluate, which the page's Content-Security-Policy does not
govern: the pages themselves run with their production CSP.
"""

import itertools
import os
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.conf import settings
from playwright.sync_api import Browser, Page, expect

from tests.browser.journey import resume_link
from tests.conftest import Inbox
from tests.coverage.helpers import make_record
from tests.establishments.helpers import ALL, hotel, member_of
from tests.factories import PASSWORD, make_account, make_member
from vestibule.accounts.security_questions import security_answers_set
from vestibule.throttle import counters

pytestmark = pytest.mark.browser

LANGUAGES = ("fr", "en")
WIDTHS = (1280, 375)
AXE_OPTIONS = {
    "runOnly": {
        "type": "tag",
        "values": [
            "wcag2a",
            "wcag2aa",
            "wcag21a",
            "wcag21aa",
            "wcag22aa",
            "best-practice",
        ],
    },
    "resultTypes": ["violations"],
}
EMAIL = "marie@example.org"
AXE = Axe()

Visit = Callable[[Page], None]
# `make screenshots` sets it: every state audited is also saved there as a PNG.
SCREENSHOTS = os.environ.get("VESTIBULE_SCREENSHOTS", "")


def save_screenshot(page: Page, language: str, width: int) -> None:
    """docs/screenshots/<state>-<language>-<width>.png, the state named after its test."""
    test = os.environ.get("PYTEST_CURRENT_TEST", "page").split("::")[-1].split(" ")[0]
    test = test.removeprefix("test_").replace("_has_no_violation", "")
    test = test.replace("an_empty_public_page", "public").replace("a_signed_in_page", "signed_in")
    state = re.sub(r"[^a-z0-9]+", "-", test.lower()).strip("-")
    state = "landing" if state == "public" else state
    folder = Path(SCREENSHOTS)
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=folder / f"{state}-{language}-{width}.png", full_page=True)


def violations(page: Page) -> list[str]:
    """One line per failing node: the rule, the node and what the rule asks for."""
    results = AXE.run(page, options=AXE_OPTIONS)
    return [
        f"{violation['id']} [{violation['impact']}] {node['target']}: {violation['help']}"
        for violation in results.response["violations"]
        for node in violation["nodes"]
    ]


def audit(browser: Browser, portal_url: str, visit: Visit, signed_in: str = "") -> None:
    """Run `visit` then axe in each language at each width; every violation is printed."""
    found = []
    for language in LANGUAGES:
        for width in WIDTHS:
            context = browser.new_context(
                base_url=portal_url, viewport={"width": width, "height": 800}
            )
            context.set_default_timeout(10_000)
            context.add_cookies(
                [{"name": settings.LANGUAGE_COOKIE_NAME, "value": language, "url": portal_url}]
            )
            try:
                page = context.new_page()
                if signed_in:
                    sign_in(page, signed_in, PASSWORD)
                    expect(page).not_to_have_url(f"{portal_url}/login/")
                visit(page)
                page.wait_for_load_state()
                expect(page.locator("html")).to_have_attribute("lang", language)
                found += [f"{language} {width}px {page.url}: {line}" for line in violations(page)]
                if SCREENSHOTS:
                    save_screenshot(page, language, width)
            finally:
                context.close()
    assert not found, "axe-core violations:\n" + "\n".join(found)


def submit_form_of(page: Page, field: str) -> None:
    """Submit the form holding the input named `field` and wait for the server's page."""
    form = page.locator(f"form:has([name='{field}'])")
    with page.expect_navigation():
        form.locator("button[type=submit], input[type=submit]").first.click()


def sign_in(page: Page, identifier: str, password: str) -> None:
    page.goto("/login/")
    page.locator("[name=identifier]").fill(identifier)
    page.locator("[name=password]").fill(password)
    submit_form_of(page, "identifier")


def goto(path: str) -> Visit:
    return lambda page: page.goto(path)


@pytest.fixture
def marie(db):
    return make_account(email=EMAIL)


# Public pages of the default profile.


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/login/",
        "/flow/registration/start/",
        "/flow/recovery/start/",
        "/flow/activation/resend/",
        "/help/",
        "/privacy/",
    ],
)
def test_an_empty_public_page_has_no_violation(browser: Browser, portal_url: str, path: str):
    audit(browser, portal_url, goto(path))


def test_sign_in_with_a_wrong_password_has_no_violation(browser, portal_url, marie):
    audit(browser, portal_url, lambda page: sign_in(page, EMAIL, "not the password"))


def test_sign_in_on_a_locked_account_has_no_violation(browser, portal_url, marie):
    def locked(page: Page) -> None:
        for attempt in range(6):
            sign_in(page, EMAIL, f"not the password {attempt}")

    audit(browser, portal_url, locked)


def test_the_blocked_address_page_has_no_violation(browser, portal_url, marie):
    def blocked(page: Page) -> None:
        page.goto("/login/")
        counters.block("address", "127.0.0.1", 15 * 60)
        page.locator("[name=identifier]").fill(EMAIL)
        page.locator("[name=password]").fill(PASSWORD)
        with page.expect_response(lambda response: response.status == 429):
            submit_form_of(page, "identifier")
        counters.clear(counters.blocks("address"), "127.0.0.1")

    audit(browser, portal_url, blocked)


def test_sign_up_with_field_errors_has_no_violation(browser, portal_url, db):
    def errors(page: Page) -> None:
        page.goto("/flow/registration/start/")
        page.locator("[name=email]").fill("not an address")
        submit_form_of(page, "email")
        expect(page.locator("[aria-invalid=true]").first).to_be_attached()

    audit(browser, portal_url, errors)


def test_recovery_sent_has_no_violation(browser, portal_url, marie):
    def sent(page: Page) -> None:
        page.goto("/flow/recovery/start/")
        page.locator("[name=identifier]").fill(EMAIL)
        submit_form_of(page, "identifier")

    audit(browser, portal_url, sent)


def test_activation_resend_with_an_error_has_no_violation(browser, portal_url, db):
    def error(page: Page) -> None:
        page.goto("/flow/activation/resend/")
        submit_form_of(page, "identifier")

    audit(browser, portal_url, error)


# Signed-in pages.


@pytest.mark.parametrize(
    "path", ["/portal/", "/account/", "/account/password/", "/account/security/"]
)
def test_a_signed_in_page_has_no_violation(browser, portal_url, marie, path: str):
    audit(browser, portal_url, goto(path), signed_in=EMAIL)


def test_password_change_with_errors_has_no_violation(browser, portal_url, marie):
    def errors(page: Page) -> None:
        page.goto("/account/password/")
        page.locator("input[type=password]").first.fill("not the password")
        submit_form_of(page, page.locator("input[type=password]").first.get_attribute("name"))
        expect(page.locator("[aria-invalid=true]").first).to_be_attached()

    audit(browser, portal_url, errors, signed_in=EMAIL)


# Establishments (seed 001, hotel extranet) and coverage (seed 004, telehealth).

ADMIN_EMAIL = "admin@hotel.example"


@pytest.fixture
def establishment_users(use_profile, db):
    use_profile("extranet")
    establishment = hotel()
    member_of(establishment, ADMIN_EMAIL, ALL, first_name="Louise", last_name="Morin")
    return member_of(establishment, "lea.roy@hotel.example", [], first_name="Léa", last_name="Roy")


def test_the_establishment_users_page_has_no_violation(browser, portal_url, establishment_users):
    audit(browser, portal_url, goto("/establishments/users/"), signed_in=ADMIN_EMAIL)


def test_the_user_rights_form_has_no_violation(browser, portal_url, establishment_users):
    path = f"/establishments/users/{establishment_users.pk}/"
    audit(browser, portal_url, goto(path), signed_in=ADMIN_EMAIL)


def test_the_coverage_page_has_no_violation(browser, portal_url, use_profile, db):
    use_profile("telehealth")
    make_record(emails={EMAIL: "personal"}, plan="Régime collectif Acme")
    make_account(email=EMAIL, region="qc")
    audit(browser, portal_url, goto("/coverage/"), signed_in=EMAIL)


def test_the_page_after_signing_out_has_no_violation(browser, portal_url, marie):
    def signed_out(page: Page) -> None:
        page.goto("/portal/")
        page.get_by_test_id("name-menu").click()
        with page.expect_navigation():
            page.locator("header form[action='/logout/'] button").click()
        expect(page.locator(".messages")).to_be_visible()

    audit(browser, portal_url, signed_out, signed_in=EMAIL)


# The college of physicians (seed 002): the user code, the captcha, the security questions
# at sign-up and in recovery, the masked e-mail, the identifier reminder.

PHYSICIAN_EMAIL = "50143904@50143904.com"
PHYSICIAN_CODE = "54321"
CAPTCHA = "12345"
PHYSICIAN_ANSWERS = {
    "first_school": "École Saint-Joseph",
    "first_pet": "Filou",
    "birth_city": "Québec",
}
SIGN_UP_QUESTIONS = {
    "question_1": "first_school",
    "answer_1": "École Saint-Joseph",
    "question_2": "first_pet",
    "answer_2": "Filou",
    "question_3": "birth_city",
    "answer_3": "Québec",
}


@pytest.fixture
def physician(use_profile, settings, db):
    use_profile("physicians")
    settings.VESTIBULE_CAPTCHA_FIXED_ANSWER = CAPTCHA
    account = make_account(
        email=PHYSICIAN_EMAIL,
        code=PHYSICIAN_CODE,
        kind="physician",
        first_name="Jean",
        last_name="Gagnon",
    )
    security_answers_set(account=account, answers=PHYSICIAN_ANSWERS)
    return account


def fill(page: Page, fields: dict[str, str]) -> None:
    """Type or choose each value in the field of that name."""
    for name, value in fields.items():
        field = page.locator(f"[name='{name}']")
        if field.evaluate("node => node.tagName") == "SELECT":
            field.select_option(value)
        else:
            field.fill(value)


def captcha_shown(page: Page) -> None:
    """The captcha step, its image decoded into real pixels before axe and the screenshot."""
    page.goto("/flow/recovery/start/")
    page.locator("[name=code]").fill(PHYSICIAN_CODE)
    submit_form_of(page, "code")
    page.get_by_test_id("captcha-image").evaluate("img => img.decode()")


def recovery_questions_shown(page: Page) -> None:
    captcha_shown(page)
    page.locator("[name=answer]").fill(CAPTCHA)
    submit_form_of(page, "answer")
    expect(page.locator("main form input[type=text]")).to_have_count(2)


def answer_recovery_questions(page: Page, answers: dict[str, str]) -> None:
    """Answer the questions drawn (their fields are named after them) and submit."""
    for field in page.locator("main form input[type=text]").all():
        field.fill(answers.get(field.get_attribute("name") or "", ""))
    submit_form_of(page, field.get_attribute("name") or "")


def masked_email_shown(page: Page) -> None:
    recovery_questions_shown(page)
    answer_recovery_questions(page, PHYSICIAN_ANSWERS)
    expect(page.get_by_test_id("masked-email")).to_have_text("5*****4@50143904.com")


def masked_email_answered(choice: str) -> Visit:
    def answered(page: Page) -> None:
        masked_email_shown(page)
        if choice:
            page.locator(f"[name=valid][value={choice}]").check()
        with page.expect_navigation():
            page.get_by_test_id("submit").click()

    return answered


@pytest.mark.parametrize(
    "path",
    [
        "/login/",
        "/login/forgotten-identifier/",
        "/help/",
        "/flow/recovery/start/",
        "/flow/registration/start/",
    ],
)
def test_physicians_page_has_no_violation(browser, portal_url, physician, path: str):
    audit(browser, portal_url, goto(path))


def test_physicians_recovery_with_no_identifier_has_no_violation(browser, portal_url, physician):
    def error(page: Page) -> None:
        page.goto("/flow/recovery/start/")
        submit_form_of(page, "code")
        expect(page.get_by_test_id("error-summary")).to_be_visible()

    audit(browser, portal_url, error)


def test_physicians_captcha_has_no_violation(browser, portal_url, physician):
    audit(browser, portal_url, captcha_shown)


def test_physicians_captcha_with_a_wrong_answer_has_no_violation(browser, portal_url, physician):
    def wrong(page: Page) -> None:
        captcha_shown(page)
        page.locator("[name=answer]").fill("99999")
        submit_form_of(page, "answer")
        expect(page.locator("[name=answer][aria-invalid=true]")).to_be_attached()
        page.get_by_test_id("captcha-image").evaluate("img => img.decode()")

    audit(browser, portal_url, wrong)


def test_physicians_recovery_questions_has_no_violation(browser, portal_url, physician):
    audit(browser, portal_url, recovery_questions_shown)


def test_physicians_recovery_questions_with_a_missing_answer_has_no_violation(
    browser, portal_url, physician
):
    def missing(page: Page) -> None:
        recovery_questions_shown(page)
        answer_recovery_questions(page, {})
        expect(page.locator("[aria-invalid=true]").first).to_be_attached()

    audit(browser, portal_url, missing)


def test_physicians_recovery_questions_with_wrong_answers_has_no_violation(
    browser, portal_url, physician
):
    def wrong(page: Page) -> None:
        recovery_questions_shown(page)
        answer_recovery_questions(page, dict.fromkeys(PHYSICIAN_ANSWERS, "Montréal"))
        expect(page.get_by_test_id("form-error")).to_be_visible()

    audit(browser, portal_url, wrong)


def test_physicians_masked_email_has_no_violation(browser, portal_url, physician):
    audit(browser, portal_url, masked_email_shown)


def test_physicians_masked_email_with_no_choice_has_no_violation(browser, portal_url, physician):
    def unanswered(page: Page) -> None:
        masked_email_answered("")(page)
        expect(page.locator("[name=valid][aria-invalid=true]").first).to_be_attached()

    audit(browser, portal_url, unanswered)


def test_physicians_masked_email_answered_no_has_no_violation(browser, portal_url, physician):
    def no(page: Page) -> None:
        masked_email_answered("no")(page)
        expect(page.get_by_test_id("support-contact")).to_be_visible()

    audit(browser, portal_url, no)


def test_physicians_recovery_link_sent_has_no_violation(browser, portal_url, physician):
    def sent(page: Page) -> None:
        # Three reset e-mails an hour per code typed and per address: each run sends its own.
        counters.clear_many([("reset_typed", PHYSICIAN_CODE), ("mails", PHYSICIAN_EMAIL)])
        masked_email_answered("yes")(page)
        expect(page.get_by_test_id("link-sent")).to_be_visible()

    audit(browser, portal_url, sent)


def new_password_shown(inbox: Inbox) -> Visit:
    """The e-mailed link opened, the two questions answered again: the new password's form."""

    def shown(page: Page) -> None:
        inbox.clear()
        counters.clear_many([("reset_typed", PHYSICIAN_CODE), ("mails", PHYSICIAN_EMAIL)])
        masked_email_answered("yes")(page)
        [mail] = inbox.wait_for(PHYSICIAN_EMAIL)
        page.goto(resume_link(Inbox.text(mail)))
        answer_recovery_questions(page, PHYSICIAN_ANSWERS)
        expect(page.locator("[name=password_confirm]")).to_be_visible()

    return shown


def test_physicians_new_password_has_no_violation(browser, portal_url, physician, inbox):
    audit(browser, portal_url, new_password_shown(inbox))


def test_physicians_new_password_with_errors_has_no_violation(
    browser, portal_url, physician, inbox
):
    def errors(page: Page) -> None:
        new_password_shown(inbox)(page)
        fill(page, {"password": "Hippocrate-sur-le-fleuve", "password_confirm": "Hippocrate"})
        submit_form_of(page, "password")
        expect(page.locator("[name=password_confirm][aria-invalid=true]")).to_be_attached()

    audit(browser, portal_url, errors)


def test_physicians_recovery_done_has_no_violation(browser, portal_url, physician, inbox):
    runs = itertools.count()

    def done(page: Page) -> None:
        new_password_shown(inbox)(page)
        # A new password each run: a password used before may be refused.
        password = f"Hippocrate-sur-le-fleuve-{next(runs)}"
        fill(page, {"password": password, "password_confirm": password})
        submit_form_of(page, "password")
        expect(page.get_by_test_id("recovery-done")).to_be_visible()

    audit(browser, portal_url, done)


@pytest.fixture
def resident(physician):
    return make_member(kind="resident", code="R12345", email="luc@example.org")


def sign_up_questions_shown(page: Page) -> None:
    page.goto("/flow/registration/start/")
    fill(
        page,
        {
            "email": "luc@example.org",
            "code": "R12345",
            "password": "stethoscope",
            "password_confirm": "stethoscope",
        },
    )
    submit_form_of(page, "email")
    expect(page.locator("select[name=question_1]")).to_be_visible()


def test_physicians_sign_up_with_field_errors_has_no_violation(browser, portal_url, resident):
    def errors(page: Page) -> None:
        page.goto("/flow/registration/start/")
        fill(page, {"email": "luc@example.org", "code": "R1234"})
        submit_form_of(page, "email")
        expect(page.locator("[aria-invalid=true]").first).to_be_attached()

    audit(browser, portal_url, errors)


def test_physicians_sign_up_questions_has_no_violation(browser, portal_url, resident):
    audit(browser, portal_url, sign_up_questions_shown)


def test_physicians_sign_up_questions_with_errors_has_no_violation(browser, portal_url, resident):
    def errors(page: Page) -> None:
        sign_up_questions_shown(page)
        # A question chosen twice, a missing answer.
        fill(page, {**SIGN_UP_QUESTIONS, "question_2": "first_school", "answer_3": ""})
        submit_form_of(page, "answer_1")
        expect(page.locator("[aria-invalid=true]")).to_have_count(2)

    audit(browser, portal_url, errors)


def test_physicians_identifier_reminder_with_an_error_has_no_violation(
    browser, portal_url, physician
):
    def error(page: Page) -> None:
        page.goto("/login/forgotten-identifier/")
        page.locator("[name=email]").fill("not an address")
        submit_form_of(page, "email")
        expect(page.locator("[name=email][aria-invalid=true]")).to_be_attached()

    audit(browser, portal_url, error)


def test_physicians_account_questions_has_no_violation(browser, portal_url, physician):
    audit(browser, portal_url, goto("/account/security-questions/"), signed_in=PHYSICIAN_EMAIL)


def test_physicians_account_questions_with_errors_has_no_violation(browser, portal_url, physician):
    def errors(page: Page) -> None:
        page.goto("/account/security-questions/")
        fill(page, {**SIGN_UP_QUESTIONS, "answer_2": ""})
        submit_form_of(page, "answer_1")
        expect(page.locator("[aria-invalid=true]").first).to_be_attached()

    audit(browser, portal_url, errors, signed_in=PHYSICIAN_EMAIL)
