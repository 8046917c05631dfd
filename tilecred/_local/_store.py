"""The local store: one SQLite file, secrets sealed with AES-256-GCM.

Every write is one ``BEGIN IMMEDIATE`` transaction, so writers from several
threads and processes queue on SQLite's lock (WAL journal, busy timeout)
instead of failing. Connections are pooled: each call borrows one.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import functools
import logging
import math
import os
import secrets
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

import msgspec

from .._arguments import (
    DEFAULT_PER_PAGE,
    TEAMSPACE_ID_PREFIX,
    VISIBILITIES,
    check_workspace,
    is_teamspace_id,
)
from .._backend import AuditQuery, Page
from .._errors import ConfigurationError, ConflictError, CredentialsError, NotFoundError
from .._models import (
    AccessCredential,
    AuditRecord,
    CloudProvider,
    CredentialCreateRequest,
    CredentialsVerifyRequest,
    CredentialType,
    CredentialUpdateRequest,
    UsageSummary,
)
from . import _keys
from ._audit import (
    AuditEntry,
    deactivated,
    insert_audit,
    not_allowed_in_tasks,
    select_audit,
    select_usage,
    with_last_use,
)
from ._backfill import EXPIRY_ADDED, backfill_expiry
from ._engine import (
    DEFAULT_INDEX,
    NAME_INDEX,
    Connection,
    Engine,
    Lock,
    Mode,
    Retry,
    retrying,
)
from ._health import remove_stale_keys
from ._records import TeamspaceRecord, WorkspaceRecord, from_micros, to_micros
from ._rows import UNPROCESSABLE, Secret, join_secret, the_secret
from ._schema import SCHEMA_VERSION
from ._sqlite import DATABASE_NAME, KEY_FILE_NAME
from ._verify import verify_request

__all__ = ["DATABASE_NAME", "KEY_FILE_NAME", "Store"]

logger = logging.getLogger("tilecred")

T = TypeVar("T")
_COLUMNS = (
    "id, teamspace_id, name, provider, provider_default, allowed_in_tasks,"
    " kind, member, public, secret, created_at, updated_at, active, expires_at"
)
# SQL here is built only from the constant fragments in this module (hence
# the S608 exemptions); every value is bound as a parameter.
_AAD_ENCODER = msgspec.json.Encoder()


_PROVIDERS = {provider.value: provider for provider in CloudProvider}


def _now() -> int:
    return to_micros(datetime.datetime.now(datetime.UTC))


def _row_aad(workspace_id: str, teamspace_id: str | None, name: str, ident: str) -> bytes:
    # The row's identity, unambiguously encoded: a sealed secret opens only in
    # the row it was written for.
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


class Store:
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
                if 0 < old < EXPIRY_ADDED:
                    cipher = _keys.Cipher(source.key)
                    backfill_expiry(conn, lambda sealed, row: cipher.open(sealed, _row_aad(*row)))
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

    def __enter__(self) -> Store:
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

    # -- workspaces ---------------------------------------------------------------

    @retrying
    def create_workspace(self, name: str) -> WorkspaceRecord:
        """Create a workspace.

        Raises:
            ConflictError: the name is in use.
            InvalidArgumentError: the name is not a usable workspace name.
        """
        check_workspace(name)
        with self._transaction(write=True) as conn:
            if conn.execute("SELECT 1 FROM workspaces WHERE name = ?", (name,)).fetchone():
                raise _conflict()
            return self._insert_workspace(conn, name)

    @staticmethod
    def _insert_workspace(conn: Connection, name: str) -> WorkspaceRecord:
        ident, now = "ws_" + secrets.token_hex(8), _now()
        conn.execute(
            "INSERT INTO workspaces (id, name, created_at) VALUES (?, ?, ?)", (ident, name, now)
        )
        return WorkspaceRecord(ident, name, from_micros(now))

    def find_workspace(self, name_or_id: str) -> WorkspaceRecord | None:
        """The workspace with this id (preferred) or name, if any."""
        with self._transaction(write=False, snapshot=False) as conn:
            return self._find_workspace(conn, name_or_id)

    @staticmethod
    def _find_workspace(conn: Connection, name_or_id: str) -> WorkspaceRecord | None:
        row = conn.execute(
            "SELECT id, name, created_at FROM workspaces WHERE id = ?1 OR name = ?1"
            " ORDER BY id = ?1 DESC LIMIT 1",
            (name_or_id,),
        ).fetchone()
        return None if row is None else WorkspaceRecord(row[0], row[1], from_micros(row[2]))

    @retrying
    def ensure_workspace(self, name_or_id: str) -> WorkspaceRecord:
        """The workspace by id or name; a name not yet used is created.

        Raises:
            NotFoundError: a ``ws_…`` id that does not exist.
            InvalidArgumentError: a new name that is not a usable workspace name.
        """
        found = self.find_workspace(name_or_id)
        if found is not None:
            return found
        if name_or_id.startswith("ws_"):
            raise NotFoundError(f"workspace {name_or_id!r} not found", status=404)
        check_workspace(name_or_id)
        with self._transaction(write=True) as conn:
            return self._find_workspace(conn, name_or_id) or self._insert_workspace(
                conn, name_or_id
            )

    # -- teamspaces ---------------------------------------------------------------

    @retrying
    def create_teamspace(
        self,
        workspace_id: str,
        name: str,
        *,
        visibility: str = "private",
        description: str | None = None,
    ) -> TeamspaceRecord:
        """Create a teamspace in a workspace.

        Raises:
            ConflictError: the name is in use in that workspace.
            NotFoundError: there is no such workspace.
            CredentialsError: ``visibility`` is not ``private`` or ``public`` (422).
        """
        if visibility not in VISIBILITIES:
            raise CredentialsError(
                f"visibility must be private or public, not {visibility!r}", status=UNPROCESSABLE
            )
        with self._transaction(write=True) as conn:
            self._require_workspace(conn, workspace_id)
            if self._find_teamspace(conn, workspace_id, name, by_id=False) is not None:
                raise _conflict()
            return self._insert_teamspace(conn, workspace_id, name, visibility, description)

    @staticmethod
    def _require_workspace(conn: Connection, workspace_id: str) -> None:
        if not conn.execute("SELECT 1 FROM workspaces WHERE id = ?", (workspace_id,)).fetchone():
            raise NotFoundError(f"workspace {workspace_id!r} not found", status=404)

    @staticmethod
    def _insert_teamspace(
        conn: Connection,
        workspace_id: str,
        name: str,
        visibility: str = "private",
        description: str | None = None,
    ) -> TeamspaceRecord:
        ident, now = TEAMSPACE_ID_PREFIX + secrets.token_hex(8), _now()
        conn.execute(
            "INSERT INTO teamspaces (id, workspace_id, name, visibility, description, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (ident, workspace_id, name, visibility, description, now),
        )
        return TeamspaceRecord(ident, workspace_id, name, visibility, description, from_micros(now))

    def find_teamspace(self, workspace_id: str, name_or_id: str) -> TeamspaceRecord | None:
        """The workspace's teamspace with this id (preferred) or name, if any."""
        with self._transaction(write=False, snapshot=False) as conn:
            return self._find_teamspace(conn, workspace_id, name_or_id)

    @staticmethod
    def _find_teamspace(
        conn: Connection, workspace_id: str, name_or_id: str, *, by_id: bool = True
    ) -> TeamspaceRecord | None:
        match = "(id = ?2 OR name = ?2)" if by_id else "name = ?2"
        row = conn.execute(
            "SELECT id, workspace_id, name, visibility, description, created_at FROM teamspaces"  # noqa: S608
            f" WHERE workspace_id = ?1 AND {match} ORDER BY id = ?2 DESC LIMIT 1",
            (workspace_id, name_or_id),
        ).fetchone()
        return None if row is None else _teamspace(row)

    def list_teamspaces(self, workspace_id: str) -> list[TeamspaceRecord]:
        """The workspace's teamspaces, by name."""
        with self._transaction(write=False, snapshot=False) as conn:
            rows = conn.execute(
                "SELECT id, workspace_id, name, visibility, description, created_at"
                " FROM teamspaces WHERE workspace_id = ? ORDER BY name",
                (workspace_id,),
            )
            return [_teamspace(r) for r in rows]

    # -- credentials --------------------------------------------------------------

    @retrying
    def create_credential(
        self,
        workspace_id: str,
        teamspace_id: str | None,
        request: CredentialCreateRequest,
        *,
        create_teamspace: bool = False,
        audit: AuditEntry | None = None,
    ) -> AccessCredential:
        """Store a new credential, its secrets sealed.

        Parameters:
            workspace_id: the workspace's id.
            teamspace_id: ``None`` for workspace level, else the teamspace's id;
                with ``create_teamspace``, a name or id, and a name not yet in
                use becomes a new teamspace in the same transaction.
            request: what to store.
            audit: the audit record to append in the same transaction.

        Raises:
            ConflictError: the name is in use in that scope, or another writer
                made a credential the provider's default meanwhile.
            NotFoundError: the workspace or teamspace does not exist.
            CredentialsError: the request holds no usable secret (422).
        """
        secret = the_secret(request, required=True)
        assert secret is not None  # required=True
        secret.check_provider(request.provider)
        public, hidden = secret.split()
        expires = _expiry(secret)
        with self._transaction(write=True) as conn:
            self._require_workspace(conn, workspace_id)
            teamspace = self._scope(conn, workspace_id, teamspace_id, create=create_teamspace)
            if self._credential_row(conn, workspace_id, teamspace, request.name) is not None:
                raise _conflict()
            ident, now = "cr_" + uuid.uuid4().hex, _now()
            sealed = None
            if hidden is not None:
                aad = _row_aad(workspace_id, teamspace, request.name, ident)
                sealed = self._current_cipher(conn, sealing=True).seal(hidden, aad)
            default = bool(request.provider_default)
            if default:
                self._clear_default(conn, workspace_id, teamspace, request.provider, now)
            with self._default_race(request.provider):
                conn.execute(
                    f"INSERT INTO credentials (workspace_id, scope, {_COLUMNS})"  # noqa: S608
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        workspace_id,
                        teamspace or "",
                        ident,
                        teamspace,
                        request.name,
                        request.provider.value,
                        default,
                        bool(request.allowed_in_tasks),
                        secret.kind,
                        secret.member,
                        public,
                        sealed,
                        now,
                        now,
                        True,
                        expires,
                    ),
                )
            if audit is not None:
                audit.credential_id = ident
                insert_audit(conn, audit, "ok", at=from_micros(now))
        return self._credential(
            (ident, teamspace, request.name, request.provider.value, default,
             bool(request.allowed_in_tasks), secret.kind, secret.member, public, None, now, now,
             True, expires),
        )  # fmt: skip

    def _scope(
        self, conn: Connection, workspace_id: str, teamspace: str | None, *, create: bool
    ) -> str | None:
        if teamspace is None:
            return None
        found = self._find_teamspace(conn, workspace_id, teamspace)
        if found is not None:
            return found.id
        if create and not is_teamspace_id(teamspace):
            return self._insert_teamspace(conn, workspace_id, teamspace).id
        raise NotFoundError(f"teamspace {teamspace!r} not found", status=404)

    @staticmethod
    def _credential_row(
        conn: Connection, workspace_id: str, teamspace_id: str | None, name: str
    ) -> tuple[Any, ...] | None:
        row: tuple[Any, ...] | None = conn.execute(
            f"SELECT {_COLUMNS} FROM credentials WHERE workspace_id = ? AND scope = ? AND name = ?",  # noqa: S608
            (workspace_id, teamspace_id or "", name),
        ).fetchone()
        return row

    @staticmethod
    def _clear_default(
        conn: Connection,
        workspace_id: str,
        teamspace_id: str | None,
        provider: CloudProvider,
        now: int,
    ) -> None:
        conn.execute(
            "UPDATE credentials SET provider_default = 0, updated_at ="
            " CASE WHEN ?1 > updated_at THEN ?1 ELSE updated_at + 1 END"
            " WHERE workspace_id = ?2 AND scope = ?3 AND provider = ?4 AND provider_default = 1",
            (now, workspace_id, teamspace_id or "", provider.value),
        )

    @staticmethod
    def _credential(row: tuple[Any, ...], opened: bytes | None = None) -> AccessCredential:
        (ident, teamspace_id, name, provider, default, allowed,
         kind, member, public, _sealed, created, updated, active, expires) = row  # fmt: skip
        secret: dict[str, Any] = {kind: join_secret(kind, member, public, opened).container()}
        return AccessCredential(
            credential_type=CredentialType.TEAMSPACE if teamspace_id else CredentialType.WORKSPACE,
            id=ident,
            name=name,
            provider=_PROVIDERS[provider],
            provider_default=bool(default),
            created_at=from_micros(created),
            updated_at=from_micros(updated),
            allowed_in_tasks=bool(allowed),
            active=bool(active),
            expires_at=None if expires is None else from_micros(expires),
            **secret,
        )

    @staticmethod
    def _open_secret(
        cipher: Callable[[], _keys.Cipher], workspace_id: str, row: tuple[Any, ...]
    ) -> bytes | None:
        """The row's secret, opened; ``cipher`` is asked for only if there is one."""
        sealed = row[9]
        if sealed is None:
            return None
        aad = _row_aad(workspace_id, row[1], row[2], row[0])
        opened = cipher().open(bytes(sealed), aad)
        if opened is None:
            raise CredentialsError(
                f"the secret of credential {row[2]!r} does not open: the store was altered"
            )
        return opened

    def get_credential(
        self,
        workspace_id: str,
        teamspace_id: str | None,
        name: str,
        *,
        with_secrets: bool = False,
    ) -> AccessCredential:
        """One credential; its secret fields ``None`` unless ``with_secrets``.

        Raises:
            NotFoundError: no credential by that name in that scope.
        """
        # The key check and the secret must be read from one snapshot.
        with self._transaction(write=False, snapshot=with_secrets) as conn:
            row = self._credential_row(conn, workspace_id, teamspace_id, name)
            if row is None:
                raise _not_found()
            opened = (
                self._open_secret(functools.partial(self._current_cipher, conn), workspace_id, row)
                if with_secrets
                else None
            )
            (found,) = with_last_use(conn, [self._credential(row, opened)])
        return found

    def list_credentials(
        self,
        workspace_id: str,
        teamspace_id: str | None,
        page: int = 1,
        per_page: int | None = None,
        *,
        provider: Sequence[CloudProvider] | None = None,
        exclude_provider: Sequence[CloudProvider] | None = None,
        credential_type: CredentialType | None = None,
        names: Sequence[str] | None = None,
        verify: bool = False,
    ) -> Page[AccessCredential]:
        """One page of a scope's credentials, by name, with the listing's totals.

        Parameters:
            provider: only these providers (``None`` or empty: any).
            exclude_provider: none of these providers.
            credential_type: only workspace-level or only teamspace credentials.
            names: only credentials with these names (``None``: any).
            verify: fill each credential's ``status`` with whether it passes
                :func:`verify_request`.
        """
        size = DEFAULT_PER_PAGE if per_page is None else per_page
        where = ["workspace_id = ?", "scope = ?"]
        params: list[Any] = [workspace_id, teamspace_id or ""]
        for providers, operator in ((provider, "IN"), (exclude_provider, "NOT IN")):
            if providers:
                where.append(f"provider {operator} ({', '.join('?' * len(providers))})")
                params.extend(p.value for p in providers)
        if names is not None:
            where.append(f"name IN ({', '.join('?' * len(names))})")
            params.extend(names)
        if credential_type is CredentialType.WORKSPACE:
            where.append("teamspace_id IS NULL")
        elif credential_type is CredentialType.TEAMSPACE:
            where.append("teamspace_id IS NOT NULL")
        condition = " AND ".join(where)
        with self._transaction(write=False) as conn:
            count = f"SELECT count(*) FROM credentials WHERE {condition}"  # noqa: S608
            (total,) = conn.execute(count, params).fetchone()
            rows = conn.execute(
                f"SELECT {_COLUMNS} FROM credentials WHERE {condition}"  # noqa: S608
                " ORDER BY name, id LIMIT ? OFFSET ?",
                [*params, size, (page - 1) * size],
            ).fetchall()
            items = [self._credential(row) for row in rows]
            if verify:
                # One read of the key check for the whole page, not one per row.
                cipher = functools.cache(functools.partial(self._current_cipher, conn))
                items = [
                    msgspec.structs.replace(item, status=self._status(cipher, workspace_id, row))
                    for item, row in zip(items, rows, strict=True)
                ]
            items = with_last_use(conn, items)
        return Page(items, page, size, math.ceil(total / size), total)

    def _status(
        self, cipher: Callable[[], _keys.Cipher], workspace_id: str, row: tuple[Any, ...]
    ) -> str:
        try:
            credential = self._credential(row, self._open_secret(cipher, workspace_id, row))
            verify_request(
                CredentialsVerifyRequest(
                    name=credential.name,
                    provider=credential.provider,
                    credential=credential.credential,
                    role=credential.role,
                    token=credential.token,
                )
            )
        except CredentialsError:
            return "failed"
        except Exception as exc:
            # A listing must not fail on one odd row; only the type is logged,
            # as an unexpected error's message could quote a secret.
            logger.warning(
                "verifying credential %r failed unexpectedly (%s)", row[2], type(exc).__name__
            )
            return "failed"
        return "verified"

    @retrying
    def update_credential(
        self,
        workspace_id: str,
        teamspace_id: str | None,
        name: str,
        request: CredentialUpdateRequest,
        *,
        audit: AuditEntry | None = None,
    ) -> AccessCredential:
        """Change a credential in one transaction; ``id`` and ``created_at`` stay.

        ``audit``, when given, is appended to the audit log in that transaction.

        Raises:
            NotFoundError: no credential by that name in that scope.
            ConflictError: the new name is in use in that scope, or another writer
                made a credential the provider's default meanwhile.
            CredentialsError: the new provider and the secret do not fit (422).
        """
        new_secret = the_secret(request, required=False)
        with self._transaction(write=True) as conn:
            row = self._credential_row(conn, workspace_id, teamspace_id, name)
            if row is None:
                raise _not_found()
            (ident, teamspace, _, old_provider, default, allowed,
             kind, member, public, sealed, created, updated, active, expires) = row  # fmt: skip
            provider = request.provider or CloudProvider(old_provider)
            if new_secret is not None:
                new_secret.check_provider(provider)
            elif provider.value != old_provider:
                stored = join_secret(kind, member, public, None)
                if stored.provider is not provider:
                    raise CredentialsError(
                        f"provider {provider.value} does not fit the stored {stored.path}: "
                        "give a new secret with the new provider",
                        status=UNPROCESSABLE,
                    )
            new_name = name if request.name is None else request.name
            if new_name != name and self._credential_row(conn, workspace_id, teamspace, new_name):
                raise _conflict()
            aad = _row_aad(workspace_id, teamspace, new_name, ident)
            cipher = functools.cache(functools.partial(self._current_cipher, conn, sealing=True))
            if new_secret is not None:
                kind, member = new_secret.kind, new_secret.member
                public, hidden = new_secret.split()
                sealed = None if hidden is None else cipher().seal(hidden, aad)
                expires = _expiry(new_secret)
            elif sealed is not None and new_name != name:
                # The name is part of the sealed value's identity: seal it anew.
                opened = self._open_secret(cipher, workspace_id, row)
                assert opened is not None  # sealed is not None
                sealed = cipher().seal(opened, aad)
            if request.provider_default is not None:
                if request.provider_default and not active:
                    raise ConflictError(
                        f"credential {name!r} is deactivated, so it cannot be the "
                        f"{provider.value} default: activate it first",
                        status=409,
                    )
                default = request.provider_default
            if request.allowed_in_tasks is not None:
                allowed = request.allowed_in_tasks
            # updated_at always moves forward, even within one clock tick.
            now = max(_now(), updated + 1)
            if default:
                self._clear_default(conn, workspace_id, teamspace, provider, now)
            with self._default_race(provider):
                conn.execute(
                "UPDATE credentials SET name = ?, provider = ?, provider_default = ?,"
                " allowed_in_tasks = ?, kind = ?, member = ?, public = ?, secret = ?,"
                " updated_at = ?, expires_at = ? WHERE id = ?",
                (new_name, provider.value, bool(default), bool(allowed), kind, member, public,
                 sealed, now, expires, ident),
            )  # fmt: skip
            if audit is not None:
                audit.credential_id = ident
                insert_audit(conn, audit, "ok", at=from_micros(now))
        return self._credential(
            (ident, teamspace, new_name, provider.value, default, allowed, kind, member, public,
             None, created, now, active, expires),
        )  # fmt: skip

    @retrying
    def delete_credential(
        self,
        workspace_id: str,
        teamspace_id: str | None,
        name: str,
        *,
        audit: AuditEntry | None = None,
    ) -> None:
        """Delete a credential (``audit`` appended in the same transaction).

        Raises:
            NotFoundError: no credential by that name in that scope.
        """
        with self._transaction(write=True) as conn:
            deleted = conn.execute(
                "DELETE FROM credentials WHERE workspace_id = ? AND scope = ? AND name = ?"
                " RETURNING id",
                (workspace_id, teamspace_id or "", name),
            ).fetchall()  # to the end: the statement is finished before the next one
            if not deleted:
                raise _not_found()
            if audit is not None:
                audit.credential_id = deleted[0][0]
                insert_audit(conn, audit, "ok")
        self._fold_wal()

    @retrying
    def use_credential(
        self, workspace_id: str, teamspace_id: str | None, name: str, *, audit: AuditEntry
    ) -> AccessCredential:
        """The credential with its secrets, through the gate, its use audited.

        The secret is opened, and ``audit`` appended, in one write transaction:
        no secret leaves the store without its record.

        Raises:
            NotFoundError: no credential by that name in that scope.
            PermissionDeniedError: the credential is not ``allowed_in_tasks``.
        """
        with self._transaction(write=True) as conn:
            row = self._credential_row(conn, workspace_id, teamspace_id, name)
            if row is None:
                raise _not_found()
            audit.credential_id = row[0]  # a refusal below is recorded against it too
            if not row[12]:  # active: a deactivated credential is never used
                raise deactivated(name, *self._scope_names(conn, workspace_id, row[1]))
            if not row[5]:  # allowed_in_tasks: the gate, the same on every backend
                raise not_allowed_in_tasks(name)
            opened = self._open_secret(
                functools.partial(self._current_cipher, conn), workspace_id, row
            )
            insert_audit(conn, audit, "ok")
        return self._credential(row, opened)

    @retrying
    def set_credential_active(
        self,
        workspace_id: str,
        teamspace_id: str | None,
        name: str,
        active: bool,
        *,
        audit: AuditEntry | None = None,
    ) -> AccessCredential:
        """Activate or deactivate a credential (``audit`` appended in the same transaction).

        Deactivating the provider's default also makes it no longer the default
        (``detail`` says so): a default that cannot be used would mislead
        whoever picks credentials by that flag. Activating does not make it
        the default again. Doing either twice changes nothing the second time.

        Raises:
            NotFoundError: no credential by that name in that scope.
        """
        with self._transaction(write=True) as conn:
            row = self._credential_row(conn, workspace_id, teamspace_id, name)
            if row is None:
                raise _not_found()
            was_active, default, updated = bool(row[12]), bool(row[4]), row[11]
            now, detail = updated, "already " + ("active" if active else "deactivated")
            if was_active != active:
                now = max(_now(), updated + 1)
                cleared = default and not active
                detail = ("activated" if active else "deactivated") + (
                    "; no longer the provider default" if cleared else ""
                )
                default = default and active
                conn.execute(
                    "UPDATE credentials SET active = ?, provider_default = ?, updated_at = ?"
                    " WHERE id = ?",
                    (active, default, now, row[0]),
                )
            if audit is not None:
                audit.credential_id = row[0]
                insert_audit(conn, audit, "ok", detail, at=from_micros(now))
        return self._credential((*row[:4], default, *row[5:11], now, active, row[13]))

    @staticmethod
    def _scope_names(
        conn: Connection, workspace_id: str, teamspace_id: str | None
    ) -> tuple[str, str | None]:
        """The names of a workspace and teamspace, for messages."""
        (workspace,) = conn.execute(
            "SELECT name FROM workspaces WHERE id = ?", (workspace_id,)
        ).fetchone()
        if teamspace_id is None:
            return workspace, None
        (teamspace,) = conn.execute(
            "SELECT name FROM teamspaces WHERE id = ?", (teamspace_id,)
        ).fetchone()
        return workspace, teamspace

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
            "SELECT id, workspace_id, teamspace_id, name, secret FROM credentials"
            " WHERE secret IS NOT NULL"
        ).fetchall()
        for ident, workspace_id, teamspace_id, name, sealed in rows:
            aad = _row_aad(workspace_id, teamspace_id, name, ident)
            opened = old_cipher.open(bytes(sealed), aad)
            if opened is None:
                raise CredentialsError(
                    f"the secret of credential {name!r} does not open: the store was altered"
                )
            conn.execute(
                "UPDATE credentials SET secret = ? WHERE id = ?",
                (new_cipher.seal(opened, aad), ident),
            )
            count += 1
        check = new_cipher.key_check()
        conn.execute("UPDATE meta SET value = ? WHERE key = 'key_check'", (check,))
        return count, check
