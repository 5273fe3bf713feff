"""Encryption at rest of third-party keys (the Clockify API keys users connect).

AES-256-GCM under a data key that is not SECRET_KEY. Each ciphertext is bound to its row through
associated data (e.g. b"hourbill:clockify:user=3:connection=7"), so a ciphertext copied onto another
row does not decrypt, and is stored with the id of the data key that sealed it, so data keys rotate.

The data keys come from HOURBILL_DATA_KEY (comma-separated URL-safe base64, the first is current) or
from a key file in instance/ (one per line, the first is current), created once with mode 0600. A
missing or wrong data key fails closed with DataKeyError; nothing here ever deletes or rewrites a
stored secret on its own.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import logging
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

log = logging.getLogger(__name__)

KEY_BYTES = 32  # AES-256
NONCE_BYTES = 12  # 96-bit, random per encryption
ENV_VAR = "HOURBILL_DATA_KEY"
_KEY_HELP = (
    "expected 32 random bytes in URL-safe base64 (44 characters); make one with "
    "python -c \"import base64, os; print(base64.urlsafe_b64encode(os.urandom(32)).decode())\""
)
_RESTORE = (
    f"restore {ENV_VAR} or instance/data.key from your backup (the old key can stay as a second, "
    "non-current key), or reconnect Clockify with a fresh API key."
)


class DataKeyError(Exception):
    """The data key is missing, malformed or cannot read a stored secret. The message says what to
    fix and never contains key material or plaintext."""


@dataclass(frozen=True)
class EncryptedSecret:
    """What the database stores for one secret: the data key's id, the nonce and the ciphertext."""

    key_id: str
    nonce: bytes
    ciphertext: bytes

    def __repr__(self) -> str:
        return f"EncryptedSecret(key_id={self.key_id!r}, ciphertext=<{len(self.ciphertext)} bytes>)"


def key_id(key: bytes) -> str:
    """A data key's public name: the first 16 hex characters of its SHA-256."""
    return hashlib.sha256(key).hexdigest()[:16]


def generate_key() -> bytes:
    return AESGCM.generate_key(bit_length=256)


def encode_key(key: bytes) -> str:
    return base64.urlsafe_b64encode(key).decode("ascii")


class KeyRing:
    """One or more data keys; the first is current and seals new secrets, the others only open old ones."""

    def __init__(self, keys: Sequence[bytes]) -> None:
        unique = list(dict.fromkeys(keys))  # the same key twice is harmless; keep the order
        if not unique:
            raise DataKeyError("No data key was given.")
        if any(len(key) != KEY_BYTES for key in unique):
            raise DataKeyError(f"A data key must be {KEY_BYTES} bytes long.")
        self._keys = {key_id(key): key for key in unique}
        self._ciphers = {kid: AESGCM(key) for kid, key in self._keys.items()}
        self.current_key_id = key_id(unique[0])

    def __repr__(self) -> str:
        return f"KeyRing(current={self.current_key_id!r}, keys={len(self._keys)})"

    @property
    def key_ids(self) -> list[str]:
        return list(self._keys)

    def encrypt(self, plaintext: str, aad: bytes) -> EncryptedSecret:
        if not isinstance(aad, bytes) or not aad:
            raise TypeError("aad must be non-empty bytes naming the row, e.g. b'hourbill:clockify:user=3:connection=7'")
        nonce = os.urandom(NONCE_BYTES)
        ciphertext = self._ciphers[self.current_key_id].encrypt(nonce, plaintext.encode("utf-8"), aad)
        return EncryptedSecret(self.current_key_id, nonce, ciphertext)

    def decrypt(self, secret: EncryptedSecret, aad: bytes) -> str:
        """The plaintext, or DataKeyError: never garbage, and nothing is deleted."""
        cipher = self._ciphers.get(secret.key_id)
        if cipher is None:
            raise DataKeyError(
                f"This data key cannot read the stored Clockify keys: they were sealed with data key "
                f"{secret.key_id}, which is not loaded (loaded: {', '.join(self._keys)}). {_RESTORE}"
            )
        try:
            return cipher.decrypt(secret.nonce, secret.ciphertext, aad).decode("utf-8")
        except (InvalidTag, ValueError):  # ValueError: a malformed nonce or non-UTF-8 plaintext
            raise DataKeyError(
                f"This data key cannot read the stored Clockify keys: data key {secret.key_id} does not "
                f"open this record (wrong key, or the record was altered or moved to another row). {_RESTORE}"
            ) from None

    def rotated(self) -> KeyRing:
        """A new ring with a fresh current key, keeping every key it had for reading old secrets."""
        return KeyRing([generate_key(), *self._keys.values()])

    def current_only(self) -> KeyRing:
        """The ring without its old keys, once every secret is sealed with the current one."""
        return KeyRing([self._keys[self.current_key_id]])

    def to_env_value(self) -> str:
        """The keys as HOURBILL_DATA_KEY expects them (current first). This is secret material."""
        return ",".join(encode_key(key) for key in self._keys.values())


