"""The local store: secrets sealed with AES-256-GCM in SQLite or PostgreSQL.

:class:`Store` is assembled from one module per concern: ``_core.py``
(opening, the key, transactions), ``_spaces.py`` (workspaces and
teamspaces), ``_credrows.py`` and ``_credentials.py`` (credentials), ``_associations.py``
(which credential is for which target); here,
the audit log and key rotation.
"""

from __future__ import annotations

import dataclasses
import datetime
from pathlib import Path

from .._backend import AuditQuery
from .._errors import ConfigurationError
from .._models import AuditRecord, UsageSummary
from . import _keys
from ._associations import Associations
from ._audit import AuditEntry, insert_audit, select_audit, select_usage
from ._core import _not_found, _row_aad, logger
from ._credrows import altered
from ._engine import Connection, retrying
from ._sqlite import DATABASE_NAME, KEY_FILE_NAME

__all__ = ["DATABASE_NAME", "KEY_FILE_NAME", "Store"]


class Store(Associations):
    """The embedded credential store: an SQLite file in one directory, or a
    PostgreSQL database (:func:`tilecred._local.open_store`).

    Parameters:
        home: the directory (created with mode 0700 if missing); the database
            is ``tilecred.db`` in it.
        key: the 32-byte master key. Default: ``TILECRED_MASTER_KEY`` (base64),
            else the key file ``key`` beside the database, created on first use.
        engine: the database, instead of ``home`` (see ``open_store``).

    Raises:
        ConfigurationError: the directory or database cannot be used, or the
            key does not open the store (nothing is written in that case).

    >>> import os, pathlib
    >>> from tilecred._local import Store
    >>> with Store(pathlib.Path(os.environ["TILECRED_HOME"])) as store:
    ...     team = store.create_workspace("team")
    ...     store.create_teamspace(team.id, "ml").name
    'ml'
    """

    # -- the audit log ------------------------------------------------------------

    @retrying
    def append_audit(self, entry: AuditEntry, outcome: str, detail: str | None = None) -> None:
        """Append one record to the audit log, in a transaction of its own."""
        with self._transaction(write=True) as conn:
            insert_audit(conn, entry, outcome, detail)

    def read_audit(self, workspace_id: str, query: AuditQuery) -> list[AuditRecord]:
        """A workspace's audit records, oldest first (the newest ``query.limit``)."""
        with self._transaction(write=False, snapshot=False) as conn:
            return select_audit(conn, workspace_id, query)

    def usage_summary(
        self,
        workspace_id: str,
        teamspace_id: str | None,
        name: str,
        since: datetime.datetime | None = None,
    ) -> list[UsageSummary]:
        """Who used the credential now of this name: per actor, the most recent first.

        Raises:
            NotFoundError: no credential by that name in that scope.
        """
        with self._transaction(write=False) as conn:
            row = self._credential_row(conn, workspace_id, teamspace_id, name)
            if row is None:
                raise _not_found()
            return select_usage(conn, workspace_id, row[0], since)

    # -- the key ------------------------------------------------------------------

    def rotate_key(self, new_key: bytes | None = None) -> int:
        """Re-encrypt every secret with a new key, in one transaction.

        With a key file, the new key (random unless given) replaces it; the
        key is written first to a pending file (``key.new.<random>``) so that a
        crash at any point leaves a store that some key file opens. With
        ``TILECRED_MASTER_KEY`` or an explicit key, ``new_key`` is required and
        the caller keeps it.

        Returns:
            How many credentials were re-encrypted.

        Raises:
            ConfigurationError: no new key given for an environment or explicit
                key, or the key file cannot be written.
        """
        if new_key is None:
            if self._source.path is None:
                raise ConfigurationError(
                    f"the key comes from {self._source.description}: give the new key explicitly"
                )
            new_key = _keys.new_key()
        new_key = _keys.check_key(new_key)
        new_cipher = _keys.Cipher(new_key)
        pending: Path | None = None
        try:
            with self._transaction(mode="exclusive") as conn:
                # Exclusive: no other rotation runs until this one has committed,
                # and any rotation left unfinished is finished first. The key
                # check is locked before any secret is read: a write sealing with
                # the old key finishes first, and none starts until this commits.
                self._read_check(conn, lock="update")
                old_cipher = self._current_cipher(conn)
                if self._source.path is not None:
                    # What killed rotations left behind goes before this one adds its own.
                    _keys.remove_stale_pending_keys(
                        self._source.path, self._read_check(conn) or b""
                    )
                    pending = _keys.write_pending_key_file(self._source.path, new_key)
                count, check = self._reseal_all(conn, old_cipher, new_cipher)
        except BaseException:
            # The store did not change: its pending key must not linger.
            if pending is not None:
                _keys.discard_pending_key_file(pending)
            raise
        if pending is not None and self._source.path is not None:
            _keys.finish_rotation(pending, self._source.path)
        self._fold_wal()  # the old ciphertext must not outlive the old key on disk
        source = dataclasses.replace(self._source, key=new_key)
        with self._lock:
            self._source, self._check, self._cipher = source, check, new_cipher
        logger.info(
            "%s re-keyed: %d secrets re-encrypted", self.describe.removeprefix("the "), count
        )
        return count

    @staticmethod
    def _reseal_all(
        conn: Connection, old_cipher: _keys.Cipher, new_cipher: _keys.Cipher
    ) -> tuple[int, bytes]:
        count = 0
        rows = conn.execute(
            "SELECT id, workspace_id, teamspace_id, name, allowed_in_tasks, secret"
            " FROM credentials WHERE secret IS NOT NULL"
        ).fetchall()
        for ident, workspace_id, teamspace_id, name, allowed, sealed in rows:
            aad = _row_aad(workspace_id, teamspace_id, name, ident, bool(allowed))
            opened = old_cipher.open(bytes(sealed), aad)
            if opened is None:
                raise altered(name)
            conn.execute(
                "UPDATE credentials SET secret = ? WHERE id = ?",
                (new_cipher.seal(opened, aad), ident),
            )
            count += 1
        check = new_cipher.key_check()
        conn.execute("UPDATE meta SET value = ? WHERE key = 'key_check'", (check,))
        return count, check
