"""Encrypted PKCS#8 keys with the key-derivation parameters a test chooses.

cryptography cannot set PBKDF2's iteration count or scrypt's N, r and p
when it writes a key, so this module writes the DER itself
(EncryptedPrivateKeyInfo, PBES2, AES-256-CBC). With ``key=None`` the
ciphertext is random bytes and nothing is derived: a "key bomb" whose
parameters would take minutes to derive costs nothing to make, and a
verifier that does the work anyway fails only after doing all of it.
"""

from __future__ import annotations

import base64
import os

from cryptography.hazmat.primitives import hashes, padding
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

__all__ = [
    "der_sequence",
    "encrypted_pkcs8",
    "iterated_pbe",
    "pbes2_params",
    "pem",
    "pkcs8_with_scheme",
]

PBES2 = "1.2.840.113549.1.5.13"
PBKDF2 = "1.2.840.113549.1.5.12"
SCRYPT = "1.3.6.1.4.1.11591.4.11"
HMAC_SHA256 = "1.2.840.113549.2.9"
AES256_CBC = "2.16.840.1.101.3.4.1.42"


def _tlv(tag: int, content: bytes) -> bytes:
    size = len(content)
    if size < 0x80:
        return bytes([tag, size]) + content
    length = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(length)]) + length + content


def _seq(*parts: bytes) -> bytes:
    return _tlv(0x30, b"".join(parts))


def _int(value: int) -> bytes:
    return _tlv(0x02, value.to_bytes(value.bit_length() // 8 + 1, "big"))


def _oid(dotted: str) -> bytes:
    arcs = [int(arc) for arc in dotted.split(".")]
    body = bytearray([40 * arcs[0] + arcs[1]])
    for arc in arcs[2:]:
        chunk = [arc & 0x7F]
        while arc > 0x7F:
            arc >>= 7
            chunk.append(0x80 | (arc & 0x7F))
        body.extend(reversed(chunk))
    return _tlv(0x06, bytes(body))


def pem(label: str, der: bytes) -> str:
    """``der`` as PEM text under ``label``."""
    text = base64.b64encode(der).decode()
    lines = [text[i : i + 64] for i in range(0, len(text), 64)]
    return "\n".join([f"-----BEGIN {label}-----", *lines, f"-----END {label}-----", ""])


def encrypted_pkcs8(
    key: RSAPrivateKey | None,
    passphrase: bytes,
    *,
    iterations: int | None = None,
    scrypt: tuple[int, int, int] | None = None,
) -> str:
    """An ENCRYPTED PRIVATE KEY PEM: PBKDF2 (``iterations``) or scrypt (``(n, r, p)``)."""
    salt, iv = os.urandom(16), os.urandom(16)
    if scrypt is not None:
        n, r, p = scrypt
        kdf = _seq(_oid(SCRYPT), _seq(_tlv(0x04, salt), _int(n), _int(r), _int(p), _int(32)))
    else:
        assert iterations is not None
        prf = _seq(_oid(HMAC_SHA256), b"\x05\x00")
        kdf = _seq(_oid(PBKDF2), _seq(_tlv(0x04, salt), _int(iterations), prf))
    if key is None:
        ciphertext = os.urandom(1232)
    else:
        if scrypt is not None:
            derived = Scrypt(salt=salt, length=32, n=n, r=r, p=p).derive(passphrase)
        else:
            assert iterations is not None
            pbkdf2 = PBKDF2HMAC(hashes.SHA256(), length=32, salt=salt, iterations=iterations)
            derived = pbkdf2.derive(passphrase)
        plain = key.private_bytes(Encoding.DER, PrivateFormat.PKCS8, NoEncryption())
        padder = padding.PKCS7(128).padder()
        padded = padder.update(plain) + padder.finalize()
        encryptor = Cipher(algorithms.AES(derived), modes.CBC(iv)).encryptor()
        ciphertext = encryptor.update(padded) + encryptor.finalize()
    scheme = _seq(_oid(AES256_CBC), _tlv(0x04, iv))
    algorithm = _seq(_oid(PBES2), _seq(kdf, scheme))
    return pem("ENCRYPTED PRIVATE KEY", _seq(algorithm, _tlv(0x04, ciphertext)))


def pkcs8_with_scheme(scheme: str, params: bytes, label: str = "ENCRYPTED PRIVATE KEY") -> str:
    """An EncryptedPrivateKeyInfo with any scheme OID and DER parameters; random ciphertext."""
    algorithm = _seq(_oid(scheme), params)
    return pem(label, _seq(algorithm, _tlv(0x04, os.urandom(1232))))


def iterated_pbe(scheme: str, iterations: int) -> str:
    """A PBES1 or PKCS#12 PBE key (salt and iteration count); random ciphertext."""
    return pkcs8_with_scheme(scheme, _seq(_tlv(0x04, os.urandom(8)), _int(iterations)))


def pbes2_params(kdf: str, kdf_params: bytes) -> bytes:
    """PBES2 parameters with any key derivation OID and parameters, AES-256-CBC."""
    scheme = _seq(_oid(AES256_CBC), _tlv(0x04, os.urandom(16)))
    return _seq(_seq(_oid(kdf), kdf_params), scheme)


def unknown_algorithm_pkcs8(dotted: str) -> bytes:
    """An unencrypted PKCS#8 PrivateKeyInfo whose algorithm is ``dotted``."""
    return _seq(_int(0), _seq(_oid(dotted)), _tlv(0x04, _seq(_int(1))))


def der_sequence(*integers: int) -> bytes:
    """A SEQUENCE of INTEGERs (for hand-made parameters)."""
    return _seq(*(_int(value) for value in integers))
