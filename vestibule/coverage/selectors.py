from vestibule.accounts.models import Account
from vestibule.config import Profile, Text, get_profile
from vestibule.coverage.models import CoverageRecord


def coverage_of(account: Account) -> CoverageRecord | None:
    """The coverage record linked to `account`, if any."""
    if account.pk is None:
        return None
    return CoverageRecord.objects.select_related("primary").filter(account=account).first()


def family_of(record: CoverageRecord) -> list[CoverageRecord]:
    """The primary member and the dependents of the coverage `record` belongs to."""
    primary = record.primary or record
    dependents = CoverageRecord.objects.filter(primary=primary).order_by("pk")
    return [primary, *dependents]


def region_label(key: str, profile: Profile | None = None) -> Text:
    """The region's name in every language, shown in the language of the page or e-mail."""
    region = next((r for r in (profile or get_profile()).regions if r.key == key), None)
    return region.name if region else Text({"fr": key})


def region_name(key: str, profile: Profile | None = None) -> str:
    """« Québec » for "qc", in the active language; the key itself when the profile lacks it."""
    return str(region_label(key, profile))
