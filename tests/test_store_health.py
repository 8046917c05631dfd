"""Opening a store: key file modes, a shared data directory, stale key files, damage."""

from __future__ import annotations

import logging
import os
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tests.conftest import CANARY_SECRET
from tests.test_cli_support import cli_env, run
from tilecred import AWSCredential, CloudProvider, ConfigurationError, Credential
from tilecred._local import Store, rotate_key
from tilecred._local._keys import encode_key, new_key
from tilecred._models import CredentialCreateRequest

AWS_KEY = AWSCredential(access_key_id="AKIAIOSFODNN7EXAMPLE", secret_access_key=CANARY_SECRET)


def _store_with_a_secret(home: Path) -> None:
    with Store(home) as store:
        workspace = store.ensure_workspace("default")
        store.create_credential(
            workspace.id,
            None,
            CredentialCreateRequest(
                name="k", provider=CloudProvider.AWS, credential=Credential(aws=AWS_KEY)
            ),
        )  # fmt: skip


def _pending(home: Path) -> list[str]:
    return sorted(p.name for p in home.iterdir() if p.name.startswith("key.new."))


def _write_pending(home: Path, name: str, key: bytes) -> Path:
    path = home / name
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.write(fd, encode_key(key).encode() + b"\n")
    os.close(fd)
    return path


# -- item 6: key file and directory modes --------------------------------------------


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660])
def test_a_key_file_others_can_reach_is_refused(tmp_path: Path, mode: int) -> None:
    home = tmp_path / "home"
    _store_with_a_secret(home)
    (home / "key").chmod(mode)
    with pytest.raises(ConfigurationError) as caught:
        Store(home)
    assert str(caught.value) == (
        f"the key file {home / 'key'} is not private (mode {mode:04o}): "
        f"run chmod 600 {home / 'key'}"
    )
    (home / "key").chmod(0o400)
    Store(home).close()


def test_the_cli_shows_the_chmod_and_the_directory_warning(tmp_path: Path) -> None:
    home = tmp_path / "shared dir"
    _store_with_a_secret(home)
    (home / "key").chmod(0o644)
    env = cli_env(TILECRED_HOME=str(home))
    refused = run(["list"], env, process=True)
    assert refused.code == 1
    assert refused.err == (
        f"error: could not list credentials: the key file {home / 'key'} is not private "
        f"(mode 0644): run chmod 600 '{home / 'key'}'\n"
    )
    (home / "key").chmod(0o600)
    home.chmod(0o777)
    listed = run(["list"], env, process=True)
    assert listed.code == 0
    assert listed.err == (
        f"warning: the data directory {home} is writable by others (mode 0777), who could "
        f"replace the store or its key: run chmod 700 '{home}'\n"
    )


