"""What accounts do when the apps beside them change something (they never import upward).

The registry: a member made inactive (or absent from a full import) can no longer sign in,
and is restored when active again, unless staff disabled the account themselves.
"""

from typing import Any

from django.dispatch import receiver

from vestibule.accounts.lifecycle import AccountActionRefused, account_disable, account_enable
from vestibule.accounts.models import Account
from vestibule.registry.signals import Tally, members_changed

REGISTRY_REASON = "inactive in the registry"


@receiver(members_changed, dispatch_uid="accounts_registry_members_changed")
def registry_members_changed(
    sender: Any, deactivated: list[int], activated: list[int], **kwargs: Any
) -> list[str | Tally]:
    """Items for the import's report: the accounts disabled, enabled again, or kept."""
    lines: list[str | Tally] = []
    disabled = enabled = 0
    for account in Account.objects.filter(member_id__in=deactivated).exclude(
        status=Account.Status.DISABLED
    ):
        try:
            disabled += account_disable(
                account=account,
                reason=REGISTRY_REASON,
                actor=None,
                cause=Account.DisabledCause.REGISTRY,
            )
        except AccountActionRefused as refused:
            lines.append(f"account {account.email} not disabled: {refused.code}")
    # Only what the registry disabled: an account staff disabled stays disabled.
    for account in Account.objects.filter(
        member_id__in=activated,
        status=Account.Status.DISABLED,
        disabled_cause=Account.DisabledCause.REGISTRY,
    ):
        enabled += account_enable(account=account, actor=None)
    lines.append(Tally("disabled {n} account(s) of members now inactive", disabled))
    lines.append(Tally("enabled again {n} account(s) of members active again", enabled))
    return lines
