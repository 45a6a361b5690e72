"""The profile's [mfa] table (config.py) and mfa_policy(): the strictest level that applies."""

from pathlib import Path

import pytest

from tests.factories import make_account
from tests.mfa.profiles import administrators_required
from vestibule.config import ProfileError, load_profile
from vestibule.establishments.models import Establishment, Membership
from vestibule.mfa import services
from vestibule.mfa.models import Factor
from vestibule.mfa.policy import has_factor, mfa_policy

pytestmark = pytest.mark.django_db


def administer(account, rights):
    establishment = Establishment.objects.create(
        name="Hôtel du Port", public_id=f"H{Establishment.objects.count() + 1}"
    )
    Membership.objects.create(account=account, establishment=establishment, rights=rights)


def test_default_profile_makes_it_optional():
    assert mfa_policy(make_account()) == "optional"


def test_the_seed_profiles_keep_a_password_alone_for_administrators(use_profile):
    for name, kind in (("extranet", "user"), ("dentists", "dentist")):
        use_profile(name)
        administrator = make_account(email=f"admin@{name}.example", kind=kind)
        administer(administrator, ["users"])
        assert mfa_policy(administrator) == "optional"


def test_extranet_can_require_a_factor_of_whoever_administers_users(tmp_path, settings):
    administrators_required("extranet", tmp_path, settings)
    administrator = make_account(kind="user")
    administer(administrator, ["reservations", "users"])
    clerk = make_account(email="clerk@example.org", kind="user")
    administer(clerk, ["reservations"])
    assert mfa_policy(administrator) == "required"
    assert mfa_policy(clerk) == "optional"


def test_dentists_can_require_a_factor_of_practice_administrators(tmp_path, settings):
    administrators_required("dentists", tmp_path, settings)
    dentist = make_account(kind="dentist")
    administer(dentist, ["agenda", "users"])
    assert mfa_policy(dentist) == "required"


def test_staff_need_a_factor_in_production_only(settings):
    staff = make_account(email="staff@example.org", is_staff=True)
    settings.PRODUCTION = False
    assert mfa_policy(staff) == "optional"
    settings.PRODUCTION = True
    assert mfa_policy(staff) == "required"
    assert mfa_policy(make_account(email="member@example.org")) == "optional"


def test_the_strictest_level_wins(tmp_path):
    source = load_profile("default").source
    text = (
        Path(source)
        .read_text(encoding="utf-8")
        .replace(
            'default = "optional"\nstaff', 'default = "off"\nkinds = { member = "required" }\nstaff'
        )
    )
    path = tmp_path / "strict.toml"
    path.write_text(text, encoding="utf-8")
    profile = load_profile(str(path))
    assert mfa_policy(make_account(), profile) == "required"
    assert mfa_policy(make_account(email="x@example.org", kind="other"), profile) == "off"


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ('default = "sometimes"', "mfa.default: expected 'off' or 'optional' or 'required'"),
        ('kinds = { ghost = "required" }', "mfa.kinds.ghost: expected a key of member_kinds"),
        ('rights = { users = "required" }', "mfa.rights.users: expected a key of access_rights"),
        ('staff = "yes"', "mfa.staff: expected 'off' or 'optional' or 'required'"),
    ],
)
def test_a_wrong_mfa_table_is_refused(tmp_path, table, message):
    text = Path(load_profile("community").source).read_text(encoding="utf-8")
    head = text.split("\n[mfa]")[0]
    path = tmp_path / "wrong.toml"
    path.write_text(f"{head}\n[mfa]\n{table}\n", encoding="utf-8")
    with pytest.raises(ProfileError, match=message.replace(".", r"\.")):
        load_profile(str(path))


def test_recovery_codes_alone_are_no_factor():
    from django.test import RequestFactory

    account = make_account()
    services.recovery_codes_generate(account=account, request=RequestFactory().get("/"))
    assert not has_factor(account)
    Factor.objects.create(account=account, kind=Factor.Kind.WEBAUTHN, name="Key")
    assert has_factor(account)
