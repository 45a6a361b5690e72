"""Second-factor fixtures shared by the sign-in flow tests."""

from datetime import timedelta
from pathlib import Path

import pyotp
from django.test import Client, RequestFactory
from django.utils import timezone

from tests.factories import PASSWORD
from vestibule.accounts.models import Account
from vestibule.config import PROFILES_DIR
from vestibule.mfa.services import totp_confirm, totp_new


def app_enrol(account: Account) -> pyotp.TOTP:
    """An authenticator app for `account`, confirmed ten minutes ago (its code spent then)."""
    secret = totp_new()
    earlier = timezone.now() - timedelta(minutes=10)
    totp = pyotp.TOTP(secret)
    totp_confirm(
        account=account,
        secret=secret,
        code=totp.at(earlier),
        name="Phone",
        request=RequestFactory().get("/"),
        now=earlier,
    )
    return totp


def password_give(client: Client, identifier: str, password: str = PASSWORD, **extra):
    """The sign-in page's answer; a redirect to the sign-in flow is followed, as a browser does."""
    response = client.post("/login/", {"identifier": identifier, "password": password, **extra})
    if response.get("Location") == "/flow/sign_in/":
        client.get("/flow/sign_in/")
    return response


def code_give(client: Client, code: str):
    """Answer the sign-in flow's current stage (the page's own hidden fields) with `code`."""
    state = client.session["flow:sign_in"]
    return client.post(
        "/flow/sign_in/", {"flow_id": state["id"], "stage_index": state["index"], "code": code}
    )


def signed_in_as(client: Client) -> int | None:
    user_id = client.session.get("_auth_user_id")
    return int(user_id) if user_id else None


def profile_requiring_mfa(tmp_path: Path, settings) -> None:
    """The default profile, with a second factor required of every account."""
    text = (PROFILES_DIR / "default.toml").read_text()
    text = text.replace(
        "[mfa]\n# Second factor: optional for members; required for staff in "
        'production.\ndefault = "optional"',
        '[mfa]\ndefault = "required"',
    )
    assert 'default = "required"' in text
    path = tmp_path / "required.toml"
    path.write_text(text)
    settings.VESTIBULE_PROFILE = str(path)
