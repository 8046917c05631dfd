"""The master key: where it comes from, and sealing secrets with it.

Secrets are sealed with AES-256-GCM. Each sealed value is a version byte, a
fresh 96-bit nonce and the ciphertext with its tag; the associated data names
the row the value belongs to, so a sealed value copied into another row does
not open. The store keeps a *key check* (a known text sealed with the key) so
a wrong or lost key is refused when the store is opened, before any write.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import dataclasses
import os
import secrets
import shlex
import stat
from collections.abc import Mapping
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from .._config import MASTER_KEY_ENV
from .._errors import ConfigurationError
from .._files import sync_directory

__all__ = [
    "KEY_ENV",
    "Cipher",
    "KeySource",
    "adopt_pending_key",
    "create_key_file",
    "discard_pending_key_file",
    "encode_key",
    "finish_rotation",
    "key_from_environment",
    "new_key",
    "pending_key_files",
    "read_key_file",
    "remove_abandoned_temporaries",
    "remove_stale_pending_keys",
    "write_pending_key_file",
]

KEY_ENV = MASTER_KEY_ENV
KEY_BYTES = 32
_NONCE_BYTES = 12
# The first byte of every sealed value: which format sealed it, so that a
# later format can be told apart from this one.
_FORMAT = b"\x01"
_CHECK_TEXT = b"tilecred key check"
_CHECK_AAD = b"tilecred/key-check"
# A key file holds 44 characters of base64; more is not a key file.
_MAX_KEY_FILE_BYTES = 1024


@dataclasses.dataclass(frozen=True)
class KeySource:
    """A key and where it came from (for messages; the key never prints)."""

    key: bytes = dataclasses.field(repr=False)
    description: str
    path: Path | None = None


class Cipher:
    """AES-256-GCM with a fresh nonce per seal."""

    __slots__ = ("_aead",)

    def __init__(self, key: bytes) -> None:
        self._aead = AESGCM(key)

    def seal(self, plaintext: bytes, aad: bytes) -> bytes:
        """Encrypt and authenticate ``plaintext`` bound to ``aad``."""
        nonce = os.urandom(_NONCE_BYTES)
        return _FORMAT + nonce + self._aead.encrypt(nonce, plaintext, aad)

    def open(self, sealed: bytes, aad: bytes) -> bytes | None:
        """The plaintext, or ``None`` when the key or ``aad`` does not fit."""
        if sealed[:1] != _FORMAT:
            return None
        nonce, body = sealed[1 : 1 + _NONCE_BYTES], sealed[1 + _NONCE_BYTES :]
        try:
            return self._aead.decrypt(nonce, body, aad)
        except InvalidTag:
            return None

    def key_check(self) -> bytes:
        """A known text sealed with this key, kept in the store."""
        return self.seal(_CHECK_TEXT, _CHECK_AAD)

    def opens(self, check: bytes) -> bool:
        """Whether ``check`` was made with this key."""
        return self.open(check, _CHECK_AAD) == _CHECK_TEXT


def new_key() -> bytes:
    """A fresh random 32-byte key."""
    return os.urandom(KEY_BYTES)


def encode_key(key: bytes) -> str:
    """A key as TILECRED_MASTER_KEY and the key file hold it: base64 text."""
    return base64.b64encode(key).decode("ascii")


def decode_key(text: str, source: str) -> bytes:
    """Decode base64 key text; the message names the source, never the value."""
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        key = b""
    if len(key) != KEY_BYTES:
        raise ConfigurationError(f"{source} must hold the base64 encoding of 32 bytes")
    return key


def check_key(key: object) -> bytes:
    """An explicit key: exactly 32 bytes."""
    if not isinstance(key, bytes) or len(key) != KEY_BYTES:
        raise ConfigurationError("the store key must be 32 bytes")
    return key


def key_from_environment(environ: Mapping[str, str]) -> KeySource | None:
    """The key in TILECRED_MASTER_KEY, if set."""
    text = environ.get(KEY_ENV)
    if text is None:
        return None
    return KeySource(decode_key(text, KEY_ENV), KEY_ENV)


def read_key_file(path: Path, *, private: bool = True) -> KeySource | None:
    """The key in a key file, or ``None`` when there is no such file.

    With ``private`` (the key file itself), a file that anyone but its owner
    may read or write is refused, as ssh refuses such a private key: the
    key and the database together are every secret in clear.
    """
    try:
        with path.open("rb") as file:
            mode = os.fstat(file.fileno()).st_mode
            text = file.read(_MAX_KEY_FILE_BYTES).decode("ascii")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigurationError(f"cannot read the key file {path}: {exc}") from exc
    if private and os.name == "posix" and mode & 0o077:
        raise ConfigurationError(
            f"the key file {path} is not private (mode {stat.S_IMODE(mode):04o}): "
            f"run chmod 600 {shlex.quote(str(path))}"
        )
    return KeySource(decode_key(text, f"the key file {path}"), f"the key file {path}", path)


def _write_private(path: Path, key: bytes) -> None:
    # 0600 from the first byte: the file is never readable by others, even briefly.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, (encode_key(key) + "\n").encode("ascii"))
        os.fsync(fd)
    finally:
        os.close(fd)


def _temporary(path: Path, pid: int) -> Path:
    return path.with_name(f".{path.name}.{pid}.tmp")


def create_key_file(path: Path) -> KeySource:
    """Create the key file with a new key; if another process won, use its key."""
    temporary = _temporary(path, os.getpid())
    with contextlib.suppress(FileNotFoundError):
        temporary.unlink()
    try:
        _write_private(temporary, new_key())
        try:
            # link() fails if the key file exists: two processes creating a store
            # at once end up with one key, never two.
            os.link(temporary, path)
        except FileExistsError:
            pass
        finally:
            temporary.unlink()
    except OSError as exc:
        raise ConfigurationError(f"cannot create the key file {path}: {exc}") from exc
    sync_directory(path.parent)
    source = read_key_file(path)
    if source is None:
        raise ConfigurationError(f"the key file {path} vanished while it was being created")
    return source


def write_pending_key_file(path: Path, key: bytes) -> Path:
    """Keep a rotation's new key beside the old one before the store changes.

    Each rotation's pending file has its own name (``key.new.<random>``), so
    one rotation can never move another's key into place.
    """
    pending = path.with_name(f"{path.name}.new.{secrets.token_hex(8)}")
    try:
        _write_private(pending, key)
    except OSError as exc:
        raise ConfigurationError(f"cannot write the key file {pending}: {exc}") from exc
    sync_directory(path.parent)
    return pending


def discard_pending_key_file(pending: Path) -> None:
    """Remove a pending key that the store never took."""
    with contextlib.suppress(OSError):
        pending.unlink()


def finish_rotation(pending: Path, path: Path) -> None:
    """Make a pending key the key file (the store already uses it).

    Another process may have finished this rotation already; the pending file
    is then gone and there is nothing left to do.
    """
    try:
        os.replace(pending, path)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise ConfigurationError(f"cannot replace the key file {path}: {exc}") from exc
    sync_directory(path.parent)


def adopt_pending_key(path: Path, check: bytes) -> KeySource | None:
    """Finish a rotation that stopped after the store took its new key.

    Returns the pending key that opens ``check``, now moved into the key file,
    or ``None`` when no pending key opens it.
    """
    for pending in pending_key_files(path):
        source = _pending_key(pending)
        if source is not None and Cipher(source.key).opens(check):
            finish_rotation(pending, path)
            return KeySource(source.key, f"the key file {path}", path)
    return None


def pending_key_files(path: Path) -> list[Path]:
    """The rotations' pending key files beside the key file ``path``."""
    return sorted(path.parent.glob(f"{path.name}.new.*"))


