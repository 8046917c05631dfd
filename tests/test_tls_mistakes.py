"""TLS mistakes say what to do: an untrusted certificate, http:// to the HTTPS
port, and --tls-cert / --tls-key the wrong way round."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import pytest

import tilecred
from tests.conftest import CANARY_TOKEN
from tests.test_server_tls import (
    Certificate,
    _scheme_app,
    certificate,
    make_certificate,
    serving,
)
from tilecred import ConfigurationError, CredentialsError
from tilecred._server._serve import Server, TLSFiles, make_server

__all__ = ["certificate", "serving"]  # the fixtures, for the tests here


def _refusal(host: str, **settings: object) -> CredentialsError:
    with (
        tilecred.Client(host=host, token=CANARY_TOKEN, retries=0, **settings) as client,  # type: ignore[arg-type]
        pytest.raises(CredentialsError) as caught,
    ):
        client.get_credential("lake")
    assert CANARY_TOKEN not in str(caught.value)
    return caught.value


def test_a_self_signed_server_without_a_ca_names_ca_file_and_the_variable(
    serving: Callable[..., Server], certificate: Certificate
) -> None:
    server = serving(_scheme_app, certificate.files)
    message = str(_refusal(server.url))
    assert message.startswith(
        f"could not get credential 'lake': TLS failure talking to {server.url}: "
    )
    assert "CERTIFICATE_VERIFY_FAILED" in message
    assert message.endswith(
        "; for a self-signed or private-CA certificate, give its file as ca_file= or "
        "TILEDB_SSL_CA_FILE"
    )


def test_a_ca_file_that_did_not_sign_the_certificate_is_named(
    serving: Callable[..., Server], certificate: Certificate, tmp_path: Path
) -> None:
    server = serving(_scheme_app, certificate.files)
    other = make_certificate(tmp_path / "other")
    message = str(_refusal(server.url, ca_file=str(other.cert)))
    assert message.endswith(f"; the server's certificate is not signed by ca_file {other.cert}")


def test_http_to_the_https_port_is_told_this_server_speaks_https(
    serving: Callable[..., Server], certificate: Certificate, caplog: pytest.LogCaptureFixture
) -> None:
    server = serving(_scheme_app, certificate.files)
    plain = server.url.replace("https://", "http://")
    with caplog.at_level(logging.WARNING, logger="tilecred.server"):
        refused = _refusal(plain)
    assert (type(refused), refused.status) == (CredentialsError, 400)
    assert str(refused) == (
        "could not get credential 'lake': 400 Bad Request: this server speaks HTTPS, and a "
        "plain-HTTP request came to its port: give the host as https://, not http://"
    )
    assert [r.getMessage() for r in caplog.records if r.name == "tilecred.server"] == [
        "plain-HTTP request from 127.0.0.1 to the HTTPS port: the client needs https://"
    ]


def test_swapped_tls_files_name_the_file_that_is_wrong(tmp_path: Path) -> None:
    cert = make_certificate(tmp_path / "a")
    with pytest.raises(ConfigurationError) as swapped:
        make_server(_scheme_app, "127.0.0.1", 0, 1, tls=TLSFiles(cert.key, cert.cert))
    assert swapped.value.message == (
        f"cannot serve TLS: --tls-cert {cert.key} holds a private key, not a certificate "
        "(are --tls-cert and --tls-key the wrong way round?)"
    )
    with pytest.raises(ConfigurationError) as twice:
        make_server(_scheme_app, "127.0.0.1", 0, 1, tls=TLSFiles(cert.cert, cert.cert))
    assert twice.value.message == (
        f"cannot serve TLS: --tls-key {cert.cert} holds a certificate, not a private key"
    )
