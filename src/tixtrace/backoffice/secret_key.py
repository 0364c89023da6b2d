"""The back office's secret key: it signs the screens' CSRF tokens and flash messages and encrypts the
stored interface passwords (DESIGN 10).

Where it comes from, in order:
- ``TIXTRACE_SECRET_KEY`` (UTF-8) when set: at least `MIN_SECRET_BYTES` bytes, or every command and the
  app refuse to start (`SecretKeyTooShort`, a one-line error). Every process that shares a database
  (servers, schedulers, ``backoffice run``) must be given the same key.
- otherwise a key file, ``$XDG_DATA_HOME/tixtrace/backoffice-secret.key`` (``~/.local/share`` by
  default): 48 random bytes written once, readable by its owner only (0600), so every process of
  this user on this machine shares it and restarts keep it. A database copied elsewhere (a backup, a
  dump) thus holds no readable interface password.

The password cipher is Fernet (AES-128-CBC + HMAC-SHA256) under a key derived from the secret by HKDF
(SHA-256, its own ``info``), so the signing key and the encryption key are never the same bytes.
Stored values are ``fernet:<token>``; `decrypt_password` refuses anything else.
"""

from __future__ import annotations

import base64
import functools
import os
import secrets
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from tixtrace.backoffice.domain.errors import BackofficeCode
from tixtrace.kernel.errors import CommandCode, Conflict, TixtraceError

SECRET_ENV = "TIXTRACE_SECRET_KEY"
MIN_SECRET_BYTES = 32
KEY_FILE_NAME = "backoffice-secret.key"
PREFIX = "fernet:"


class SecretKeyTooShort(TixtraceError):
    """``TIXTRACE_SECRET_KEY`` is set but too short to sign or encrypt anything worth protecting."""

    default_code = CommandCode.SECRET_KEY_TOO_SHORT


def key_file() -> Path:
    base = os.environ.get("XDG_DATA_HOME", "").strip() or str(Path.home() / ".local" / "share")
    return Path(base) / "tixtrace" / KEY_FILE_NAME


def check_secret(secret: bytes) -> bytes:
    if len(secret) < MIN_SECRET_BYTES:
        raise SecretKeyTooShort(
            f"{SECRET_ENV} has {len(secret)} bytes; it needs at least {MIN_SECRET_BYTES} "
            "(e.g. python -c 'import secrets; print(secrets.token_urlsafe(48))')")
    return secret


@functools.cache
def _file_secret(path: Path) -> bytes:
    try:
        return check_secret(path.read_bytes().strip())
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = secrets.token_urlsafe(48).encode()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process wrote it first: use theirs
        return check_secret(path.read_bytes().strip())
    with os.fdopen(fd, "wb") as file:
        file.write(key + b"\n")
    return key


def service_secret() -> bytes:
    """The secret key (see the module doc); raises `SecretKeyTooShort` for a short configured one."""
    configured = os.environ.get(SECRET_ENV, "").strip()
    if configured:
        return check_secret(configured.encode())
    return _file_secret(key_file())


@functools.lru_cache(maxsize=4)
def _fernet(secret: bytes) -> Fernet:
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                   info=b"tixtrace back office: interface passwords").derive(secret)
    return Fernet(base64.urlsafe_b64encode(derived))


def encrypt_password(password: str, secret: bytes | None = None) -> str:
    """What is stored for an interface password: ``fernet:`` and the token (a fresh IV each time)."""
    token = _fernet(secret or service_secret()).encrypt(password.encode())
    return PREFIX + token.decode()


def is_encrypted(stored: str) -> bool:
    return stored.startswith(PREFIX)


def decrypt_password(stored: str, secret: bytes | None = None) -> str:
    """The password of a stored value; Conflict PASSWORD_UNREADABLE when this key cannot read it."""
    try:
        if not is_encrypted(stored):
            raise InvalidToken
        return _fernet(secret or service_secret()).decrypt(stored[len(PREFIX):].encode()).decode()
    except (InvalidToken, UnicodeDecodeError):
        raise Conflict("the interface's stored password cannot be read with this service's secret key "
                       f"({SECRET_ENV} or its key file changed?); enter the password again",
                       code=BackofficeCode.PASSWORD_UNREADABLE) from None
