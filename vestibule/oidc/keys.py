"""The OpenID Connect signing keys: RSA, kept as PEM files in one folder.

Three kinds of file: `active.pem` signs; `next.pem` is published in the JWKS before it
signs, so relying parties that cache the key set already know it on the day it starts
signing; `retired-<date>.pem` no longer signs and stays published until the tokens it
signed have expired. `vestibule oidc-key rotate` moves next → active → retired and draws a
new next; `vestibule oidc-key prune` drops retired keys older than the longest token
lifetime. Every node reads the same folder (`VESTIBULE_OIDC_KEY_DIR`); a node reads it at
start, so the operator restarts or reloads the nodes after a rotation.
"""

import datetime as dt
import os
import secrets
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

KEY_SIZE = 2048


def _pem_new() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_SIZE)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def _written_aside(path: Path, pem: str) -> Path:
    """A whole file beside `path`, readable by the portal's user only, under a name no other
    process uses (several may write at once)."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as file:
        file.write(pem)
    return temporary


def _write(path: Path, pem: str) -> None:
    """Replace `path` whole, or leave it as it was."""
    _written_aside(path, pem).replace(path)


def _create(path: Path, pem: str) -> None:
    """Write `path` unless it exists. Processes starting at once on an empty folder (a
    node's workers, two nodes) each draw a key: the first one linked in place is kept, and
    the others read it instead of their own."""
    temporary = _written_aside(path, pem)
    try:
        os.link(temporary, path)
    except FileExistsError:
        pass
    finally:
        temporary.unlink()


def keys_ensure(folder: Path) -> None:
    """Create the folder's active and next keys if they are missing (first start)."""
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    for name in ("active.pem", "next.pem"):
        if not (folder / name).exists():
            _create(folder / name, _pem_new())


def keys_load(folder: Path) -> tuple[str, list[str]]:
    """(the signing key, the keys published beside it: next, then retired)."""
    keys_ensure(folder)
    active = (folder / "active.pem").read_text()
    published = [(folder / "next.pem").read_text()]
    published += [path.read_text() for path in sorted(folder.glob("retired-*.pem"))]
    return active, published


def keys_rotate(folder: Path, *, now: dt.datetime | None = None) -> None:
    """next becomes active, active becomes retired, and a new next is drawn."""
    keys_ensure(folder)
    stamp = (now or dt.datetime.now(dt.UTC)).strftime("%Y%m%dT%H%M%S%f")
    (folder / "active.pem").replace(folder / f"retired-{stamp}.pem")
    (folder / "next.pem").replace(folder / "active.pem")
    _write(folder / "next.pem", _pem_new())


def keys_prune(folder: Path, *, older_than: dt.timedelta, now: dt.datetime | None = None) -> int:
    """Drop retired keys retired longer ago than `older_than`; how many were dropped."""
    limit = (now or dt.datetime.now(dt.UTC)) - older_than
    dropped = 0
    for path in folder.glob("retired-*.pem"):
        retired = dt.datetime.strptime(path.stem.removeprefix("retired-"), "%Y%m%dT%H%M%S%f")
        if retired.replace(tzinfo=dt.UTC) < limit:
            path.unlink()
            dropped += 1
    return dropped
