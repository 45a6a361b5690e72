"""Staff privileges: who may change them, and the audit of every change (issue 12, item 7).

The privileges are an account's `is_staff`, `is_superuser`, groups and user permissions,
and a group's permissions. Only superusers change them; the admin console enforces it
(`accounts/admin.py`). Every change is recorded here, at the model level, whatever path
made it (the console, `createsuperuser`, a shell): the console names its actor with
`privileges_changed_by`; any other path is recorded with an empty `by`. `QuerySet.update()`
sends no signal and is not seen: no code of ours changes privileges that way.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.contrib.auth.models import Group
from django.db.models import Model
from django.db.models.signals import m2m_changed, post_delete, post_init, post_save
from django.http import HttpRequest

from vestibule.accounts.models import Account
from vestibule.audit.services import event_record

PRIVILEGE_FIELDS = ("is_staff", "is_superuser", "groups", "user_permissions")
FLAGS = ("is_staff", "is_superuser")

_actor: ContextVar[tuple[Any, HttpRequest | None] | None] = ContextVar(
    "privileges_actor", default=None
)


def may_change_privileges(actor: Any) -> bool:
    """Only an active superuser grants or withdraws privileges, their own included."""
    return bool(getattr(actor, "is_active", False) and getattr(actor, "is_superuser", False))


def is_last_superuser(account: Account) -> bool:
    """True when no other active staff superuser would be left to administer the portal."""
    if not (account.is_staff and account.is_superuser):
        return False
    return (
        not Account.objects.filter(is_staff=True, is_superuser=True, status=Account.Status.ACTIVE)
        .exclude(pk=account.pk)
        .exists()
    )


@contextmanager
def privileges_changed_by(actor: Any, request: HttpRequest | None = None) -> Iterator[None]:
    """Changes made inside this block are recorded as made by `actor`, from `request`."""
    token = _actor.set((actor, request))
    try:
        yield
    finally:
        _actor.reset(token)


def _record(kind: str, **fields: Any) -> None:
    actor, request = _actor.get() or (None, None)
    event_record(kind, request=request, by=getattr(actor, "email", ""), **fields)


# --- is_staff, is_superuser ------------------------------------------------------------------


def _flags_remember(sender: type, instance: Account, **kwargs: Any) -> None:
    # What the row held when loaded, to tell a change at save; deferred fields are skipped.
    instance._privileges_loaded = {f: instance.__dict__[f] for f in FLAGS if f in instance.__dict__}


def _flags_record(
    sender: type, instance: Account, created: bool, update_fields: Any = None, **kwargs: Any
) -> None:
    loaded = getattr(instance, "_privileges_loaded", {})
    for field in FLAGS:
        if update_fields is not None and field not in update_fields:
            continue  # not written by this save
        before = False if created else loaded.get(field)
        after = getattr(instance, field)
        if before is not None and before != after:
            _record(
                "account.privileges_changed",
                account=instance,
                field=field,
                before=before,
                after=after,
            )
        loaded[field] = after
    instance._privileges_loaded = loaded


# --- groups, user permissions, group permissions ------------------------------------------------


def _group_names(account: Account) -> list[str]:
    return sorted(account.groups.values_list("name", flat=True))


def _permission_names(queryset: Any) -> list[str]:
    return sorted(
        f"{app}.{codename}"
        for app, codename in queryset.values_list("content_type__app_label", "codename")
    )


def _holders(
    *, instance: Model, reverse: bool, pk_set: set[int] | None, owner_model: type[Model]
) -> list[Model]:
    """The accounts (or groups) whose privileges this m2m change touches."""
    if not reverse:
        return [instance]
    if pk_set is None:  # a reverse clear(): every holder related to `instance` now
        holders = instance.user_set if owner_model is Account else instance.group_set
        return list(holders.all())
    return list(owner_model.objects.filter(pk__in=pk_set or ()))


def _relation_changed(
    *,
    field: str,
    owner_model: type[Model],
    read: Any,
    kind: str,
    instance: Model,
    action: str,
    reverse: bool,
    pk_set: set[int] | None,
) -> None:
    if action in ("pre_add", "pre_remove", "pre_clear"):
        holders = _holders(
            instance=instance, reverse=reverse, pk_set=pk_set, owner_model=owner_model
        )
        instance._privileges_before = {holder.pk: (holder, read(holder)) for holder in holders}
        return
    if action not in ("post_add", "post_remove", "post_clear"):
        return
    for holder, before in getattr(instance, "_privileges_before", {}).values():
        after = read(holder)
        if before == after:
            continue
        if owner_model is Account:
            _record(kind, account=holder, field=field, before=before, after=after)
        else:
            _record(kind, subject=holder.name, group=holder.name, before=before, after=after)
    instance._privileges_before = {}


def _account_groups_changed(sender: type, instance: Model, action: str, **kwargs: Any) -> None:
    _relation_changed(
        field="groups",
        owner_model=Account,
        read=_group_names,
        kind="account.privileges_changed",
        instance=instance,
        action=action,
        reverse=kwargs["reverse"],
        pk_set=kwargs["pk_set"],
    )


def _account_permissions_changed(sender: type, instance: Model, action: str, **kwargs: Any) -> None:
    _relation_changed(
        field="user_permissions",
        owner_model=Account,
        read=lambda account: _permission_names(account.user_permissions),
        kind="account.privileges_changed",
        instance=instance,
        action=action,
        reverse=kwargs["reverse"],
        pk_set=kwargs["pk_set"],
    )


def _group_permissions_changed(sender: type, instance: Model, action: str, **kwargs: Any) -> None:
    _relation_changed(
        field="permissions",
        owner_model=Group,
        read=lambda group: _permission_names(group.permissions),
        kind="group.permissions_changed",
        instance=instance,
        action=action,
        reverse=kwargs["reverse"],
        pk_set=kwargs["pk_set"],
    )


def _group_deleted(sender: type, instance: Group, **kwargs: Any) -> None:
    # Its members lose its permissions without any m2m signal.
    _record("group.deleted", subject=instance.name, group=instance.name)


def connect() -> None:
    """Called once from AccountsConfig.ready()."""
    post_init.connect(_flags_remember, sender=Account, dispatch_uid="privileges_remember")
    post_save.connect(_flags_record, sender=Account, dispatch_uid="privileges_record")
    m2m_changed.connect(
        _account_groups_changed, sender=Account.groups.through, dispatch_uid="privileges_groups"
    )
    m2m_changed.connect(
        _account_permissions_changed,
        sender=Account.user_permissions.through,
        dispatch_uid="privileges_user_permissions",
    )
    m2m_changed.connect(
        _group_permissions_changed,
        sender=Group.permissions.through,
        dispatch_uid="privileges_group_permissions",
    )
    post_delete.connect(_group_deleted, sender=Group, dispatch_uid="privileges_group_deleted")
