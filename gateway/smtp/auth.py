"""SMTP AUTH users: a file of salted scrypt hashes, checked in constant time.

Format, one user per line (``#`` comments allowed)::

    helpdesk:scrypt$16384$8$1$<salt base64>$<hash base64>

``gateway auth hash NAME`` prints such a line. scrypt is in the standard
library and memory-hard, so a leaked file is expensive to brute-force.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiosmtpd.smtp import AuthResult, LoginPassword

SCRYPT_N, SCRYPT_R, SCRYPT_P = 16384, 8, 1
_DKLEN = 32


class UsersFileError(ValueError):
    """The users file is unreadable or has a malformed line; the message names it."""


@dataclass(frozen=True, slots=True)
class _ScryptHash:
    n: int
    r: int
    p: int
    salt: bytes
    digest: bytes

    def matches(self, password: bytes) -> bool:
        candidate = hashlib.scrypt(
            password,
            salt=self.salt,
            n=self.n,
            r=self.r,
            p=self.p,
            maxmem=256 * 1024 * 1024,
            dklen=len(self.digest),
        )
        return hmac.compare_digest(candidate, self.digest)


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(
        password.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=_DKLEN
    )
    salt_text, digest_text = (base64.b64encode(part).decode() for part in (salt, digest))
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${salt_text}${digest_text}"


def _parse_hash(text: str) -> _ScryptHash:
    scheme, n, r, p, salt, digest = text.split("$")
    if scheme != "scrypt":
        raise ValueError(f"unknown hash scheme {scheme!r}")
    return _ScryptHash(int(n), int(r), int(p), base64.b64decode(salt), base64.b64decode(digest))


def load_users(path: Path) -> dict[str, _ScryptHash]:
    users: dict[str, _ScryptHash] = {}
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise UsersFileError(f"{path}: cannot read users file ({exc})") from exc
    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, hashed = line.partition(":")
        if not sep or not name:
            raise UsersFileError(f"{path}:{number}: bad users file line (expected NAME:scrypt$...)")
        try:
            users[name] = _parse_hash(hashed)
        except ValueError as exc:
            raise UsersFileError(f"{path}:{number}: bad users file line ({exc})") from exc
    return users


class Authenticator:
    """aiosmtpd authenticator for PLAIN and LOGIN against the users file.

    aiosmtpd calls authenticators synchronously on the event loop, and one scrypt
    check costs tens of milliseconds. A helpdesk logs in with the same password on
    every connection, so a successful check is remembered as a keyed digest
    (never the password) and repeated logins cost microseconds.
    """

    __slots__ = ("_cache_key", "_users", "_verified")

    def __init__(self, users: dict[str, _ScryptHash]) -> None:
        self._users = users
        self._cache_key = secrets.token_bytes(32)
        self._verified: dict[str, bytes] = {}

    def _check(self, name: str, password: bytes) -> bool:
        known = self._users.get(name)
        if known is None:
            return False
        tag = hmac.digest(self._cache_key, password, "sha256")
        remembered = self._verified.get(name)
        if remembered is not None and hmac.compare_digest(remembered, tag):
            return True
        if not known.matches(password):
            return False
        self._verified[name] = tag
        return True

    def __call__(
        self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> AuthResult:
        if mechanism not in {"PLAIN", "LOGIN"} or not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        name = auth_data.login.decode("utf-8", "replace")
        if not self._check(name, auth_data.password):
            return AuthResult(success=False, handled=False)
        return AuthResult(success=True, auth_data=name)
