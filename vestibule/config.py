"""The active profile: one organisation's variant of Vestibule, read from TOML.

A profile is validated once, at start-up, into frozen dataclasses; a wrong key or value
stops start-up with one line naming the file, the key and what was expected.
"""

import base64
import dataclasses
import functools
import logging
import re
import tomllib
import typing
from pathlib import Path

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.functional import lazy
from django.utils.translation import get_language, gettext

from vestibule.contrast import HEX_COLOUR, TEXT_AA, accent_contrast

PROFILES_DIR = Path(__file__).resolve().parent / "profiles"
NIST_MIN_LENGTH = 15
LOGO_TYPES = {".svg": "image/svg+xml", ".png": "image/png", ".webp": "image/webp"}
# The logo travels inside every page (a data: URI, which the CSP's img-src allows).
LOGO_MAX_BYTES = 50_000
log = logging.getLogger(__name__)


class ProfileError(Exception):
    """A profile that cannot be used; the message is one line for the operator."""


class Text(dict):
    """A label in several languages: {"fr": "...", "en": "..."}."""

    def __str__(self) -> str:
        return self.get(self.language, "")

    @property
    def language(self) -> str:
        """The language str() answers in: the active one, else French, else the first given."""
        active = (get_language() or "fr")[:2]
        return next((code for code in (active, "fr", *self) if self.get(code)), "")


@dataclasses.dataclass(frozen=True)
class Support:
    email: str
    name: str = ""
    phone: str = ""
    extension: str = ""
    url: str = ""


@dataclasses.dataclass(frozen=True)
class Organisation:
    name: Text
    support: Support
    help: Text = dataclasses.field(default_factory=Text)


@dataclasses.dataclass(frozen=True)
class MemberKind:
    key: str
    label: Text
    # A kind with a code pattern signs in with its code; one without signs in with its e-mail.
    code_pattern: str = ""
    code_label: Text = dataclasses.field(default_factory=Text)
    code_example: str = ""
    self_registration: bool = True

    @functools.cached_property
    def code_regex(self) -> re.Pattern[str] | None:
        # ASCII: in Python's default Unicode mode, \d also matches « ١٢٣٤٥ » and « １２３４５ ».
        return re.compile(self.code_pattern, re.ASCII) if self.code_pattern else None


@dataclasses.dataclass(frozen=True)
class PasswordPolicy:
    min_length: int = NIST_MIN_LENGTH
    max_length: int = 128


@dataclasses.dataclass(frozen=True)
class Lockout:
    threshold: int = 5
    # Minutes after which a locked account unlocks by itself; 0 keeps it locked until a reset.
    cooloff_minutes: int = 0
    # Say « Il vous reste une tentative » on the failure before the one that locks.
    warn_before_last: bool = False


@dataclasses.dataclass(frozen=True)
class AddressBlock:
    threshold: int = 30
    window_minutes: int = 15
    block_minutes: int = 15


@dataclasses.dataclass(frozen=True)
class Activation:
    link_lifetime_hours: int = 48
    purge_unactivated_after_days: int = 7


@dataclasses.dataclass(frozen=True)
class Sessions:
    idle_minutes: int = 60
    absolute_hours: int = 24


@dataclasses.dataclass(frozen=True)
class Registration:
    # "registry": e-mail and code must match a member on file; "open": anyone with an e-mail.
    mode: str = "open"
    # Tell the owner of an already registered e-mail by mail instead of on the page.
    notify_existing_by_email: bool = True
    intro: Text = dataclasses.field(default_factory=Text)
    # Seed 000's « Je suis un dentiste »: shown when some kinds join only by invitation.
    member_checkbox: Text = dataclasses.field(default_factory=Text)
    non_member_help: Text = dataclasses.field(default_factory=Text)


@dataclasses.dataclass(frozen=True)
class SecurityQuestion:
    key: str
    text: Text


@dataclasses.dataclass(frozen=True)
class AccessRight:
    key: str
    label: Text
    # The right to manage the establishment's users (« Ajouter et gérer des utilisateurs »).
    administers: bool = False


