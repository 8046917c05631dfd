"""Credentials' lifecycle (issue #13) on the embedded default, on a real SQLite file."""

from __future__ import annotations

import base64
import datetime
import json
import os
import sqlite3
import warnings
from pathlib import Path

import msgspec
import pytest

import tilecred
from tilecred import (
    create_credential,
    get_credential,
    list_credentials,
    update_credential,
    verify_credential,
)
from tilecred._config import DATABASE_ENV, MASTER_KEY_ENV
from tilecred._local._core import _row_aad_v1
from tilecred._local._keys import Cipher

from .conftest import CANARY_SECRET
from .test_cli_support import run
from .test_local_migration import CREATED, KEY, VERSION_1

ROLE = {"aws": {"role_arn": "arn:aws:iam::123456789012:role/demo"}}


def cli_env_local(isolated: Path) -> dict[str, str]:
    """The command line's environment for the same local store as the library's."""
    engine = {
        name: os.environ[name] for name in (DATABASE_ENV, MASTER_KEY_ENV) if name in os.environ
    }
    return {"TILECRED_HOME": str(isolated / "tilecred-home"), **engine}


def _sas(expiry: str) -> dict[str, object]:
    token = f"sv=2024-11-04&se={expiry}&sig={CANARY_SECRET}"
    return {"azure": {"account_name": "lakeacct", "sas_token": token}}


def test_a_new_credential_is_active_and_knows_no_expiry_without_one(engine: str) -> None:
    create_credential("r", "AWS", role=ROLE)
    assert get_credential("r").active is True
    assert get_credential("r").expires_at is None
    assert [(c.name, c.active, c.expires_at) for c in list_credentials()] == [("r", True, None)]


def test_a_sas_token_s_se_is_the_credential_s_expiry_on_create_and_update(engine: str) -> None:
    create_credential("sas", "AZURE", token=_sas("2031-05-06T07:08:09Z"))
    when = datetime.datetime(2031, 5, 6, 7, 8, 9, tzinfo=datetime.UTC)
    assert get_credential("sas").expires_at == when
    assert list_credentials()[0].expires_at == when
    # A rename keeps it; a new secret replaces it.
    update_credential("sas", name="sas2")
    assert get_credential("sas2").expires_at == when
    update_credential("sas2", token=_sas("2032-01-02"))
    updated = get_credential("sas2")
    assert updated.expires_at == datetime.datetime(2032, 1, 2, tzinfo=datetime.UTC)
    assert CANARY_SECRET not in repr(updated)
    assert tilecred.get_client().settings.backend == "local"


# -- expiry: verify, the command line, stores from before schema 5 ----------------------


def _in(days: float) -> str:
    when = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=days)
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def _stamp(text: str) -> str:
    return datetime.datetime.fromisoformat(text).strftime("%Y-%m-%d %H:%M UTC")


