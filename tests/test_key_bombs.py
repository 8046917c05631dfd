"""Verifying untrusted key material costs bounded work, checked before any is done.

A key's sender chooses its PBKDF2 iteration count and scrypt's N, r and p;
30,000,000 iterations held the server for seconds. These keys are refused
from their parameters alone: the bombs here have random ciphertext, so a
verifier that derived the key anyway would spend the whole cost and then
answer "does not decrypt", not the refusal each test expects.
"""

from __future__ import annotations

import http.client
import json
import shutil
import subprocess
import threading
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

import tilecred
from tests._pkcs8 import (
    PBES2,
    PBKDF2,
    der_sequence,
    encrypted_pkcs8,
    iterated_pbe,
    pbes2_params,
    pem,
    pkcs8_with_scheme,
    unknown_algorithm_pkcs8,
)
from tests.test_server_harness import Running
from tilecred import CredentialsError
from tilecred._limits import MAX_PBKDF2_ITERATIONS, MAX_SCRYPT_COST

pytest_plugins = ["tests.test_server_harness"]

PASSPHRASE = "CANARY-passphrase-5e1d"
BOMB_ITERATIONS = 30_000_000
BOMB_REFUSAL = (
    "token.snowflake.private_key_raw: encrypted with 30,000,000 PBKDF2 iterations; "
    "tilecred accepts at most 600,000, so that checking a key takes bounded work"
)
VERIFY = "/v4/actions/credentials/verify"


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _snowflake(pem: str, passphrase: str | None = PASSPHRASE) -> dict[str, Any]:
    member = {"account": "acme", "user": "svc", "private_key_raw": pem}
    if passphrase is not None:
        member["private_key_passphrase"] = passphrase
    return {"snowflake": member}


def _refusal(token: dict[str, Any]) -> str:
    with pytest.raises(CredentialsError) as caught:
        tilecred.verify_credential("k", "SNOWFLAKE", token=token)
    assert caught.value.status == 422
    prefix = "could not verify credential 'k': 422 Unprocessable Entity: "
    assert str(caught.value).startswith(prefix)
    return str(caught.value)[len(prefix) :]


def _pbkdf2_bomb(iterations: int = BOMB_ITERATIONS) -> str:
    return encrypted_pkcs8(None, PASSPHRASE.encode(), iterations=iterations)


def test_a_pbkdf2_bomb_is_refused_from_its_parameters() -> None:
    assert _refusal(_snowflake(_pbkdf2_bomb())) == BOMB_REFUSAL
    assert _refusal(_snowflake(_pbkdf2_bomb(2**40))) == (
        "token.snowflake.private_key_raw: encrypted with 1,099,511,627,776 PBKDF2 iterations; "
        "tilecred accepts at most 600,000, so that checking a key takes bounded work"
    )


def test_the_pbkdf2_ceiling_itself_is_accepted(rsa_key: rsa.RSAPrivateKey) -> None:
    at_ceiling = encrypted_pkcs8(rsa_key, PASSPHRASE.encode(), iterations=MAX_PBKDF2_ITERATIONS)
    tilecred.verify_credential("k", "SNOWFLAKE", token=_snowflake(at_ceiling))
    assert _refusal(_snowflake(_pbkdf2_bomb(MAX_PBKDF2_ITERATIONS + 1))).startswith(
        "token.snowflake.private_key_raw: encrypted with 600,001 PBKDF2 iterations; "
    )


def test_an_scrypt_bomb_is_refused(rsa_key: rsa.RSAPrivateKey) -> None:
    bomb = encrypted_pkcs8(None, PASSPHRASE.encode(), scrypt=(2**20, 8, 1))
    assert _refusal(_snowflake(bomb)) == (
        "token.snowflake.private_key_raw: encrypted with scrypt N*r*p = 8,388,608; "
        "tilecred accepts at most 262,144, so that checking a key takes bounded work"
    )
    parallel = encrypted_pkcs8(None, PASSPHRASE.encode(), scrypt=(2**14, 8, 3))
    assert "scrypt N*r*p = 393,216" in _refusal(_snowflake(parallel))
    usual = encrypted_pkcs8(rsa_key, PASSPHRASE.encode(), scrypt=(2**14, 8, 1))
    assert MAX_SCRYPT_COST >= 2**14 * 8
    tilecred.verify_credential("k", "SNOWFLAKE", token=_snowflake(usual))


def test_pbes1_and_pkcs12_iteration_counts_are_bounded_too() -> None:
    for scheme in ("1.2.840.113549.1.5.10", "1.2.840.113549.1.12.1.3"):
        assert _refusal(_snowflake(iterated_pbe(scheme, 10**9))) == (
            "token.snowflake.private_key_raw: encrypted with 1,000,000,000 PBE iterations; "
            "tilecred accepts at most 600,000, so that checking a key takes bounded work"
        )