@dataclasses.dataclass(frozen=True)
class Establishments:
    invitation_lifetime_days: int = 7
    # Seed 001: from this many administered establishments, the login e-mail changes through
    # the support team.
    support_threshold: int = 5
    label: Text = dataclasses.field(default_factory=Text)
    # Member kinds whose activated account gets an establishment of its own (a dentist's
    # practice), administered by it.
    created_for_kinds: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class Region:
    key: str
    name: Text


@dataclasses.dataclass(frozen=True)
class Coverage:
    access_code_lifetime_days: int = 30
    # Kratos ends a flow after this many wrong codes.
    max_code_attempts: int = 5


@dataclasses.dataclass(frozen=True)
class Accounts:
    # Members change their own login e-mail, confirmed from the new address. Seed 001: no
    # (« Vous ne pouvez pas modifier l'adresse e-mail »): an administrator invites the new one.
    email_change: bool = True
    # How long the e-mailed link confirming a new address stays good.
    email_change_link_hours: int = 24
    # A member's own deletion request waits this long; signing in meanwhile cancels it.
    deletion_grace_days: int = 14
    # A delegated account (no registry record) removed from its last establishment can no
    # longer sign in, and is deleted after this many days.
    delegate_deletion_days: int = 30


@dataclasses.dataclass(frozen=True)
class Retention:
    # Security events are kept a year: long enough to investigate an incident reported late
    # (ASVS 7.1, Law 25 s. 3.5 breach register), no longer (GDPR art. 5(1)(e)).
    audit_days: int = 365
    # Sent e-mails are kept a month, for support ("I never got the link"), then deleted.
    sent_messages_days: int = 30


MFA_LEVELS = ("off", "optional", "required")


@dataclasses.dataclass(frozen=True)
class Mfa:
    """Who must, may or may not add a second factor; the strictest level that applies wins."""

    # "off", "optional" or "required", for every account…
    default: str = "optional"
    # …unless its member kind says otherwise, e.g. { physician = "required" }…
    kinds: dict[str, str] = dataclasses.field(default_factory=dict)
    # …or it holds one of these access rights in an establishment, e.g. { users = "required" }.
    rights: dict[str, str] = dataclasses.field(default_factory=dict)
    # Staff accounts, when VESTIBULE_ENV=production (at most "optional" in development, so a
    # demo's staff account signs in with its password alone).
    staff: str = "optional"
    # A passkey alone may sign in (passwordless).
    passwordless: bool = True
    # What support checks before removing a member's factors (shown on the support page).
    removal_help: Text = dataclasses.field(default_factory=Text)


@dataclasses.dataclass(frozen=True)
class Email:
    # Messages sent before the recipient has chosen a language (invitations) carry a short
    # second part in the other language; otherwise they are in the profile's first language.
    bilingual: bool = False


@dataclasses.dataclass(frozen=True)
class Brand:
    # "#rrggbb": buttons, links and borders; refused at start-up under 4.5:1 with white text
    # or on the page's light backgrounds. Empty: the portal's own blue.
    colour: str = ""
    # An SVG, PNG or WebP file, relative to the profile's TOML file; shown in the header in
    # place of the organisation's name, which becomes its text alternative.
    logo: str = ""

    @functools.cached_property
    def logo_src(self) -> str:
        if not self.logo:
            return ""
        path = Path(self.logo)
        payload = base64.b64encode(path.read_bytes()).decode("ascii")
        return f"data:{LOGO_TYPES[path.suffix.lower()]};base64,{payload}"


@dataclasses.dataclass(frozen=True)
class Flow:
    stages: tuple[str, ...]
    lifetime_minutes: int = 30
    link_lifetime_hours: int = 1  # the link its email_link stage sends


