"""E-mail buttons in the profile's brand colour (issue 17, a designed look): one context value
that message_enqueue sets for every template, inline since mail readers take no stylesheet."""

import re
from pathlib import Path

import pytest

import vestibule
from tests.coverage.helpers import make_record
from tests.factories import make_account
from vestibule.config import PROFILES_DIR, get_profile
from vestibule.coverage.services import access_code_send
from vestibule.flows.links import reset_link_send
from vestibule.notifications.services import messages_send

pytestmark = pytest.mark.django_db

PACKAGE = Path(vestibule.__file__).parent
SITE_CSS = PACKAGE / "web" / "static" / "vestibule" / "site.css"
BUTTON = re.compile(r'<a href="[^"]+" style="[^"]*background:(#[0-9a-fA-F]{6});color:#fff;')


def site_accent() -> str:
    """The portal's own blue: site.css's --colour-accent."""
    return re.search(r"--colour-accent:\s*(#[0-9a-fA-F]{6})\s*;", SITE_CSS.read_text()).group(1)


def button_colours(inbox, email: str) -> list[str]:
    html = inbox.wait_for(email)[0].get_body(preferencelist=("html",)).get_content()
    return BUTTON.findall(html)


@pytest.mark.parametrize("profile_name", sorted(p.stem for p in PROFILES_DIR.glob("*.toml")))
def test_the_reset_button_wears_the_profile_colour(inbox, use_profile, profile_name):
    use_profile(profile_name)
    reset_link_send(account=make_account(email="marie@example.org"), actor=None)
    messages_send()
    expected = get_profile().brand.colour or site_accent()
    assert button_colours(inbox, "marie@example.org") == [expected]


def test_a_profile_with_a_brand_colour_puts_it_on_its_buttons_and_default_keeps_the_blue(
    inbox, use_profile
):
    use_profile("physicians")
    reset_link_send(account=make_account(email="marie@example.org"), actor=None)
    use_profile("default")
    reset_link_send(account=make_account(email="luc@example.org"), actor=None)
    messages_send()
    assert button_colours(inbox, "marie@example.org") == ["#30407f"]
    assert button_colours(inbox, "luc@example.org") == ["#0a559f"] == [site_accent()]


def test_a_coverage_invitation_button_wears_the_profile_colour(inbox, use_profile):
    use_profile("telehealth")
    record = make_record(emails={"olivier@example.org": "personal"})
    access_code_send(record=record, email="olivier@example.org", template="coverage_invitation")
    messages_send()
    assert set(button_colours(inbox, "olivier@example.org")) == {"#175c3b"}


def test_no_email_template_sets_a_colour_of_its_own_on_a_button():
    templates = PACKAGE.glob("*/templates/notifications/*.html")
    fixed = [
        f"{path.relative_to(PACKAGE)}: {found}"
        for path in templates
        for found in re.findall(r"background:\s*#[0-9a-fA-F]{3,6}", path.read_text())
    ]
    assert not fixed, fixed
