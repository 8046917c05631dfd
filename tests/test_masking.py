"""What use_credential hands out never displays: the forms' mappings, logging, mask().

The registry of masked values lasts for the life of the process, so each test
that needs a value nothing else registered makes its own (``_fresh``).
"""

from __future__ import annotations

import copy
import io
import json
import logging
import os
import pickle
import pprint
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import IPython.lib.pretty
import pytest
from pytest_httpserver import HTTPServer
from rich.console import Console

import tilecred
from tests._services import isolate_aws
from tests.test_access_forms import AWS_ROLE, NOT_APPLICABLE, stored
from tilecred import AWSCredential, Credential, InvalidArgumentError, create_credential, mask
from tilecred._access import CredentialAccess
from tilecred._masked_dict import MaskedDict

from .conftest import CANARY_SECRET

_FORMS = ("env", "storage_options", "tiledb_config")


def _fresh(prefix: str = "CANARY") -> str:
    """A value no other test registered: masking it proves this test's path did."""
    return f"{prefix}-{uuid.uuid4().hex}"


def _displays(value: object) -> dict[str, str]:
    """Every way a notebook, a REPL or a script shows a value."""
    console = Console(file=io.StringIO(), width=200, color_system=None)
    console.print(value)
    console.print([value])
    shown = {
        "repr": repr(value),
        "str": str(value),
        "format": f"{value}",
        "percent": "%s" % (value,),  # noqa: UP031 - logging's way
        "pprint": pprint.pformat(value),
        "in a list": repr([value]),
        "ipython": IPython.lib.pretty.pretty(value),  # type: ignore[no-untyped-call]
        "rich": console.file.getvalue(),  # type: ignore[attr-defined]
    }
    html = getattr(value, "_repr_html_", None)
    if html is not None:
        shown["html"] = html()
    return shown


def _aws_key(secret: str) -> tilecred.AccessCredential:
    return stored(credential=Credential(aws=AWSCredential(
        access_key_id="AKIAIOSFODNN7EXAMPLE", secret_access_key=secret)))  # fmt: skip


def _forms_of(kind: str) -> list[tuple[str, Any]]:
    credential, refused = NOT_APPLICABLE[kind]
    with CredentialAccess(credential) as access:
        return [(form, getattr(access, form)()) for form in _FORMS if form not in refused]


_USABLE = sorted(kind for kind, (credential, refused) in NOT_APPLICABLE.items()
                 if credential is not AWS_ROLE and set(_FORMS) - refused)  # fmt: skip


@pytest.fixture(autouse=True)
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    isolate_aws(monkeypatch, tmp_path)


# -- the mappings ----------------------------------------------------------------


@pytest.mark.parametrize("kind", _USABLE)
def test_every_form_displays_stars_for_the_secret_and_works_with_it(kind: str) -> None:
    for form, value in _forms_of(kind):
        assert isinstance(value, MaskedDict)  # through the choke point: CredentialAccess._hand_out
        as_json = json.dumps(value)
        for how, text in _displays(value).items():
            assert CANARY_SECRET not in text, (kind, form, how)
            if CANARY_SECRET in as_json:  # a GCP env() holds a path, not the key
                assert "***" in text, (kind, form, how)
        # Everything that reads it as a dict gets the real values.
        assert json.loads(as_json) == dict(value) == {**value}


def test_a_mapping_shows_each_secret_value_as_stars_exactly() -> None:
    secret = _fresh()
    with CredentialAccess(_aws_key(secret)) as access:
        env = access.env()
    assert (
        repr(env)
        == str(env)
        == "{'AWS_ACCESS_KEY_ID': 'AKIAIOSFODNN7EXAMPLE', 'AWS_SECRET_ACCESS_KEY': '***'}"
    )
    assert env._repr_html_() == (  # type: ignore[attr-defined]
        "<table><tr><th>AWS_ACCESS_KEY_ID</th><td><code>&#x27;AKIAIOSFODNN7EXAMPLE&#x27;</code>"
        "</td></tr><tr><th>AWS_SECRET_ACCESS_KEY</th><td><code>&#x27;***&#x27;</code></td></tr>"
        "</table>"
    )
    assert env["AWS_SECRET_ACCESS_KEY"] == secret


def test_nested_mappings_are_masked_too() -> None:
    with CredentialAccess(NOT_APPLICABLE["gcp-service-account"][0]) as access:
        options = access.storage_options()
    token = options["token"]
    assert isinstance(token, MaskedDict)
    assert repr(token["private_key_id"]) == "'k1'"  # a short value: masked by key only
    shown = repr(token)
    assert "'private_key': '***'" in shown
    assert "'private_key_id': '***'" in shown
    # What is not secret on its own still reads plainly.
    assert "'client_email': 'reader@lake-project.iam.gserviceaccount.com'" in shown
    assert CANARY_SECRET in token["private_key"]


