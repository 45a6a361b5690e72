"""Issue 17: a profile's [brand] colour and logo, checked at start-up."""

from pathlib import Path

import pytest

from vestibule.config import PROFILES_DIR, ProfileError, load_profile

LOGO = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="120" height="40">'
    '<rect width="120" height="40"/></svg>'
)


def write_profile(tmp_path: Path, brand: str) -> str:
    path = tmp_path / "branded.toml"
    path.write_text((PROFILES_DIR / "default.toml").read_text() + "\n[brand]\n" + brand)
    return str(path)


def test_a_colour_too_light_for_white_text_stops_start_up_naming_the_key(tmp_path):
    path = write_profile(tmp_path, 'colour = "#4a90e2"\n')
    with pytest.raises(ProfileError) as error:
        load_profile(path)
    message = str(error.value)
    assert message.startswith(f"{path}: brand.colour: #4a90e2 reaches only 3.01:1 ")
    assert "expected at least 4.5:1" in message


def test_a_colour_white_text_reads_on_but_too_light_as_a_link_in_a_notice_is_refused(tmp_path):
    # 4.85:1 under white text, yet 4.43:1 as a link on an error notice's pink.
    path = write_profile(tmp_path, 'colour = "#137d8a"\n')
    with pytest.raises(ProfileError, match=r"brand\.colour: #137d8a reaches only 4\.43:1"):
        load_profile(path)


def test_a_colour_not_written_rrggbb_is_refused(tmp_path):
    path = write_profile(tmp_path, 'colour = "navy; } body { display: none"\n')
    with pytest.raises(ProfileError, match=r"brand\.colour: expected a colour written #rrggbb"):
        load_profile(path)


def test_a_dark_enough_colour_loads(tmp_path):
    assert load_profile(write_profile(tmp_path, 'colour = "#0b5cad"\n')).brand.colour == "#0b5cad"


def test_a_logo_beside_the_profile_becomes_a_data_uri(tmp_path):
    (tmp_path / "logo.svg").write_text(LOGO)
    brand = load_profile(write_profile(tmp_path, 'logo = "logo.svg"\n')).brand
    assert brand.logo == str(tmp_path / "logo.svg")
    assert brand.logo_src.startswith("data:image/svg+xml;base64,")


def test_a_missing_logo_stops_start_up(tmp_path):
    path = write_profile(tmp_path, 'logo = "missing.svg"\n')
    with pytest.raises(ProfileError, match=r"brand\.logo: no file at .*missing\.svg"):
        load_profile(path)


def test_a_logo_that_is_no_image_is_refused(tmp_path):
    (tmp_path / "logo.html").write_text("<script></script>")
    path = write_profile(tmp_path, 'logo = "logo.html"\n')
    with pytest.raises(ProfileError, match=r"brand\.logo: expected an image file"):
        load_profile(path)
