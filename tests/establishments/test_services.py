import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from tests.concurrency import at_once
from tests.establishments.helpers import ALL, hotel, member_of
from tests.factories import PASSWORD, make_account
from vestibule.accounts.models import Account
from vestibule.audit.models import Event
from vestibule.establishments.invitations import (
    InvitationInvalid,
    invitation_accept,
    invitation_resend,
    invitation_revoke,
    invitation_send,
)
from vestibule.establishments.models import Invitation, Membership
from vestibule.establishments.services import (
    RightsError,
    membership_remove,
    membership_rights_change,
    rights_clean,
)
from vestibule.notifications.models import Message
from vestibule.tokens.models import Token

pytestmark = pytest.mark.usefixtures("extranet")


def send(establishment, by, email="new@hotel.example", rights=("reservations", "rates")):
    """The key is only in the e-mail; tests read it back the way a person would."""
    from tests.establishments.helpers import invitation_link

    invitation_send(
        establishment=establishment,
        email=email,
        rights=list(rights),
        inviter=by,
        first_name="Léa",
        last_name="Roy",
    )
    return invitation_link(email).rstrip("/").rsplit("/", 1)[1]


@pytest.mark.django_db
def test_rights_outside_the_profile_are_dropped():
    assert rights_clean(["rates", "is_staff", "reservations"]) == ["reservations", "rates"]


@pytest.mark.django_db
def test_the_last_administrator_can_neither_be_removed_nor_lose_the_right():
    place = hotel()
    admin = member_of(place, "admin@hotel.example", ALL)
    with pytest.raises(RightsError):
        membership_rights_change(membership=admin, rights=["rates"], by=admin.account, request=None)
    with pytest.raises(RightsError):
        membership_remove(membership=admin, by=admin.account, request=None)
    second = member_of(place, "second@hotel.example", ["users"])
    membership_remove(membership=admin, by=second.account, request=None)
    assert list(Membership.objects.values_list("account__email", flat=True)) == [
        "second@hotel.example"
    ]


@pytest.mark.django_db
def test_a_rights_change_is_audited_with_before_and_after():
    place = hotel()
    admin = member_of(place, "admin@hotel.example", ALL)
    clerk = member_of(place, "clerk@hotel.example", ["reservations"])
    membership_rights_change(membership=clerk, rights=["rates"], by=admin.account, request=None)
    event = Event.objects.get(kind="membership.rights_changed")
    assert event.data["before"] == ["reservations"] and event.data["after"] == ["rates"]
    assert event.data["by"] == "admin@hotel.example"


@pytest.mark.django_db
def test_a_new_user_accepts_chooses_a_password_and_gets_exactly_the_rights():
    place = hotel()
    admin = member_of(place, "admin@hotel.example", ALL)
    key = send(place, admin.account)
    membership = invitation_accept(key=key, password="chambre-avec-vue")
    account = membership.account
    assert (account.email, account.status, account.kind) == ("new@hotel.example", "active", "user")
    assert account.check_password("chambre-avec-vue")
    assert membership.rights == ["reservations", "rates"]
    assert Invitation.objects.get().state == Invitation.State.ACCEPTED
    with pytest.raises(InvitationInvalid) as again:
        invitation_accept(key=key, password="chambre-avec-vue")
    assert again.value.reason == "accepted"


@pytest.mark.django_db
def test_an_existing_account_must_be_signed_in_as_itself_to_accept():
    place = hotel()
    admin = member_of(place, "admin@hotel.example", ALL)
    invited = make_account(email="new@hotel.example")
    stranger = make_account(email="stranger@hotel.example")
    key = send(place, admin.account)
    for account in (None, stranger):
        with pytest.raises(InvitationInvalid) as refused:
            invitation_accept(key=key, account=account, password=PASSWORD)
        assert refused.value.reason == "other_account"
    assert invitation_accept(key=key, account=invited).account == invited


@pytest.mark.django_db
def test_revoked_expired_and_resent_invitations_refuse_the_old_link():
    place = hotel()
    admin = member_of(place, "admin@hotel.example", ALL)
    key = send(place, admin.account)
    invitation = Invitation.objects.get()
    invitation_revoke(invitation=invitation, by=admin.account, request=None)
    with pytest.raises(InvitationInvalid, match="revoked"):
        invitation_accept(key=key, password="chambre-avec-vue")

    key = send(place, admin.account)
    Token.objects.filter(invitation__state="pending").update(expires_at=timezone.now())
    with pytest.raises(InvitationInvalid, match="expired"):
        invitation_accept(key=key, password="chambre-avec-vue")

    old_key = send(place, admin.account)
    invitation_resend(
        invitation=Invitation.objects.get(state="pending"), by=admin.account, request=None
    )
    with pytest.raises(InvitationInvalid, match="revoked"):
        invitation_accept(key=old_key, password="chambre-avec-vue")
    assert Message.objects.filter(to="new@hotel.example").count() == 4
    # The explicit revocation, then the expired one replaced by the third send, then the one
    # the resend replaced: each in the audit log.
    assert Event.objects.filter(kind="invitation.revoked", subject="new@hotel.example").count() == 3


