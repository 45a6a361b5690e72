import logging
from pathlib import Path

import pytest

from vestibule.config import PROFILES_DIR, ProfileError, get_profile, load_profile

BUILT_IN = ["default", "dentists", "extranet", "physicians", "community", "telehealth"]


@pytest.mark.parametrize("name", BUILT_IN)
def test_every_built_in_profile_loads(name):
    profile = load_profile(name)
    assert profile.name == name
    assert profile.languages[0] == "fr"
    assert profile.password.max_length >= 64
    assert profile.organisation.support.email


def test_default_profile_asks_fifteen_characters_and_dentists_keep_six():
    assert load_profile("default").password.min_length == 15
    assert load_profile("dentists").password.min_length == 6


def test_physicians_profile_knows_the_four_code_formats_of_seed_002():
    profile = load_profile("physicians")
    found = {
        code: profile.kind_for_code(code) for code in ["54321", "R12345", "E12342012", "50012345"]
    }
    assert {code: kind.key for code, kind in found.items()} == {
        "54321": "physician",
        "R12345": "resident",
        "E12342012": "student",
        "50012345": "other",
    }
    assert profile.kind_for_code("5432") is None
    assert profile.kind_for_code("R1234") is None


def test_a_profile_under_fifteen_characters_logs_a_warning(caplog):
    with caplog.at_level(logging.WARNING, logger="vestibule.config"):
        load_profile("dentists")
    assert "password.min_length is 6" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="vestibule.config"):
        load_profile("default")
    assert caplog.text == ""


def _write(tmp_path: Path, text: str) -> str:
    base = (PROFILES_DIR / "default.toml").read_text()
    path = tmp_path / "custom.toml"
    path.write_text(base + "\n" + text)
    return str(path)


def test_an_unknown_key_names_file_key_and_expected_keys(tmp_path):
    path = _write(tmp_path, "[lockout2]\nthreshold = 3\n")
    with pytest.raises(ProfileError) as error:
        load_profile(path)
    message = str(error.value)
    assert message.startswith(path)
    assert "lockout2: unknown key" in message
    assert "\n" not in message


def test_a_wrong_type_names_the_key_and_the_expected_type(tmp_path):
    path = tmp_path / "bad.toml"
    text = (PROFILES_DIR / "default.toml").read_text().replace("threshold = 5", 'threshold = "5"')
    path.write_text(text)
    with pytest.raises(ProfileError, match=r"lockout\.threshold: expected an integer, got '5'"):
        load_profile(str(path))


def test_a_maximum_password_length_under_64_is_refused(tmp_path):
    path = tmp_path / "short.toml"
    path.write_text(
        (PROFILES_DIR / "default.toml").read_text().replace("max_length = 128", "max_length = 32")
    )
    with pytest.raises(ProfileError, match=r"password\.max_length: expected at least 64"):
        load_profile(str(path))


def test_an_unknown_built_in_name_lists_the_built_in_ones():
    with pytest.raises(ProfileError, match="expected one of: community, default, dentists"):
        load_profile("dentist")


def test_invalid_toml_is_reported_in_one_line(tmp_path):
    path = tmp_path / "broken.toml"
    path.write_text("languages = [fr\n")
    with pytest.raises(ProfileError, match="not valid TOML"):
        load_profile(str(path))


def test_settings_choose_the_active_profile(use_profile):
    use_profile("physicians")
    assert get_profile().name == "physicians"
    use_profile("community")
    assert get_profile().name == "community"


def test_a_recovery_without_the_emailed_link_is_refused(tmp_path):
    path = tmp_path / "questions_only.toml"
    text = (PROFILES_DIR / "physicians.toml").read_text()
    path.write_text(text.replace('\n          "email_link", ', "\n          "))
    with pytest.raises(ProfileError, match=r"flows\.recovery\.stages: expected 'email_link'"):
        load_profile(str(path))


def test_french_comes_first(tmp_path):
    path = tmp_path / "english_first.toml"
    text = (PROFILES_DIR / "default.toml").read_text()
    assert 'languages = ["fr", "en"]' in text
    path.write_text(text.replace('languages = ["fr", "en"]', 'languages = ["en", "fr"]'))
    with pytest.raises(ProfileError, match=r"languages: expected 'fr' first"):
        load_profile(str(path))
