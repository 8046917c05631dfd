"""The audit log's retention (issue #22): export with a digest chain, prune only what was exported.

Store-level tests run on both engines; the command line's on SQLite (the
local store, as an operator runs it).
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import re
from pathlib import Path
from typing import Any

import msgspec
import pytest

from tilecred import CredentialsError
from tilecred._local import Store
from tilecred._local._audit import AuditEntry
from tilecred._local._records import to_micros
from tilecred._local._retention import GENESIS, export_audit, prune_audit, verify_export

from ._engines import store_at
from .test_cli_support import run

T0 = datetime.datetime(2026, 3, 1, tzinfo=datetime.UTC)
CANARY = "canary-9f8e7d"


@pytest.fixture
def store(engine: str, tmp_path: Path) -> Any:
    with store_at(tmp_path / "home") as made:
        yield made


def _log(store: Store, count: int, *, start: datetime.datetime = T0) -> str:
    """``count`` use records, an hour apart from ``start``, in a new workspace; its id."""
    ws = store.ensure_workspace("ret").id
    with store.transaction(write=True) as conn:
        from tilecred._local._audit import insert_audit

        for n in range(count):
            entry = AuditEntry(f"token:tok_{n % 3}", ws, "use", credential=f"c{n}")
            insert_audit(conn, entry, "ok", f"use {n}", at=start + datetime.timedelta(hours=n))
    return ws


def _stored(store: Store) -> list[tuple[Any, ...]]:
    with store.transaction(write=False) as conn:
        return [
            tuple(row) for row in conn.execute("SELECT seq, action, detail FROM audit ORDER BY seq")
        ]


def test_an_export_chains_every_record_and_records_its_head(store: Store, tmp_path: Path) -> None:
    _log(store, 5)
    path = tmp_path / "all.jsonl"
    summary = export_audit(store, path)
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [line["detail"] for line in lines] == [f"use {n}" for n in range(5)]
    assert lines[0]["previous"] == GENESIS
    assert lines[0]["at"] == "2026-03-01T00:00:00+00:00"
    # Each digest: SHA-256 of the fields in order, then the digest before.
    for before, line in zip([None, *lines], lines, strict=False):
        fields = [v for k, v in line.items() if k != "digest"]
        assert line["previous"] == (GENESIS if before is None else before["digest"])
        assert line["digest"] == hashlib.sha256(msgspec.json.encode(fields)).hexdigest()
    assert (summary.records, summary.head) == (5, lines[-1]["digest"])
    assert verify_export(path) == summary
    exported = _stored(store)[-1]
    assert exported[1] == "audit.export"
    assert (
        exported[2] == f"exported 5 records (seq 1 to 5), head digest {summary.head} to all.jsonl"
    )


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            lambda ls: ls[:1] + ls[2:],
            "line 2 does not follow line 1: a line was removed, added or moved",
        ),
        (lambda ls: [ls[1], ls[0], *ls[2:]], "line 1 does not follow line 0"),
        (
            lambda ls: [ls[0], ls[1].replace("use 1", "use X"), *ls[2:]],
            "line 2 (seq 2) was changed after it was exported: its digest does not match",
        ),
        (lambda ls: [*ls, "not json"], "line 5 is not an exported audit record"),
    ],
)
def test_an_edited_export_shows_where(
    store: Store, tmp_path: Path, edit: Any, message: str
) -> None:
    _log(store, 4)
    path = tmp_path / "e.jsonl"
    export_audit(store, path)
    path.write_text("\n".join(edit(path.read_text().splitlines())) + "\n")
    with pytest.raises(
        CredentialsError, match="^" + str(path).replace(".", r"\.") + ": "
    ) as caught:
        verify_export(path)
    assert message in caught.value.message


def test_prune_deletes_exactly_what_it_exported_and_records_itself(
    store: Store, tmp_path: Path
) -> None:
    _log(store, 6)
    path = tmp_path / "old.jsonl"
    summary = prune_audit(store, T0 + datetime.timedelta(hours=3), path)
    assert (summary.records, summary.first_seq, summary.last_seq) == (3, 1, 3)
    assert [json.loads(line)["detail"] for line in path.read_text().splitlines()] == [
        "use 0", "use 1", "use 2",
    ]  # fmt: skip
    stored = _stored(store)
    assert [row[2] for row in stored[:3]] == ["use 3", "use 4", "use 5"]
    assert stored[3][1:] == (
        "audit.prune",
        f"pruned 3 records (seq 1 to 3), head digest {summary.head}, exported to old.jsonl",
    )
    assert len(stored) == 4
    assert verify_export(path) == summary
    # Nothing old enough: nothing written to the log, nothing deleted.
    assert prune_audit(store, T0, tmp_path / "none.jsonl").records == 0
    assert len(_stored(store)) == 4


@pytest.mark.parametrize(
    ("rechain", "message"),
    [
        (False, "line 2 (seq 2) was changed after it was exported"),
        # A file rewritten with a chain of its own: it no longer matches the log.
        (True, "differs at seq 2 from the audit log: nothing was deleted"),
    ],
)
def test_a_prune_whose_file_no_longer_matches_deletes_nothing(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, rechain: bool, message: str
) -> None:
    from tilecred._local import _retention

    _log(store, 3)
    path = tmp_path / "p.jsonl"
    written = _retention._write

    def tamper(conn: Any, out: Any, before: Any) -> Any:
        summary = written(conn, out, before)
        out.flush()
        lines = path.with_name(f".{path.name}.partial").read_text().replace("use 1", "use X")
        if rechain:
            records = [json.loads(line) for line in lines.splitlines()]
            rows = [tuple(r.values())[:-2] for r in records]
            micros = [to_micros(datetime.datetime.fromisoformat(r[1])) for r in rows]
            chained = _retention._chain(
                (r[0], m, *r[2:]) for r, m in zip(rows, micros, strict=True)
            )
            lines = "".join(msgspec.json.encode(r).decode() + "\n" for r in chained)
        out.seek(0)
        out.truncate()
        out.write(lines.encode())
        return summary

    monkeypatch.setattr(_retention, "_write", tamper)
    with pytest.raises(CredentialsError, match=re.escape(message)):
        prune_audit(store, T0 + datetime.timedelta(days=1), path)
    assert [row[2] for row in _stored(store)] == ["use 0", "use 1", "use 2"]


def test_the_log_refuses_every_delete_but_a_prune(store: Store) -> None:
    _log(store, 2)
    with (
        pytest.raises(CredentialsError, match="append-only"),
        store.transaction(write=True) as conn,
    ):
        conn.execute("DELETE FROM audit WHERE seq = 1")
    # A permit that was closed allows nothing any more, and cannot be reopened.
    with store.transaction(write=True) as conn:
        conn.execute(
            "INSERT INTO audit_prunes (at, before_at, last_seq, records, head, pending)"
            " VALUES (0, 0, 0, 0, '', 0)"
        )
    with (
        pytest.raises(CredentialsError, match="append-only"),
        store.transaction(write=True) as conn,
    ):
        conn.execute("UPDATE audit_prunes SET pending = 1")
    with (
        pytest.raises(CredentialsError, match="append-only"),
        store.transaction(write=True) as conn,
    ):
        conn.execute("DELETE FROM audit_prunes")
    assert len(_stored(store)) == 2


def test_the_command_line_exports_prunes_and_verifies(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = {"TILECRED_HOME": str(home)}
    with store_at(home) as store:
        _log(store, 3, start=datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC))
        entry = AuditEntry("local:x", store.ensure_workspace("ret").id, "use", detail=CANARY)
        store.append_audit(entry, "ok")
    out = tmp_path / "old.jsonl"
    result = run(["audit", "prune", "--before", "2021-01-01", "--export", str(out)], env)
    head = verify_export(out).head
    assert (result.code, result.err) == (0, "")
    assert result.out == f"pruned 3 records (seq 1 to 3), head digest {head}; they are in {out}\n"
    result = run(["audit", "verify-export", str(out)], env)
    assert result.code == 0, result.err
    assert result.out.splitlines()[0] == (
        f"{out}: the chain holds: 3 records (seq 1 to 3), head digest {head}"
    )
    assert result.out.splitlines()[1].startswith(
        "the audit log recorded this head: audit.prune at "
    )
    every = tmp_path / "all.jsonl"
    result = run(["audit", "export", str(every)], env)
    assert result.code == 0, result.err
    assert CANARY in every.read_text()  # a detail is exported as it was stored
    out.write_text(out.read_text().replace('"use 2"', '"use 9"'))
    result = run(["audit", "verify-export", str(out)], env)
    assert result.code == 1
    assert result.err == (
        f"error: {out}: line 3 (seq 3) was changed after it was exported: "
        "its digest does not match its fields\n"
    )
    assert os.path.exists(every)
