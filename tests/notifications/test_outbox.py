import pytest
from django.core.management import call_command
from django.db import transaction
from django.test import Client
from django.utils import timezone

from tests.factories import make_account
from tests.flows.walk import answer, start
from vestibule.notifications.models import Message
from vestibule.notifications.services import message_enqueue, messages_send
from vestibule.queues import background_wait, backoff

pytestmark = pytest.mark.django_db


def enqueue(language: str = "fr", to: str = "marie@example.org") -> Message:
    account = make_account(email=to, language=language)
    return message_enqueue(
        template="account_created", to=to, language=language, context={"account": account}
    )


def send_while_down(smtp_peer) -> None:
    """One sending round while the SMTP server is stopped: the one message fails."""
    smtp_peer.stop()
    try:
        assert messages_send() == (0, 1)
    finally:
        smtp_peer.start()


def test_a_message_is_rendered_in_the_recipient_language():
    french = enqueue("fr", "marie@example.org")
    english = enqueue("en", "mary@example.org")
    assert french.subject == "Votre compte a été créé · Vestibule — portail des membres"
    assert english.subject == "Your account has been created · Vestibule — members' portal"
    assert "<html" in french.html()
    assert "portail des membres" in french.text()


def test_the_outbox_is_sent_by_real_smtp(inbox):
    message = enqueue()
    assert messages_send() == (1, 0)
    received = inbox.wait_for("marie@example.org")[0]
    assert (
        received["Subject"].strip() == "Votre compte a été créé · Vestibule — portail des membres"
    )
    assert received.get_body(preferencelist=("html",)) is not None
    message.refresh_from_db()
    assert message.state == Message.State.SENT
    assert message.sent_at is not None


def test_a_rolled_back_change_leaves_no_message():
    with pytest.raises(RuntimeError), transaction.atomic():
        enqueue()
        raise RuntimeError("the change failed")
    assert not Message.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_mail_is_sent_after_commit(inbox):
    with transaction.atomic():
        enqueue()
    assert inbox.wait_for("marie@example.org")


@pytest.mark.django_db(transaction=True)
def test_no_page_waits_for_the_smtp_server(use_profile, inbox):
    """A reset for a real account answers while the SMTP server still holds its e-mail."""
    use_profile("community")
    make_account(email="member@example.org")
    client = Client()
    start(client, "recovery")
    with inbox.held():
        response = answer(client, "recovery", identifier="member@example.org")
        assert response.status_code == 302
        message = Message.objects.get(template="password_reset")
        # Sending it inline would have ended in the SMTP time-out: attempts 1, not sent.
        assert (message.attempts, message.sent_at) == (0, None)
        assert inbox.to("member@example.org") == []
    assert inbox.wait_for("member@example.org")
    background_wait()
    message.refresh_from_db()
    assert message.state == Message.State.SENT


def test_when_smtp_is_down_the_message_waits_and_leaves_when_it_is_back(smtp_peer, inbox):
    message = enqueue()
    send_while_down(smtp_peer)
    message.refresh_from_db()
    assert message.state == Message.State.READY
    assert message.attempts == 1
    assert message.next_attempt_at > timezone.now()
    assert "Connection refused" in message.last_error or message.last_error
    assert inbox.to("marie@example.org") == []

    # Not due yet: the back-off holds it.
    assert messages_send() == (0, 0)
    Message.objects.filter(pk=message.pk).update(next_attempt_at=timezone.now())
    call_command("send_mail", "--once")
    assert inbox.wait_for("marie@example.org")
    message.refresh_from_db()
    assert message.state == Message.State.SENT
    assert message.attempts == 2


def test_one_refusal_leaves_the_rest_of_the_batch_for_the_next_round(smtp_peer):
    for n in range(3):
        enqueue(to=f"member{n}@example.org")
    smtp_peer.stop()
    try:
        assert messages_send() == (0, 1)
    finally:
        smtp_peer.start()
    states = sorted(Message.objects.values_list("state", "attempts"))
    assert states == [("ready", 0), ("ready", 0), ("ready", 1)]


def test_a_message_left_sending_by_a_dead_sender_is_claimed_again(inbox):
    message = enqueue()
    Message.objects.filter(pk=message.pk).update(
        state=Message.State.SENDING, claimed_at=timezone.now() - timezone.timedelta(hours=1)
    )
    assert messages_send() == (1, 0)
    assert inbox.wait_for("marie@example.org")


def test_every_attempt_at_a_message_carries_the_same_message_id(inbox):
    # A sender killed after the server took a message sends it again: the Message-ID is the
    # row's, not the attempt's, so the copy is known as the same message.
    first, second = enqueue(), enqueue(to="paul@example.org")
    expected = Message.objects.get(pk=first.pk).message_id("localhost")
    assert expected == first.message_id("localhost") != second.message_id("localhost")
    assert messages_send() == (2, 0)
    assert inbox.wait_for("marie@example.org")[0]["Message-ID"] == expected
    assert inbox.wait_for("paul@example.org")[0]["Message-ID"] == second.message_id("localhost")


def test_back_off_grows_and_is_capped():
    assert [backoff(n).total_seconds() for n in (1, 2, 3)] == [30, 60, 120]
    assert backoff(30).total_seconds() == 3600


def test_staff_see_the_outbox_and_can_send_a_failed_message_again(admin_client):
    message = enqueue()
    Message.objects.filter(pk=message.pk).update(state=Message.State.FAILED, attempts=12)
    assert b"marie@example.org" in admin_client.get("/admin/notifications/message/").content
    admin_client.post(
        "/admin/notifications/message/", {"action": "retry_now", "_selected_action": [message.pk]}
    )
    message.refresh_from_db()
    assert message.state == Message.State.READY
    assert admin_client.get(f"/admin/notifications/message/{message.pk}/delete/").status_code == 403


def test_a_long_outage_never_gives_a_message_up(smtp_peer, inbox):
    message = enqueue()
    Message.objects.filter(pk=message.pk).update(attempts=40)
    send_while_down(smtp_peer)
    message.refresh_from_db()
    assert (message.state, message.attempts) == (Message.State.READY, 41)
    Message.objects.filter(pk=message.pk).update(next_attempt_at=timezone.now())
    assert messages_send() == (1, 0)
    assert inbox.wait_for("marie@example.org")


def test_only_a_permanent_refusal_counts_toward_giving_up():
    import smtplib

    from vestibule.notifications.services import refused_for_good

    assert refused_for_good(smtplib.SMTPRecipientsRefused({"a@b.example": (550, b"no such user")}))
    assert not refused_for_good(smtplib.SMTPRecipientsRefused({"a@b.example": (451, b"later")}))
    assert refused_for_good(smtplib.SMTPDataError(554, b"rejected"))
    assert not refused_for_good(smtplib.SMTPServerDisconnected("gone"))
    assert not refused_for_good(ConnectionRefusedError(111, "refused"))
