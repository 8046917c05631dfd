"""Several threads and processes on one store; a writer killed mid-loop loses nothing returned."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import tilecred
from tilecred import create_credential, list_credentials
from tilecred._local import Store

from .conftest import CANARY_SECRET

# Each writer creates its credentials through the public function and prints
# each name once the call has returned.
WRITER = """
import sys
import tilecred

prefix, count = sys.argv[1], int(sys.argv[2])
secret = {"aws": {"access_key_id": "AKIAIOSFODNN7EXAMPLE", "secret_access_key": sys.argv[3]}}
i = 0
while count < 0 or i < count:
    name = f"{prefix}-{i}"
    tilecred.create_credential(name, "AWS", credential=secret,
                               teamspace="ml" if i % 2 else None)
    print(name, flush=True)
    i += 1
"""


def _writer(prefix: str, count: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", WRITER, prefix, str(count), CANARY_SECRET],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ),
    )


def _all_names() -> set[str]:
    return {c.name for c in list_credentials()} | {c.name for c in list_credentials(teamspace="ml")}


def test_four_processes_creating_200_each_make_exactly_800(isolated: Path) -> None:
    # All four start on a store that does not exist yet: they also race to
    # create the key file, the schema, the workspace and the teamspace.
    writers = [_writer(f"p{n}", 200) for n in range(4)]
    outputs = [w.communicate(timeout=120) for w in writers]
    assert [w.returncode for w in writers] == [0, 0, 0, 0], [err for _, err in outputs]
    assert all(err == "" for _, err in outputs)
    assert all(len(out.split()) == 200 for out, _ in outputs)
    assert list_credentials().total_items == 400
    assert list_credentials(teamspace="ml").total_items == 400
    assert _all_names() == {f"p{n}-{i}" for n in range(4) for i in range(200)}
    with Store(isolated / "tilecred-home") as store:
        workspace = store.find_workspace("default")
        assert workspace is not None
        assert [t.name for t in store.list_teamspaces(workspace.id)] == ["ml"]


def test_a_writer_killed_mid_loop_leaves_a_sound_store_with_every_returned_write(
    isolated: Path,
) -> None:
    create_credential("before", "AWS", role={"aws": {"role_arn": "arn:aws:iam::1:role/x"}})
    tilecred.configure()  # let go of the store: the writer is alone in it
    writer = _writer("w", -1)
    assert writer.stdout is not None
    returned = [writer.stdout.readline().strip() for _ in range(60)]
    os.kill(writer.pid, signal.SIGKILL)
    rest, _ = writer.communicate(timeout=30)
    assert writer.returncode == -signal.SIGKILL
    returned += rest.split()
    assert returned[:3] == ["w-0", "w-1", "w-2"]

    db = sqlite3.connect(isolated / "tilecred-home" / "tilecred.db")
    assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    assert db.execute("PRAGMA foreign_key_check").fetchall() == []
    db.close()
    names = _all_names()
    assert set(returned) <= names
    assert "before" in names
    # At most the one write in flight when the signal came may also be there.
    assert len(names - set(returned) - {"before"}) <= 1
    create_credential("after", "AWS", role={"aws": {"role_arn": "arn:aws:iam::1:role/x"}})


def test_threads_share_one_client(isolated: Path) -> None:
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            for i in range(25):
                create_credential(f"t{n}-{i}", "AWS", credential={
                    "aws": {"access_key_id": "AKIAIOSFODNN7EXAMPLE",
                            "secret_access_key": CANARY_SECRET}})  # fmt: skip
                assert tilecred.get_credential(f"t{n}-{i}").name == f"t{n}-{i}"
        except BaseException as exc:  # reported below, with the thread's failure
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert list_credentials().total_items == 200


def test_a_forked_child_opens_its_own_connections() -> None:
    create_credential("parent", "AWS", role={"aws": {"role_arn": "arn:aws:iam::1:role/x"}})
    pid = os.fork()
    if pid == 0:  # the child: never return into pytest
        code = 1
        try:
            create_credential("child", "AWS", role={"aws": {"role_arn": "arn:aws:iam::1:role/x"}})
            code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    create_credential("parent-again", "AWS", role={"aws": {"role_arn": "arn:aws:iam::1:role/x"}})
    assert [c.name for c in list_credentials()] == ["child", "parent", "parent-again"]
