"""Basic authentication for `/metrics`: one user and password, from a file only its
owner may read (as ssh insists for a private key), compared in constant time."""

from __future__ import annotations

import base64
import binascii
import hmac
import os
import stat
from dataclasses import dataclass
from pathlib import Path

MAX_SIZE = 4096
FORMAT = "one line, USER:PASSWORD"


class CredentialsRefused(Exception):
    """The credentials file cannot be used; str() says why, in one line."""


@dataclass(frozen=True, slots=True)
class Credentials:
    user: bytes
    password: bytes

    def admit(self, authorization: str | None) -> bool:
        """Whether an `Authorization` header carries this user and password."""
        scheme, _, encoded = (authorization or "").partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            given = base64.b64decode(encoded.strip(), validate=True)
        except (binascii.Error, ValueError):
            return False
        user, colon, password = given.partition(b":")
        same_user = hmac.compare_digest(user, self.user)
        same_password = hmac.compare_digest(password, self.password)
        return bool(colon) and same_user and same_password


def read_credentials(path: Path) -> Credentials:
    """The file's `USER:PASSWORD`; refused unless it is a small regular file that
    neither its group nor others may read or write."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    except OSError as exc:
        raise CredentialsRefused(exc.strerror or str(exc)) from None
    with os.fdopen(fd, "rb") as handle:
        mode = os.fstat(handle.fileno()).st_mode
        if not stat.S_ISREG(mode):
            raise CredentialsRefused("not a regular file")
        if mode & 0o077:
            raise CredentialsRefused(f"other users may read or change it (chmod 600 {path})")
        data = handle.read(MAX_SIZE + 1)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise CredentialsRefused(f"not UTF-8 text; it must hold {FORMAT}") from None
    line = text.removesuffix("\n").removesuffix("\r")
    user, colon, password = line.partition(":")
    if len(data) > MAX_SIZE or not (colon and user and password) or "\n" in line:
        raise CredentialsRefused(f"it must hold {FORMAT}")
    return Credentials(user.encode(), password.encode())
