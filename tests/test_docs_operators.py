"""docs/operators.md's « Profiles: every key » names every table and key a profile's TOML may
hold, so an operator finds [brand] (or the next table added) without reading config.py."""

import dataclasses
import re
import typing
from pathlib import Path

import pytest

from vestibule.config import Profile, load_profile

OPERATORS = Path(__file__).resolve().parent.parent / "docs" / "operators.md"
NOT_IN_TOML = {"name", "source"}  # the file's name and path, not keys written in it


def every_key_block() -> str:
    section = OPERATORS.read_text().split("## Profiles: every key", 1)[1].split("\n## ", 1)[0]
    return section.split("```toml", 1)[1].split("```", 1)[0]


def table_of(field: dataclasses.Field) -> type | None:
    """The dataclass a profile field is a table (or array of tables) of; None for a value."""
    kind = field.type
    if typing.get_origin(kind) in (tuple, dict):  # tuple[X, ...] or dict[str, X]
        kind = [arg for arg in typing.get_args(kind) if arg is not Ellipsis][-1]
    return kind if dataclasses.is_dataclass(kind) else None


TOP_LEVEL = [f for f in dataclasses.fields(Profile) if f.name not in NOT_IN_TOML]


@pytest.mark.parametrize("field", TOP_LEVEL, ids=[f.name for f in TOP_LEVEL])
def test_every_profile_key_is_in_the_operators_list(field):
    block = every_key_block()
    assert re.search(rf"^(\[\[?{field.name}[\].]|{field.name} =)", block, re.M), field.name
    table = table_of(field)
    if table is None or field.name == "flows":  # flows are named by the operator
        return
    missing = [
        key.name
        for key in dataclasses.fields(table)
        if f"{key.name} =" not in block and f"[{field.name}.{key.name}]" not in block
    ]
    assert not missing, f"[{field.name}]: {missing}"


def test_the_brand_table_is_listed_with_its_colour_and_logo():
    block = every_key_block()
    brand = block.split("[brand]", 1)[1].split("\n\n", 1)[0]
    assert "colour =" in brand and "logo =" in brand


def test_the_every_key_block_is_a_profile_that_loads(tmp_path):
    # An operator copies it to start a profile: it must load as printed (its logo aside).
    square = '<rect width="8" height="8"/>'
    (tmp_path / "logo.svg").write_text(
        f'<svg xmlns="http://www.w3.org/2000/svg" width="8" height="8">{square}</svg>'
    )
    path = tmp_path / "every-key.toml"
    path.write_text(every_key_block())
    profile = load_profile(str(path))
    assert profile.languages[0] == "fr"
