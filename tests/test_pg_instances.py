"""Several ``tilecred serve`` instances on one PostgreSQL database, and their failures.

Eight clients write through two instances at once; one instance is killed
mid-run; the database is restarted under load; two instances start on an
empty database at the same moment. Each test counts the requests it sent,
those acknowledged, and what the database holds at the end, and prints the
counts (``pytest -s``). Bounded in count; no assertion on time.
"""

from __future__ import annotations

import functools
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

import tilecred
from tests._instances import Instance, admin_token, launch, running_instances, wait_serving
from tests._postgres import PostgresCluster
from tilecred import (
    AccessCredentialRole,
    AWSRole,
    ConflictError,
    CredentialsError,
    ServerError,
    TransportError,
)
from tilecred._local._keys import new_key
from tilecred._local._schema import SCHEMA_VERSION

pytestmark = pytest.mark.postgres

KEY = new_key()
CLIENTS = 8
ROLE = AccessCredentialRole(aws=AWSRole(role_arn="arn:aws:iam::123456789012:role/tilecred-test"))
# Bounds on waiting for the load to reach a point; never asserted on.
_WAIT_SECONDS = 120.0


@dataclass
class Tally:
    """Requests sent, acknowledged and refused, and the names acknowledged, across threads."""

    sent: int = 0
    acknowledged: int = 0
    failed: list[CredentialsError] = field(default_factory=list)
    names: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def attempt(self, action: Callable[[], object], name: str | None = None) -> bool:
        """Send one request; whether it was acknowledged. Failures are kept, not raised."""
        with self.lock:
            self.sent += 1
        try:
            action()
        except CredentialsError as exc:
            with self.lock:
                self.failed.append(exc)
            return False
        with self.lock:
            self.acknowledged += 1
            if name is not None:
                self.names.add(name)
        return True

    def create(self, client: tilecred.Client, name: str, *, default: bool = False) -> bool:
        """Create the role credential ``name`` (the provider's default if ``default``)."""

        def create() -> None:
            client.create_credential(name, "AWS", role=ROLE, provider_default=default or None)

        return self.attempt(create, name)


def _client(
    instance: Instance, token: str, *, retries: int | None = None, timeout: float | None = None
) -> tilecred.Client:
    return tilecred.Client(host=instance.url, token=token, retries=retries, timeout=timeout)


def _stored(instance: Instance, token: str) -> list[tilecred.AccessCredential]:
    """Every workspace-level credential, read through ``instance``."""
    with _client(instance, token) as client:
        return list(client.list_credentials(per_page=1000))


def _run_clients(work: Callable[[int], None]) -> None:
    """Run ``work(i)`` for the eight clients in threads; re-raise the first failure."""
    errors: list[BaseException] = []

    def run(index: int) -> None:
        try:
            work(index)
        except BaseException as exc:  # reported by the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=600)
    assert not [t for t in threads if t.is_alive()], "a client thread did not finish"
    if errors:
        raise errors[0]


def _wait_for(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + _WAIT_SECONDS
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.02)


def _report(test: str, **counts: int) -> None:
    shown = " ".join(f"{name}={value}" for name, value in counts.items())
    print(f"\n[counts] {test}: {shown}")


def test_eight_clients_through_two_instances_leave_an_exact_state(
    postgres_url: str, tmp_path: Path
) -> None:
    tally = Tally()
    with running_instances(postgres_url, KEY, tmp_path) as instances:
        token = admin_token(instances[0])
        assert token is not None
        assert admin_token(instances[1]) is None

        def work(index: int) -> None:
            with _client(instances[index % 2], token) as client:
                for number in range(6):
                    tally.create(client, f"c{index}-{number}")
                for number in (0, 2, 4):
                    allow = functools.partial(
                        client.update_credential, f"c{index}-{number}", allowed_in_tasks=True
                    )
                    tally.attempt(allow)
                tally.attempt(lambda: client.update_credential(f"c{index}-5", name=f"r{index}-5"))
                tally.create(client, f"d{index}", default=True)
                tally.create(client, "shared")  # all eight at once: one wins

        _run_clients(work)
        stored = _stored(instances[1], token)
    names = [c.name for c in stored]
    expected = {f"c{i}-{n}" for i in range(CLIENTS) for n in range(5)}
    expected |= {f"r{i}-5" for i in range(CLIENTS)} | {f"d{i}" for i in range(CLIENTS)}
    assert sorted(names) == sorted(expected | {"shared"})  # each exactly once
    assert [(type(e), e.status) for e in tally.failed] == [(ConflictError, 409)] * (CLIENTS - 1)
    assert tally.acknowledged == tally.sent - (CLIENTS - 1)
    allowed = {c.name for c in stored if c.allowed_in_tasks}
    assert allowed == {f"c{i}-{n}" for i in range(CLIENTS) for n in (0, 2, 4)}
    defaults = [c.name for c in stored if c.provider_default]
    assert len(defaults) == 1
    assert defaults[0].startswith("d")
    _report("eight clients, two instances", sent=tally.sent, acknowledged=tally.acknowledged,
            conflicts=len(tally.failed), found=len(names))  # fmt: skip


