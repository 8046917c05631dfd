"""The error family: one-line messages, context, scrubbing, and pickling."""

from __future__ import annotations

import copy
import pickle

import pytest
from pytest_httpserver import HTTPServer

import tilecred
from tests._http_helpers import WORKSPACE, make_client
from tests.conftest import CANARY_SECRET, CANARY_TOKEN
from tilecred._errors import error_for_status, scrub

CLASSES = [
    tilecred.CredentialsError,
    tilecred.ConfigurationError,
    tilecred.InvalidArgumentError,
    tilecred.AuthenticationError,
    tilecred.PermissionDeniedError,
    tilecred.NotFoundError,
    tilecred.ConflictError,
    tilecred.RateLimitError,
    tilecred.ServerError,
    tilecred.TransportError,
    tilecred.RequestTimeoutError,
]


def full_error(cls: type[tilecred.CredentialsError]) -> tilecred.CredentialsError:
    error = cls("credential not found", status=404, code=4040, request_id="7f3a")
    error.add_context(action="get credential", name="prod-s3", teamspace="ml")
    return error


def state(error: tilecred.CredentialsError) -> tuple[object, ...]:
    return (
        type(error),
        error.message,
        error.status,
        error.code,
        error.request_id,
        error.action,
        error.name,
        error.teamspace,
        error.args,
        str(error),
        repr(error),
    )


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_every_error_class_pickles_with_every_attribute(
    cls: type[tilecred.CredentialsError], protocol: int
) -> None:
    error = full_error(cls)

    restored = pickle.loads(pickle.dumps(error, protocol=protocol))

    assert state(restored) == state(error)


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_bare_error_pickles_and_copies(cls: type[tilecred.CredentialsError]) -> None:
    error = cls("just a message")

    for restored in (pickle.loads(pickle.dumps(error)), copy.copy(error), copy.deepcopy(error)):
        assert state(restored) == state(error)
        assert str(restored) == "just a message"


def test_error_from_the_wire_pickles(httpserver: HTTPServer) -> None:
    httpserver.expect_request(f"/v4/credentials/{WORKSPACE}/c").respond_with_json(
        {"code": 404, "message": "credential not found", "request_id": "w-1"}, status=404
    )
    with make_client(httpserver) as client, pytest.raises(tilecred.NotFoundError) as caught:
        client.get_credential("c", teamspace="ts_1")

    restored = pickle.loads(pickle.dumps(caught.value))

    assert state(restored) == state(caught.value)
    assert str(restored) == (
        "could not get credential 'c' in teamspace 'ts_1': 404 Not Found: credential not found "
        "(request id w-1)"
    )


def test_str_is_the_design_line() -> None:
    assert str(full_error(tilecred.NotFoundError)) == (
        "could not get credential 'prod-s3' in teamspace 'ml': 404 Not Found: "
        "credential not found (request id 7f3a)"
    )
    assert repr(full_error(tilecred.ConflictError)) == (
        "ConflictError(\"could not get credential 'prod-s3' in teamspace 'ml': 404 Not Found: "
        'credential not found (request id 7f3a)")'
    )


def test_str_without_context_or_status() -> None:
    assert str(tilecred.CredentialsError("plain")) == "plain"
    assert str(tilecred.CredentialsError("odd", status=599)) == "599 Error: odd"
    error = tilecred.CredentialsError("failed")
    error.add_context(action="list credentials")
    assert str(error) == "could not list credentials: failed"


def test_first_context_wins() -> None:
    error = tilecred.CredentialsError("inner")
    error.add_context(action="get credential", name="a")
    error.add_context(action="update credential", name="b", teamspace="t")

    assert (error.action, error.name, error.teamspace) == ("get credential", "a", None)


def test_hierarchy() -> None:
    for cls in CLASSES[1:]:
        assert issubclass(cls, tilecred.CredentialsError)
    assert issubclass(tilecred.InvalidArgumentError, ValueError)
    assert not issubclass(tilecred.NotFoundError, ValueError)


@pytest.mark.parametrize(
    ("status", "cls", "retryable"),
    [
        (400, tilecred.CredentialsError, False),
        (401, tilecred.AuthenticationError, False),
        (403, tilecred.PermissionDeniedError, False),
        (404, tilecred.NotFoundError, False),
        (409, tilecred.ConflictError, False),
        (422, tilecred.CredentialsError, False),
        (429, tilecred.RateLimitError, True),
        (500, tilecred.ServerError, False),
        (501, tilecred.ServerError, False),
        (502, tilecred.ServerError, True),
        (503, tilecred.ServerError, True),
        (504, tilecred.ServerError, True),
    ],
)
def test_error_for_status(
    status: int, cls: type[tilecred.CredentialsError], retryable: bool
) -> None:
    error = error_for_status(status, "m", code=1, request_id="r")

    assert type(error) is cls
    assert (error.status, error.code, error.request_id) == (status, 1, "r")
    assert error.retryable is retryable
    assert error.attempts == 0


