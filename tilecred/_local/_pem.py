"""Loading an untrusted private key at a bounded cost.

Whoever sends a key chooses how much work decrypting and checking it takes:
PBKDF2's iteration count and scrypt's N, r and p are fields of the key
itself, and testing an RSA key's primes grows with the cube of their size.
So before any of that work, this module reads the PEM block and the key's
encryption parameters itself (a small DER reader: EncryptedPrivateKeyInfo,
then PBES2's PBKDF2 or scrypt parameters, or PBES1's and PKCS#12's iteration
count) and refuses anything above the ceilings in ``tilecred._limits``. Only
then does ``cryptography`` decrypt the key — without OpenSSL's check, whose
primality tests cost seconds for large keys — and an RSA key of a bounded
size is checked for consistency here.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import math
import re
from typing import TYPE_CHECKING

from .._limits import MAX_PBKDF2_ITERATIONS, MAX_RSA_BITS, MAX_SCRYPT_COST

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateNumbers
    from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes

__all__ = ["LOAD_FAILED", "KeyRefused", "PemKey", "load_key", "read_pem"]

# Why a key that passed every bound still did not load: the wrong passphrase,
# or damaged bytes (cryptography does not say which).
LOAD_FAILED = "does not load"

_BLOCK = re.compile(r"-----BEGIN ([A-Z0-9 ]+)-----(.*?)-----END \1-----", re.S)
_LABELS = frozenset(
    {"PRIVATE KEY", "ENCRYPTED PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY", "DSA PRIVATE KEY"}
)
_TRADITIONAL = frozenset({"RSA PRIVATE KEY", "EC PRIVATE KEY", "DSA PRIVATE KEY"})
_PBES2 = "1.2.840.113549.1.5.13"
_PBKDF2 = "1.2.840.113549.1.5.12"
_SCRYPT = "1.3.6.1.4.1.11591.4.11"
_HMAC_SHA1 = "1.2.840.113549.2.7"
_PRFS = {
    _HMAC_SHA1: "SHA1",
    "1.2.840.113549.2.8": "SHA224",
    "1.2.840.113549.2.9": "SHA256",
    "1.2.840.113549.2.10": "SHA384",
    "1.2.840.113549.2.11": "SHA512",
}
_AES_CBC = {
    "2.16.840.1.101.3.4.1.2": 16,
    "2.16.840.1.101.3.4.1.22": 24,
    "2.16.840.1.101.3.4.1.42": 32,
}
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
    # Only the traditional forms carry OpenSSL's legacy encryption; on any
    # other label the headers are ignored and only the DER is ever loaded.
    legacy = "Proc-Type: 4,ENCRYPTED" in headers and label in _TRADITIONAL
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
    from cryptography.exceptions import UnsupportedAlgorithm
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
            plain = None
            if key.encrypted and password is not None:
                plain = _decrypt_pbes2(key.der, password)
            der, password = (key.der, password) if plain is None else (plain, None)
            loaded = load_der_private_key(der, password, unsafe_skip_rsa_key_validation=True)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        # UnsupportedAlgorithm: a key of a type cryptography does not know
        # (an unknown OID) is refused like any key that does not load.
        raise KeyRefused(LOAD_FAILED) from None
    if isinstance(loaded, RSAPrivateKey):
        numbers = loaded.private_numbers()
        largest_prime = max(numbers.p.bit_length(), numbers.q.bit_length())
        if loaded.key_size > MAX_RSA_BITS or largest_prime > MAX_RSA_BITS // 2:
            raise KeyRefused(
                f"an RSA key of {loaded.key_size} bits; tilecred checks keys of at most "
                f"{MAX_RSA_BITS} bits"
            )
        if not _consistent(numbers):
            raise KeyRefused("does not load: its numbers are not an RSA key")
    return loaded


def _consistent(numbers: RSAPrivateNumbers) -> bool:
    """Whether a private key's numbers make one RSA key that signs and decrypts.

    In place of OpenSSL's own check, whose primality tests on the primes
    cost about a second for a 4096-bit key: a few multiplications catch a
    damaged or mismatched key just as well. A key whose "primes" are not
    prime does not come from any key generator; the service it is for
    refuses it when it is used.
    """
    p, q, d = numbers.p, numbers.q, numbers.d
    n, e = numbers.public_numbers.n, numbers.public_numbers.e
    if min(p, q) < 3 or p * q != n or e < 3 or not e % 2:
        return False
    return (
        e * d % math.lcm(p - 1, q - 1) == 1
        and numbers.dmp1 == d % (p - 1)
        and numbers.dmq1 == d % (q - 1)
        and numbers.iqmp * q % p == 1
    )


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


def _decrypt_pbes2(der: bytes, password: bytes) -> bytes | None:
    """The PrivateKeyInfo inside a PBES2 key encrypted with AES-CBC.

    cryptography's key derivation functions release the GIL, so a derivation
    at the ceiling does not stop the server's other threads; its key loader
    holds the GIL throughout. (hashlib's PBKDF2 releases it too, but over
    OpenSSL 3.0 it is several times slower.) ``None`` leaves other schemes (whose
    cost is bounded all the same) to cryptography.

    Raises:
        KeyRefused: the passphrase does not decrypt it (``LOAD_FAILED``).
    """
    (info,) = _fields(der, (_SEQUENCE,))
    algorithm, data = _fields(info, (_SEQUENCE, _OCTETS))
    scheme, params = _fields(algorithm, (_OID, _SEQUENCE))
    if _oid(scheme) != _PBES2:
        return None
    derivation, cipher = _fields(params, (_SEQUENCE, _SEQUENCE))
    kdf_oid, kdf_params = _fields(derivation, (_OID, _SEQUENCE))
    cipher_oid, iv = _fields(cipher, (_OID, _OCTETS))
    size = _AES_CBC.get(_oid(cipher_oid))
    items = _items(kdf_params)
    if size is None or len(iv) != 16 or len(items) < 2 or items[0][0] != _OCTETS:
        return None
    salt = items[0][1]
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC
    from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

    try:
        if _oid(kdf_oid) == _SCRYPT:
            n, r, p = (_unsigned(value) for _, value in items[1:4])
            key = Scrypt(salt=salt, length=size, n=n, r=r, p=p).derive(password)
        else:
            prf = _HMAC_SHA1
            if items[-1][0] == _SEQUENCE and (found := _items(items[-1][1])):
                prf = _oid(found[0][1])
            if prf not in _PRFS:
                return None
            algorithm = getattr(hashes, _PRFS[prf])()
            kdf = PBKDF2HMAC(algorithm, size, salt, _unsigned(items[1][1]))
            key = kdf.derive(password)
        return _aes_cbc_decrypt(key, iv, data)
    except ValueError:
        raise KeyRefused(LOAD_FAILED) from None


def _aes_cbc_decrypt(key: bytes, iv: bytes, data: bytes) -> bytes:
    from cryptography.hazmat.primitives import padding
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    decryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
    unpadder = padding.PKCS7(128).unpadder()
    padded = decryptor.update(data) + decryptor.finalize()
    return unpadder.update(padded) + unpadder.finalize()


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
