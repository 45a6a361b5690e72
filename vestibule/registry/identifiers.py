"""What a typed identifier is: an e-mail address, a member code of some kind, or nothing."""

import dataclasses
import re

from vestibule.config import MemberKind, Profile

_SPACES = re.compile(r"\s+")


@dataclasses.dataclass(frozen=True)
class Identifier:
    email: str = ""
    code: str = ""
    kind: MemberKind | None = None


def normalise_code(raw: str) -> str:
    """Seed 002 codes are typed with spaces and either case: " r 12345 " is R12345."""
    return _SPACES.sub("", raw).upper()


def code_is_ascii(code: str) -> bool:
    """Codes are printable ASCII: « ١٢٣٤٥ » or « １２３４５ » is not the licence 12345."""
    return code.isascii() and code.isprintable()


def normalise_email(raw: str) -> str:
    return raw.strip().lower()


def identifier_parse(raw: str, profile: Profile) -> Identifier:
    """An e-mail when it has an @, else a code matching one of the profile's kinds."""
    raw = raw.strip()
    if "@" in raw:
        return Identifier(email=normalise_email(raw))
    code = normalise_code(raw)
    kind = profile.kind_for_code(code) if code_is_ascii(code) else None
    return Identifier(code=code, kind=kind) if kind else Identifier()