@dataclasses.dataclass(frozen=True)
class Profile:
    name: str
    organisation: Organisation
    member_kinds: tuple[MemberKind, ...]
    languages: tuple[str, ...] = ("fr", "en")
    password: PasswordPolicy = PasswordPolicy()
    lockout: Lockout = Lockout()
    address_block: AddressBlock = AddressBlock()
    activation: Activation = Activation()
    sessions: Sessions = Sessions()
    registration: Registration = Registration()
    flows: dict[str, Flow] = dataclasses.field(default_factory=dict)
    # Seed 002 only: they add to the e-mailed link, never replace it (NIST SP 800-63B).
    security_questions: tuple[SecurityQuestion, ...] = ()
    # Establishments and delegated users (seed 001, seed 000's delegates): no rights, no feature.
    access_rights: tuple[AccessRight, ...] = ()
    establishments: Establishments = Establishments()
    # Coverage, access codes, family members (seed 004): no regions, no feature.
    regions: tuple[Region, ...] = ()
    coverage: Coverage = Coverage()
    accounts: Accounts = Accounts()
    retention: Retention = Retention()
    mfa: Mfa = Mfa()
    sign_in_help: Text = dataclasses.field(default_factory=Text)
    # The one word for what a member signs in with (« Identifiant », « Nom d'utilisateur »),
    # on every page and e-mail; empty: "Identifier".
    identifier_label: Text = dataclasses.field(default_factory=Text)
    email: Email = Email()
    # « Vous avez oublié votre nom d'utilisateur ? » also offers to e-mail the identifier.
    identifier_reminder: bool = False
    brand: Brand = Brand()
    source: str = ""

    def kind(self, key: str) -> MemberKind | None:
        return next((kind for kind in self.member_kinds if kind.key == key), None)

    def kind_for_code(self, code: str) -> MemberKind | None:
        """The member kind whose code format matches `code` (already normalised)."""
        return next(
            (k for k in self.member_kinds if k.code_regex and k.code_regex.fullmatch(code)), None
        )

    @property
    def identifier_word(self) -> str:
        """The profile's one word for what members sign in with, in the active language."""
        return str(self.identifier_label) if self.identifier_label else gettext("Identifier")

    @property
    def coded_kinds(self) -> tuple[MemberKind, ...]:
        return tuple(kind for kind in self.member_kinds if kind.code_regex)


def _describe(annotation: typing.Any) -> str:
    if annotation is Text:
        return 'a table of languages, e.g. {fr = "…", en = "…"}'
    if dataclasses.is_dataclass(annotation):
        return "a table"
    origin = typing.get_origin(annotation)
    if origin is tuple:
        return f"a list of {_describe(typing.get_args(annotation)[0])}"
    if origin is dict:
        return "a table"
    return {int: "an integer", str: "a string", bool: "true or false"}.get(annotation, "a value")


def _convert(value: typing.Any, annotation: typing.Any, key: str, source: str) -> typing.Any:
    def wrong() -> ProfileError:
        return ProfileError(f"{source}: {key}: expected {_describe(annotation)}, got {value!r}")

    if annotation is Text:
        if not isinstance(value, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in value.items()
        ):
            raise wrong()
        return Text(value)
    if dataclasses.is_dataclass(annotation):
        if not isinstance(value, dict):
            raise wrong()
        return _build(annotation, value, key, source)
    origin = typing.get_origin(annotation)
    if origin is tuple:
        if not isinstance(value, list):
            raise wrong()
        item_type = typing.get_args(annotation)[0]
        return tuple(_convert(v, item_type, f"{key}[{i}]", source) for i, v in enumerate(value))
    if origin is dict:
        if not isinstance(value, dict):
            raise wrong()
        item_type = typing.get_args(annotation)[1]
        return {k: _convert(v, item_type, f"{key}.{k}", source) for k, v in value.items()}
    # bool is an int in Python: check it first so `true` is no integer and `1` no boolean.
    if annotation is bool:
        if not isinstance(value, bool):
            raise wrong()
        return value
    if annotation in (int, str) and (isinstance(value, bool) or not isinstance(value, annotation)):
        raise wrong()
    return value


