"""A store of 100,000 credentials and 1,000,000 audit records, built fast.

:func:`build` fills a store through its own code (the credential insert
that ``create_credential`` runs, and :func:`insert_audit`), in a few large
transactions instead of one per credential: the workspace ``default`` gets
``credentials`` credentials, its teamspace ``small`` a tenth as many, and
the log ``uses`` use records spread over all of them
(``cred-000000`` alone gets ``hot`` of them, a busy credential). A
PostgreSQL store is filled by copying a built SQLite store into it
(``tilecred store copy``'s code, in batches).
"""

from __future__ import annotations

import datetime
import functools
import time
from pathlib import Path

from tilecred._local import open_store
from tilecred._local._audit import AuditEntry, insert_audit
from tilecred._local._copy import copy_store
from tilecred._local._store import Store
from tilecred._models import AWSCredential, CloudProvider, Credential, CredentialCreateRequest

__all__ = ["SMALL_TEAMSPACE", "WORKSPACE", "build", "build_postgres", "name"]

WORKSPACE = "default"
SMALL_TEAMSPACE = "small"
_BATCH = 10_000
_ACTORS = tuple(f"token:tok_{n:016x} (runner {n})" for n in range(7))
_START = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)


def name(index: int) -> str:
    """The name of credential ``index``."""
    return f"cred-{index:06d}"


def _request(index: int) -> CredentialCreateRequest:
    key = AWSCredential(access_key_id=f"AKIA{index:016d}", secret_access_key="x" * 40)
    return CredentialCreateRequest(
        name=name(index),
        provider=CloudProvider.AWS,
        credential=Credential(aws=key),
        allowed_in_tasks=True,
    )


def _fill(store: Store, workspace_id: str, teamspace_id: str | None, count: int) -> list[str]:
    ids: list[str] = []
    for start in range(0, count, _BATCH):
        with store._transaction(write=True) as conn:
            cipher = functools.cache(functools.partial(store._current_cipher, conn, sealing=True))
            for index in range(start, min(start + _BATCH, count)):
                request = _request(index)
                secret = store._checked_secret(request)
                row = store._insert_credential(
                    conn, workspace_id, teamspace_id, request, secret, cipher
                )
                ids.append(row[0])
    return ids


def build(
    home: Path, credentials: int = 100_000, uses: int = 1_000_000, hot: int = 10_000
) -> float:
    """Fill a new SQLite store in ``home``; the seconds it took."""
    started = time.perf_counter()
    with open_store(home) as store:
        workspace = store.ensure_workspace(WORKSPACE)
        small = store.create_teamspace(workspace.id, SMALL_TEAMSPACE)
        ids = _fill(store, workspace.id, None, credentials)
        ids += _fill(store, workspace.id, small.id, credentials // 10)
        names = [name(i) for i in range(credentials)] + [name(i) for i in range(credentials // 10)]
        # A credential's uses go in one after another, in the order of the
        # credentials' ids: most of the log's indexes then grow at their end.
        by_id = sorted(range(len(ids)), key=ids.__getitem__)
        per = max(1, (uses - hot) // len(ids))
        entry = AuditEntry(actor="", workspace_id=workspace.id, action="use")
        step = datetime.timedelta(seconds=1)
        for start in range(0, uses, _BATCH * 10):
            with store._transaction(write=True) as conn:
                # Room for the log's indexes in memory: each record goes to
                # random places in four of them (64 MiB, this connection only).
                conn.execute("PRAGMA cache_size = -65536")
                for n in range(start, min(start + _BATCH * 10, uses)):
                    index = 0 if n < hot else by_id[((n - hot) // per) % len(ids)]
                    entry.actor = _ACTORS[n % len(_ACTORS)]
                    entry.credential, entry.credential_id = names[index], ids[index]
                    insert_audit(conn, entry, "ok" if n % 9 else "denied", at=_START + n * step)
    return time.perf_counter() - started


def build_postgres(home: Path, url: str) -> float:
    """Copy the built SQLite store in ``home`` into the empty database at ``url``."""
    started = time.perf_counter()
    copy_store(home, url)
    return time.perf_counter() - started
