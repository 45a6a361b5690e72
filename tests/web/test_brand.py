"""Issue 17: the profile's brand colour reaches the pages through /brand.css (the CSP allows
no inline style) and its logo replaces the name in the header, with the name as its text."""

import re

import pytest

from tests.test_config_brand import LOGO, write_profile

pytestmark = pytest.mark.django_db


def test_brand_css_sets_the_accent_token_to_the_profile_colour(client, use_profile):
    use_profile("extranet")
    response = client.get("/brand.css")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/css; charset=utf-8"
    assert response.content.decode() == ":root { --colour-accent: #8b1e3f; }\n"
    # The URL carries the colour: a browser keeps the file until the colour changes.
    assert "immutable" in response["Cache-Control"]


def test_each_page_links_the_brand_stylesheet_after_site_css(client, use_profile):
    use_profile("extranet")
    page = client.get("/login/").content.decode()
    stylesheets = re.findall(r'<link rel="stylesheet" href="([^"]+)">', page)
    assert stylesheets[-1] == "/brand.css?8b1e3f"
    assert stylesheets[0].endswith("vestibule/site.css")
    assert "style=" not in page and "<style" not in page


def test_a_profile_without_a_brand_colour_keeps_the_portal_blue(client):
    page = client.get("/login/").content.decode()
    assert "/brand.css" not in page
    assert client.get("/brand.css").content == b""


def test_the_logo_replaces_the_name_and_carries_it_as_text(client, use_profile, tmp_path):
    (tmp_path / "logo.svg").write_text(LOGO)
    use_profile(write_profile(tmp_path, 'logo = "logo.svg"\n'))
    page = client.get("/login/", HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    brand = re.search(r'<a class="brand"[^>]*>(.*?)</a>', page).group(1)
    assert re.fullmatch(
        r'<img src="data:image/svg\+xml;base64,[A-Za-z0-9+/=]+" alt="([^"]+)">', brand
    )
    assert 'alt="Vestibule — portail des membres"' in brand
