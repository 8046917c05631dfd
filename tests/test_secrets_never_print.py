"""A canary secret and a canary token never show: not in reprs, rich, errors or settings."""

from __future__ import annotations

import datetime
import io
import pickle
import pprint
from typing import Any

import msgspec
import pytest
import rich.pretty
from pytest_httpserver import HTTPServer
from rich.console import Console

import tilecred
from tests.conftest import CANARY_SECRET, CANARY_TOKEN
from tilecred import (
    AccessCredential,
    AWSCredential,
    AzureCredential,
    AzureToken,
    Client,
    CloudProvider,
    Credential,
    CredentialCreateRequest,
    CredentialType,
    DatabricksServicePrincipalSecret,
    GCPInteroperabilityCredential,
    GCPServiceAccountKey,
    InvalidArgumentError,
    SnowflakeServiceUserKey,
    Token,
)
from tilecred._models import _Model

# One struct per secret field, each holding the canary in that field.
HOLDERS: list[_Model] = [
    AWSCredential(access_key_id="AKIA1", secret_access_key=CANARY_SECRET),
    AzureCredential(account_name="acct", account_key=CANARY_SECRET),
    GCPInteroperabilityCredential(access_key_id="GOOG1", secret_access_key=CANARY_SECRET),
    AzureToken(account_name="acct", sas_token=CANARY_SECRET),
    GCPServiceAccountKey(account_id="svc", key_id="k1", key_text=CANARY_SECRET),
    SnowflakeServiceUserKey(user="u", private_key_raw=CANARY_SECRET),
    SnowflakeServiceUserKey(user="u", private_key_passphrase=CANARY_SECRET),
    DatabricksServicePrincipalSecret(client_id="sp", client_secret=CANARY_SECRET),
]
_IDS = [f"{type(h).__name__}-{i}" for i, h in enumerate(HOLDERS)]


def _secret_field(holder: _Model) -> str:
    return next(f for f in holder.__secret_fields__ if getattr(holder, f) == CANARY_SECRET)


def _wrapped(holder: _Model) -> AccessCredential:
    """The holder inside its container inside an AccessCredential."""
    if isinstance(holder, AWSCredential | AzureCredential | GCPInteroperabilityCredential):
        field = {AWSCredential: "aws", AzureCredential: "azure"}.get(type(holder), "gcp")
        member: dict[str, Any] = {field: holder}
        secret: dict[str, Any] = {"credential": Credential(**member)}
    else:
        field = {
            AzureToken: "azure",
            GCPServiceAccountKey: "gcp",
            SnowflakeServiceUserKey: "snowflake",
            DatabricksServicePrincipalSecret: "databricks",
        }[type(holder)]
        member = {field: holder}
        secret = {"token": Token(**member)}
    return AccessCredential(
        credential_type=CredentialType.WORKSPACE,
        id="cred_1",
        name="canary",
        provider=CloudProvider.AWS,
        created_at=datetime.datetime(2026, 11, 1, tzinfo=datetime.UTC),
        **secret,
    )


class _PrettyPrinter:
    """Collects what IPython's RepresentationPrinter would be given."""

    def __init__(self) -> None:
        self.parts: list[str] = []

    def text(self, value: str) -> None:
        self.parts.append(value)


def _rich_console(value: object) -> str:
    out = io.StringIO()
    Console(file=out, width=60, color_system=None, force_terminal=False).print(value)
    return out.getvalue()


def _every_rendering(value: object) -> dict[str, str]:
    printer = _PrettyPrinter()
    if isinstance(value, _Model):
        value._repr_pretty_(printer, False)
    else:
        printer.text(repr(value))
    html = getattr(value, "_repr_html_", None)
    return {
        "html": html() if html is not None else repr(value),
        "repr": repr(value),
        "str": str(value),
        "f-string": f"{value}",
        "f-string !r": f"{value!r}",
        "%s": "%s" % (value,),  # noqa: UP031 - logging formats this way
        "pprint": pprint.pformat(value, width=40),
        "rich pretty_repr": rich.pretty.pretty_repr(value),
        "rich pretty_repr narrow": rich.pretty.pretty_repr(value, max_width=20),
        "rich console": _rich_console(value),
        "ipython": "".join(printer.parts),
    }


@pytest.mark.parametrize("holder", HOLDERS, ids=_IDS)
def test_a_secret_field_never_prints_but_stays_readable(holder: _Model) -> None:
    field = _secret_field(holder)
    cred = _wrapped(holder)
    shapes: dict[str, object] = {
        "struct": holder,
        "access credential": cred,
        "list": [holder, cred],
        "dict": {"cred": cred},
        "tuple": (cred,),
        "request": CredentialCreateRequest(
            name="n", provider=CloudProvider.AWS, credential=cred.credential, token=cred.token
        ),
    }
    for shape, value in shapes.items():
        for how, text in _every_rendering(value).items():
            assert CANARY_SECRET not in text, f"{shape} via {how}"
            # The HTML table has no secret column at all: nothing to mask.
            assert "***" in text or how == "html", f"{shape} via {how}"
    assert repr(holder).count(f"{field}='***'") == 1
    # The value itself is a plain attribute, and it does reach the wire.
    assert getattr(holder, field) == CANARY_SECRET
    assert CANARY_SECRET.encode() in msgspec.json.encode(cred)