def test_an_azure_connection_string_and_a_sas_without_its_question_mark_are_masked() -> None:
    sas = f"?sv=2023-11-03&sp=rl&se=2099-01-01T00:00:00Z&sig={_fresh()}"
    credential = stored(token=tilecred.Token(azure=tilecred.AzureToken(
        account_name="devstoreaccount1", sas_token=sas,
        blob_endpoint="http://127.0.0.1:10000/devstoreaccount1")))  # fmt: skip
    with CredentialAccess(credential) as access:
        env = access.env()
    assert env["AZURE_STORAGE_CONNECTION_STRING"].count(sas[1:]) == 1
    assert "'AZURE_STORAGE_CONNECTION_STRING': '***'" in repr(env)
    record = logging.makeLogRecord({"msg": "sig %s", "args": (sas[1:],)})
    assert record.getMessage() == "sig ***"


def test_a_mapping_keeps_its_masks_through_copies_pickles_and_unions() -> None:
    secret = _fresh()
    with CredentialAccess(_aws_key(secret)) as access:
        options = access.storage_options()
    others = [
        options.copy(),
        copy.copy(options),
        copy.deepcopy(options),
        pickle.loads(pickle.dumps(options)),
        options | {"anon": False},
        {"anon": False} | options,
    ]
    for other in others:
        assert isinstance(other, MaskedDict)
        assert other["secret"] == secret
        assert "'secret': '***'" in repr(other)
    replaced = options | {"secret": "not-a-secret"}
    assert "'secret': 'not-a-secret'" in repr(replaced)


def test_a_short_secret_is_masked_in_the_mapping_but_not_in_text() -> None:
    short = "ab1!z"  # 5 characters: under the 6 that text masking needs
    with CredentialAccess(_aws_key(short)) as access:
        config = access.tiledb_config()
    assert "'vfs.s3.aws_secret_access_key': '***'" in repr(config)
    record = logging.makeLogRecord({"msg": "the value %s", "args": (short,)})
    assert record.getMessage() == "the value ab1!z"


