"""Sign-up under double clicks, races, a dead SMTP server and the passing of time."""

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from tests.concurrency import at_once
from tests.factories import make_member
from tests.flows.walk import answer, flow_state, start
from vestibule.accounts.models import Account
from vestibule.accounts.services import account_purge_unactivated
from vestibule.audit.models import Event
from vestibule.flows import views
from vestibule.notifications.models import Message
from vestibule.notifications.services import messages_send
from vestibule.queues import background_wait

FIELDS = {"password": "nouveau-passe-9", "password_confirm": "nouveau-passe-9"}


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_sign_ups_of_one_member_make_one_account_and_one_clear_message(use_profile):
    use_profile("dentists")
    make_member(kind="dentist", code="12345", email="dr.lavoie@example.org")
    browsers = [Client(), Client()]
    for browser in browsers:
        start(browser, "registration")
    fields = {
        "is_member": "on",
        "email": "dr.lavoie@example.org",
        "code": "12345",
        "password": "molaire42",
        "password_confirm": "molaire42",
    }
    responses = at_once(*(lambda b=b: answer(b, "registration", **fields) for b in browsers))
    assert Account.objects.count() == 1
    # The loser either met the database constraint (a clear refusal on the page) or, when the
    # database serialised the two, found the winner's pending account (its link sent again).
    assert {r.status_code for r in responses} <= {200, 302}
    assert 302 in {r.status_code for r in responses}
    for response in responses:
        if response.status_code == 200:
            assert "ne correspondent à aucun membre inscrit" in response.content.decode()


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_open_sign_ups_with_one_email_make_one_account(use_profile):
    use_profile("community")
    browsers = [Client(), Client()]
    for browser in browsers:
        start(browser, "registration")
    responses = at_once(
        *(
            lambda b=b: answer(b, "registration", email="camille@example.org", **FIELDS)
            for b in browsers
        )
    )
    assert [r.status_code for r in responses] == [302, 302]
    assert Account.objects.filter(email="camille@example.org").count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_double_click_makes_one_account_and_one_email(use_profile):
    use_profile("community")
    first = Client()
    start(first, "registration")
    second = Client()
    second.cookies = first.cookies  # the same browser session, two requests in flight
    # One page, its form sent twice.
    state = flow_state(first, "registration")
    fields = {"flow_id": state["id"], "stage_index": "0", "email": "camille@example.org", **FIELDS}
    responses = at_once(
        lambda: first.post("/flow/registration/", fields),
        lambda: second.post("/flow/registration/", fields),
    )
    assert [r.status_code for r in responses] == [302, 302]
    assert Account.objects.count() == 1
    assert Message.objects.filter(template="activation").count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_step_held_by_a_submission_that_died_is_answered_once_the_hold_lapses(
    use_profile, monkeypatch
):
    # The node that took the first submission was killed: its hold on the answer lapses,
    # and the browser's new try is processed instead of being sent back to an empty form.
    use_profile("community")
    monkeypatch.setattr(views, "ANSWER_LOCK_SECONDS", 1)
    browser = Client()
    start(browser, "registration")
    state = flow_state(browser, "registration")
    cache.add(f"flow-lock:{state['id']}:0", views.IN_PROGRESS, timeout=1)
    response = answer(browser, "registration", email="camille@example.org", **FIELDS)
    assert response.status_code == 302
    assert Account.objects.filter(email="camille@example.org").count() == 1
    assert "a bien été reçue" in browser.get(response["Location"]).content.decode()


@pytest.mark.django_db(transaction=True)
def test_with_smtp_down_sign_up_succeeds_and_the_email_leaves_when_it_is_back(
    use_profile, smtp_peer, inbox
):
    use_profile("community")
    browser = Client()
    start(browser, "registration")
    smtp_peer.stop()
    try:
        response = answer(browser, "registration", email="camille@example.org", **FIELDS)
        assert response.status_code == 302
        assert "a bien été reçue" in browser.get(response["Location"]).content.decode()
        background_wait()  # the try after commit, while the server is still down
    finally:
        smtp_peer.start()
    mail = Message.objects.get(template="activation")
    assert (mail.state, mail.attempts) == (Message.State.READY, 1)
    Message.objects.update(next_attempt_at=timezone.now())
    assert messages_send() == (1, 0)
    received = inbox.wait_for("camille@example.org")[0]
    assert "/flow/registration/resume/" in inbox.text(received)


@pytest.mark.django_db
def test_unactivated_accounts_are_purged_after_the_profile_delay_and_free_the_member(use_profile):
    use_profile("dentists")  # purge after 7 days
    member = make_member(kind="dentist", code="12345", email="dr.lavoie@example.org")
    browser = Client()
    start(browser, "registration")
    answer(
        browser,
        "registration",
        is_member="on",
        email="dr.lavoie@example.org",
        code="12345",
        password="molaire42",
        password_confirm="molaire42",
    )
    account = Account.objects.get()
    assert account_purge_unactivated(now=timezone.now() + timedelta(days=6)) == 0
    assert account_purge_unactivated(now=timezone.now() + timedelta(days=8)) == 1
    assert not Account.objects.exists()
    event = Event.objects.get(kind="account.purged")
    assert event.subject == "dr.lavoie@example.org"
    # The e-mail and the registry record are free for a new sign-up.
    again = Client()
    start(again, "registration")
    answer(
        again,
        "registration",
        is_member="on",
        email="dr.lavoie@example.org",
        code="12345",
        password="molaire42",
        password_confirm="molaire42",
    )
    assert Account.objects.get().member == member
    assert account.pk != Account.objects.get().pk


@pytest.mark.django_db
def test_active_accounts_are_never_purged(use_profile):
    from tests.factories import make_account

    make_account(created_at=timezone.now() - timedelta(days=400))
    assert account_purge_unactivated() == 0
    assert Account.objects.count() == 1


@pytest.mark.django_db
def test_the_worker_also_purges_under_its_old_name_send_mail(use_profile, capsys):
    use_profile("community")
    Account.objects.create(
        email="old@example.org", kind="member", created_at=timezone.now() - timedelta(days=4)
    )
    call_command("send_mail", "--once")
    assert not Account.objects.exists()
    assert "purge-unactivated 1" in capsys.readouterr().out


@pytest.mark.django_db
def test_the_purge_command_deletes_what_is_due_and_says_how_many(use_profile, capsys):
    use_profile("community")
    stale = Account.objects.create(email="old@example.org", status=Account.Status.PENDING)
    Account.objects.filter(pk=stale.pk).update(created_at=timezone.now() - timedelta(days=400))
    Account.objects.create(email="new@example.org", status=Account.Status.PENDING)
    call_command("purge_unactivated")
    assert "purged 1 unactivated account(s)" in capsys.readouterr().out
    assert list(Account.objects.values_list("email", flat=True)) == ["new@example.org"]
