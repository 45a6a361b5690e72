"""Issue 12, item 7: staff escalation through the admin console.

A staff member holding only « change account » edits names and languages; `is_staff`,
`is_superuser`, groups and permissions are the superusers' alone, read-only on the page and
refused when posted anyway. Every change of them, from any path, is in the audit log.
"""

import pytest
from django.conf import settings
from django.contrib.auth.models import Group, Permission
from django.core.management import call_command
from django.test import Client

from tests.factories import make_account
from vestibule.accounts.models import Account
from vestibule.audit.models import Event

pytestmark = pytest.mark.django_db


def permission(codename: str) -> Permission:
    return Permission.objects.get(codename=codename)


@pytest.fixture
def clerk() -> Account:
    """A real staff account whose only permission is « change account »."""
    account = make_account(email="commis@example.org", first_name="Léo", is_staff=True)
    account.user_permissions.add(permission("change_account"))
    return account


@pytest.fixture
def admin_user() -> Account:
    return make_account(email="admin@example.org", is_staff=True, is_superuser=True)


@pytest.fixture
def admin_client(admin_user: Account) -> Client:
    client = Client()
    client.force_login(admin_user)
    return client


@pytest.fixture
def clerk_client(clerk: Account) -> Client:
    client = Client()
    client.force_login(clerk)
    return client


def change_url(account: Account) -> str:
    return f"/admin/accounts/account/{account.pk}/change/"


def form(account: Account, **privileges) -> dict:
    """What the change page posts: its editable fields, plus any `privileges` given."""
    return {
        "first_name": account.first_name,
        "last_name": account.last_name,
        "language": account.language,
        "_save": "Enregistrer",
        **privileges,
    }


def privileges_of(account: Account) -> tuple:
    account = Account.objects.get(pk=account.pk)
    return (
        account.is_staff,
        account.is_superuser,
        list(account.groups.all()),
        list(account.user_permissions.values_list("codename", flat=True)),
    )


def test_the_clerk_sees_the_privileges_read_only_on_their_own_page(clerk_client, clerk):
    page = clerk_client.get(change_url(clerk)).content.decode()
    assert 'name="first_name"' in page
    for field in ("is_staff", "is_superuser", "groups", "user_permissions"):
        assert f'name="{field}"' not in page


def test_the_clerk_posting_superuser_on_their_own_account_is_refused(clerk_client, clerk):
    group = Group.objects.create(name="Soutien")
    group.permissions.add(permission("delete_account"))
    before = privileges_of(clerk)
    Event.objects.all().delete()  # the fixtures' own grants
    response = clerk_client.post(
        change_url(clerk),
        form(
            clerk,
            is_staff="on",
            is_superuser="on",
            groups=[group.pk],
            user_permissions=[permission("delete_account").pk],
        ),
    )
    assert response.status_code == 403
    assert privileges_of(clerk) == before
    refused = Event.objects.get(kind="admin.privileges_refused")
    assert refused.account == clerk
    assert set(refused.data["fields"]) == {"is_staff", "is_superuser", "groups", "user_permissions"}
    assert not Event.objects.filter(kind="account.privileges_changed").exists()


@pytest.mark.parametrize(
    "privilege",
    [{"is_superuser": "on"}, {"is_staff": "on"}, {"user_permissions": ["PERM"]}, {"groups": ["G"]}],
    ids=["superuser", "staff", "permission", "group"],
)
def test_the_clerk_cannot_grant_any_privilege_to_another_account(clerk_client, privilege):
    group = Group.objects.create(name="Soutien")
    other = make_account(email="complice@example.org")
    key, value = next(iter(privilege.items()))
    if value == ["PERM"]:
        value = [permission("change_account").pk]
    elif value == ["G"]:
        value = [group.pk]
    before = privileges_of(other)
    response = clerk_client.post(change_url(other), form(other, **{key: value}))
    assert response.status_code == 403
    assert privileges_of(other) == before


def test_the_clerk_still_edits_names_and_nothing_else_changes(clerk_client, clerk):
    member = make_account(email="membre@example.org", first_name="Marie")
    Event.objects.all().delete()  # the fixtures' own grants
    response = clerk_client.post(change_url(member), form(member, first_name="Maryse"))
    assert response.status_code == 302
    member.refresh_from_db()
    assert member.first_name == "Maryse"
    assert privileges_of(member) == (False, False, [], [])
    assert not Event.objects.filter(kind__contains="privileges").exists()


