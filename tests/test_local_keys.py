"""Secrets at rest: file modes, no plaintext on disk, the key check, rotation."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import logging
import os
import re
import sqlite3
import stat
from collections.abc import Callable
from pathlib import Path

import pytest

import tilecred
from tilecred import ConfigurationError, CredentialsError, create_credential, get_credential
from tilecred._local import Store, rotate_key
from tilecred._local._schema import SCHEMA_VERSION
from tilecred._models import (
    AWSCredential,
    CloudProvider,
    Credential,
    CredentialCreateRequest,
    SnowflakeServiceUserKey,
    Token,
)

from .conftest import CANARY_SECRET

ALTERED = (
    "the secret of credential {name!r} does not open: its row was changed outside tilecred "
    "(its allowed_in_tasks, name, scope or id is not what it was sealed with), or the store "
    "was altered"
)
AWS_KEY = {"aws": {"access_key_id": "AKIAIOSFODNN7EXAMPLE", "secret_access_key": CANARY_SECRET}}
KEY_A = bytes(range(32))
KEY_B = bytes(range(32, 64))


def _home(isolated: Path) -> Path:
    return isolated / "tilecred-home"


def _secret_of(store: Store, name: str) -> str | None:
    ws = store.find_workspace("default")
    assert ws is not None
    cred = store.get_credential(ws.id, None, name, with_secrets=True)
    assert cred.credential is not None
    assert cred.credential.aws is not None
    return cred.credential.aws.secret_access_key


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _fill(isolated: Path) -> None:
    create_credential("k1", "AWS", credential=AWS_KEY)
    create_credential("k2", "AWS", credential=AWS_KEY, teamspace="ml")
    create_credential("k3", "SNOWFLAKE", token={"snowflake": {
        "account": "a", "user": "u", "private_key_raw": CANARY_SECRET,
        "private_key_passphrase": CANARY_SECRET + "-pass"}})  # fmt: skip
    tilecred.update_credential("k1", name="k1-renamed")


def test_no_file_holds_a_secret_and_every_file_is_private(isolated: Path) -> None:
    _fill(isolated)
    home = _home(isolated)
    # The client is still open, so the WAL and shared-memory files exist now.
    files = sorted(p.name for p in home.iterdir())
    assert files == ["key", "tilecred.db", "tilecred.db-shm", "tilecred.db-wal"]
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    canary = CANARY_SECRET.encode()
    for path in home.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path.name
        data = path.read_bytes()
        assert canary not in data, path.name
        assert canary.decode().encode("utf-16-le") not in data, path.name
    assert (home / "tilecred.db-wal").stat().st_size > 0
    tilecred.configure()  # closes the store: the WAL is folded into the database
    assert canary not in (home / "tilecred.db").read_bytes()


def test_a_sealed_secret_does_not_open_in_another_row(isolated: Path) -> None:
    create_credential("a", "AWS", credential=AWS_KEY)
    create_credential("b", "AWS", credential=AWS_KEY)
    tilecred.configure()
    db = sqlite3.connect(_home(isolated) / "tilecred.db")
    with db:
        db.execute(
            "UPDATE credentials SET secret = (SELECT secret FROM credentials WHERE name = 'a')"
            " WHERE name = 'b'"
        )
    db.close()
    with Store(_home(isolated)) as store:
        assert _secret_of(store, "a") == CANARY_SECRET
        with pytest.raises(CredentialsError) as info:
            _secret_of(store, "b")
    assert info.value.message == ALTERED.format(name="b")


def test_the_key_file_is_created_once_and_reused(isolated: Path) -> None:
    create_credential("k", "AWS", credential=AWS_KEY)
    key_file = _home(isolated) / "key"
    text = key_file.read_text()
    assert len(base64.b64decode(text.strip(), validate=True)) == 32
    tilecred.configure()
    assert get_credential("k").name == "k"
    assert key_file.read_text() == text


def test_a_wrong_key_is_refused_before_any_write(
    isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TILECRED_MASTER_KEY", base64.b64encode(KEY_A).decode())
    create_credential("k", "AWS", credential=AWS_KEY)
    tilecred.configure()  # close, so the database file holds everything
    db = _home(isolated) / "tilecred.db"
    before = _digest(db)
    monkeypatch.setenv("TILECRED_MASTER_KEY", base64.b64encode(KEY_B).decode())
    tilecred.configure()
    with pytest.raises(ConfigurationError) as info:
        create_credential("other", "AWS", credential=AWS_KEY)
    assert str(info.value) == (
        f"could not create credential 'other': TILECRED_MASTER_KEY does not open the local "
        f"store {db}: it was encrypted with another key"
    )
    assert _digest(db) == before
    assert not (_home(isolated) / "key").exists()
    with pytest.raises(ConfigurationError):
        Store(_home(isolated), key=KEY_B)
    assert _digest(db) == before


def test_a_missing_key_file_is_refused_and_never_replaced(isolated: Path) -> None:
    create_credential("k", "AWS", credential=AWS_KEY)
    tilecred.configure()
    home = _home(isolated)
    (home / "key").unlink()
    before = _digest(home / "tilecred.db")
    with pytest.raises(ConfigurationError) as info:
        get_credential("k")
    message = (
        f"the key file {home / 'key'} is missing and the local store {home / 'tilecred.db'} "
        "was encrypted with it: restore it from a backup or set TILECRED_MASTER_KEY"
    )
    if len(message) <= 300:
        assert str(info.value) == f"could not get credential 'k': {message}"
    else:  # a deep temporary directory: the paths are cut in their middle, the remedy kept
        shown = re.fullmatch(
            r"could not get credential 'k': the key file (\S+) is missing and the local store "
            r"(\S+) was encrypted with it: restore it from a backup or set TILECRED_MASTER_KEY",
            str(info.value),
        )
        assert shown is not None
        for path, text in zip((home / "key", home / "tilecred.db"), shown.groups(), strict=True):
            start, cut, end = text.partition("/…/")
            assert cut == "/…/"
            assert str(path).startswith(start + "/")
            assert str(path).endswith("/" + end)
    assert not (home / "key").exists()
    assert _digest(home / "tilecred.db") == before


def test_a_key_file_with_another_key_is_refused(isolated: Path) -> None:
    create_credential("k", "AWS", credential=AWS_KEY)
    tilecred.configure()
    key_file = _home(isolated) / "key"
    key_file.write_text(base64.b64encode(KEY_B).decode())
    with pytest.raises(ConfigurationError) as info:
        Store(_home(isolated))
    assert info.value.message == (
        f"the key file {key_file} does not open the local store "
        f"{_home(isolated) / 'tilecred.db'}: it was encrypted with another key"
    )


@pytest.mark.parametrize("value", ["not base64!", base64.b64encode(b"short").decode(), ""])
def test_a_malformed_environment_key_is_refused_without_printing_it(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("TILECRED_MASTER_KEY", value)
    with pytest.raises(ConfigurationError) as info:
        get_credential("k")
    assert str(info.value) == (
        "could not get credential 'k': "
        "TILECRED_MASTER_KEY must hold the base64 encoding of 32 bytes"
    )


def test_a_database_that_is_not_a_store_is_refused(isolated: Path) -> None:
    home = isolated / "other"
    home.mkdir()
    other = sqlite3.connect(home / "tilecred.db")
    other.execute("CREATE TABLE notes (text TEXT)")
    other.execute("PRAGMA user_version = 1")
    other.close()
    with pytest.raises(ConfigurationError) as info:
        Store(home)
    assert info.value.message == (
        f"{home / 'tilecred.db'} is not a tilecred store: no such table: meta"
    )


def test_a_store_from_a_newer_tilecred_is_refused(isolated: Path) -> None:
    create_credential("k", "AWS", credential=AWS_KEY)
    tilecred.configure()
    db = sqlite3.connect(_home(isolated) / "tilecred.db")
    db.execute("PRAGMA user_version = 99")
    db.close()
    with pytest.raises(ConfigurationError) as info:
        get_credential("k")
    assert info.value.message == (
        f"the local store {_home(isolated) / 'tilecred.db'} has schema version 99, newer than "
        f"this tilecred knows ({SCHEMA_VERSION}): upgrade tilecred"
    )


def test_rotation_with_a_key_file_keeps_every_secret(isolated: Path) -> None:
    _fill(isolated)
    tilecred.configure()
    home = _home(isolated)
    old_text = (home / "key").read_text()
    assert rotate_key(home) == 3
    new_text = (home / "key").read_text()
    assert new_text != old_text
    assert stat.S_IMODE((home / "key").stat().st_mode) == 0o600
    assert sorted(p.name for p in home.iterdir() if p.name.startswith("key")) == ["key"]
    with Store(home) as store:
        assert _secret_of(store, "k1-renamed") == CANARY_SECRET
    old_key = base64.b64decode(old_text)
    with pytest.raises(ConfigurationError):
        Store(home, key=old_key)
    assert get_credential("k3").name == "k3"


def _sealed_values(home: Path) -> list[bytes]:
    with contextlib.closing(sqlite3.connect(home / "tilecred.db")) as conn:
        rows = conn.execute("SELECT secret FROM credentials WHERE secret IS NOT NULL").fetchall()
    return [bytes(row[0]) for row in rows]


def _leftovers(home: Path, sealed: list[bytes]) -> list[str]:
    """The files that still hold any 16-byte piece of the sealed values."""
    pieces = [value[i : i + 16] for value in sealed for i in range(0, len(value) - 15, 16)]
    return sorted({path.name for path in home.iterdir() for piece in pieces
                   if piece in path.read_bytes()})  # fmt: skip


def _open_store_with_two_secrets(home: Path) -> tuple[Store, str]:
    store = Store(home)
    ws = store.create_workspace("default")
    small = CredentialCreateRequest(
        name="small", provider=CloudProvider.AWS, credential=Credential(
            aws=AWSCredential(access_key_id="AKIAIOSFODNN7EXAMPLE",
                              secret_access_key=CANARY_SECRET)))  # fmt: skip
    # Bigger than a page: its sealed value lives in overflow pages.
    large = CredentialCreateRequest(
        name="large", provider=CloudProvider.SNOWFLAKE, token=Token(
            snowflake=SnowflakeServiceUserKey(account="a", user="u",
                                              private_key_raw=CANARY_SECRET * 400)))  # fmt: skip
    store.create_credential(ws.id, None, small)
    store.create_credential(ws.id, None, large)
    return store, ws.id


def test_rotation_leaves_the_old_ciphertext_in_no_file(isolated: Path) -> None:
    home = isolated / "rotated"
    store, _ = _open_store_with_two_secrets(home)
    with store:
        old = _sealed_values(home)
        assert [len(value) > 4096 for value in old] == [False, True]
        assert _leftovers(home, old) != []  # the check itself finds them
        assert store.rotate_key() == 2
        # Still open: the WAL and shared-memory files are there too.
        assert sorted(p.name for p in home.iterdir()) == [
            "key", "tilecred.db", "tilecred.db-shm", "tilecred.db-wal"]  # fmt: skip
        assert _leftovers(home, old) == []
        assert _leftovers(home, _sealed_values(home)) == ["tilecred.db"]


def test_a_deleted_secret_leaves_its_ciphertext_in_no_file(isolated: Path) -> None:
    home = isolated / "deleted"
    store, workspace_id = _open_store_with_two_secrets(home)
    with store:
        old = _sealed_values(home)
        store.delete_credential(workspace_id, None, "small")
        store.delete_credential(workspace_id, None, "large")
        assert _leftovers(home, old) == []


def test_rotation_with_an_explicit_key_needs_the_new_key(isolated: Path) -> None:
    home = isolated / "explicit"
    with Store(home, key=KEY_A) as store:
        ws = store.create_workspace("default")
        assert ws.name == "default"
    with pytest.raises(ConfigurationError) as info:
        rotate_key(home, key=KEY_A)
    assert (
        info.value.message
        == "the key comes from the key given to Store: give the new key explicitly"
    )
    assert rotate_key(home, KEY_B, key=KEY_A) == 0
    assert not (home / "key").exists()
    Store(home, key=KEY_B).close()
    with pytest.raises(ConfigurationError):
        Store(home, key=KEY_A)


def test_an_open_store_follows_a_rotation_made_elsewhere(isolated: Path) -> None:
    create_credential("before", "AWS", credential=AWS_KEY)
    rotate_key(_home(isolated))  # the default client's store still holds the old key
    create_credential("after", "AWS", credential=AWS_KEY)
    with Store(_home(isolated)) as store:
        assert _secret_of(store, "before") == CANARY_SECRET
        assert _secret_of(store, "after") == CANARY_SECRET


def test_an_interrupted_rotation_is_finished_on_open(isolated: Path) -> None:
    _fill(isolated)
    tilecred.configure()
    home = _home(isolated)
    old_text = (home / "key").read_text()
    rotate_key(home)
    # The state a crash leaves between the store's commit and the key file's
    # replacement: the new key waits in a pending file.
    (home / "key.new.1a2b").write_text((home / "key").read_text())
    (home / "key").write_text(old_text)
    with Store(home) as store:
        assert _secret_of(store, "k1-renamed") == CANARY_SECRET
    assert [p.name for p in home.iterdir() if p.name.startswith("key")] == ["key"]
    assert (home / "key").read_text() != old_text


def test_the_home_directory_and_files_are_created_private(isolated: Path) -> None:
    home = isolated / "a" / "b"
    previous = os.umask(0o022)
    try:
        Store(home).close()
    finally:
        os.umask(previous)
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    assert stat.S_IMODE((home / "tilecred.db").stat().st_mode) == 0o600
    assert stat.S_IMODE((home / "key").stat().st_mode) == 0o600


def test_a_failed_rotation_changes_nothing(isolated: Path) -> None:
    create_credential("a", "AWS", credential=AWS_KEY)
    create_credential("b", "AWS", credential=AWS_KEY)
    tilecred.configure()
    home = _home(isolated)
    db = sqlite3.connect(home / "tilecred.db")
    with db:
        db.execute(
            "UPDATE credentials SET secret = (SELECT secret FROM credentials WHERE name = 'a')"
            " WHERE name = 'b'"
        )
    db.close()
    key_text = (home / "key").read_text()
    with pytest.raises(CredentialsError) as info:
        rotate_key(home)
    assert info.value.message == ALTERED.format(name="b")
    assert (home / "key").read_text() == key_text
    assert sorted(p.name for p in home.iterdir() if p.name.startswith("key")) == ["key"]
    with Store(home) as store:
        assert _secret_of(store, "a") == CANARY_SECRET


def test_a_store_copied_out_of_wal_mode_is_put_back_in_it(isolated: Path) -> None:
    create_credential("k", "AWS", credential=AWS_KEY)
    tilecred.configure()
    db = sqlite3.connect(_home(isolated) / "tilecred.db")
    assert db.execute("PRAGMA journal_mode = DELETE").fetchone() == ("delete",)
    db.close()
    assert get_credential("k").name == "k"
    db = sqlite3.connect(_home(isolated) / "tilecred.db")
    assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    db.close()


def test_no_secret_or_key_reaches_logs_or_errors(
    isolated: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    key_text = base64.b64encode(KEY_A).decode()
    monkeypatch.setenv("TILECRED_MASTER_KEY", key_text)
    bad_azure = {"azure": {"account_name": "lake", "account_key": CANARY_SECRET}}
    failing: list[Callable[[], None]] = [
        lambda: create_credential("k1-renamed", "AWS", credential=AWS_KEY),
        lambda: tilecred.update_credential("k2", credential=AWS_KEY),
        lambda: tilecred.verify_credential("v", "AZURE", credential=bad_azure),
    ]
    messages: list[str] = []
    with caplog.at_level(logging.DEBUG):
        _fill(isolated)
        for call in failing:
            with pytest.raises(CredentialsError) as info:
                call()
            messages += [str(info.value), repr(info.value)]
        assert rotate_key(_home(isolated), KEY_B) == 3
        monkeypatch.setenv("TILECRED_MASTER_KEY", base64.b64encode(KEY_B).decode())
        tilecred.configure()
        assert get_credential("k3").name == "k3"
    messages += [record.getMessage() for record in caplog.records]
    assert len(caplog.records) >= 3
    for text in messages:
        assert CANARY_SECRET not in text
        assert key_text not in text
