"""The public surface: imports, __all__, signatures, types, and one error family."""

from __future__ import annotations

import inspect
import logging
import subprocess
import sys
import types
from typing import Any, assert_type

import pytest
from pytest_httpserver import HTTPServer

import tilecred
from tests.conftest import CANARY_SECRET, CANARY_TOKEN
from tilecred import AccessCredential, Client, CredentialsError, Pager

P = inspect.Parameter
POS, KW = P.POSITIONAL_OR_KEYWORD, P.KEYWORD_ONLY
_ = P.empty

# shared/DESIGN.md, "The public surface": (name, kind, default) in order.
SECRET_PARAMETERS = [
    ("teamspace", KW, None), ("provider_default", KW, None), ("allowed_in_tasks", KW, None),
    ("credential", KW, None), ("role", KW, None), ("token", KW, None),
]  # fmt: skip
SIGNATURES: dict[str, list[tuple[str, Any, Any]]] = {
    # TileDB's parameters in TileDB's order; tilecred's own after them, keyword-only
    # (description: issue #20).
    "create_credential": [
        ("name", POS, _), ("provider", POS, _), *SECRET_PARAMETERS, ("description", KW, None),
        ("verify_first", KW, False), ("exist_ok", KW, False),
    ],
    "get_credential": [("name", POS, _), ("teamspace", KW, None)],
    "list_credentials": [
        ("teamspace", POS, None), ("page", POS, 1), ("per_page", POS, None),
        ("provider", KW, None), ("exclude_provider", KW, None), ("credential_type", KW, None),
        ("verify", KW, None),
    ],
    "update_credential": [
        ("cred_name", POS, _), ("teamspace", KW, None), ("name", KW, None),
        ("provider_default", KW, None), ("provider", KW, None), ("allowed_in_tasks", KW, None),
        ("credential", KW, None), ("role", KW, None), ("token", KW, None),
        ("description", KW, None), ("verify_first", KW, False),
    ],
    "delete_credential": [("name", POS, _), ("teamspace", KW, None)],
    # provider: optional only for live=True, tilecred's addition after TileDB's (issue #20).
    "verify_credential": [
        ("name", POS, _), ("provider", POS, None), *SECRET_PARAMETERS, ("live", KW, False),
    ],
}  # fmt: skip


def _shape(function: Any) -> list[tuple[str, Any, Any]]:
    parameters = inspect.signature(function).parameters.values()
    return [(p.name, p.kind, p.default) for p in parameters if p.name != "self"]


@pytest.mark.parametrize("name", list(SIGNATURES))
def test_module_functions_have_the_designed_signatures(name: str) -> None:
    assert _shape(getattr(tilecred, name)) == SIGNATURES[name]


@pytest.mark.parametrize("name", list(SIGNATURES))
def test_client_methods_have_the_same_signatures(name: str) -> None:
    assert _shape(getattr(Client, name)) == SIGNATURES[name]
    assert inspect.signature(getattr(Client, name)).return_annotation == (
        inspect.signature(getattr(tilecred, name)).return_annotation
    )


def test_configure_takes_what_client_takes() -> None:
    assert _shape(tilecred.configure) == _shape(Client.__init__)
    assert all(kind is KW and default is None for _, kind, default in _shape(Client.__init__))


def test_all_is_sorted_and_complete() -> None:
    assert tilecred.__all__ == sorted(tilecred.__all__)
    assert len(set(tilecred.__all__)) == len(tilecred.__all__)
    public = {
        name
        for name, value in vars(tilecred).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }
    assert public | {"__version__"} == set(tilecred.__all__)
    for name in tilecred.__all__:
        value = getattr(tilecred, name)
        if isinstance(value, type) or callable(value):
            assert value.__module__ == "tilecred", name
    assert isinstance(tilecred.__version__, str)


def test_private_modules_keep_sorted_all() -> None:
    for module in (
        tilecred._api,
        tilecred._arguments,
        tilecred._backend,
        tilecred._client,
        tilecred._config,
        tilecred._models,
    ):
        assert module.__all__ == sorted(module.__all__), module.__name__
        assert all(hasattr(module, name) for name in module.__all__), module.__name__


