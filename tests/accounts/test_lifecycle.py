"""Disable, enable, delete and find an account (accounts/lifecycle.py): the staff rules,
what each action ends, and its audit event."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone, translation

from tests.concurrency import at_once
from tests.factories import make_account, make_member
from vestibule.accounts.lifecycle import (
    AccountActionRefused,
    account_delete,
    account_disable,
    account_enable,
    account_find,
)
from vestibule.accounts.models import Account
from vestibule.accounts.services import ConfirmationInvalid, account_register, link_check
from vestibule.audit.models import Event
from vestibule.establishments.models import Establishment, Membership
from vestibule.registry.models import Member
from vestibule.tokens.models import Token
from vestibule.tokens.services import token_issue

pytestmark = pytest.mark.django_db


def refused(code: str):
    return pytest.raises(AccountActionRefused, match=f"^{code}$")


def staff(email: str = "agent@example.org", **fields) -> Account:
    return make_account(email=email, is_staff=True, **fields)


def superuser(email: str = "root@example.org") -> Account:
    return make_account(email=email, is_staff=True, is_superuser=True)


# account_find


def test_find_by_email_in_any_case_member_code_account_code_and_id():
    member = make_member(code="654321", email="luc@example.org")
    account = make_account(email="marie@example.org", code="123456")
    linked = make_account(email="luc@example.org", member=member)
    assert account_find(" MARIE@Example.org ") == account
    assert account_find("123456") == account
    assert account_find("654321") == linked
    assert account_find(f"#{linked.pk}") == linked


@pytest.mark.parametrize("identifier", ["nobody@example.org", "999999", "#999999", "", "   "])
def test_an_unknown_identifier_is_refused_with_a_clear_message(identifier):
    make_account()
    with refused("unknown") as caught:
        account_find(identifier)
    with translation.override("en"):
        assert caught.value.message == "No account has this e-mail, licence or user code."
    with translation.override("fr"):
        assert "Aucun compte" in caught.value.message


# account_disable


def test_disable_sets_the_status_reason_cause_and_audits_the_actor():
    agent, account = staff(), make_account()
    assert account_disable(account=account, reason="fraude signalée", actor=agent) is True
    account.refresh_from_db()
    assert account.status == Account.Status.DISABLED and not account.is_active
    assert account.disabled_reason == "fraude signalée"
    assert account.disabled_cause == Account.DisabledCause.STAFF
    assert account.disabled_at is not None
    event = Event.objects.get(kind="account.disabled")
    assert event.account == account
    assert event.data == {"by": agent.email, "reason": "fraude signalée", "cause": "staff"}


def test_the_operator_is_named_operator_and_disabling_twice_changes_nothing():
    account = make_account()
    assert account_disable(account=account, reason="r", actor=None) is True
    assert account_disable(account=account, reason="again", actor=None) is False
    event = Event.objects.get(kind="account.disabled")
    assert event.data["by"] == "operator" and event.data["reason"] == "r"


def test_a_staff_disable_without_a_reason_is_refused_and_changes_nothing():
    account = make_account()
    with refused("reason_required") as caught:
        account_disable(account=account, reason="  ", actor=staff())
    account.refresh_from_db()
    assert account.status == Account.Status.ACTIVE
    assert not Event.objects.filter(kind="account.disabled").exists()
    with translation.override("fr"):
        assert "raison" in caught.value.message


def test_disable_ends_every_session_of_the_account():
    account = make_account()
    browser = Client()
    browser.force_login(account, backend="vestibule.accounts.backends.IdentifierBackend")
    assert browser.get("/account/").status_code == 200
    account_disable(account=account, reason="r", actor=None)
    # A disabled account is a non-active user: Django's auth drops it.
    page = browser.get("/account/")
    assert page.status_code == 302 and page["Location"].startswith("/login/")
    assert Event.objects.filter(kind="account.signed_out_everywhere", account=account).exists()


def test_pending_reset_and_activation_links_stop_working_when_disabled():
    account = make_account()
    pending = make_account(email="new@example.org", status=Account.Status.PENDING)
    reset, _ = token_issue(
        purpose=Token.Purpose.RECOVERY, lifetime=timedelta(hours=1), account=account
    )
    activation, _ = token_issue(
        purpose=Token.Purpose.ACTIVATION, lifetime=timedelta(hours=48), account=pending
    )
    link_check(key=reset, purpose=Token.Purpose.RECOVERY)  # good before
    account_disable(account=account, reason="r", actor=None)
    account_disable(account=pending, reason="r", actor=None)
    with pytest.raises(ConfirmationInvalid):
        link_check(key=reset, purpose=Token.Purpose.RECOVERY)
    with pytest.raises(ConfirmationInvalid):
        link_check(key=activation, purpose=Token.Purpose.ACTIVATION)


def test_a_staff_account_is_disabled_only_by_a_superuser_or_the_operator():
    target = staff("colleague@example.org")
    with refused("staff_needs_superuser") as caught:
        account_disable(account=target, reason="r", actor=staff())
    target.refresh_from_db()
    assert target.status == Account.Status.ACTIVE
    with translation.override("en"):
        assert "Only a superuser" in caught.value.message
    with translation.override("fr"):
        assert "superutilisateur" in caught.value.message
    superuser()
    assert account_disable(account=target, reason="r", actor=Account.objects.get(is_superuser=True))
    other = staff("third@example.org")
    assert account_disable(account=other, reason="r", actor=None)


def test_nobody_disables_their_own_account():
    root = superuser()
    superuser("root2@example.org")
    with refused("self"):
        account_disable(account=root, reason="r", actor=root)
    root.refresh_from_db()
    assert root.is_active


def test_the_last_active_superuser_is_never_disabled_nor_deleted():
    root = superuser()
    with refused("last_superuser"):
        account_disable(account=root, reason="r", actor=None)
    with refused("last_superuser"):
        account_delete(account=root, actor=None)
    root.refresh_from_db()
    assert root.is_active
    other = superuser("root2@example.org")
    assert account_disable(account=root, reason="r", actor=other)
    with refused("last_superuser"):
        account_disable(account=other, reason="r", actor=None)


@pytest.mark.django_db(transaction=True)
def test_two_disables_at_once_write_one_audit_event():
    account = make_account()
    results = at_once(
        lambda: account_disable(account=Account.objects.get(pk=account.pk), reason="a", actor=None),
        lambda: account_disable(account=Account.objects.get(pk=account.pk), reason="b", actor=None),
    )
    assert sorted(results) == [False, True], results
    assert Event.objects.filter(kind="account.disabled").count() == 1
    assert Event.objects.filter(kind="account.signed_out_everywhere").count() == 1


# account_enable


def test_enable_restores_an_active_account_and_audits_it():
    agent, account = staff(), make_account(activated_at=timezone.now())
    account_disable(account=account, reason="r", actor=agent)
    assert account_enable(account=account, actor=agent) is True
    account.refresh_from_db()
    assert account.status == Account.Status.ACTIVE and account.disabled_cause == ""
    assert Event.objects.get(kind="account.enabled").data["by"] == agent.email
    assert account_enable(account=account, actor=agent) is False


def test_enable_gives_back_pending_to_an_account_never_activated():
    account = make_account(status=Account.Status.PENDING)
    account_disable(account=account, reason="r", actor=None)
    account_enable(account=account, actor=None)
    account.refresh_from_db()
    assert account.status == Account.Status.PENDING


def test_enable_is_refused_while_the_registry_says_inactive():
    member = make_member(active=False)
    account = make_account(member=member, code=member.code)
    account_disable(account=account, reason="r", actor=None, cause=Account.DisabledCause.REGISTRY)
    with refused("registry_inactive") as caught:
        account_enable(account=account, actor=None)
    account.refresh_from_db()
    assert account.status == Account.Status.DISABLED
    with translation.override("fr"):
        assert "registre" in caught.value.message


# account_delete


def test_delete_pseudonymises_the_audit_log_and_frees_the_email_for_a_new_sign_up():
    member = make_member()
    account = make_account(member=member, code=member.code)
    Event.objects.create(
        kind="sign_in.succeeded",
        account=account,
        subject=account.email,
        ip_address="203.0.113.9",
        user_agent="Firefox",
    )
    Event.objects.create(kind="sign_in.failed", subject="123456", ip_address="203.0.113.9")
    agent = staff()
    pseudonym = account_delete(account=account, actor=agent, reason="asked by phone")
    assert not Account.objects.filter(pk=account.pk).exists()
    assert Member.objects.filter(code="123456").exists()  # the organisation's record stays
    for event in Event.objects.filter(kind__in=["sign_in.succeeded", "sign_in.failed"]):
        assert (event.subject, event.account_id, event.ip_address, event.user_agent) == (
            pseudonym,
            None,
            None,
            "",
        )
    deleted = Event.objects.get(kind="account.deleted")
    assert deleted.subject == pseudonym
    assert deleted.data == {"by": agent.email, "reason": "asked by phone"}
    assert not Event.objects.filter(subject="marie@example.org").exists()
    again = account_register(
        email="marie@example.org",
        password="another long passphrase",
        language="fr",
        code="123456",
    )
    assert again.outcome == "created" and again.account.member_id == member.pk


def test_delete_keeps_the_events_of_others_but_not_the_deleted_actors_name_in_them():
    agent = staff()
    other = make_account(email="other@example.org")
    account_disable(account=other, reason="fraud", actor=agent)
    pseudonym = account_delete(account=agent, actor=None)
    disabled = Event.objects.get(kind="account.disabled")
    assert disabled.subject == "other@example.org"  # the other member's event stays theirs
    assert disabled.data["by"] == pseudonym
    assert not Event.objects.filter(data__by=agent.email).exists()


def test_deleting_the_last_administrator_of_an_establishment_is_refused_with_nothing_done(
    use_profile,
):
    use_profile("extranet")
    from vestibule.config import get_profile

    rights = [right.key for right in get_profile().access_rights]
    account = make_account()
    hotel = Establishment.objects.create(name="Hôtel", public_id="H1")
    Membership.objects.create(account=account, establishment=hotel, rights=rights)
    with refused("last_administrator") as caught:
        account_delete(account=account, actor=None)
    assert Account.objects.filter(pk=account.pk, status=Account.Status.ACTIVE).exists()
    assert Membership.objects.filter(account=account).exists()
    assert not Event.objects.filter(kind__in=["account.deleted", "account.signed_out_everywhere"])
    with translation.override("en"):
        assert "last administrator" in caught.value.message
    with translation.override("fr"):
        assert "dernier administrateur" in caught.value.message
    # With a second administrator, the deletion goes through and takes the membership.
    Membership.objects.create(
        account=make_account(email="other@example.org"), establishment=hotel, rights=rights
    )
    account_delete(account=account, actor=None)
    assert not Membership.objects.filter(account_id=account.pk).exists()


def test_delete_is_refused_by_the_staff_rules():
    agent = staff()
    target = staff("colleague@example.org")
    with refused("staff_needs_superuser"):
        account_delete(account=target, actor=agent)
    with refused("self"):
        account_delete(account=agent, actor=agent)
    assert Account.objects.filter(pk__in=[agent.pk, target.pk]).count() == 2
