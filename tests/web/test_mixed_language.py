"""Issue 17: text of another language than the page's is marked with its own lang (WCAG 3.1.2)."""

import re

import pytest

from vestibule.config import PROFILES_DIR

pytestmark = pytest.mark.django_db


def test_a_name_given_only_in_french_is_marked_french_on_an_english_page(
    english_client, use_profile, tmp_path
):
    base = (PROFILES_DIR / "default.toml").read_text()
    path = tmp_path / "french_name.toml"
    path.write_text(
        re.sub(r"(?m)^name = \{.*\}$", 'name = { fr = "Ordre des arpenteurs" }', base, count=1)
    )
    use_profile(str(path))
    page = english_client.get("/login/").content.decode()
    assert '<html lang="en">' in page
    assert re.search(r'<a class="brand"[^>]* lang="fr">Ordre des arpenteurs</a>', page)
    assert '<span lang="fr">Ordre des arpenteurs</span>' in page


def test_a_name_in_the_page_language_carries_no_lang(english_client):
    page = english_client.get("/login/").content.decode()
    assert re.search(r'<a class="brand" href="/" data-testid="brand">Vestibule — members', page)
    assert (
        "<span>Vestibule — members' portal</span>" in page
        or "<span>Vestibule — members&#x27; portal</span>" in page
    )
