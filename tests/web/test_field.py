"""web/field.html: a group of checkboxes or radio buttons is a fieldset named by its legend."""

import html
import re

import pytest
from django.conf import settings
from django.template.loader import render_to_string
from django.test import Client
from django.urls import reverse

from tests.establishments.helpers import ALL, hotel, member_of
from vestibule.establishments.models import Membership
from vestibule.flows.stages.confirm_masked_email import ConfirmForm

pytestmark = pytest.mark.django_db

FIELDSET = re.compile(r"<fieldset[^>]*>(.*?)</fieldset>", re.S)
INPUTS = re.compile(r"<input [^>]*>")


def administrator(language: str) -> tuple[Client, Membership]:
    """A client signed in as an administrator of a hotel, and the membership of Léa there."""
    place = hotel()
    admin = member_of(place, "admin@hotel.example", ALL, first_name="Ada")
    lea = member_of(place, "lea@hotel.example", ["reservations"], first_name="Léa", last_name="Roy")
    client = Client()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    client.force_login(admin.account)
    return client, lea


def new_user_rights_page(client: Client) -> str:
    """The rights step of « Nouvel utilisateur », sent with no right ticked."""
    data = {"first_name": "Léa", "last_name": "Roy", "email": "lea2@hotel.example"}
    response = client.post(reverse("establishments:user_add_new"), {**data, "rights_step": "1"})
    return html.unescape(response.content.decode())


@pytest.mark.parametrize(
    ("language", "legend", "right"),
    [("fr", "Droits d'accès", "Réservations"), ("en", "Access rights", "Reservations")],
)
def test_the_access_rights_are_a_fieldset_whose_legend_names_them(
    use_profile, language, legend, right
):
    use_profile("extranet")
    client, lea = administrator(language)
    page = html.unescape(
        client.get(reverse("establishments:user_manage", args=[lea.pk])).content.decode()
    )
    (group,) = FIELDSET.findall(page)
    assert f"<legend>{legend}</legend>" in group
    assert len(re.findall(r'<input type="checkbox" name="rights"', group)) == len(ALL)
    assert re.search(
        rf'<label for="id_rights_0"><input [^>]*id="id_rights_0"[^>]*>\s*{right}', group
    )
    # No label pointing at the group's container, which no label can name.
    assert 'for="id_rights"' not in page


def test_each_box_of_a_refused_group_is_invalid_and_described_by_the_error(use_profile):
    use_profile("extranet")
    page = new_user_rights_page(administrator("fr")[0])
    (group,) = FIELDSET.findall(page)
    assert '<ul class="errorlist" id="id_rights_errors"><li>Cochez au moins un droit' in group
    boxes = INPUTS.findall(group)
    assert len(boxes) == len(ALL)
    for box in boxes:
        assert 'aria-invalid="true"' in box
        assert 'aria-describedby="id_rights_errors"' in box
    # The error summary leads to the first box, which takes the focus, not to the group.
    assert 'href="#id_rights_0"' in page


def test_a_group_keeps_its_help_text_described_with_the_errors():
    form = ConfirmForm({})
    form.fields["valid"].help_text = "Only one answer."
    form.is_valid()
    rendered = render_to_string("web/field.html", {"field": form["valid"]})
    (group,) = FIELDSET.findall(rendered)
    assert "<legend>Le courriel ci-dessous est-il valide et fonctionnel ?</legend>" in rendered
    assert '<p class="help" id="id_valid_help">Only one answer.</p>' in group
    radios = INPUTS.findall(group)
    assert len(radios) == 2
    for radio in radios:
        assert 'type="radio"' in radio
        assert 'aria-describedby="id_valid_errors id_valid_help"' in radio
