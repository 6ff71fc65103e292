"""Secrets at rest: sealed with AES-256-GCM under a key derived from the master key.

The master key comes from ``BAAS_SECRET_KEY`` or, when that is unset, from
``DATA_DIR/secret.key`` (generated with 0600 permissions on first start). It is never
stored in a database, logged or printed, so a copied database alone cannot open the
secrets kept in it (signing keys, provider credentials).

Each purpose ("context", e.g. ``signing-key:<kid>``) gets its own AES key through
HKDF-SHA256, so a value sealed for one context cannot be opened as another. A sealed
value is a compact string ``v1.<nonce>.<ciphertext>`` (unpadded base64url).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import os
import secrets
import stat
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from baas.settings import Settings, SettingsError

VERSION = "v1"
NONCE_BYTES = 12
KEY_FILE = "secret.key"
MIN_MASTER_CHARS = 32
HKDF_SALT = b"baas/secretbox/v1"


class SecretBoxError(Exception):
    """A sealed value cannot be opened: wrong master key, wrong context, or altered."""


class MasterKeyError(SettingsError):
    """The master key cannot be loaded or created; the message says what to fix."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    if not text or len(text) > 1_000_000:
        raise ValueError("bad length")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class SecretBox:
    """Seal and open small secrets, each bound to a context string."""

    def __init__(self, master: bytes) -> None:
        if len(master) < MIN_MASTER_CHARS:
            raise MasterKeyError(f"the master key must be at least {MIN_MASTER_CHARS} bytes")
        self._master = master
        self._keys: dict[str, AESGCM] = {}

    def __repr__(self) -> str:
        return "SecretBox(<hidden>)"

    def _aead(self, context: str) -> AESGCM:
        found = self._keys.get(context)
        if found is None:
            if not context:
                raise ValueError("a context is required")
            derived = HKDF(
                algorithm=hashes.SHA256(), length=32, salt=HKDF_SALT,
                info=context.encode("utf-8"),
            ).derive(self._master)
            found = self._keys[context] = AESGCM(derived)
        return found

    def seal(self, plaintext: bytes, context: str) -> str:
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._aead(context).encrypt(nonce, plaintext, VERSION.encode("ascii"))
        return f"{VERSION}.{_b64(nonce)}.{_b64(sealed)}"

    def open(self, token: str, context: str) -> bytes:
        parts = token.split(".") if isinstance(token, str) else []
        if len(parts) != 3 or parts[0] != VERSION:
            raise SecretBoxError("not a sealed secret of a known version")
        try:
            nonce, sealed = _unb64(parts[1]), _unb64(parts[2])
        except (ValueError, binascii.Error):
            raise SecretBoxError("the sealed secret is not valid base64") from None
        if len(nonce) != NONCE_BYTES:
            raise SecretBoxError("the sealed secret has a malformed nonce")
        try:
            return self._aead(context).decrypt(nonce, sealed, VERSION.encode("ascii"))
        except InvalidTag:
            raise SecretBoxError(
                "cannot open the sealed secret: wrong master key (BAAS_SECRET_KEY), "
                "wrong context, or the stored value was altered"
            ) from None

    @classmethod
    def from_settings(cls, settings: Settings) -> SecretBox:
        return cls(load_master_key(settings))


def load_master_key(settings: Settings) -> bytes:
    """The master key: BAAS_SECRET_KEY, else DATA_DIR/secret.key (created when missing)."""
    if settings.secret_key is not None:
        return settings.secret_key.get_secret_value().encode("utf-8")
    return _key_from_file(Path(settings.data_dir) / KEY_FILE)


def _key_from_file(path: Path) -> bytes:
    try:
        return _read_key_file(path)
    except FileNotFoundError:
        pass
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = path.with_name(f".{KEY_FILE}.{secrets.token_hex(8)}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w", encoding="ascii") as fh:
                fh.write(secrets.token_urlsafe(32) + "\n")
                fh.flush()
                os.fsync(fh.fileno())
            try:
                # link() publishes the complete file atomically and fails if another
                # process got there first; then its key wins.
                os.link(tmp, path)
            except FileExistsError:
                pass
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
    except OSError as exc:
        raise MasterKeyError(
            f"cannot create the master key file {path}: {exc.strerror}; "
            "set BAAS_SECRET_KEY or make the data folder writable"
        ) from None
    return _read_key_file(path)


def _read_key_file(path: Path) -> bytes:
    fd = os.open(path, os.O_RDONLY)
    with os.fdopen(fd, "rb") as fh:
        info = os.fstat(fh.fileno())
        if os.name == "posix" and info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise MasterKeyError(
                f"the master key file {path} is accessible to group or others "
                f"(mode {stat.S_IMODE(info.st_mode):04o}); run `chmod 600 {path}`"
            )
        data = fh.read(4096).strip()
    if len(data) < MIN_MASTER_CHARS:
        raise MasterKeyError(
            f"the master key file {path} holds fewer than {MIN_MASTER_CHARS} characters"
        )
    return data
