"""Secret keys with ids, and the local secrets file that `make run` creates on its first run.

Each purpose (signing tokens, MACing the access log, sealing data at rest) has a keyring: the
current key signs or seals, older keys still verify or open until they are removed, so a key
can be rotated without breaking what it signed. A key's id is a fingerprint of the key itself:
an id can never point at the wrong key, and rotating needs no second setting.

There is no default key anywhere: a process gets its keys from `CLINIC_*` settings or from the
secrets file, or it does not start.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import stat
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

MIN_SECRET_LENGTH = 32
FILE_MODE = 0o600


@dataclass(frozen=True, slots=True)
class Purpose:
    """What a keyring is for, and the settings that hold its current and previous keys."""

    name: str
    current: str  # the Settings field (and, upper-cased with CLINIC_, the variable)
    previous: str
    meaning: str


PURPOSES = (
    Purpose("jwt", "jwt_secret", "jwt_previous_secrets", "signs access tokens"),
    Purpose("audit", "audit_key", "audit_previous_keys", "MACs the access log"),
    Purpose("data", "data_key", "data_previous_keys", "seals secrets kept in the event store"),
    Purpose("links", "link_key", "link_previous_keys", "signs patients' confirm/cancel links"),
)
PURPOSE = {p.name: p for p in PURPOSES}


class MissingSecrets(RuntimeError):
    """No key for a purpose: neither in the settings nor in the secrets file."""


class UnsafeSecrets(RuntimeError):
    """A key that must not be used: too short, shared between purposes, or readable by others."""


def variable(field: str) -> str:
    return f"CLINIC_{field.upper()}"


def key_id(secret: str) -> str:
    """A short public fingerprint of a key; it names the key in tokens and log entries."""
    return hashlib.sha256(b"sonrisa-key-id\x00" + secret.encode()).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class Keyring:
    """The keys of one purpose by id; `current_id` names the one that signs or seals."""

    purpose: str
    current_id: str
    keys: Mapping[str, bytes]

    @classmethod
    def of(cls, purpose: str, current: str, previous: Sequence[str] = ()) -> Keyring:
        for secret in (current, *previous):
            _check(purpose, secret)
        keys = {key_id(s): s.encode() for s in (*previous, current)}
        return cls(purpose, key_id(current), keys)

    @property
    def current(self) -> bytes:
        return self.keys[self.current_id]

    def get(self, kid: object) -> bytes | None:
        return self.keys.get(kid) if isinstance(kid, str) else None


def _check(purpose: str, secret: str) -> None:
    if len(secret) < MIN_SECRET_LENGTH:
        raise UnsafeSecrets(
            f"the {purpose} key {key_id(secret)} is too short: use at least "
            f"{MIN_SECRET_LENGTH} random characters"
        )
    if any(c.isspace() or c == "," for c in secret):
        raise UnsafeSecrets(f"the {purpose} key {key_id(secret)} contains a space or a comma")


def comma_separated(text: str | None) -> list[str]:
    """A comma-separated setting (previous keys, newest first; trusted proxies) as a list."""
    return [part.strip() for part in (text or "").split(",") if part.strip()]


def fresh_secrets() -> dict[str, Any]:
    """A new random current key for every purpose, by Settings field (typed Any so that it can
    be spread into `Settings(...)`)."""
    return {p.current: secrets.token_urlsafe(48) for p in PURPOSES}


def read_secrets_file(path: Path) -> dict[str, str]:
    """The `CLINIC_*=value` lines of the secrets file; {} when there is none. A file that
    others may read is refused: the keys in it are as good as public."""
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        return {}
    if mode & 0o077:
        raise UnsafeSecrets(
            f"{path} may be read by others (mode {mode:04o}): run `chmod 600 {path}`, and "
            "rotate its keys if anyone else could have read them"
        )
    values: dict[str, str] = {}
    for line in path.read_text().splitlines():
        name, sep, value = line.strip().partition("=")
        if sep and not name.startswith("#"):
            values[name.strip()] = value.strip()
    return values


def write_secrets_file(path: Path, values: Mapping[str, str], *, replace: bool) -> None:
    """Write the file readable by its owner only, atomically. Without `replace`, an existing
    file is kept (FileExistsError): keys already in use are never overwritten by accident."""
    lines = [
        "# Sonrisa's secret keys (`clinic secrets init`); readable by its owner only.",
        "# Never commit or share this file. Rotate a key with `clinic secrets rotate PURPOSE`.",
        f"# Written {datetime.now(UTC).isoformat(timespec='seconds')}.",
        *(f"{name}={value}" for name, value in values.items() if value),
    ]
    target = path if not replace else path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    with os.fdopen(descriptor, "w") as file:
        file.write("\n".join(lines) + "\n")
    if replace:
        os.replace(target, path)


def create_secrets_file(path: Path) -> bool:
    """Create the file with fresh random keys; False when it already exists (it is kept, and
    only a purpose added since it was written gets a key of its own)."""
    try:
        write_secrets_file(
            path, {variable(f): v for f, v in fresh_secrets().items()}, replace=False
        )
    except FileExistsError:
        values = read_secrets_file(path)
        missing = {
            variable(f): v for f, v in fresh_secrets().items() if not values.get(variable(f))
        }
        if missing:
            write_secrets_file(path, {**values, **missing}, replace=True)
        return False
    return True


def rotate_in_secrets_file(path: Path, purpose: str) -> str:
    """A new current key for `purpose`; the old one moves to the front of the previous keys.
    The new key's id."""
    chosen = PURPOSE[purpose]
    values = read_secrets_file(path)
    old = values.get(variable(chosen.current))
    if not old:
        raise MissingSecrets(f"{path} holds no {variable(chosen.current)} to rotate")
    new = secrets.token_urlsafe(48)
    values[variable(chosen.current)] = new
    values[variable(chosen.previous)] = ",".join(
        [old, *comma_separated(values.get(variable(chosen.previous)))]
    )
    write_secrets_file(path, values, replace=True)
    return key_id(new)
