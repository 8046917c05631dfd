"""A real PostgreSQL cluster for the tests, started and stopped by them.

``initdb`` and ``pg_ctl`` come from the machine (Debian's ``postgresql``
package; ``.ci/run`` installs it): first from ``PATH``, else from the newest
``/usr/lib/postgresql/*/bin``. The cluster lives in a temporary directory,
listens on a free port on 127.0.0.1 only, keeps its unix socket in that
directory, and takes a password (scram-sha-256), so the URLs the tests use
carry one to scrub. initdb refuses to run as root, so under root the cluster
runs as an unprivileged user: ``TILECRED_PG_USER`` when set, else ``nobody``.

Databases are made with ``psql`` from the same directory, so this module
needs no driver: the PostgreSQL tests bring psycopg (the ``postgres`` extra).
A machine without PostgreSQL skips the tests, except under ``CI=true``, where
it fails them.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest

__all__ = [
    "PostgresCluster",
    "find_bindir",
    "postgres_cluster",
    "postgres_url",
    "running_cluster",
]

# The role the tests connect as: the cluster's superuser.
ROLE = "tilecred"
_TIMEOUT = 60


def find_bindir() -> Path | None:
    """The directory holding initdb, pg_ctl, postgres and psql; None when there is none."""
    on_path = shutil.which("initdb")
    if on_path is not None:
        # Debian links only some programs into PATH; the real directory has them all.
        return Path(on_path).resolve().parent
    versions = []
    for candidate in Path("/usr/lib/postgresql").glob("*/bin"):
        if (candidate / "initdb").exists() and candidate.parent.name.isdigit():
            versions.append((int(candidate.parent.name), candidate))
    return max(versions)[1] if versions else None


def _os_user() -> str | None:
    """Who runs the cluster: None for the current user unless that is root."""
    if os.geteuid() != 0:
        return None
    return os.environ.get("TILECRED_PG_USER") or "nobody"


def _as_user(user: str | None) -> list[str]:
    """The prefix that runs a command as ``user`` (root only)."""
    if user is None:
        return []
    if shutil.which("runuser") is not None:
        return ["runuser", "-u", user, "--"]
    return ["setpriv", f"--reuid={user}", f"--regid={pwd.getpwnam(user).pw_gid}", "--clear-groups"]


def _free_port() -> int:
    # Not tests._http_helpers' free_port: the benchmarks use this module without
    # the tests' packages (pytest-httpserver), which that module needs.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _traversable_tmp() -> Path:
    """A temporary directory whose every parent another user can pass through."""
    base = Path(tempfile.gettempdir()).resolve()
    if all(part.stat().st_mode & 0o001 for part in (base, *base.parents)):
        return base
    return Path("/tmp")


class PostgresCluster:
    """One running cluster: its URL, fresh databases, and stop, start and restart."""

    def __init__(self, bindir: Path, directory: Path, os_user: str | None) -> None:
        self.bindir = bindir
        self.directory = directory
        self.data = directory / "data"
        self.log = directory / "postgres.log"
        self.os_user = os_user
        self.port = _free_port()
        self.password = "pgpw-" + secrets.token_hex(12)
        self._names = itertools.count(1)

    @property
    def url(self) -> str:
        """The superuser's URL to the ``postgres`` database, password included."""
        return self.database_url("postgres")

    def database_url(self, name: str) -> str:
        """The URL of database ``name`` on this cluster, password included."""
        quoted = urllib.parse.quote(self.password, safe="")
        return f"postgresql://{ROLE}:{quoted}@127.0.0.1:{self.port}/{name}"

    def _run(self, argv: list[str], *, as_owner: bool = True) -> str:
        prefix = _as_user(self.os_user) if as_owner else []
        env = {**os.environ, "PGPASSWORD": self.password, "LC_ALL": "C"}
        done = subprocess.run(
            [*prefix, *argv], capture_output=True, text=True, env=env, timeout=_TIMEOUT,
            check=False, cwd=self.directory,
        )  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(f"{Path(argv[0]).name} failed: {done.stdout}{done.stderr}")
        return done.stdout

    def init(self) -> None:
        """initdb into ``data``: superuser ``tilecred`` with a password, UTF-8, C locale."""
        pwfile = self.directory / "pwfile"
        pwfile.write_text(self.password + "\n")
        if self.os_user is not None:
            info = pwd.getpwnam(self.os_user)
            for path in (self.directory, pwfile):
                os.chown(path, info.pw_uid, info.pw_gid)
        self._run([
            str(self.bindir / "initdb"), "-D", str(self.data), "-U", ROLE,
            f"--pwfile={pwfile}", "--auth=scram-sha-256", "-E", "UTF8", "--locale=C", "-N",
        ])  # fmt: skip
        pwfile.unlink()
        settings = {
            "listen_addresses": "'127.0.0.1'",
            "port": str(self.port),
            "unix_socket_directories": f"'{self.directory}'",
            "max_connections": "200",
            # Speed, not safety, for a throwaway cluster: a stopped server
            # keeps what it acknowledged (the OS holds it); a lost machine does not.
            "fsync": "off",
            "full_page_writes": "off",
        }
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.writelines(f"{key} = {value}\n" for key, value in settings.items())

    def start(self) -> None:
        """Start the cluster on its port and wait until it takes connections."""
        self._run([
            str(self.bindir / "pg_ctl"), "-D", str(self.data), "-l", str(self.log),
            "-w", "-t", str(_TIMEOUT), "start",
        ])  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        """Stop it: ``fast`` (clean), or ``immediate`` (as if it crashed)."""
        self._run([str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop"])

    def restart(self, mode: str = "fast") -> None:
        """Stop and start again on the same port and data."""
        self.stop(mode)
        self.start()

    def pid(self) -> int | None:
        """The postmaster's pid while it runs, from its pid file."""
        with contextlib.suppress(FileNotFoundError, ValueError):
            return int((self.data / "postmaster.pid").read_text().split("\n", 1)[0])
        return None

    def psql(self, sql: str, database: str = "postgres") -> str:
        """Run ``sql`` through psql over TCP; its unaligned, tuples-only output."""
        return self._run(
            [str(self.bindir / "psql"), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
             "-h", "127.0.0.1", "-p", str(self.port), "-U", ROLE, "-d", database, "-c", sql],
            as_owner=False,
        )  # fmt: skip

    def fresh_database(self, name: str | None = None) -> str:
        """Create an empty database (``t1``, ``t2``… unless named); return its URL."""
        name = name or f"t{next(self._names)}"
        if re.fullmatch(r"[a-z_][a-z0-9_]*", name) is None:
            raise ValueError(f"not a plain database name: {name!r}")
        self.psql(f"CREATE DATABASE {name}")
        return self.database_url(name)

    def drop_database(self, name: str) -> None:
        """Drop database ``name`` if it exists, ending the connections still open to it.

        ``WITH (FORCE)`` (PostgreSQL 13+) terminates them first: a test's pool
        or server thread may still hold one when the test ends.
        """
        if re.fullmatch(r"[a-z_][a-z0-9_]*", name) is None:
            raise ValueError(f"not a plain database name: {name!r}")
        self.psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    def shutdown(self) -> None:
        """Stop it however it can be stopped: pg_ctl, else SIGKILL to the postmaster."""
        pid = self.pid()
        try:
            self.stop("immediate")
        except (RuntimeError, subprocess.TimeoutExpired):
            if pid is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)


@contextlib.contextmanager
def running_cluster() -> Iterator[PostgresCluster]:
    """A new cluster for the block, removed after; skips (fails under CI) without PostgreSQL."""
    bindir = find_bindir()
    if bindir is None:
        # Imported here: it imports conftest, which imports this module.
        from tests._services import unavailable

        unavailable("PostgreSQL's initdb was not found (apt-get install postgresql)")
        raise AssertionError("unreachable")
    os_user = _os_user()
    directory = Path(tempfile.mkdtemp(prefix="tilecred-pg-", dir=_traversable_tmp()))
    cluster = PostgresCluster(bindir, directory, os_user)
    try:
        cluster.init()
        cluster.start()
        yield cluster
    finally:
        cluster.shutdown()
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[PostgresCluster]:
    """One cluster for the whole test session."""
    with running_cluster() as cluster:
        yield cluster


@pytest.fixture
def postgres_url(postgres_cluster: PostgresCluster) -> Iterator[str]:
    """The URL of a fresh, empty database for this test, dropped after it.

    A test that stopped the cluster leaves it running again for the next one.
    Dropping keeps the cluster small: the databases a session never dropped
    cost it as much time at shutdown as its tests took.
    """
    url = postgres_cluster.fresh_database()
    yield url
    if postgres_cluster.pid() is None:
        postgres_cluster.start()
    postgres_cluster.drop_database(urllib.parse.urlsplit(url).path.lstrip("/"))