def _pending_key(pending: Path) -> KeySource | None:
    try:
        # Not refused for its mode: a pending key may be the only one that
        # opens the store, and it is made 0600 anyway.
        return read_key_file(pending, private=False)
    except ConfigurationError:
        return None


def remove_stale_pending_keys(path: Path, check: bytes) -> list[Path]:
    """Remove the pending key files that do not open the store's key check.

    The caller holds the store's write lock. A rotation writes its pending
    file only while it holds that lock, so none is half-way now: a pending
    file that does not open the store is what a rotation killed before it
    committed left behind (the store never took its key). One that opens
    the store is a committed rotation's new key, and is kept for
    :func:`adopt_pending_key`.

    Returns:
        The files removed.
    """
    removed = []
    for pending in pending_key_files(path):
        source = _pending_key(pending)
        if source is None or not Cipher(source.key).opens(check):
            try:
                pending.unlink()
            except OSError:
                continue  # gone already, or not ours to remove: the next open tries again
            removed.append(pending)
    return removed


def remove_abandoned_temporaries(path: Path) -> list[Path]:
    """Remove the temporary key files of key-file creations whose process is gone.

    Each creation names its temporary file with its process id; one whose
    process no longer exists was killed before it could remove it. A live
    process (or a new one that reuses the id) keeps its file.

    Returns:
        The files removed.
    """
    if os.name != "posix":
        return []  # os.kill(pid, 0) only asks on POSIX; elsewhere it can end the process
    removed = []
    for temporary in path.parent.glob(f".{path.name}.*.tmp"):
        pid = temporary.name[len(path.name) + 2 : -len(".tmp")]
        if not pid.isdigit() or temporary != _temporary(path, int(pid)) or _alive(int(pid)):
            continue
        try:
            temporary.unlink()
        except OSError:
            continue
        removed.append(temporary)
    return removed


def _alive(pid: int) -> bool:
    if pid <= 0:
        return True  # not one process's id: left alone
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, OverflowError):
        return False  # no such process, or an id no process can have
    except PermissionError:
        return True  # it exists, under another user
    return True