def test_a_bomb_under_another_label_is_still_read_as_encrypted() -> None:
    # cryptography's DER loader decrypts an encrypted key whatever the label says.
    relabelled = _pbkdf2_bomb().replace("ENCRYPTED PRIVATE KEY", "PRIVATE KEY")
    assert _refusal(_snowflake(relabelled)) == BOMB_REFUSAL
    # Legacy encryption headers on a PKCS#8 key do not make it "legacy".
    first, *rest = _pbkdf2_bomb().splitlines()
    headers = ["Proc-Type: 4,ENCRYPTED", "DEK-Info: AES-256-CBC,00112233445566778899AABBCCDDEEFF"]
    with_headers = "\n".join([first, *headers, "", *rest])
    assert _refusal(_snowflake(with_headers)) == BOMB_REFUSAL


def test_unknown_schemes_and_malformed_parameters_are_refused() -> None:
    unknown_kdf = pkcs8_with_scheme(PBES2, pbes2_params("1.2.3.4", der_sequence(1)))
    assert _refusal(_snowflake(unknown_kdf)) == (
        "token.snowflake.private_key_raw: encrypted with an unsupported key derivation "
        "(1.2.3.4): use PBKDF2"
    )
    unknown_scheme = pkcs8_with_scheme("1.2.3.5", der_sequence(1))
    assert _refusal(_snowflake(unknown_scheme)) == (
        "token.snowflake.private_key_raw: encrypted with an unsupported scheme (1.2.3.5): use PBES2"
    )
    no_count = pkcs8_with_scheme(PBES2, pbes2_params(PBKDF2, b"\x30\x00"))
    assert _refusal(_snowflake(no_count)) == (
        "token.snowflake.private_key_raw: not a PEM private key: its PBKDF2 parameters are "
        "malformed"
    )
    negative = pkcs8_with_scheme(PBES2, pbes2_params(PBKDF2, b"\x30\x06\x04\x01\x00\x02\x01\xff"))
    assert "encrypted with more than 2**64 PBKDF2 iterations" in _refusal(_snowflake(negative))
    truncated = pkcs8_with_scheme(PBES2, b"\x30\x7f\x00")
    assert _refusal(_snowflake(truncated)) == (
        "token.snowflake.private_key_raw: not a PEM private key: its DER is truncated"
    )


def test_a_key_of_an_algorithm_nobody_knows_is_refused_not_a_crash() -> None:
    # cryptography raises UnsupportedAlgorithm, not ValueError, for an unknown OID.
    key = pem("PRIVATE KEY", unknown_algorithm_pkcs8("1.2.3.4.5"))
    assert _refusal(_snowflake(key, passphrase=None)) == (
        "token.snowflake.private_key_raw: the private key does not load as PEM"
    )


def test_key_sizes_are_capped_before_parsing() -> None:
    huge = "-----BEGIN PRIVATE KEY-----\n" + "A" * 9000 + "\n-----END PRIVATE KEY-----\n"
    assert _refusal(_snowflake(huge, None)) == (
        "token.snowflake.private_key_raw: is 9,055 characters long; the limit is 8,192"
    )
    key = encrypted_pkcs8(None, PASSPHRASE.encode(), iterations=1000)
    assert _refusal(_snowflake(key, "p" * 1025)) == (
        "token.snowflake.private_key_passphrase: is 1,025 characters long; the limit is 1,024"
    )


def test_an_rsa_key_larger_than_the_limit_is_not_checked() -> None:
    # Numbers that only look like a 6001-bit key: loading them unchecked is
    # cheap, and they are refused before their "primes" would be tested.
    p, q = 2**3000 + 1, 2**3000 + 3
    numbers = rsa.RSAPrivateNumbers(
        p=p, q=q, d=3, dmp1=1, dmq1=1, iqmp=1,
        public_numbers=rsa.RSAPublicNumbers(65537, p * q),
    )  # fmt: skip
    big = numbers.private_key(unsafe_skip_rsa_key_validation=True)
    pem = big.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()  # fmt: skip
    assert _refusal(_snowflake(pem, None)) == (
        "token.snowflake.private_key_raw: the private key: an RSA key of 6001 bits; "
        "tilecred checks keys of at most 4096 bits"
    )


def test_legacy_openssl_encryption_still_verifies(rsa_key: rsa.RSAPrivateKey) -> None:
    legacy = rsa_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.BestAvailableEncryption(PASSPHRASE.encode()),
    ).decode()  # fmt: skip
    assert "Proc-Type: 4,ENCRYPTED" in legacy
    tilecred.verify_credential("k", "SNOWFLAKE", token=_snowflake(legacy))
    assert _refusal(_snowflake(legacy, "wrong")) == (
        "token.snowflake.private_key_passphrase: does not decrypt the private key"
    )