@pytest.mark.django_db(transaction=True)
def test_ten_concurrent_acceptances_make_one_membership():
    place = hotel()
    admin = member_of(place, "admin@hotel.example", ALL)
    invited = make_account(email="new@hotel.example")
    key = send(place, admin.account)
    barrier = threading.Barrier(10)
    outcomes = []

    def accept():
        barrier.wait()
        try:
            invitation_accept(key=key, account=invited)
            outcomes.append("ok")
        except InvitationInvalid as invalid:
            outcomes.append(invalid.reason)
        except Exception as error:  # a lock timeout would show here
            outcomes.append(type(error).__name__)
        finally:
            connection.close()

    threads = [threading.Thread(target=accept) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert outcomes.count("ok") == 1
    assert set(outcomes) <= {"ok", "accepted"}
    assert Membership.objects.filter(account=invited).count() == 1


@pytest.mark.django_db(transaction=True)
def test_an_acceptance_and_a_revocation_at_once_end_in_one_of_them_without_deadlock():
    place = hotel()
    admin = member_of(place, "admin@hotel.example", ALL)
    invited = make_account(email="new@hotel.example")
    for _round in range(3):
        key = send(place, admin.account)
        invitation = Invitation.objects.get(state=Invitation.State.PENDING)
        accepted, revoked = at_once(
            lambda k=key: invitation_accept(key=k, account=invited),
            lambda i=invitation: invitation_revoke(invitation=i, by=admin.account, request=None),
        )
        invitation.refresh_from_db()
        if isinstance(accepted, Membership):
            assert revoked is False and invitation.state == Invitation.State.ACCEPTED
            Membership.objects.filter(account=invited).delete()
        else:
            assert isinstance(accepted, InvitationInvalid) and accepted.reason == "revoked"
            assert revoked is True and invitation.state == Invitation.State.REVOKED
        # The key is spent either way: it opens nothing any more.
        assert Token.objects.get(pk=invitation.token_id).used_at is not None


@pytest.mark.django_db
def test_accepting_an_invitation_to_a_second_establishment_adds_it():
    first, second = hotel(), hotel("Hôtel de la Gare", "H002")
    admin = member_of(first, "admin@hotel.example", ALL)
    member_of(second, "admin@hotel.example", ALL)
    user = member_of(first, "clerk@hotel.example", ["reservations"]).account
    key = send(second, admin.account, email="clerk@hotel.example", rights=["finances"])
    invitation_accept(key=key, account=user)
    assert sorted(user.memberships.values_list("establishment__public_id", flat=True)) == [
        "H001",
        "H002",
    ]


@pytest.mark.django_db
def test_every_step_is_audited():
    place = hotel()
    admin = member_of(place, "admin@hotel.example", ALL)
    key = send(place, admin.account)
    membership = invitation_accept(key=key, password="chambre-avec-vue")
    membership_rights_change(
        membership=membership, rights=["rates"], by=admin.account, request=None
    )
    membership_remove(membership=membership, by=admin.account, request=None)
    kinds = set(Event.objects.values_list("kind", flat=True))
    assert {
        "invitation.sent",
        "invitation.accepted",
        "account.created_by_invitation",
        "membership.rights_changed",
        "membership.removed",
    } <= kinds
    assert Account.objects.filter(email="new@hotel.example").exists()


@pytest.mark.django_db
def test_grants_are_audited_and_an_expired_invitation_shows_as_expired():
    place = hotel()
    admin = member_of(place, "admin@hotel.example", ALL)
    key = send(place, admin.account)
    invitation = Invitation.objects.get()
    assert invitation.current_state == Invitation.State.PENDING
    Token.objects.filter(invitation__isnull=False).update(expires_at=timezone.now())
    invitation.refresh_from_db()
    assert invitation.current_state == Invitation.State.EXPIRED
    Token.objects.filter(invitation__isnull=False).update(
        expires_at=timezone.now() + timedelta(days=1)
    )
    membership = invitation_accept(key=key, password="chambre-avec-vue")
    granted = Event.objects.get(kind="membership.granted", account=membership.account)
    assert granted.data["rights"] == membership.rights