def test_masked_repr_is_exact() -> None:
    cred = AWSCredential(access_key_id="AKIA1", secret_access_key=CANARY_SECRET)
    assert repr(cred) == "AWSCredential(access_key_id='AKIA1', secret_access_key='***')"
    assert rich.pretty.pretty_repr(Credential(aws=cred)) == (
        "Credential(aws=AWSCredential(access_key_id='AKIA1', secret_access_key='***'))"
    )
    assert repr(AWSCredential(access_key_id="AKIA1")) == "AWSCredential(access_key_id='AKIA1')"


# -- errors ---------------------------------------------------------------------


@pytest.fixture
def client(httpserver: HTTPServer) -> Client:
    return Client(host=httpserver.url_for("/"), token=CANARY_TOKEN, workspace="ws_canary")


BAD_SECRET_ARGUMENTS: list[tuple[str, dict[str, Any], str]] = [
    (
        "AWS",
        {"credential": {"aws": {"access_key_id": 5, "secret_access_key": CANARY_SECRET}}},
        "invalid credential: Expected `str`, got `int` - at `$.aws.access_key_id`",
    ),
    (
        "AWS",
        {"credential": {"aws": {"secret_access_key": CANARY_SECRET}}},
        "invalid credential: Object missing required field `access_key_id` - at `$.aws`",
    ),
    (
        "AWS",
        {"credential": {"aws": {"access_key_id": "A", "secret_access_key": [CANARY_SECRET]}}},
        "invalid credential: Expected `str | null`, got `array` - at `$.aws.secret_access_key`",
    ),
    (
        "AWS",
        {"credential": {"azure": {"account_name": "a", "account_key": CANARY_SECRET}}},
        "credential.azure is for provider AZURE, not AWS",
    ),
    (
        "AZURE",
        {
            "credential": {"azure": {"account_key": CANARY_SECRET}},
            "token": {"azure": {"account_name": "a", "sas_token": CANARY_SECRET}},
        },
        "give only one of credential, role and token, not credential and token",
    ),
    (
        "GCP",
        {"token": {"gcp": {"account_id": "a", "key_id": 1, "key_text": CANARY_SECRET}}},
        "invalid token: Expected `str`, got `int` - at `$.gcp.key_id`",
    ),
    (
        "SNOWFLAKE",
        {
            "token": {
                "snowflake": {"private_key_raw": CANARY_SECRET},
                "databricks": {"client_secret": CANARY_SECRET},
            }
        },
        "token must hold exactly one member, found snowflake, databricks",
    ),
]


@pytest.mark.parametrize(("provider", "kwargs", "message"), BAD_SECRET_ARGUMENTS)
def test_argument_errors_never_show_the_secret(
    client: Client, httpserver: HTTPServer, provider: str, kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(InvalidArgumentError) as info:
        client.create_credential("canary", provider, **kwargs)
    error = info.value
    assert str(error) == message
    for text in (str(error), repr(error), *map(str, error.args)):
        assert CANARY_SECRET not in text
        assert CANARY_TOKEN not in text
    assert CANARY_SECRET.encode() not in pickle.dumps(error)
    assert httpserver.log == []


def test_an_unencodable_secret_never_shows(client: Client, httpserver: HTTPServer) -> None:
    # A lone surrogate cannot be encoded as JSON; the error names the field,
    # not the secret.
    with pytest.raises(InvalidArgumentError) as info:
        client.create_credential(
            "canary",
            "SNOWFLAKE",
            token={"snowflake": {"user": "u", "private_key_raw": CANARY_SECRET + "\ud800"}},
        )
    assert str(info.value) == (
        "invalid token: String contains a lone surrogate - at `$.snowflake.private_key_raw`"
    )
    assert isinstance(info.value.__cause__, UnicodeEncodeError)
    assert httpserver.log == []


# -- settings and clients -----------------------------------------------------------


def test_settings_and_client_never_show_the_token_or_password(
    httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TILEDB_REST_PASSWORD", CANARY_SECRET)
    for client in (
        Client(host=httpserver.url_for("/"), token=CANARY_TOKEN),
        Client(host=httpserver.url_for("/"), username="me"),
    ):
        before = repr(client)
        settings = client.settings
        renderings = {
            "client before": before,
            **{f"client {k}": v for k, v in _every_rendering(client).items()},
            **{f"settings {k}": v for k, v in _every_rendering(settings).items()},
            "describe": repr(settings.describe()),
            "masked": repr(settings.masked_token),
        }
        for how, text in renderings.items():
            assert CANARY_TOKEN not in text, how
            assert CANARY_SECRET not in text, how
            assert "CANARYTOKEN" not in text, how
    assert tilecred.Settings.__dataclass_fields__["token"].repr is False
    assert tilecred.Settings.__dataclass_fields__["password"].repr is False
