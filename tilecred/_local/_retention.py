"""The audit log's retention: export records with a digest chain, prune only what was exported.

An export is JSON Lines, one audit record a line, oldest first, each with
``previous`` (the digest of the line before; 64 zeros on the first) and
``digest``: SHA-256 of the record's fields and ``previous``, encoded as a
JSON array in a fixed order, so the digest does not depend on how a line is
spaced or its keys ordered. Changing, removing or reordering a line breaks
the chain from there on (:func:`verify_export` says where); rewriting the
whole chain changes its last digest, the *head*, which the export and the
prune record in the log itself (``audit.export``, ``audit.prune``), where
only a prune could remove it.

A prune exports first, then, in one write transaction, reads the file
back, checks its chain and that it holds exactly the records it is about to
delete, opens a permit for them (``audit_prunes``, schema version 13),
deletes them, closes the permit and records the prune: the database's
triggers refuse every other delete.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import hashlib
import os
from collections.abc import Generator, Iterable, Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import msgspec

from .._errors import CredentialsError
from ._audit import AuditEntry, insert_audit, local_actor
from ._engine import Connection, retrying
from ._records import from_micros, to_micros

if TYPE_CHECKING:
    from ._store import Store

__all__ = ["ExportSummary", "export_audit", "prune_audit", "verify_export"]

GENESIS = "0" * 64
_COLUMNS = (
    "seq, at, actor, workspace_id, teamspace, credential, credential_id, action, outcome,"
    " request_id, detail"
)
_FETCH = 5000


class ExportedRecord(msgspec.Struct, kw_only=True):
    """One line of an export: an audit record as stored, and its place in the chain."""

    seq: int
    at: str
    actor: str
    workspace_id: str
    teamspace: str | None
    credential: str | None
    credential_id: str | None
    action: str
    outcome: str
    request_id: str | None
    detail: str | None
    previous: str
    digest: str


_ENCODER = msgspec.json.Encoder()
_DECODER = msgspec.json.Decoder(ExportedRecord)


@dataclasses.dataclass(frozen=True)
class ExportSummary:
    """What an export holds: how many records, their seq range, the chain's head."""

    records: int
    first_seq: int | None
    last_seq: int | None
    head: str

    def describe(self) -> str:
        span = "" if self.first_seq is None else f" (seq {self.first_seq} to {self.last_seq})"
        noun = "record" if self.records == 1 else "records"
        return f"{self.records} {noun}{span}, head digest {self.head}"


def _digest(fields: tuple[Any, ...], previous: str) -> str:
    return hashlib.sha256(_ENCODER.encode([*fields, previous])).hexdigest()


def _fields(row: tuple[Any, ...]) -> tuple[Any, ...]:
    """A stored row's fields as an export writes them (its time in ISO 8601, UTC)."""
    return (row[0], from_micros(row[1]).isoformat(), *row[2:])


def _chain(rows: Iterable[tuple[Any, ...]]) -> Iterator[ExportedRecord]:
    previous = GENESIS
    for row in rows:
        fields = _fields(row)
        digest = _digest(fields, previous)
        names = ExportedRecord.__struct_fields__[: len(fields)]
        yield ExportedRecord(**dict(zip(names, fields, strict=True)), previous=previous,
                             digest=digest)  # fmt: skip
        previous = digest


def _rows(conn: Connection, before: int | None, last_seq: int) -> Generator[tuple[Any, ...]]:
    where, params = "seq <= ?", [last_seq]
    if before is not None:
        where += " AND at < ?"
        params.append(before)
    cursor = conn.execute(
        f"SELECT {_COLUMNS} FROM audit WHERE {where} ORDER BY seq",  # noqa: S608
        params,
    )
    yield from cursor


def _write(conn: Connection, out: IO[bytes], before: int | None) -> ExportSummary:
    # The records there are now: those appended meanwhile wait for the next export.
    (through,) = conn.execute("SELECT coalesce(max(seq), 0) FROM audit").fetchone()
    count, first, last, head = 0, None, None, GENESIS
    for record in _chain(_rows(conn, before, int(through))):
        out.write(_ENCODER.encode(record) + b"\n")
        count += 1
        first = record.seq if first is None else first
        last, head = record.seq, record.digest
    return ExportSummary(count, first, last, head)


def _anchor(conn: Connection, action: str, summary: ExportSummary, text: str) -> None:
    """Record the export (or prune) in the log of every workspace it touched."""
    if not summary.records:
        return
    workspaces = conn.execute(
        "SELECT DISTINCT workspace_id FROM audit WHERE seq >= ? AND seq <= ?",
        (summary.first_seq, summary.last_seq),
    ).fetchall()
    actor = local_actor()
    for (workspace_id,) in workspaces:
        insert_audit(conn, AuditEntry(actor, workspace_id, action), "ok", text)


def export_audit(
    store: Store, path: Path, before: datetime.datetime | None = None
) -> ExportSummary:
    """Write every audit record (only those before ``before``, if given) to ``path``.

    The file is written whole or not at all (a temporary file renamed into
    place); the export is then recorded in the log.

    Raises:
        CredentialsError: the file cannot be written.
    """
    micros = None if before is None else to_micros(before)
    with _replacing(path) as out, store.transaction(write=False) as conn:
        summary = _write(conn, out, micros)
    _record(store, "audit.export", summary, f"exported {summary.describe()} to {path.name}")
    return summary


