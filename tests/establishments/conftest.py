"""Fixtures of the establishment tests: seed 001's extranet and one hotel."""

import pytest

from tests.establishments.helpers import hotel
from vestibule.establishments.models import Establishment


@pytest.fixture
def extranet(use_profile) -> None:
    use_profile("extranet")


@pytest.fixture
def place() -> Establishment:
    return hotel()