def _build(cls: type, table: dict, prefix: str, source: str) -> typing.Any:
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.name != "source"}
    for key in table:
        if key not in fields:
            where = f"{prefix}.{key}" if prefix else key
            known = ", ".join(sorted(fields))
            raise ProfileError(f"{source}: {where}: unknown key (expected one of: {known})")
    values = {}
    for name, field in fields.items():
        where = f"{prefix}.{name}" if prefix else name
        if name in table:
            values[name] = _convert(table[name], hints[name], where, source)
        elif field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
            raise ProfileError(f"{source}: {where}: missing (expected {_describe(hints[name])})")
    return cls(**values)


def _check(profile: Profile, source: str) -> None:
    keys = [kind.key for kind in profile.member_kinds]
    if not keys or len(set(keys)) != len(keys):
        raise ProfileError(f"{source}: member_kinds: expected at least one kind, keys unique")
    for i, kind in enumerate(profile.member_kinds):
        try:
            re.compile(kind.code_pattern)
        except re.error as error:
            raise ProfileError(
                f"{source}: member_kinds[{i}].code_pattern: expected a regular expression ({error})"
            ) from None
    if not set(profile.languages) <= {"fr", "en"} or not profile.languages:
        raise ProfileError(f"{source}: languages: expected a list drawn from 'fr' and 'en'")
    if profile.languages[0] != "fr":
        raise ProfileError(f"{source}: languages: expected 'fr' first (the default language)")
    policy = profile.password
    if policy.min_length < 1 or policy.max_length < max(64, policy.min_length):
        raise ProfileError(
            f"{source}: password.max_length: expected at least 64 and at least min_length"
        )
    if profile.registration.mode not in {"open", "registry"}:
        raise ProfileError(f"{source}: registration.mode: expected 'open' or 'registry'")
    for name in ("threshold",):
        if getattr(profile.lockout, name) < 1 or getattr(profile.address_block, name) < 1:
            raise ProfileError(f"{source}: {name}: expected a positive integer")
    for flow_name, flow in profile.flows.items():
        if not flow.stages:
            raise ProfileError(f"{source}: flows.{flow_name}.stages: expected at least one stage")
        for entry in flow.stages:
            name, _, arg = entry.partition(":")
            wanted = int(arg) if "questions" in name and arg.isdigit() else 0
            if wanted > len(profile.security_questions):
                raise ProfileError(
                    f"{source}: flows.{flow_name}.stages: {entry!r} expected at least "
                    f"{wanted} security_questions in the profile"
                )
    recovery = [entry.partition(":")[0] for entry in profile.flows.get("recovery", Flow(())).stages]
    if recovery and not (
        "email_link" in recovery
        and "new_password" in recovery
        and recovery.index("email_link") < recovery.index("new_password")
    ):
        # Questions and captchas only add to the e-mailed link (NIST SP 800-63B): never alone.
        raise ProfileError(
            f"{source}: flows.recovery.stages: expected 'email_link' before 'new_password'"
        )
    if profile.access_rights and not any(right.administers for right in profile.access_rights):
        raise ProfileError(f"{source}: access_rights: expected one right with administers = true")
    for section, names in (
        ("accounts", ("email_change_link_hours", "deletion_grace_days", "delegate_deletion_days")),
        ("retention", ("audit_days", "sent_messages_days")),
    ):
        for name in names:
            if getattr(getattr(profile, section), name) < 1:
                raise ProfileError(f"{source}: {section}.{name}: expected a positive integer")
    _check_mfa(profile, source)
    question_keys = [question.key for question in profile.security_questions]
    if len(set(question_keys)) != len(question_keys):
        raise ProfileError(f"{source}: security_questions: expected unique keys")