@retrying
def _record(store: Store, action: str, summary: ExportSummary, text: str) -> None:
    with store.transaction(write=True) as conn:
        _anchor(conn, action, summary, text)


@contextlib.contextmanager
def _replacing(path: Path) -> Iterator[IO[bytes]]:
    temporary = path.with_name(f".{path.name}.partial")
    try:
        with temporary.open("wb") as out:
            yield out
            out.flush()
            os.fsync(out.fileno())
        temporary.replace(path)
    except OSError as exc:
        raise CredentialsError(f"cannot write the export {path}: {exc.strerror}") from exc
    finally:
        temporary.unlink(missing_ok=True)


def _read(path: Path) -> Iterator[ExportedRecord]:
    """The export's records, each checked against the chain so far.

    Raises:
        CredentialsError: a line that is not a record, or a broken chain.
    """
    previous, seq = GENESIS, 0
    try:
        with path.open("rb") as lines:
            for number, line in enumerate(lines, start=1):
                try:
                    record = _DECODER.decode(line)
                except msgspec.DecodeError as exc:
                    raise CredentialsError(
                        f"{path}: line {number} is not an exported audit record ({exc})"
                    ) from None
                fields = msgspec.structs.astuple(record)[:-2]
                if record.previous != previous or record.seq <= seq:
                    raise CredentialsError(
                        f"{path}: line {number} does not follow line {number - 1}: "
                        "a line was removed, added or moved"
                    )
                if _digest(fields, previous) != record.digest:
                    raise CredentialsError(
                        f"{path}: line {number} (seq {record.seq}) was changed after it was "
                        "exported: its digest does not match its fields"
                    )
                previous, seq = record.digest, record.seq
                yield record
    except OSError as exc:
        raise CredentialsError(f"cannot read the export {path}: {exc.strerror}") from exc


def verify_export(path: Path) -> ExportSummary:
    """Check an export's chain; what it holds (its head to compare with the log's record).

    Raises:
        CredentialsError: the file cannot be read, or its chain is broken (which line).
    """
    count, first, last, head = 0, None, None, GENESIS
    for record in _read(path):
        count += 1
        first = record.seq if first is None else first
        last, head = record.seq, record.digest
    return ExportSummary(count, first, last, head)


def find_anchor(store: Store, head: str) -> tuple[str, datetime.datetime] | None:
    """The log's record of the export (or prune) whose chain ends at ``head``."""
    with store.transaction(write=False, snapshot=False) as conn:
        row = conn.execute(
            "SELECT action, at FROM audit WHERE action IN ('audit.export', 'audit.prune')"
            " AND detail LIKE ? ORDER BY seq LIMIT 1",
            (f"%head digest {head}%",),
        ).fetchone()
    return None if row is None else (str(row[0]), from_micros(row[1]))


@retrying
def _delete(store: Store, path: Path, before: int, summary: ExportSummary) -> None:
    """Delete the exported records, if the file still holds exactly them."""
    assert summary.last_seq is not None
    with store.transaction(write=True) as conn:
        rows = _rows(conn, before, summary.last_seq)
        with contextlib.closing(rows):
            stored = _chain(rows)
            for exported in _read(path):
                if next(stored, None) != exported:
                    raise _mismatch(path, exported.seq)
            if next(stored, None) is not None:
                raise _mismatch(path, None)
        now = to_micros(datetime.datetime.now(datetime.UTC))
        conn.execute(
            "INSERT INTO audit_prunes (at, before_at, last_seq, records, head, pending)"
            " VALUES (?, ?, ?, ?, ?, 1)",
            (now, before, summary.last_seq, summary.records, summary.head),
        )
        text = f"pruned {summary.describe()}, exported to {path.name}"
        _anchor(conn, "audit.prune", summary, text)
        deleted = conn.execute(
            "DELETE FROM audit WHERE seq <= ? AND at < ?", (summary.last_seq, before)
        ).rowcount
        if deleted != summary.records:
            raise CredentialsError(
                f"the prune would delete {deleted} audit records, not the {summary.records} "
                f"exported to {path}: nothing was deleted"
            )
        conn.execute("UPDATE audit_prunes SET pending = 0 WHERE pending = 1")


def _mismatch(path: Path, seq: int | None) -> CredentialsError:
    where = "holds fewer records than" if seq is None else f"differs at seq {seq} from"
    return CredentialsError(f"the export {path} {where} the audit log: nothing was deleted")


def prune_audit(store: Store, before: datetime.datetime, path: Path) -> ExportSummary:
    """Export the records from before ``before`` to ``path``, then delete exactly those.

    Raises:
        CredentialsError: the export cannot be written, or no longer matches
            the log when the prune runs (nothing is deleted then).
    """
    micros = to_micros(before)
    with _replacing(path) as out, store.transaction(write=False) as conn:
        summary = _write(conn, out, micros)
    if summary.records:
        _delete(store, path, micros, summary)
    return summary
