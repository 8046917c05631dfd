"""Loading an untrusted private key at a bounded cost.

Whoever sends a key chooses how much work decrypting and checking it takes:
PBKDF2's iteration count and scrypt's N, r and p are fields of the key
itself, and testing an RSA key's primes grows with the cube of their size.
So before any of that work, this module reads the PEM block and the key's
encryption parameters itself (a small DER reader: EncryptedPrivateKeyInfo,
then PBES2's PBKDF2 or scrypt parameters, or PBES1's and PKCS#12's iteration
count) and refuses anything above the ceilings in ``tilecred._limits``. Only
then does ``cryptography`` decrypt the key — without checking it — and only a
key of a bounded size is then checked.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import re
from typing import TYPE_CHECKING

from .._limits import MAX_PBKDF2_ITERATIONS, MAX_RSA_BITS, MAX_SCRYPT_COST

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes

__all__ = ["LOAD_FAILED", "KeyRefused", "PemKey", "load_key", "read_pem"]

# Why a key that passed every bound still did not load: the wrong passphrase,
# or damaged bytes (cryptography does not say which).
LOAD_FAILED = "does not load"

_BLOCK = re.compile(r"-----BEGIN ([A-Z0-9 ]+)-----(.*?)-----END \1-----", re.S)
_LABELS = frozenset(
    {"PRIVATE KEY", "ENCRYPTED PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY", "DSA PRIVATE KEY"}
)
_PBES2 = "1.2.840.113549.1.5.13"
_PBKDF2 = "1.2.840.113549.1.5.12"
_SCRYPT = "1.3.6.1.4.1.11591.4.11"
# PBES1 (PKCS#5 v1.5) and PKCS#12's PBE schemes: parameters are a salt and
# an iteration count.
_ITERATED_PREFIXES = ("1.2.840.113549.1.5.", "1.2.840.113549.1.12.1.")
# No cipher takes a longer key; a larger keyLength would multiply PBKDF2's work.
_MAX_KEY_LENGTH = 64
_INTEGER, _OCTETS, _OID, _SEQUENCE = 0x02, 0x04, 0x06, 0x30


class KeyRefused(Exception):
    """The key is malformed or would cost too much to check: why, in one line."""


@dataclasses.dataclass(frozen=True)
class PemKey:
    """One PEM private key block: its label, its bytes and whether it is encrypted."""

    label: str
    der: bytes = dataclasses.field(repr=False)
    block: bytes = dataclasses.field(repr=False)
    encrypted: bool
    legacy: bool  # OpenSSL's own "Proc-Type: 4,ENCRYPTED" form


def read_pem(text: str) -> PemKey:
    """The one private key block in ``text``; the caller has bounded its size.

    Raises:
        KeyRefused: no private key block, several, or one that does not decode.
    """
    text = text.replace("\r\n", "\n")
    blocks = [m for m in _BLOCK.finditer(text) if m.group(1).endswith("PRIVATE KEY")]
    if not blocks:
        raise KeyRefused("not a PEM private key (-----BEGIN PRIVATE KEY-----)")
    if len(blocks) > 1:
        raise KeyRefused(f"holds {len(blocks)} private keys; give one")
    label, body = blocks[0].group(1), blocks[0].group(2)
    if label not in _LABELS:
        raise KeyRefused(f"a {label} is not supported: give a PKCS#8 key (BEGIN PRIVATE KEY)")
    headers, _, encoded = body.rpartition("\n\n") if ":" in body else ("", "", body)
    legacy = "Proc-Type: 4,ENCRYPTED" in headers
    try:
        der = base64.b64decode("".join(encoded.split()), validate=True)
    except (binascii.Error, ValueError):
        raise KeyRefused("not a PEM private key: its base64 does not decode") from None
    # Whether the DER is encrypted is read from the DER, not the label:
    # cryptography's DER loader takes an encrypted key under any label.
    encrypted = legacy or _is_encrypted(der)
    if encrypted and not legacy:
        _check_encryption(der)
    return PemKey(label, der, blocks[0].group(0).encode(), encrypted, legacy)


def load_key(key: PemKey, password: bytes | None) -> PrivateKeyTypes:
    """Decrypt and parse the key, then check it if it is small enough to check.

    Raises:
        KeyRefused: it does not load (wrong passphrase, damaged), it is an RSA
            key larger than ``MAX_RSA_BITS``, or its numbers are not an RSA key.
    """
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
    from cryptography.hazmat.primitives.serialization import (
        load_der_private_key,
        load_pem_private_key,
    )

    try:
        if key.legacy:
            # OpenSSL's legacy encryption derives its key with one MD5 round.
            loaded = load_pem_private_key(key.block, password, unsafe_skip_rsa_key_validation=True)
        else:
            loaded = load_der_private_key(key.der, password, unsafe_skip_rsa_key_validation=True)
    except (ValueError, TypeError):
        raise KeyRefused(LOAD_FAILED) from None
    if isinstance(loaded, RSAPrivateKey):
        numbers = loaded.private_numbers()
        largest_prime = max(numbers.p.bit_length(), numbers.q.bit_length())
        if loaded.key_size > MAX_RSA_BITS or largest_prime > MAX_RSA_BITS // 2:
            raise KeyRefused(
                f"an RSA key of {loaded.key_size} bits; tilecred checks keys of at most "
                f"{MAX_RSA_BITS} bits"
            )
        try:
            # The check skipped above: the numbers make a consistent key.
            numbers.private_key()
        except ValueError:
            raise KeyRefused("does not load: its numbers are not an RSA key") from None
    return loaded


# -- the DER reader -------------------------------------------------------------------


def _items(data: bytes) -> list[tuple[int, bytes]]:
    """The TLVs that ``data`` holds, end to end: (tag, content) each."""
    items, pos = [], 0
    while pos < len(data):
        if pos + 2 > len(data):
            raise KeyRefused("not a PEM private key: its DER is truncated")
        tag, length, pos = data[pos], data[pos + 1], pos + 2
        if length >= 0x80:
            count = length & 0x7F
            if not 1 <= count <= 4 or pos + count > len(data):
                raise KeyRefused("not a PEM private key: its DER is malformed")
            length, pos = int.from_bytes(data[pos : pos + count], "big"), pos + count
        if pos + length > len(data):
            raise KeyRefused("not a PEM private key: its DER is truncated")
        items.append((tag, data[pos : pos + length]))
        pos += length
    return items


def _is_encrypted(der: bytes) -> bool:
    """Whether ``der`` is an EncryptedPrivateKeyInfo (its first member a SEQUENCE).

    Unencrypted keys (PKCS#8, PKCS#1, SEC 1) start with an INTEGER version.
    """
    (outer,) = _fields(der, (_SEQUENCE,))
    inner = _items(outer)
    return bool(inner) and inner[0][0] == _SEQUENCE


def _fields(data: bytes, tags: tuple[int, ...], optional: int = 0) -> list[bytes]:
    """The contents of a SEQUENCE whose members have ``tags`` (the last ``optional`` may lack)."""
    items = _items(data)
    if not len(tags) - optional <= len(items) <= len(tags) or any(
        tag != want for (tag, _), want in zip(items, tags, strict=False)
    ):
        raise KeyRefused("not a PEM private key: its DER is malformed")
    return [content for _, content in items]


def _oid(content: bytes) -> str:
    arcs, value = [], 0
    for byte in content:
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            arcs.append(value)
            value = 0
    if not arcs:
        return ""
    first = min(arcs[0] // 40, 2)
    return ".".join(str(arc) for arc in [first, arcs[0] - 40 * first, *arcs[1:]])


def _unsigned(content: bytes) -> int:
    # Anything longer than 8 bytes is far past every ceiling; a negative
    # count is malformed. Either way, nothing large is ever converted.
    if not content or len(content) > 9 or content[0] & 0x80:
        return 2**64
    return int.from_bytes(content, "big")


def _check_encryption(der: bytes) -> None:
    """Refuse an EncryptedPrivateKeyInfo whose key derivation costs too much."""
    (info,) = _fields(der, (_SEQUENCE,))
    algorithm, _data = _fields(info, (_SEQUENCE, _OCTETS))
    items = _items(algorithm)
    if not items or items[0][0] != _OID:
        raise KeyRefused("not a PEM private key: its DER is malformed")
    scheme = _oid(items[0][1])
    params = items[1][1] if len(items) > 1 else b""
    if scheme == _PBES2:
        kdf, _cipher = _fields(params, (_SEQUENCE, _SEQUENCE))
        kdf_items = _fields(kdf, (_OID, _SEQUENCE))
        _check_kdf(_oid(kdf_items[0]), kdf_items[1])
    elif scheme.startswith(_ITERATED_PREFIXES):
        _salt, count = _fields(params, (_OCTETS, _INTEGER))
        _check_iterations(_unsigned(count), "PBE")
    else:
        raise KeyRefused(f"encrypted with an unsupported scheme ({scheme}): use PBES2")


def _check_kdf(kdf: str, params: bytes) -> None:
    items = _items(params)
    if kdf == _PBKDF2:
        # salt (OCTET STRING, or an AlgorithmIdentifier), iterationCount,
        # keyLength OPTIONAL, prf DEFAULT hmacWithSHA1.
        if len(items) < 2 or items[1][0] != _INTEGER:
            raise KeyRefused("not a PEM private key: its PBKDF2 parameters are malformed")
        _check_iterations(_unsigned(items[1][1]), "PBKDF2")
        if len(items) > 2 and items[2][0] == _INTEGER:
            _check_key_length(_unsigned(items[2][1]))
    elif kdf == _SCRYPT:
        salt_n_r_p = _fields(params, (_OCTETS, _INTEGER, _INTEGER, _INTEGER, _INTEGER), 1)
        n, r, p = (_unsigned(value) for value in salt_n_r_p[1:4])
        if n * r * p > MAX_SCRYPT_COST:
            raise KeyRefused(
                f"encrypted with scrypt N*r*p = {n * r * p:,}; tilecred accepts at most "
                f"{MAX_SCRYPT_COST:,}, so that checking a key takes bounded work"
            )
        if len(salt_n_r_p) > 4:
            _check_key_length(_unsigned(salt_n_r_p[4]))
    else:
        raise KeyRefused(f"encrypted with an unsupported key derivation ({kdf}): use PBKDF2")


def _check_iterations(count: int, kdf: str) -> None:
    if count > MAX_PBKDF2_ITERATIONS:
        shown = f"{count:,}" if count < 2**64 else "more than 2**64"
        raise KeyRefused(
            f"encrypted with {shown} {kdf} iterations; tilecred accepts at most "
            f"{MAX_PBKDF2_ITERATIONS:,}, so that checking a key takes bounded work"
        )


def _check_key_length(length: int) -> None:
    if length > _MAX_KEY_LENGTH:
        raise KeyRefused(f"its encryption asks for a {length}-byte key; no cipher needs one")
