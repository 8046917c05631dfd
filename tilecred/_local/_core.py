"""The store's core: opening it, its key, and its transactions, over an engine.

The database is SQLite (``_sqlite.py``) or PostgreSQL (``_postgres.py``),
behind ``_engine.py``'s seam. Opening checks the key against the store's key
check before anything is written; every operation then borrows a
connection for one transaction (see :meth:`StoreCore._transaction`).
"""

from __future__ import annotations

import contextlib
import datetime
import logging
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Self, TypeVar

import msgspec

from .._errors import ConfigurationError, ConflictError, CredentialsError, NotFoundError
from .._models import CloudProvider
from . import _keys
from ._backfill import EXPIRY_ADDED, backfill_expiry
from ._engine import DEFAULT_INDEX, NAME_INDEX, Connection, Engine, Lock, Mode, Retry
from ._health import remove_stale_keys
from ._records import TeamspaceRecord, from_micros, to_micros
from ._reseal import AAD_BOUND, reseal_bound
from ._rows import Secret
from ._schema import SCHEMA_VERSION
from ._token_scope import IDS_BOUND, bind_existing

__all__ = ["StoreCore"]


logger = logging.getLogger("tilecred")

T = TypeVar("T")
_COLUMNS = (
    "id, teamspace_id, name, provider, provider_default, allowed_in_tasks,"
    " kind, member, public, secret, created_at, updated_at, active, expires_at, description"
)
# SQL here is built only from the constant fragments in this module (hence
# the S608 exemptions); every value is bound as a parameter.
_AAD_ENCODER = msgspec.json.Encoder()


_PROVIDERS = {provider.value: provider for provider in CloudProvider}


def _now() -> int:
    return to_micros(datetime.datetime.now(datetime.UTC))


def _row_aad(
    workspace_id: str, teamspace_id: str | None, name: str, ident: str, allowed_in_tasks: bool
) -> bytes:
    # The row's identity and whether tasks may use it, unambiguously encoded:
    # a sealed secret opens only in the row it was written for, and only with
    # the allowed_in_tasks it was written with, so flipping that column in the
    # database (not through tilecred, which seals anew) opens nothing.
    return _AAD_ENCODER.encode(
        ["tilecred/credential/2", workspace_id, teamspace_id, name, ident, bool(allowed_in_tasks)]
    )


def _row_aad_v1(workspace_id: str, teamspace_id: str | None, name: str, ident: str) -> bytes:
    """What stores before schema version 8 bound their secrets to (see _reseal.py)."""
    return _AAD_ENCODER.encode(["tilecred/credential", workspace_id, teamspace_id, name, ident])


def _expiry(secret: Secret) -> int | None:
    """The secret's own expiry, as stored (micros; ``None``: not known)."""
    when = secret.expires_at()
    return None if when is None else to_micros(when)


def _teamspace(row: tuple[Any, ...]) -> TeamspaceRecord:
    ident, workspace_id, name, visibility, description, created = row
    return TeamspaceRecord(ident, workspace_id, name, visibility, description, from_micros(created))


def _not_found() -> NotFoundError:
    return NotFoundError("credential not found", status=404)


def _conflict() -> ConflictError:
    return ConflictError("name already in use", status=409)