def test_a_shared_data_directory_is_warned_about(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    home = tmp_path / "home"
    Store(home).close()
    home.chmod(0o775)
    message = (
        f"the data directory {home} is writable by others (mode 0775), who could replace the "
        f"store or its key: run chmod 700 {home}"
    )
    with (
        caplog.at_level(logging.WARNING, "tilecred"),
        pytest.warns(UserWarning, match="is writable by others") as warned,
    ):
        Store(home).close()
    assert [str(w.message) for w in warned] == [message]
    assert [r.getMessage() for r in caplog.records] == [message]
    home.chmod(0o700)


# -- item 7: key.new.* files left by killed rotations ------------------------------------


def test_a_killed_rotations_key_file_is_removed_on_the_next_open(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    home = tmp_path / "home"
    _store_with_a_secret(home)
    # Killed before its transaction committed: the store never took this key.
    stale = _write_pending(home, "key.new.0123456789abcdef", new_key())
    (home / "key.new.empty").touch(mode=0o600)  # killed between create and write
    with caplog.at_level(logging.INFO, "tilecred"), Store(home):
        pass
    assert _pending(home) == []
    assert f"removed {stale}, left behind by a key rotation that did not finish" in [
        r.getMessage() for r in caplog.records
    ]


def test_a_rotation_removes_what_killed_ones_left(tmp_path: Path) -> None:
    home = tmp_path / "home"
    _store_with_a_secret(home)
    with Store(home) as store:
        _write_pending(home, "key.new.feedfacefeedface", new_key())
        assert store.rotate_key() == 1
        assert _pending(home) == []
    with Store(home) as reopened:
        got = reopened.get_credential(
            reopened.ensure_workspace("default").id, None, "k", with_secrets=True
        )
        assert got.credential is not None
        assert got.credential.aws == AWS_KEY


def test_a_rotation_in_progress_elsewhere_keeps_its_key_file(tmp_path: Path) -> None:
    home = tmp_path / "home"
    _store_with_a_secret(home)
    # Another process mid-rotation: it holds the write lock, its pending file
    # is written and its key is not committed yet.
    other = sqlite3.connect(home / "tilecred.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    pending = _write_pending(home, "key.new.in-progress", new_key())
    opened: list[Store] = []
    opener = threading.Thread(target=lambda: opened.append(Store(home)))
    opener.start()
    opener.join(timeout=1)
    assert opener.is_alive()  # waiting for the lock, not removing the file
    assert pending.exists()
    other.execute("ROLLBACK")  # that rotation failed: its key is now stale
    other.close()
    opener.join(timeout=30)
    opened[0].close()
    assert _pending(home) == []


def test_a_committed_rotations_key_file_is_kept_and_adopted(tmp_path: Path) -> None:
    home = tmp_path / "home"
    _store_with_a_secret(home)
    old_text = (home / "key").read_text()
    rotate_key(home)
    new_text = (home / "key").read_text()
    # Killed after the commit, before the key file was replaced.
    (home / "key").write_text(old_text)
    pending = home / "key.new.committed"
    pending.touch(mode=0o600)
    pending.write_text(new_text)
    Store(home).close()
    assert _pending(home) == []
    assert (home / "key").read_text() == new_text


# -- item 11: a damaged store ----------------------------------------------------------


def _damaged(path: Path, reason: str) -> str:
    return (
        f"the local store {path} is damaged ({reason}): restore it from a backup "
        "(docs/local.md, 'When the store is damaged': PRAGMA integrity_check)"
    )


def test_a_file_that_is_not_a_database_is_called_damaged(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "tilecred.db").write_bytes(b"this is not an SQLite database, not at all" * 100)
    with pytest.raises(ConfigurationError) as caught:
        Store(home)
    assert str(caught.value) == _damaged(home / "tilecred.db", "file is not a database")


def test_a_store_with_damaged_pages_is_called_damaged(tmp_path: Path) -> None:
    home = tmp_path / "home"
    _store_with_a_secret(home)
    path = home / "tilecred.db"
    data = bytearray(path.read_bytes())
    page = int.from_bytes(data[16:18], "big")
    data[page:] = b"\xa5" * (len(data) - page)  # every page after the schema's
    path.write_bytes(bytes(data))
    with pytest.raises(ConfigurationError) as caught:
        Store(home)
    assert str(caught.value) == _damaged(path, "database disk image is malformed")


def test_a_killed_key_file_creations_temporary_is_removed(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    home = tmp_path / "home"
    Store(home).close()
    child = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                           capture_output=True, text=True, check=True)  # fmt: skip
    gone = home / f".key.{int(child.stdout)}.tmp"  # that process has exited
    gone.write_text(encode_key(new_key()))
    mine = home / f".key.{os.getpid()}.tmp"  # a live process's: kept
    mine.write_text(encode_key(new_key()))
    with caplog.at_level(logging.INFO, "tilecred"), Store(home):
        pass
    assert not gone.exists()
    assert mine.exists()
    assert f"removed {gone}, left behind by a key file creation that did not finish" in [
        r.getMessage() for r in caplog.records
    ]