def test_verify_warns_about_a_secret_expiring_within_7_days() -> None:
    soon = _in(3.5)
    with pytest.warns(tilecred.SecretExpiryWarning) as caught:
        verify_credential("sas", "AZURE", token=_sas(soon))
    (warning,) = caught
    assert str(warning.message) == (
        f"the secret of credential 'sas' expires at {_stamp(soon)}, in 3 days: replace it soon"
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a later expiry, or none, passes quietly
        verify_credential("sas", "AZURE", token=_sas(_in(8)))
        verify_credential("r", "AWS", role=ROLE)


def test_verify_fails_an_expired_secret_without_quoting_it() -> None:
    past = "2020-01-02T03:04:05Z"
    with pytest.raises(tilecred.CredentialsError) as info:
        verify_credential("sas", "AZURE", token=_sas(past))
    assert info.value.status == 422
    assert info.value.message == "token.azure.sas_token: expired at 2020-01-02 03:04 UTC (its se=)"
    assert CANARY_SECRET not in str(info.value)


def test_list_expiring_shows_only_secrets_expiring_by_then(engine: str, isolated: Path) -> None:
    create_credential("soon", "AZURE", token=_sas(_in(2)))
    create_credential("later", "AZURE", token=_sas(_in(30)))
    create_credential("gone", "AZURE", token=_sas("2020-01-02T03:04:05Z"))
    create_credential("never", "AWS", role=ROLE)
    env = cli_env_local(isolated)
    week = run(["list", "--expiring", "7d"], env)
    assert week.code == 0
    assert [line.split()[0] for line in week.out.splitlines()[1:]] == ["gone", "soon"]
    header = week.out.splitlines()[0].split()
    assert header[header.index("EXPIRES") - 1] == "STATUS"
    assert "2020-01-02 03:04" in week.out
    as_json = run(["list", "--expiring", "60d", "--json"], env)
    assert [json.loads(line)["name"] for line in as_json.out.splitlines()] == [
        "gone", "later", "soon"
    ]  # fmt: skip
    none = run(["list", "--expiring", "2019-01-01T00:00"], env)
    assert (none.code, none.out, none.err) == (
        0, "", "no credentials expiring by then, in the workspace or any teamspace\n"
    )  # fmt: skip
    bad = run(["list", "--expiring", "soon"], env)
    assert bad.code == 2
    for out in (week.out, as_json.out, week.err):
        assert CANARY_SECRET not in out


def test_list_expiring_searches_every_teamspace_and_names_it(engine: str, isolated: Path) -> None:
    create_credential("soon", "AZURE", token=_sas(_in(2)))
    create_credential("blobs", "AZURE", teamspace="ml", token=_sas(_in(3)))
    create_credential("later", "AZURE", teamspace="ml", token=_sas(_in(30)))
    create_credential("gone", "AZURE", teamspace="finance", token=_sas("2020-01-02T03:04:05Z"))
    env = cli_env_local(isolated)

    week = run(["list", "--expiring", "7d"], env)
    as_json = run(["list", "--expiring", "7d", "--json"], env)
    narrowed = run(["list", "--expiring", "7d", "--teamspace", "ml"], env)

    header, *rows = week.out.splitlines()
    assert header.split()[:3] == ["NAME", "TEAMSPACE", "PROVIDER"]
    assert [row.split()[:2] for row in rows] == [["gone", "finance"], ["blobs", "ml"],
                                                 ["soon", "-"]]  # fmt: skip
    assert [(json.loads(line)["name"], json.loads(line)["teamspace"])
            for line in as_json.out.splitlines()] == [
        ("gone", "finance"), ("blobs", "ml"), ("soon", None)
    ]  # fmt: skip
    # --teamspace narrows it to one, as before: no TEAMSPACE column there.
    assert [row.split()[0] for row in narrowed.out.splitlines()[1:]] == ["blobs"]
    assert "TEAMSPACE" not in narrowed.out
    for done in (week, as_json, narrowed):
        assert CANARY_SECRET not in done.out + done.err


def test_verify_on_the_command_line_warns_or_fails_on_expiry(engine: str, isolated: Path) -> None:
    soon = _in(1.5)
    create_credential("soon", "AZURE", token=_sas(soon))
    create_credential("gone", "AZURE", token=_sas("2020-01-02T03:04:05Z"))
    env = cli_env_local(isolated)
    stored = run(["verify", "soon"], env)
    assert (stored.code, stored.out) == (0, "credential 'soon' verified\n")
    assert stored.err == (
        f"warning: credential 'soon': its secret expires at {_stamp(soon)}, in 1 day: "
        "replace it soon\n"
    )
    gone = run(["verify", "gone"], env)
    assert (gone.code, gone.out) == (1, "")
    assert gone.err == (
        "error: credential 'gone' failed verification: "
        "its secret expired at 2020-01-02 03:04 UTC: replace it\n"
    )
    token = _sas(soon)["azure"]["sas_token"]  # type: ignore[index]
    given = run(["verify", "new", "--provider", "azure", "--kind", "sas", "--account-name",
                 "lakeacct", "--secret-env", "SAS"], {**env, "SAS": token})  # fmt: skip
    assert (given.code, given.out) == (0, "credential 'new' verified\n")
    assert given.err == (
        f"warning: the secret of credential 'new' expires at {_stamp(soon)}, in 1 day: "
        "replace it soon\n"
    )
    for done in (stored, gone, given):
        assert CANARY_SECRET not in done.out + done.err


@pytest.mark.sqlite_only  # a store written by an older tilecred is a SQLite file
def test_a_store_from_before_schema_5_learns_its_sas_expiry_once_on_open(
    isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = isolated / "tilecred-home"
    home.mkdir(mode=0o700)
    db = sqlite3.connect(home / "tilecred.db")
    db.executescript(VERSION_1)
    cipher = Cipher(KEY)
    token = f"sv=1&se=2031-05-06T07:08:09Z&sig={CANARY_SECRET}"
    rows = [("cr_sas", "sas", token), ("cr_none", "plain", f"sv=1&sig={CANARY_SECRET}")]
    with db:
        db.execute("INSERT INTO meta VALUES ('key_check', ?)", (cipher.key_check(),))
        db.execute("INSERT INTO workspaces VALUES ('ws_1', 'default', ?)", (CREATED,))
        for ident, name, sas in rows:
            sealed = cipher.seal(
                msgspec.json.encode({"sas_token": sas}), _row_aad_v1("ws_1", None, name, ident)
            )
            db.execute(
                "INSERT INTO credentials VALUES (?, 'ws_1', NULL, '', ?, 'AZURE', 0, 0,"
                " 'token', 'azure', ?, ?, ?, ?)",
                (ident, name, b'{"account_name":"lakeacct"}', sealed, CREATED, CREATED),
            )
    db.close()
    monkeypatch.setenv("TILECRED_MASTER_KEY", base64.b64encode(KEY).decode())

    when = datetime.datetime(2031, 5, 6, 7, 8, 9, tzinfo=datetime.UTC)
    assert {c.name: c.expires_at for c in list_credentials()} == {"plain": None, "sas": when}
    db = sqlite3.connect(home / "tilecred.db")
    assert db.execute("SELECT name, expires_at FROM credentials ORDER BY name").fetchall() == [
        ("plain", None), ("sas", int(when.timestamp()) * 1_000_000)
    ]  # fmt: skip
    # Once: a row that lost its expiry afterwards is not looked at again.
    with db:
        db.execute("UPDATE credentials SET expires_at = NULL")
    db.close()
    tilecred.configure()
    assert {c.name: c.expires_at for c in list_credentials()} == {"plain": None, "sas": None}