def _checked_brand(brand: Brand, source: str) -> Brand:
    """The brand with its logo's path made absolute, once its colour and logo are usable."""
    if brand.colour:
        if not HEX_COLOUR.fullmatch(brand.colour):
            raise ProfileError(
                f"{source}: brand.colour: expected a colour written #rrggbb, got {brand.colour!r}"
            )
        ratio = accent_contrast(brand.colour)
        if ratio < TEXT_AA:
            raise ProfileError(
                f"{source}: brand.colour: {brand.colour} reaches only {ratio:.2f}:1 (under "
                "white button text or as a link on the page's light backgrounds); expected at "
                f"least {TEXT_AA}:1 (WCAG 2.2 AA): choose a darker colour"
            )
    if not brand.logo:
        return brand
    logo = Path(source).parent / brand.logo
    kinds = ", ".join(LOGO_TYPES)
    if logo.suffix.lower() not in LOGO_TYPES:
        raise ProfileError(f"{source}: brand.logo: expected an image file ({kinds})")
    if not logo.is_file():
        raise ProfileError(f"{source}: brand.logo: no file at {logo}")
    if logo.stat().st_size > LOGO_MAX_BYTES:
        raise ProfileError(
            f"{source}: brand.logo: expected at most {LOGO_MAX_BYTES // 1000} kB, "
            f"{logo} has {logo.stat().st_size // 1000} kB"
        )
    return dataclasses.replace(brand, logo=str(logo.resolve()))


def _check_mfa(profile: Profile, source: str) -> None:
    mfa = profile.mfa
    levels = " or ".join(repr(level) for level in MFA_LEVELS)
    for where, level in (
        ("mfa.default", mfa.default),
        ("mfa.staff", mfa.staff),
        *((f"mfa.kinds.{key}", level) for key, level in mfa.kinds.items()),
        *((f"mfa.rights.{key}", level) for key, level in mfa.rights.items()),
    ):
        if level not in MFA_LEVELS:
            raise ProfileError(f"{source}: {where}: expected {levels}, got {level!r}")
    kinds = {kind.key for kind in profile.member_kinds}
    for key in mfa.kinds:
        if key not in kinds:
            raise ProfileError(f"{source}: mfa.kinds.{key}: expected a key of member_kinds")
    rights = {right.key for right in profile.access_rights}
    for key in mfa.rights:
        if key not in rights:
            raise ProfileError(f"{source}: mfa.rights.{key}: expected a key of access_rights")


def load_profile(name_or_path: str) -> Profile:
    """Read and validate a built-in profile name or a TOML file path."""
    path = Path(name_or_path)
    if not name_or_path.endswith(".toml"):
        path = PROFILES_DIR / f"{name_or_path}.toml"
        if not path.exists():
            built_in = ", ".join(sorted(p.stem for p in PROFILES_DIR.glob("*.toml")))
            raise ProfileError(
                f"VESTIBULE_PROFILE: unknown profile {name_or_path!r} "
                f"(expected one of: {built_in}, or a path to a .toml file)"
            )
    source = str(path)
    try:
        table = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ProfileError(f"{source}: cannot be read ({error.strerror})") from None
    except tomllib.TOMLDecodeError as error:
        raise ProfileError(f"{source}: not valid TOML ({error})") from None
    table.setdefault("name", path.stem)
    profile = dataclasses.replace(_build(Profile, table, "", source), source=source)
    _check(profile, source)
    profile = dataclasses.replace(profile, brand=_checked_brand(profile.brand, source))
    if profile.password.min_length < NIST_MIN_LENGTH:
        log.warning(
            "%s: password.min_length is %d; NIST SP 800-63B rev. 4 asks for %d when a password "
            "is used alone",
            source,
            profile.password.min_length,
            NIST_MIN_LENGTH,
        )
    return profile


@functools.cache
def _cached(name_or_path: str) -> Profile:
    return load_profile(name_or_path)


def get_profile() -> Profile:
    """The active profile (VESTIBULE_PROFILE), loaded once per process."""
    return _cached(settings.VESTIBULE_PROFILE)


@receiver(setting_changed)
def _forget_profile(*, setting: str, **kwargs: typing.Any) -> None:
    if setting == "VESTIBULE_PROFILE":
        _cached.cache_clear()


# For labels declared at import time (form fields): the active profile's word, per request.
identifier_word_lazy = lazy(lambda: get_profile().identifier_word, str)