def test_transport_errors_are_retryable() -> None:
    assert tilecred.TransportError("dropped").retryable is True
    assert tilecred.RequestTimeoutError("late").retryable is True
    assert issubclass(tilecred.RequestTimeoutError, tilecred.TransportError)
    assert tilecred.ConfigurationError("x").retryable is False


def test_message_is_one_line_and_bounded() -> None:
    error = tilecred.CredentialsError("a\nb\r\n\tc  " + "x" * 1000)

    assert error.message.startswith("a b c xxx")
    assert len(error.message) == 300
    assert error.message.endswith("…")


def test_long_paths_are_cut_in_the_middle_and_the_remedy_kept() -> None:
    deep = "/tmp/pytest-of-someone/" + "nested-directory/" * 12 + "home"
    error = tilecred.ConfigurationError(
        f"the key file {deep}/key is missing and the local store {deep}/tilecred.db was "
        "encrypted with it: restore it from a backup or set TILECRED_MASTER_KEY"
    )

    assert error.message == (
        "the key file /tmp/…/nested-directory/nested-directory/home/key "
        "is missing and the local store /tmp/…/nested-directory/nested-directory/home/"
        "tilecred.db was encrypted with it: restore it from a backup or set TILECRED_MASTER_KEY"
    )


def test_paths_are_kept_whole_in_a_message_that_fits() -> None:
    path = "/tmp/" + "d" * 70 + "/key"
    assert tilecred.CredentialsError(f"no {path} here").message == f"no {path} here"


def test_a_long_url_keeps_its_host() -> None:
    url = "https://tilecred.example/" + "segment/" * 40 + "end"
    error = tilecred.CredentialsError(f"{url} " + "x" * 10)
    assert error.message == "https://tilecred.example/…/segment/segment/segment/end " + "x" * 10


# -- scrubbing ----------------------------------------------------------------------------


def test_add_context_scrubs_message_and_request_id() -> None:
    error = tilecred.CredentialsError(
        f"bad {CANARY_SECRET} and {CANARY_TOKEN}", request_id=f"id-{CANARY_SECRET}"
    )
    error.add_context(
        action="create credential", name="c", secrets=iter([CANARY_SECRET, CANARY_TOKEN])
    )

    assert error.message == "bad *** and ***"
    assert error.request_id == "id-***"
    assert error.args == ("bad *** and ***",)
    for text in (str(error), repr(error)):
        assert CANARY_SECRET not in text
        assert CANARY_TOKEN not in text


def test_add_context_scrubs_a_string_code_and_keeps_an_int_one() -> None:
    text = tilecred.CredentialsError("refused", code=f"E-{CANARY_SECRET.lower()}")
    number = tilecred.CredentialsError("refused", code=4001)
    for error in (text, number):
        error.add_context(action="get credential", secrets=[CANARY_SECRET])

    assert text.code == "E-***"
    assert number.code == 4001


@pytest.mark.parametrize(
    ("text", "secret", "expected"),
    [
        ("key=abcdefgh;", "abcdefgh", "key=***;"),
        ("short abc stays", "abc", "short abc stays"),  # too short to scrub
        ('body {"k":"line1\\nline2-long"}', "line1\nline2-long", 'body {"k":"***"}'),
        ("reflowed line1 line2-long end", "line1\nline2-long", "reflowed *** end"),
        ("piece only: line2-long", "line1\nline2-long", "piece only: ***"),
        ("cut at the end: secr…", "secret-value", "cut at the end: ***…"),
        ("cut at the end: se…", "secret-value", "cut at the end: se…"),  # 2 chars say nothing
        ("ascii-escaped caf\\u00e9-secret", "café-secret", "ascii-escaped ***"),
        ("lone surrogate key\ud800 here", "key\ud800", "lone surrogate *** here"),
        ("cut with dots: secr... more", "secret-value", "cut with dots: ***... more"),
        ("cut twice: secret-v… and secre...", "secret-value", "cut twice: ***… and ***..."),
        ("dots alone... stay", "secret-value", "dots alone... stay"),
        ("encoded a%2Fb%20c%3D", "a/b c=", "encoded ***"),
        ("form-encoded a%2Fb+c%3D", "a/b c=", "form-encoded ***"),
        ("any case SECRET-Value", "secret-value", "any case ***"),
        ("blank secret stays", "     ", "blank secret stays"),
        ("piece in lower case: encrypted", "ENCRYPTED\nKEYDATA1", "piece in lower case: encrypted"),
    ],
)
def test_scrub(text: str, secret: str, expected: str) -> None:
    assert scrub(text, [secret]) == expected