def test_a_superuser_grants_privileges_and_each_change_is_audited_with_before_and_after(
    admin_client, admin_user
):
    group = Group.objects.create(name="Soutien")
    member = make_account(email="membre@example.org")
    response = admin_client.post(
        change_url(member),
        form(
            member,
            is_staff="on",
            groups=[group.pk],
            user_permissions=[permission("change_account").pk],
        ),
    )
    assert response.status_code == 302
    assert privileges_of(member) == (True, False, [group], ["change_account"])
    events = {
        e.data["field"]: e
        for e in Event.objects.filter(kind="account.privileges_changed", account=member)
    }
    assert set(events) == {"is_staff", "groups", "user_permissions"}
    for event in events.values():
        assert event.account == member and event.data["by"] == admin_user.email
        assert event.ip_address == "127.0.0.1"
    assert (events["is_staff"].data["before"], events["is_staff"].data["after"]) == (False, True)
    assert events["groups"].data == {
        "by": admin_user.email,
        "field": "groups",
        "before": [],
        "after": ["Soutien"],
    }
    assert events["user_permissions"].data["after"] == ["accounts.change_account"]


def test_a_superuser_edits_their_own_privileges_but_never_removes_the_last_superuser(
    admin_client, admin_user
):
    page = admin_client.post(change_url(admin_user), form(admin_user, is_staff="on"))
    assert page.status_code == 200
    assert "dernier superutilisateur" in page.content.decode()
    assert Account.objects.get(pk=admin_user.pk).is_superuser

    make_account(email="autre-admin@example.org", is_staff=True, is_superuser=True)
    Event.objects.all().delete()  # the fixtures' own grants
    response = admin_client.post(change_url(admin_user), form(admin_user, is_staff="on"))
    assert response.status_code == 302
    assert not Account.objects.get(pk=admin_user.pk).is_superuser
    event = Event.objects.get(kind="account.privileges_changed", account=admin_user)
    assert (event.data["field"], event.data["before"], event.data["after"]) == (
        "is_superuser",
        True,
        False,
    )


def test_the_last_superuser_refusal_is_in_english_too(admin_client, admin_user):
    admin_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    page = admin_client.post(change_url(admin_user), form(admin_user, is_staff="on"))
    assert "This is the last superuser" in page.content.decode()


def test_changes_outside_the_console_are_audited_too(clerk):
    Event.objects.all().delete()  # the fixture's own grants
    clerk.is_superuser = True
    clerk.save()
    group = Group.objects.create(name="Soutien")
    group.user_set.add(clerk)  # from the group's side
    clerk.user_permissions.clear()
    kinds = [
        (e.data["field"], e.data["before"], e.data["after"], e.data["by"])
        for e in Event.objects.filter(kind="account.privileges_changed", account=clerk).order_by(
            "id"
        )
    ]
    assert kinds == [
        ("is_superuser", False, True, ""),
        ("groups", [], ["Soutien"], ""),
        ("user_permissions", ["accounts.change_account"], [], ""),
    ]


def test_createsuperuser_is_audited(settings):
    call_command("createsuperuser", interactive=False, email="racine@example.org", verbosity=0)
    fields = set(
        Event.objects.filter(
            kind="account.privileges_changed", subject="racine@example.org"
        ).values_list("data__field", flat=True)
    )
    assert fields == {"is_staff", "is_superuser"}


# --- Groups ----------------------------------------------------------------------------------


@pytest.fixture
def group_clerk(clerk: Account) -> Account:
    """A staff member who may change groups, and is in the group « Soutien »."""
    clerk.user_permissions.add(permission("change_group"), permission("view_group"))
    Group.objects.create(name="Soutien").user_set.add(clerk)
    return clerk


def test_a_staff_member_cannot_add_permissions_to_their_own_group(clerk_client, group_clerk):
    group = Group.objects.get(name="Soutien")
    url = f"/admin/auth/group/{group.pk}/change/"
    page = clerk_client.get(url).content.decode()
    assert page and 'name="name"' in page and 'name="permissions"' not in page
    response = clerk_client.post(
        url, {"name": "Soutien", "permissions": [permission("delete_account").pk]}
    )
    assert response.status_code == 403
    assert not group.permissions.exists()
    group_clerk = Account.objects.get(pk=group_clerk.pk)
    assert not group_clerk.has_perm("accounts.delete_account")
    assert Event.objects.get(kind="admin.privileges_refused").data["fields"] == ["permissions"]


def test_a_staff_member_may_still_rename_a_group(clerk_client, group_clerk):
    group = Group.objects.get(name="Soutien")
    response = clerk_client.post(f"/admin/auth/group/{group.pk}/change/", {"name": "Accueil"})
    assert response.status_code == 302
    group.refresh_from_db()
    assert group.name == "Accueil" and not group.permissions.exists()


def test_a_superuser_changes_a_group_s_permissions_and_it_is_audited(admin_client, admin_user):
    group = Group.objects.create(name="Soutien")
    response = admin_client.post(
        f"/admin/auth/group/{group.pk}/change/",
        {"name": "Soutien", "permissions": [permission("view_account").pk]},
    )
    assert response.status_code == 302
    event = Event.objects.get(kind="group.permissions_changed")
    assert event.subject == "Soutien"
    assert event.data["by"] == admin_user.email
    assert (event.data["before"], event.data["after"]) == ([], ["accounts.view_account"])