def test_gcp_key_files_are_bounded(rsa_key: rsa.RSAPrivateKey) -> None:
    def refusal(key_text: str) -> str:
        with pytest.raises(CredentialsError) as caught:
            tilecred.verify_credential(
                "g", "GCP", token={"gcp": {"account_id": "a", "key_id": "k1", "key_text": key_text}}
            )
        return str(caught.value).split("Unprocessable Entity: ", 1)[1]

    assert refusal("[" * 30_000) == (
        "token.gcp.key_text: not JSON: give the service-account key file Google issues"
    )
    assert (
        refusal(" " * 40_000)
        == "token.gcp.key_text: is 40,000 characters long; the limit is 32,768"
    )
    document = {
        "type": "service_account", "project_id": "p", "private_key_id": "k1",
        "private_key": _pbkdf2_bomb(1000), "client_email": "e", "token_uri": "https://t",
    }  # fmt: skip
    assert refusal(json.dumps(document)) == (
        "token.gcp.key_text: the private key: is encrypted; Google's key files are not"
    )


def test_list_with_verify_fails_a_stored_bomb_at_once(isolated: Any) -> None:
    tilecred.create_credential("bomb", "SNOWFLAKE", token=_snowflake(_pbkdf2_bomb()))
    [listed] = tilecred.list_credentials(verify=True)
    assert (listed.name, listed.status) == ("bomb", "failed")


def _post(server: Running, path: str, body: Any) -> tuple[int, Any]:
    conn = http.client.HTTPConnection(server.server.host, server.server.port, timeout=30)
    try:
        headers = {"X-TILEDB-REST-API-KEY": server.token, "Content-Type": "application/json"}
        conn.request("POST", path, body=json.dumps(body), headers=headers)
        resp = conn.getresponse()
        return resp.status, json.loads(resp.read())
    finally:
        conn.close()


def test_the_server_refuses_bombs_while_answering_others(server: Running) -> None:
    body = {"name": "bomb", "provider": "SNOWFLAKE", "token": _snowflake(_pbkdf2_bomb())}
    answers: list[tuple[int, Any]] = []
    bombs = [
        threading.Thread(target=lambda: answers.append(_post(server, VERIFY, body)))
        for _ in range(8)
    ]
    for bomb in bombs:
        bomb.start()
    # Another client, meanwhile: answered, and its answers are right.
    health = [server.request("GET", "/healthz", token=None) for _ in range(5)]
    for bomb in bombs:
        bomb.join(timeout=60)
    assert [reply.status for reply in health] == [200] * 5
    assert [status for status, _ in answers] == [422] * 8
    assert {answer["message"] for _, answer in answers} == {BOMB_REFUSAL}
    # Stored (create does not verify), then listed with verify: "failed" at once.
    assert _post(server, server.credentials_path(), body)[0] == 201
    listed = server.request("GET", server.credentials_path(), query=[("verify", "true")])
    assert [(c["name"], c["status"]) for c in listed.json["data"]] == [("bomb", "failed")]


def test_an_rsa_key_whose_numbers_disagree_is_refused(rsa_key: rsa.RSAPrivateKey) -> None:
    good = rsa_key.private_numbers()
    bad = rsa.RSAPrivateNumbers(
        p=good.p, q=good.q, d=good.d, dmp1=good.dmp1, dmq1=good.dmq1, iqmp=good.iqmp + 1,
        public_numbers=good.public_numbers,
    )  # fmt: skip
    pem = (
        bad.private_key(unsafe_skip_rsa_key_validation=True)
        .private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode()
    )  # fmt: skip
    assert _refusal(_snowflake(pem, None)) == (
        "token.snowflake.private_key_raw: the private key: does not load: its numbers are not "
        "an RSA key"
    )


OPENSSL = shutil.which("openssl")


@pytest.mark.skipif(OPENSSL is None, reason="needs the openssl command")
@pytest.mark.parametrize(
    "options",
    [
        ["-topk8", "-v2", "aes-256-cbc"],
        ["-topk8", "-v2", "aes-128-cbc", "-v2prf", "hmacWithSHA512"],
        ["-topk8", "-v2", "des3"],
        ["-topk8", "-v1", "PBE-SHA1-3DES"],
        ["-topk8", "-scrypt"],
    ],
)
def test_keys_openssl_writes_still_verify(
    rsa_key: rsa.RSAPrivateKey, tmp_path: Path, options: list[str]
) -> None:
    plain = tmp_path / "plain.pem"
    plain.write_bytes(
        rsa_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )  # fmt: skip
    encrypted = tmp_path / "encrypted.pem"
    assert OPENSSL is not None
    subprocess.run(
        [OPENSSL, "pkcs8", *options, "-in", str(plain), "-out", str(encrypted),
         "-passout", f"pass:{PASSPHRASE}"],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    pem = encrypted.read_text()
    tilecred.verify_credential("k", "SNOWFLAKE", token=_snowflake(pem))
    assert _refusal(_snowflake(pem, "wrong")) == (
        "token.snowflake.private_key_passphrase: does not decrypt the private key"
    )
