import pytest
from hypothesis import given
from hypothesis import strategies as st

from vestibule.config import load_profile
from vestibule.registry.identifiers import identifier_parse, normalise_code

PHYSICIANS = load_profile("physicians")


def test_an_address_is_an_email_whatever_its_case():
    assert identifier_parse("  Claire@Example.ORG ", PHYSICIANS).email == "claire@example.org"


def test_spaces_and_case_in_codes_are_forgiven():
    parsed = identifier_parse(" r 12 345 ", PHYSICIANS)
    assert parsed.code == "R12345"
    assert parsed.kind.key == "resident"


def test_a_code_of_no_known_format_is_nothing():
    parsed = identifier_parse("X99", PHYSICIANS)
    assert (parsed.email, parsed.code, parsed.kind) == ("", "", None)


@given(st.text(alphabet=" \tRre0123456789", max_size=20))
def test_normalising_a_code_twice_changes_nothing(raw):
    once = normalise_code(raw)
    assert normalise_code(once) == once
    assert " " not in once and once == once.upper()


@pytest.mark.parametrize("typed", ["١٢٣٤٥", "１２３４５", "R１２３４５"])
def test_unicode_digits_name_no_member(typed):
    """Python's \\d matches Arabic-Indic and fullwidth digits; a licence has ASCII ones."""
    assert identifier_parse(typed, PHYSICIANS) == identifier_parse("", PHYSICIANS)
    assert PHYSICIANS.kind_for_code(normalise_code(typed)) is None
