"""Security questions drawn the same way for known and unknown identifiers (issue 12, item 9).

Before, a known identifier drew a random pair on each recovery and an unknown one always the
same pair: starting the flow twice told whether a member existed.
"""

import pytest
from django.test import Client

from tests.factories import make_account
from tests.flows.walk import ANSWERS, answer, start
from vestibule.accounts.security_questions import questions_draw, security_answers_set
from vestibule.config import get_profile

pytestmark = pytest.mark.django_db
RESTARTS = 8


def drawn_at_recovery(identifier: str, address: str) -> tuple[str, ...]:
    """The questions a fresh browser is asked after typing `identifier` and the captcha."""
    browser = Client(REMOTE_ADDR=address)
    start(browser, "recovery")
    answer(browser, "recovery", code=identifier)
    answer(browser, "recovery", answer="12345")
    state = browser.session["flow:recovery"]
    return tuple(state["data"][f"questions:{state['index']}"])


def test_a_known_and_an_unknown_identifier_draw_alike_on_every_restart(physician):
    # From as many addresses: the recovery's per-address limits are not what is tested here.
    known = {drawn_at_recovery("54321", f"203.0.113.{n}") for n in range(RESTARTS)}
    unknown = {drawn_at_recovery("12399", f"198.51.100.{n}") for n in range(RESTARTS)}
    # One stable pair each: restarting tells nothing (before: up to 3 pairs for the member).
    assert len(known) == 1 and len(unknown) == 1
    (known_pair,) = known
    (unknown_pair,) = unknown
    assert len(known_pair) == len(unknown_pair) == 2
    assert set(known_pair) <= set(ANSWERS)  # the member's own questions, answerable


def test_a_member_with_every_question_answered_draws_exactly_as_an_unknown_identifier(
    physician,
):
    """The same procedure for both: where the choice is the same, so is the draw."""
    profile = get_profile()
    every = {question.key: "une réponse" for question in profile.security_questions}
    member = make_account(email="tous@example.org", code="54322", kind="physician")
    security_answers_set(account=member, answers=every)
    for typed in ["54322", "tous@example.org", " 54322 ", "R12345"]:
        for position in (2, 5):
            as_member = questions_draw(
                account=member, profile=profile, count=2, typed=typed, position=position
            )
            as_nobody = questions_draw(
                account=None, profile=profile, count=2, typed=typed, position=position
            )
            assert as_member == as_nobody


def test_unknown_identifiers_do_not_all_draw_the_same_pair(physician):
    """Otherwise a pair other than the common one would mark a member."""
    profile = get_profile()
    pairs = {
        tuple(questions_draw(account=None, profile=profile, count=2, typed=f"{n:05d}"))
        for n in range(40)
    }
    assert len(pairs) >= 5


def test_the_draw_changes_with_the_secret_key(physician, settings):
    """Keyed: nobody without SECRET_KEY can compute an identifier's questions ahead."""
    profile = get_profile()
    typed = [f"{n:05d}" for n in range(20)]
    before = [questions_draw(account=None, profile=profile, count=2, typed=t) for t in typed]
    settings.SECRET_KEY = "another key entirely " * 3
    after = [questions_draw(account=None, profile=profile, count=2, typed=t) for t in typed]
    assert before != after