def test_import_is_cheap() -> None:
    code = (
        "import sys, tilecred\n"
        "print(sorted(m for m in ('urllib3', 'cryptography', 'sqlite3', 'rich', 'pathlib', "
        "'http', 'urllib.parse') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


def test_the_error_family() -> None:
    assert issubclass(tilecred.InvalidArgumentError, ValueError)
    for error in (
        tilecred.ConfigurationError,
        tilecred.InvalidArgumentError,
        tilecred.NotFoundError,
        tilecred.ConflictError,
    ):
        assert issubclass(error, CredentialsError)


class _BrokenFilter(logging.Filter):
    """An application's log filter with a bug: it raises on every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        raise RuntimeError(f"filter broke on {record.name}")


def test_a_failure_that_is_no_credentials_error_is_wrapped_and_chained(
    httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # A filter's exception comes out of logger.debug() itself (only handlers'
    # errors are swallowed by logging): it happens inside the call, when the
    # client logs where calls go.
    caplog.set_level(logging.DEBUG, logger="tilecred")  # setLevel: clears the level cache
    monkeypatch.setattr(logging.getLogger("tilecred"), "filters", [_BrokenFilter()])
    tilecred.configure(host=httpserver.url_for("/"), token=CANARY_TOKEN, workspace="ws_x")
    with pytest.raises(CredentialsError) as info:
        tilecred.get_credential("lake", teamspace="ml")
    error = info.value
    assert type(error) is CredentialsError
    assert str(error) == (
        "could not get credential 'lake' in teamspace 'ml': "
        "unexpected RuntimeError: filter broke on tilecred"
    )
    assert (error.action, error.name, error.teamspace) == ("get credential", "lake", "ml")
    assert isinstance(error.__cause__, RuntimeError)
    assert httpserver.log == []


LISTING = {
    "data": [
        {
            "credential_type": "workspace",
            "id": "cred_1",
            "name": "lake",
            "provider": "AWS",
            "created_at": "2026-11-01T10:00:00Z",
            "credential": {"aws": {"access_key_id": "AKIA1", "secret_access_key": ""}},
        }
    ],
    "pagination_metadata": {"page": 1, "per_page": 10, "total_pages": 1, "total_items": 1},
}


def test_static_types_of_the_results(httpserver: HTTPServer) -> None:
    """mypy checks the assert_type calls; at run time they return their argument."""
    httpserver.expect_request("/v4/credentials/ws_x", method="GET").respond_with_json(LISTING)
    httpserver.expect_request("/v4/credentials/ws_x/lake", method="GET").respond_with_json(
        {"data": LISTING["data"][0]}  # type: ignore[index]
    )
    tilecred.configure(host=httpserver.url_for("/"), token=CANARY_TOKEN, workspace="ws_x")
    client = tilecred.get_client()
    pager = assert_type(tilecred.list_credentials(), Pager[AccessCredential])
    assert_type(client.list_credentials(per_page=10), Pager[AccessCredential])
    first = assert_type(pager[0], AccessCredential)
    some = assert_type(pager[0:1], list[AccessCredential])
    got = assert_type(tilecred.get_credential("lake"), AccessCredential)
    assert_type(client.get_credential("lake"), AccessCredential)
    assert isinstance(first, AccessCredential)
    assert some == [first] == [got]
    assert got.credential is not None
    assert got.credential.aws is not None
    assert got.credential.aws.secret_access_key is None
    assert CANARY_SECRET not in repr(got)


def test_client_repr_says_where_calls_go(isolated: Any) -> None:
    client = Client(host="api.example.com", token=CANARY_TOKEN)
    assert repr(client) == "Client(backend='http', at='https://api.example.com')"
    local = Client(local=True)
    assert repr(local) == f"Client(backend='local', at={str(isolated / 'tilecred-home')!r})"
    local.close()
    assert repr(local) == (
        f"Client(backend='local', at={str(isolated / 'tilecred-home')!r}, closed)"
    )