# Assuming a role needs boto3 (the aws extra), which the services session installs.
@pytest.mark.services
def test_values_a_form_fetched_are_masked(httpserver: HTTPServer,
                                         monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    # A role's form assumes it through STS: the keys it gets back are in no
    # stored field, and are masked all the same.
    pytest.importorskip("boto3", reason="the aws extra runs in the services session")
    secret, token = _fresh("STS-SECRET"), _fresh("STS-TOKEN")
    httpserver.expect_request("/", method="POST").respond_with_data(
        _ASSUME_ROLE.format(secret=secret, token=token), content_type="text/xml"
    )
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", httpserver.url_for("/"))
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIACALLER")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "caller-secret-value")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with CredentialAccess(AWS_ROLE) as access:
        env = access.env()
    assert (env["AWS_SECRET_ACCESS_KEY"], env["AWS_SESSION_TOKEN"]) == (secret, token)
    assert repr(env) == (
        "{'AWS_ACCESS_KEY_ID': 'ASIATEMPORARY', 'AWS_SECRET_ACCESS_KEY': '***', "
        "'AWS_SESSION_TOKEN': '***'}"
    )
    record = logging.makeLogRecord({"msg": "%s and %s", "args": (secret, token)})
    assert record.getMessage() == "*** and ***"


_ASSUME_ROLE = """<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
<AssumeRoleResult><Credentials><AccessKeyId>ASIATEMPORARY</AccessKeyId>
<SecretAccessKey>{secret}</SecretAccessKey><SessionToken>{token}</SessionToken>
<Expiration>2099-01-01T00:00:00Z</Expiration></Credentials>
<AssumedRoleUser><Arn>arn:aws:sts::123456789012:assumed-role/reader/tilecred-c</Arn>
<AssumedRoleId>AROAEXAMPLE:tilecred-c</AssumedRoleId></AssumedRoleUser></AssumeRoleResult>
<ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata></AssumeRoleResponse>"""


# -- text: logging and mask() ----------------------------------------------------


def _stream_logger(name: str) -> tuple[logging.Logger, io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
    logger = logging.getLogger(name)
    logger.addHandler(handler)
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    return logger, stream


def test_mask_by_hand_masks_a_value_in_every_record_in_every_form() -> None:
    value = _fresh("PASSWORD")
    logger, stream = _stream_logger(f"test.mask.{uuid.uuid4().hex}")
    logger.info("before: %s", value)
    mask(value)
    logger.info("message %s", value)
    logger.info(f"f-string {value}")
    logger.info("repr %r", {"password": value})
    logger.info("json %s", json.dumps({"password": value}))
    try:
        raise RuntimeError(f"failed with {value}")
    except RuntimeError:
        logger.exception("it failed")
    lines = stream.getvalue()
    assert lines.count(value) == 1  # the record logged before mask()
    assert lines.startswith(f"INFO {logger.name} before: {value}\n")
    assert f"INFO {logger.name} message ***\n" in lines
    assert f"INFO {logger.name} f-string ***\n" in lines
    assert f"INFO {logger.name} repr {{'password': '***'}}\n" in lines
    assert f'INFO {logger.name} json {{"password": "***"}}\n' in lines
    assert "RuntimeError: failed with ***" in lines


def test_a_multi_line_secret_is_masked_line_by_line() -> None:
    body = [uuid.uuid4().hex + uuid.uuid4().hex for _ in range(3)]
    pem = "-----BEGIN PRIVATE KEY-----\n" + "\n".join(body) + "\n-----END PRIVATE KEY-----\n"
    mask(pem)
    one_line = logging.makeLogRecord({"msg": "line: %s", "args": (body[1],)})
    assert one_line.getMessage() == "line: ***"
    whole = logging.makeLogRecord({"msg": "key: %s", "args": (pem,)})
    assert whole.getMessage() == "key: ***"
    header = logging.makeLogRecord({"msg": "-----BEGIN PRIVATE KEY-----"})
    assert header.getMessage() == "-----BEGIN PRIVATE KEY-----"


def test_mask_refuses_what_is_not_a_string_and_skips_short_values() -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        mask(b"bytes-value")  # type: ignore[arg-type]
    assert str(caught.value) == "mask() takes a string, not bytes"
    mask("abcde")
    assert logging.makeLogRecord({"msg": "abcde abcdef"}).getMessage() == "abcde abcdef"


# Logging configured before the first use, and after it: a real handler
# writing to a real file and to stderr, in a fresh process each time.
_LOGGING_SCRIPT = """
import logging, logging.config, sys
import tilecred

SECRET, ORDER, LOG = sys.argv[1], sys.argv[2], sys.argv[3]

def configure():
    logging.basicConfig(level=logging.INFO, format="%(name)s %(message)s",
                        handlers=[logging.FileHandler(LOG), logging.StreamHandler(sys.stderr)])

if ORDER == "before":
    configure()
tilecred.create_credential("lake", "AWS", allowed_in_tasks=True, credential={
    "aws": {"access_key_id": "AKIAIOSFODNN7EXAMPLE", "secret_access_key": SECRET}})
with tilecred.use_credential("lake") as access:
    env = access.env()
if ORDER == "after":
    factory = logging.getLogRecordFactory()
    logging.setLogRecordFactory(lambda *args, **kwargs: factory(*args, **kwargs))
    configure()
logging.getLogger("app").info("env %s", dict(env))
logging.getLogger("app.db").warning("secret " + env["AWS_SECRET_ACCESS_KEY"])
logging.getLogger().error("args %s %r", env["AWS_SECRET_ACCESS_KEY"], [SECRET])
print("stdout is not logging:", SECRET)
"""


@pytest.mark.parametrize("order", ["before", "after"])
def test_logging_masks_in_either_order(order: str, tmp_path: Path) -> None:
    secret = _fresh()
    log = tmp_path / "app.log"
    script = tmp_path / "script.py"
    script.write_text(_LOGGING_SCRIPT)
    done = subprocess.run(
        [sys.executable, str(script), secret, order, str(log)],
        capture_output=True, text=True, check=True, env=os.environ.copy(),
    )  # fmt: skip
    expected = (
        "app env {'AWS_ACCESS_KEY_ID': 'AKIAIOSFODNN7EXAMPLE', 'AWS_SECRET_ACCESS_KEY': '***'}\n"
        "app.db secret ***\n"
        "root args *** ['***']\n"
    )
    assert log.read_text() == expected
    assert done.stderr == expected
    # Plain stdout outside a notebook is the caller's: only IPython's is masked.
    assert done.stdout == f"stdout is not logging: {secret}\n"


def test_a_closed_access_stays_masked() -> None:
    secret = _fresh()
    create_credential("lake", "AWS", allowed_in_tasks=True, credential={
        "aws": {"access_key_id": "AKIAIOSFODNN7EXAMPLE", "secret_access_key": secret}})  # fmt: skip
    with tilecred.use_credential("lake"):
        pass
    assert logging.makeLogRecord({"msg": secret}).getMessage() == "***"