class StoreCore:
    """The store's opening, key, connections and transactions; the operations
    are added by its subclasses, down to :class:`~._store.Store`."""

    def __init__(
        self, home: Path | None = None, *, key: bytes | None = None, engine: Engine | None = None
    ) -> None:
        self._lock = threading.Lock()
        if key is None:
            _keys.key_from_environment(os.environ)  # a malformed key fails before any file is made
        if engine is None:
            if home is None:
                raise ConfigurationError("a store needs a directory or a database")
            from ._sqlite import SQLiteEngine

            engine = SQLiteEngine(Path(home))
        self._engine = engine
        self.describe = engine.describe
        self.home: Path | None = getattr(engine, "home", None)
        self.path: Path | None = getattr(engine, "path", None)
        self.key_path = engine.key_path
        try:
            conn = engine.connect()
            try:
                self._source, self._check = self._open(conn, key)
            finally:
                engine.release(conn)
        except BaseException:
            engine.close()
            raise
        self._cipher = _keys.Cipher(self._source.key)

    def __repr__(self) -> str:
        return f"Store({self._engine.location!r})"

    @property
    def engine(self) -> Engine:
        """The database behind the store."""
        return self._engine

    # -- opening ----------------------------------------------------------------

    def _open(self, conn: Connection, explicit: bytes | None) -> tuple[_keys.KeySource, bytes]:
        """Check the key against the store before anything is written to it."""
        engine = self._engine
        try:
            version = engine.schema_version(conn)
            check = self._read_check(conn) if version > 0 else None
        except engine.errors as exc:
            raise engine.opening_error(exc, reading=True) from exc
        if version > SCHEMA_VERSION:
            raise ConfigurationError(
                f"{self.describe} has schema version {version}, newer than this "
                f"tilecred knows ({SCHEMA_VERSION}): upgrade tilecred"
            )
        source = self._find_key(explicit, check)
        # The key fits (or the store is new): from here on, writing is safe.
        try:
            engine.prepare(conn)
        except engine.errors as exc:
            raise engine.opening_error(exc) from exc
        if check is None or version < SCHEMA_VERSION:
            check = self._initialize(conn, source)
        if self.key_path is not None:
            remove_stale_keys(self.key_path, self._locked_check)
        logger.debug(
            "%s opened (schema %d, key from %s)",
            self.describe.removeprefix("the "),
            SCHEMA_VERSION,
            source.description,
        )
        return source, check

    def _read_check(self, conn: Connection, *, lock: Lock | None = None) -> bytes | None:
        """The key check; ``lock`` ``"share"`` holds it against a rotation until the
        transaction ends (a write about to seal with the key it opens), ``"update"``
        against every such write (the rotation)."""
        row = conn.execute(self._engine.check_sql(lock=lock)).fetchone()
        return None if row is None else bytes(row[0])

    def _locked_check(self, action: Callable[[bytes | None], T]) -> T:
        """``action(key check)`` in an exclusive transaction that writes nothing."""
        with self._transaction(mode="exclusive", commit=False) as conn:
            return action(self._read_check(conn))

    def _find_key(self, explicit: bytes | None, check: bytes | None) -> _keys.KeySource:
        if explicit is not None:
            source = _keys.KeySource(_keys.check_key(explicit), "the key given to Store")
        else:
            source = _keys.key_from_environment(os.environ) or self._key_from_file(check)
        if check is not None and not _keys.Cipher(source.key).opens(check):
            raise ConfigurationError(
                f"{source.description} does not open {self.describe}: "
                "it was encrypted with another key"
            )
        return source

    def _key_from_file(self, check: bytes | None) -> _keys.KeySource:
        key_path = self.key_path
        if key_path is None:
            raise ConfigurationError(
                f"{self.describe} needs its master key: set {_keys.KEY_ENV} "
                "or give a key file (tilecred serve --key-file)"
            )
        source = _keys.read_key_file(key_path)
        if check is None:
            if source is not None:
                return source
            if not self._engine.creates_key:
                raise ConfigurationError(
                    f"the key file {key_path} does not exist: {self.describe} never "
                    "creates its key, so that every instance uses the same one (docs/deployment.md)"
                )
            return _keys.create_key_file(key_path)
        if source is not None and _keys.Cipher(source.key).opens(check):
            return source
        # A rotation that stopped after the store took the new key but before
        # the key file was replaced: finish it, holding the exclusive lock so
        # that no other rotation runs meanwhile (nothing is written to the store).
        try:
            adopted = self._locked_check(
                lambda current: _keys.adopt_pending_key(key_path, current or check)
            )
        except CredentialsError as exc:
            raise ConfigurationError(f"cannot open {self.describe}: {exc.message}") from exc
        if adopted is not None:
            return adopted
        if source is None:
            raise ConfigurationError(
                f"the key file {key_path} is missing and {self.describe} "
                f"was encrypted with it: restore it from a backup or set {_keys.KEY_ENV}"
            )
        return source  # does not open the store: _find_key says so

    def _initialize(self, conn: Connection, source: _keys.KeySource) -> bytes:
        """Create or migrate the schema and keep the key check, in one transaction."""
        engine = self._engine
        try:
            engine.begin(conn, "exclusive")
            try:
                # Another process may have done this since we looked.
                old = engine.migrate(conn)
                cipher = _keys.Cipher(source.key)
                if 0 < old < EXPIRY_ADDED:
                    backfill_expiry(
                        conn, lambda sealed, row: cipher.open(sealed, _row_aad_v1(*row))
                    )
                if 0 < old < AAD_BOUND:
                    reseal_bound(conn, cipher, _row_aad_v1, _row_aad)
                if 0 < old < IDS_BOUND:
                    bind_existing(conn)
                check = self._read_check(conn)
                if check is None:
                    check = _keys.Cipher(source.key).key_check()
                    conn.execute("INSERT INTO meta (key, value) VALUES ('key_check', ?)", (check,))
            except BaseException:
                engine.end(conn, commit=False)
                raise
            engine.end(conn, commit=True)
        except engine.errors as exc:
            raise engine.opening_error(exc) from exc
        if old and old < SCHEMA_VERSION:
            logger.info(
                "%s migrated from schema %d to %d",
                self.describe.removeprefix("the "),
                old,
                SCHEMA_VERSION,
            )
        if not _keys.Cipher(source.key).opens(check):
            raise ConfigurationError(
                f"{source.description} does not open {self.describe}: "
                "it was encrypted with another key"
            )
        return check

    # -- connections and transactions --------------------------------------------

    def close(self) -> None:
        """Close every pooled connection; the store cannot be used afterwards."""
        self._engine.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @contextlib.contextmanager
    def _transaction(
        self, *, write: bool = False, snapshot: bool = True, mode: Mode | None = None,
        commit: bool = True,
    ) -> Iterator[Connection]:  # fmt: skip
        """One transaction: ``write`` ones are serialized against conflicting
        writers (a lost race raises :class:`Retry`: see :func:`retrying`),
        reads that need one consistent snapshot get one, and a single
        statement needs none. ``commit=False`` rolls back even on success."""
        engine = self._engine
        conn = engine.acquire()
        try:
            if not (write or snapshot or mode):
                yield conn
                return
            engine.begin(conn, mode or ("write" if write else "read"))
            try:
                yield conn
            except BaseException:
                # A connection that was lost cannot roll back (the database
                # does): the error that says why is the one to raise, and the
                # engine discards the connection on release.
                with contextlib.suppress(*engine.errors):
                    engine.end(conn, commit=False)
                raise
            engine.end(conn, commit=commit)
        except engine.errors as exc:
            # The checks in each operation run first; a unique index refusing a
            # write is the database's own backstop (a second provider default
            # is reported by _default_race before it gets here).
            if engine.unique_index(exc) == NAME_INDEX or engine.unique_index(exc) == "unique":
                raise _conflict() from exc
            raise engine.failure(exc) from exc
        finally:
            engine.release(conn)

    def transaction(
        self, *, write: bool, snapshot: bool = True
    ) -> contextlib.AbstractContextManager[Connection]:
        """One transaction, for the server's tables kept in this store (its tokens).

        A write that can lose a race with another instance's write (on
        PostgreSQL) raises :class:`~._engine.Retry`: run it under
        :func:`~._engine.retrying`.
        """
        return self._transaction(write=write, snapshot=snapshot)

    @contextlib.contextmanager
    def _default_race(self, provider: CloudProvider) -> Iterator[None]:
        """Report the one-default-per-provider index refusing a write as what it is.

        The write cleared the scope's default first, in the same transaction,
        so only a writer that skipped that (another program, an older
        tilecred), or on PostgreSQL a concurrent write from another instance,
        can have made one since; the latter is a race worth running again.
        """
        try:
            yield
        except self._engine.errors as exc:
            if self._engine.unique_index(exc) != DEFAULT_INDEX:
                raise
            message = f"another credential became the {provider.value} default at the same time"
            if self._engine.retries_races:
                raise Retry(message, status=409) from exc
            raise ConflictError(f"{message}: try again", status=409) from exc

    def _fold_wal(self) -> None:
        self._engine.fold()

    def _current_cipher(self, conn: Connection, *, sealing: bool = False) -> _keys.Cipher:
        """The cipher for the key the store uses now.

        Another process may have rotated the key since this store was opened;
        the key check tells. A key file is then read again; a key from the
        environment or an argument cannot be, and is refused. ``sealing``: the
        caller seals with it, so the check is held against a rotation.
        """
        check = self._read_check(conn, lock="share" if sealing else None)
        with self._lock:
            if check == self._check:
                return self._cipher
            if check is None:
                raise ConfigurationError(f"{self.describe} has lost its key check")
            if self._source.path is not None:
                candidate = _keys.read_key_file(self._source.path)
                if candidate is None or not _keys.Cipher(candidate.key).opens(check):
                    candidate = _keys.adopt_pending_key(self._source.path, check)
                if candidate is not None and _keys.Cipher(candidate.key).opens(check):
                    self._source, self._check = candidate, check
                    self._cipher = _keys.Cipher(candidate.key)
                    return self._cipher
            raise ConfigurationError(
                f"{self.describe} was re-keyed by another process and "
                f"{self._source.description} no longer opens it"
            )