def test_an_instance_killed_mid_run_while_the_other_keeps_answering(
    postgres_url: str, tmp_path: Path
) -> None:
    tally = Tally()
    killed = threading.Event()
    per_client = 25
    with running_instances(postgres_url, KEY, tmp_path) as (doomed, survivor):
        token = admin_token(doomed)
        assert token is not None

        def work(index: int) -> None:
            target = doomed if index % 2 == 0 else survivor
            # No retries: a request cut off by the kill is reported, not repeated.
            with _client(target, token, retries=0, timeout=15) as client:
                misses = 0
                for number in range(per_client):
                    if not tally.create(client, f"k{index}-{number}"):
                        misses += 1
                    if misses == 3:
                        return  # its instance is gone

        def killer() -> None:
            _wait_for(lambda: tally.acknowledged >= 40)
            doomed.kill()
            killed.set()

        thread = threading.Thread(target=killer)
        thread.start()
        _run_clients(work)
        thread.join(timeout=_WAIT_SECONDS + 30)
        assert killed.is_set()
        stored = {c.name for c in _stored(survivor, token)}
    survivor_names = {f"k{i}-{n}" for i in range(1, CLIENTS, 2) for n in range(per_client)}
    assert survivor_names <= tally.names  # the survivor answered every request
    assert tally.names <= stored  # nothing acknowledged was lost
    unanswered = tally.sent - tally.acknowledged
    assert all(isinstance(e, TransportError) for e in tally.failed), tally.failed
    # A create the kill cut off may have committed unacknowledged: one per client at most.
    assert len(stored - tally.names) <= CLIENTS // 2
    _report("SIGKILL one of two instances", sent=tally.sent, acknowledged=tally.acknowledged,
            unanswered=unanswered, found=len(stored))  # fmt: skip


def test_a_database_restart_under_load_gives_clean_errors_then_full_service(
    postgres_cluster: PostgresCluster, postgres_url: str, tmp_path: Path
) -> None:
    tally = Tally()
    restarted = threading.Event()
    after = [0] * CLIENTS
    with running_instances(postgres_url, KEY, tmp_path) as instances:
        token = admin_token(instances[0])
        assert token is not None

        def work(index: int) -> None:
            with _client(instances[index % 2], token, retries=0, timeout=30) as client:
                for number in range(80):
                    ok = tally.create(client, f"p{index}-{number}")
                    if restarted.is_set() and ok:
                        after[index] += 1
                        if after[index] == 5:
                            return

        def outage() -> None:
            _wait_for(lambda: tally.acknowledged >= 24)
            postgres_cluster.stop("immediate")
            try:
                _wait_for(lambda: len(tally.failed) >= CLIENTS)
            finally:
                postgres_cluster.start()
                restarted.set()

        thread = threading.Thread(target=outage)
        thread.start()
        _run_clients(work)
        thread.join(timeout=2 * _WAIT_SECONDS)
        assert restarted.is_set()
        stored = {c.name for c in _stored(instances[0], token)}
        assert {c.name for c in _stored(instances[1], token)} == stored
    assert after == [5] * CLIENTS  # full service after, through both instances
    assert tally.failed, "the outage produced no error"
    for error in tally.failed:
        if isinstance(error, ServerError):
            assert error.status == 503, error
            assert error.request_id, error
        else:
            assert isinstance(error, TransportError), error
    assert tally.names <= stored  # nothing acknowledged was lost
    assert len(stored - tally.names) <= len(tally.failed)
    _report("database restart under load", sent=tally.sent, acknowledged=tally.acknowledged,
            errors=len(tally.failed),
            errors_503=sum(isinstance(e, ServerError) for e in tally.failed),
            found=len(stored))  # fmt: skip


@pytest.mark.parametrize("attempt", range(3))
def test_two_instances_starting_at_once_on_an_empty_database_migrate_it_once(
    postgres_cluster: PostgresCluster, postgres_url: str, tmp_path: Path, attempt: int
) -> None:
    database = urllib.parse.urlsplit(postgres_url).path.lstrip("/")
    pair = [launch(postgres_url, KEY, tmp_path, f"serve-{n}") for n in range(2)]
    try:
        first, second = (wait_serving(instance) for instance in pair)
        tokens = [t for t in (admin_token(first), admin_token(second)) if t is not None]
        assert len(tokens) == 1
        versions = postgres_cluster.psql("SELECT version FROM tilecred_schema ORDER BY 1", database)
        assert versions.split() == [str(v) for v in range(1, SCHEMA_VERSION + 1)]
        assert postgres_cluster.psql("SELECT count(*) FROM tokens", database).strip() == "1"
        with _client(first, tokens[0]) as client:
            client.create_credential("made-on-first", "AWS", role=ROLE)
        assert [c.name for c in _stored(second, tokens[0])] == ["made-on-first"]
    finally:
        for instance in pair:
            instance.stop()
    _report(f"two instances migrating at once (attempt {attempt + 1})", instances=2,
            migrations=5, admin_tokens=len(tokens))  # fmt: skip