def reencrypt(keyring: KeyRing, secrets: Sequence[tuple[EncryptedSecret, bytes]]) -> list[EncryptedSecret]:
    """Every (secret, aad) re-sealed under the current key, in order; all or nothing.

    Everything is decrypted before anything is returned, so one unreadable secret raises DataKeyError
    and the caller writes nothing.
    """
    plaintexts = []
    for number, (secret, aad) in enumerate(secrets, start=1):
        try:
            plaintexts.append(keyring.decrypt(secret, aad))
        except DataKeyError as error:
            raise DataKeyError(f"Stored secret {number} of {len(secrets)}: {error} Nothing was re-encrypted.") from None
    return [keyring.encrypt(plaintext, aad) for plaintext, (_, aad) in zip(plaintexts, secrets)]


def _decode_key(text: str, where: str) -> bytes:
    text = text.strip()
    try:
        key = base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError):
        key = b""
    if len(key) != KEY_BYTES:
        raise DataKeyError(f"{where} is not a valid data key: {_KEY_HELP}.")
    return key


def _read_key_file(path: Path) -> KeyRing:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise DataKeyError(f"Cannot read the data key file {path} ({type(error).__name__}). {_RESTORE}") from None
    if path.stat().st_mode & 0o077:
        log.warning("The data key file %s is readable by other users; run: chmod 600 %s", path, path)
    keys = [
        _decode_key(line, f"Line {number} of {path}")
        for number, line in enumerate(lines, start=1)
        if line.strip() and not line.lstrip().startswith("#")
    ]
    if not keys:
        raise DataKeyError(f"The data key file {path} holds no key. {_RESTORE}")
    return KeyRing(keys)


def _key_file_text(keyring: KeyRing) -> str:
    return (
        "# Hourbill data keys: the first is current, the others only read older secrets.\n"
        "# Back this file up: without it the stored Clockify keys cannot be read.\n"
        + "".join(f"{line}\n" for line in keyring.to_env_value().split(","))
    )


def _write_temp(path: Path, text: str) -> str:
    """A fully written, fsynced 0600 temporary file next to ``path`` (mkstemp opens it with O_EXCL)."""
    descriptor, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            os.fchmod(handle.fileno(), 0o600)
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        os.unlink(temp)
        raise
    return temp


def _fsync_dir(directory: Path) -> None:
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def write_key_file(path: Path, keyring: KeyRing) -> None:
    """Replace the key file atomically (temp file, fsync, os.replace; mode 0600). An interruption
    leaves the previous file whole. For rotation: write ``keyring.rotated()`` first, re-encrypt, and
    only then, optionally, ``current_only()``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = _write_temp(path, _key_file_text(keyring))
    try:
        os.replace(temp, path)
    except BaseException:
        os.unlink(temp)
        raise
    _fsync_dir(path.parent)


def create_file_once(path: Path, text: str) -> bool:
    """Create a 0600 file with this text unless the name exists; never overwrite. The complete file is
    published with os.link, which fails if the name exists, so of several processes starting at the
    same moment one wins and the others read its complete file, never a half-written one. Returns
    whether this call created it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = _write_temp(path, text)
    try:
        os.link(temp, path)
    except FileExistsError:
        return False
    except OSError:  # a filesystem without hard links: O_EXCL still never overwrites
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return False
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
    finally:
        os.unlink(temp)
    _fsync_dir(path.parent)
    return True


def _create_key_file(path: Path) -> None:
    if create_file_once(path, _key_file_text(KeyRing([generate_key()]))):
        log.warning("Created a new data key in %s: back it up", path)


def load_keyring(env_value: str | None, key_file: Path, create: bool) -> KeyRing:
    """The data keys: from HOURBILL_DATA_KEY when set, else from ``key_file``; with ``create`` a
    missing key file is generated once (pass create=False when secrets are already stored, so a lost
    key is an error rather than a fresh key that reads nothing)."""
    if env_value is not None:
        parts = [part for part in env_value.split(",") if part.strip()]  # tolerate a trailing comma
        if not parts:
            raise DataKeyError(f"{ENV_VAR} is set but empty: set it to a data key, or unset it to use {key_file}.")
        return KeyRing([_decode_key(part, f"Key {n} in {ENV_VAR}") for n, part in enumerate(parts, start=1)])
    if not key_file.exists():
        if not create:
            raise DataKeyError(f"No data key: neither {ENV_VAR} nor {key_file} is there. {_RESTORE}")
        _create_key_file(key_file)
    return _read_key_file(key_file)
