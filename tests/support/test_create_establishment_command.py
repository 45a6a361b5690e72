"""`vestibule create-establishment`: an establishment and its first administrator's invitation,
accepted the ordinary way (seed 001's hotels start here)."""

import json
import subprocess
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from tests.establishments.helpers import ALL, invitation_link
from tests.load.server import BIN, portal_env
from vestibule.audit.models import Event
from vestibule.config import PROFILES_DIR, get_profile
from vestibule.establishments.models import Establishment, Invitation, Membership
from vestibule.notifications.models import Message

pytestmark = pytest.mark.django_db
NEW_PASSWORD = "hotel passphrase 2026"


def create(*args: str) -> str:
    out = StringIO()
    call_command("create_establishment", *args, stdout=out)
    return out.getvalue()


def refused(*args: str) -> str:
    with pytest.raises(CommandError) as error:
        create(*args)
    assert error.value.returncode == 2
    assert "\n" not in str(error.value)
    return str(error.value)


def test_the_first_administrator_accepts_and_manages_the_users(use_profile):
    use_profile("extranet")
    text = create("--name", "Hôtel du Lac", "--admin-email", "anne@lac.example")
    establishment = Establishment.objects.get()
    assert f"created Hôtel du Lac ({establishment.public_id})" in text
    assert "invitation sent to anne@lac.example" in text
    assert Event.objects.get(kind="establishment.created").data["by"] == "operator"

    browser = Client()
    browser.get(invitation_link("anne@lac.example"))
    browser.post(
        "/establishments/invitation/", {"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD}
    )
    membership = Membership.objects.get(account__email="anne@lac.example")
    assert membership.establishment == establishment
    assert membership.is_owner and membership.rights == ALL
    browser.post("/login/", {"identifier": "anne@lac.example", "password": NEW_PASSWORD})
    assert browser.get("/establishments/users/").status_code == 200


def test_json_names_the_establishment_and_the_invitation(use_profile):
    use_profile("extranet")
    answer = json.loads(
        create(
            "--name",
            "Hôtel du Lac",
            "--admin-email",
            "Anne@Lac.example",
            "--admin-name",
            "Anne Gagnon",
            "--region",
            "QC",
            "--json",
        )
    )
    establishment = Establishment.objects.get()
    assert answer["establishment"] == {
        "name": "Hôtel du Lac",
        "id": establishment.public_id,
        "region": "QC",
    }
    assert answer["invitation"]["email"] == "anne@lac.example"
    assert answer["invitation"]["rights"] == ALL and answer["invitation"]["owner"] is True
    invitation = Invitation.objects.get()
    assert (invitation.first_name, invitation.last_name) == ("Anne", "Gagnon")
    assert answer["invitation"]["expires_at"] == invitation.expires_at.isoformat()


@pytest.mark.parametrize(
    "args, message",
    [
        (["--name", "  ", "--admin-email", "anne@lac.example"], "Give the establishment's name."),
        (
            ["--name", "Hôtel du Lac", "--admin-email", "anne@"],
            "Enter a valid e-mail address for the first administrator.",
        ),
    ],
)
def test_bad_input_is_one_line_and_creates_nothing(use_profile, args, message):
    use_profile("extranet")
    assert refused(*args) == message
    assert not Establishment.objects.exists() and not Message.objects.exists()
    assert not Event.objects.exists()


def test_a_region_outside_the_profile_s_regions_is_refused(settings, tmp_path):
    # Regions (telehealth's) and establishments together.
    custom = tmp_path / "clinics.toml"
    custom.write_text(
        (PROFILES_DIR / "telehealth.toml").read_text()
        + '\n[[access_rights]]\nkey = "users"\nlabel = { fr = "Utilisateurs", en = "Users" }\n'
        "administers = true\n"
    )
    settings.VESTIBULE_PROFILE = str(custom)
    message = refused("--name", "Clinique", "--admin-email", "a@b.example", "--region", "ZZ")
    assert "'ZZ' is not one of the profile's regions" in message
    assert not Establishment.objects.exists()
    region = get_profile().regions[0].key
    create("--name", "Clinique", "--admin-email", "a@b.example", "--region", region)
    assert Establishment.objects.get().region == region


def test_a_profile_without_establishments_refuses(use_profile):
    use_profile("community")
    assert "has no establishments" in refused("--name", "X", "--admin-email", "a@b.example")
    assert not Establishment.objects.exists()


def test_the_command_line_exits_2_on_bad_input(tmp_path):
    env = {**portal_env(tmp_path), "VESTIBULE_PROFILE": "extranet"}
    subprocess.run([BIN / "vestibule", "migrate", "-v", "0"], env=env, check=True)
    result = subprocess.run(
        [BIN / "vestibule", "create-establishment", "--name", "X", "--admin-email", "nope"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2 and result.stdout == ""
    # After the profile's own start-up warning (extranet's 8-character passwords), one line.
    assert result.stderr.strip().splitlines()[-1] == (
        "CommandError: Enter a valid e-mail address for the first administrator."
    )
    assert result.stderr.count("CommandError") == 1
