"""Listing pages by key and counting from ``credential_counts`` (issue #22).

A page by number must hold exactly what ``ORDER BY name LIMIT/OFFSET`` over
the store's rows at that moment would, with exact totals, however the pages
were reached (walked in order, asked for on their own, from either end) and
whatever changed in between. Each test compares the store's answer with
that reference, read from the same store; the store-level tests run on
both engines, the walk through the client on both backends (local, serve).
"""

from __future__ import annotations

import math
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from tilecred import CloudProvider, CredentialType
from tilecred._local import Store
from tilecred._local._schema import STATEMENTS
from tilecred._models import (
    AccessCredentialRole,
    AWSRole,
    Credential,
    CredentialCreateRequest,
    CredentialUpdateRequest,
    GCPInteroperabilityCredential,
)

from ._engines import store_at
from .test_credential_lifecycle_both import side  # noqa: F401  (both engines)
from .test_parity import ROLE, Side

pytest_plugins = ["tests.test_server_harness", "tests.test_parity"]

ARN = "arn:aws:iam::123456789012:role/pages"
GCP_KEY = Credential(
    gcp=GCPInteroperabilityCredential(access_key_id="GOOG1EXAMPLE", secret_access_key="s" * 40)
)


def _create(store: Store, ws: str, name: str, *, teamspace: str | None = None,
            provider: CloudProvider = CloudProvider.AWS) -> None:  # fmt: skip
    if provider is CloudProvider.AWS:
        request = CredentialCreateRequest(
            name=name, provider=provider, role=AccessCredentialRole(aws=AWSRole(role_arn=ARN))
        )
    else:
        request = CredentialCreateRequest(
            name=name,
            provider=provider,
            credential=GCP_KEY,
        )
    store.create_credential(ws, teamspace, request)


def _reference(store: Store, ws: str, teamspace: str | None = None,
               providers: tuple[str, ...] | None = None) -> list[str]:  # fmt: skip
    """Every name in the listing, in the database's own order, read straight from its table."""
    with store._transaction() as conn:
        rows = conn.execute(
            "SELECT name, provider FROM credentials WHERE workspace_id = ? AND scope = ?"
            " ORDER BY name",
            (ws, teamspace or ""),
        ).fetchall()
    return [name for name, provider in rows if providers is None or provider in providers]


def _check_page(
    store: Store, ws: str, page: int, size: int, expected: list[str], **kw: Any
) -> None:
    got = store.list_credentials(ws, kw.pop("teamspace", None), page, size, **kw)
    assert [c.name for c in got.items] == expected[(page - 1) * size : page * size]
    assert (got.page, got.per_page) == (page, size)
    assert got.total_items == len(expected)
    assert got.total_pages == math.ceil(len(expected) / size)


@pytest.fixture
def store(engine: str, tmp_path: Path) -> Any:
    with store_at(tmp_path / "home") as made:
        yield made


def _workspace(store: Store) -> str:
    return store.ensure_workspace("pages").id


def test_every_page_from_either_end_and_by_walking_is_the_offset_page(store: Store) -> None:
    ws = _workspace(store)
    # Names whose order is not their creation order.
    for index in range(23):
        _create(store, ws, f"c{(index * 7) % 23:02d}")
    expected = _reference(store, ws)
    assert len(expected) == 23
    for size in (1, 4, 5, 23, 30):
        pages = math.ceil(23 / size)
        # Asked for on their own (fresh keys each time): last, middle, first.
        for page in (pages, max(1, pages // 2), 1, pages + 1, pages + 7):
            store._page_keys.__init__()  # type: ignore[misc]
            _check_page(store, ws, page, size, expected)
        # Walked in order: each page after the first found by the remembered key.
        for page in range(1, pages + 2):
            _check_page(store, ws, page, size, expected)


def test_a_walk_sees_inserts_and_deletes_made_between_its_pages(store: Store) -> None:
    ws = _workspace(store)
    for index in range(0, 40, 2):
        _create(store, ws, f"n{index:02d}")
    _check_page(store, ws, 1, 5, _reference(store, ws))
    _check_page(store, ws, 2, 5, _reference(store, ws))
    # Before the walk's position: every later page moves by one.
    _create(store, ws, "n01")
    _check_page(store, ws, 3, 5, _reference(store, ws))
    store.delete_credential(ws, None, "n00")
    store.delete_credential(ws, None, "n02")
    _check_page(store, ws, 4, 5, _reference(store, ws))
    # A rename moves a credential within the listing.
    store.update_credential(ws, None, "n30", CredentialUpdateRequest(name="a-first"))
    _check_page(store, ws, 5, 5, _reference(store, ws))
    _check_page(store, ws, 1, 5, _reference(store, ws))
    assert store.list_credentials(ws, None, 1, 5).total_items == 19


def test_totals_follow_filters_and_the_provider_a_credential_moves_to(store: Store) -> None:
    ws = _workspace(store)
    team = store.create_teamspace(ws, "ml").id
    for index in range(7):
        _create(store, ws, f"aws-{index}")
    for index in range(4):
        _create(store, ws, f"gcp-{index}", provider=CloudProvider.GCP)
    for index in range(3):
        _create(store, ws, f"in-team-{index}", teamspace=team)
    aws, gcp = CloudProvider.AWS, CloudProvider.GCP
    _check_page(store, ws, 2, 3, _reference(store, ws, providers=("AWS",)), provider=[aws])
    _check_page(store, ws, 1, 3, _reference(store, ws, providers=("GCP",)), exclude_provider=[aws])
    _check_page(store, ws, 1, 2, _reference(store, ws, team), teamspace=team)
    workspace_only = CredentialType.WORKSPACE
    _check_page(store, ws, 1, 2, [], teamspace=team, credential_type=workspace_only)
    _check_page(store, ws, 4, 3, _reference(store, ws), credential_type=workspace_only)
    _check_page(store, ws, 1, 5, [], credential_type=CredentialType.TEAMSPACE)
    _check_page(store, ws, 1, 2, ["aws-1", "gcp-2"], names=["gcp-2", "aws-1", "missing"])
    # Leaving out a kind of secret (what /v4 does for TileDB's own client).
    keys_only = [n for n in _reference(store, ws) if n.startswith("gcp-")]
    _check_page(store, ws, 1, 3, keys_only, without_members=[("role", "aws")])
    # The provider changes (with a secret that fits it): the totals move with it.
    change = CredentialUpdateRequest(provider=gcp, credential=GCP_KEY)
    store.update_credential(ws, None, "aws-3", change)
    _check_page(store, ws, 1, 10, _reference(store, ws, providers=("GCP",)), provider=[gcp])
    assert store.list_credentials(ws, None, 1, 3, provider=[gcp]).total_items == 5
    assert store.list_credentials(ws, None, 1, 3, provider=[aws]).total_items == 6


@pytest.mark.sqlite_only
def test_counts_stay_exact_when_a_teamspace_goes_with_its_credentials(
    engine: str, tmp_path: Path
) -> None:
    with store_at(tmp_path / "home") as store:
        ws = _workspace(store)
        team = store.create_teamspace(ws, "gone").id
        for index in range(3):
            _create(store, ws, f"t{index}", teamspace=team)
        _create(store, ws, "stays")
    db = sqlite3.connect(tmp_path / "home" / "tilecred.db", isolation_level=None)
    db.execute("PRAGMA foreign_keys = ON")
    db.execute("DELETE FROM teamspaces WHERE id = ?", (team,))
    counts = db.execute(
        "SELECT scope, n FROM credential_counts WHERE n > 0 ORDER BY scope"
    ).fetchall()
    db.close()
    assert counts == [("", 1)]


@pytest.mark.sqlite_only
def test_a_store_from_before_the_counts_is_counted_on_its_way_up(
    engine: str, tmp_path: Path
) -> None:
    with store_at(tmp_path / "home") as store:
        ws = _workspace(store)
        for index in range(5):
            _create(store, ws, f"old-{index}")
    # Back to version 11: versions 13 and 12 undone, newest first.
    db = sqlite3.connect(tmp_path / "home" / "tilecred.db", isolation_level=None)
    for trigger in ("audit_prunes_no_delete", "audit_prunes_close_only", "audit_no_delete"):
        db.execute(f"DROP TRIGGER {trigger}")
    db.execute("DROP TABLE audit_prunes")
    (no_delete,) = [
        s for s in STATEMENTS[2] if s.startswith("CREATE TRIGGER audit_no_delete")
    ]  # v3
    db.execute(no_delete)
    for trigger in ("insert", "delete", "update"):
        db.execute(f"DROP TRIGGER credentials_count_{trigger}")
    db.execute("DROP TABLE credential_counts")
    db.execute("DROP INDEX audit_usage")
    db.execute("PRAGMA user_version = 11")
    db.close()
    with store_at(tmp_path / "home") as store:
        _check_page(store, ws, 2, 2, [f"old-{index}" for index in range(5)])
        _create(store, ws, "old-9")
        assert store.list_credentials(ws, None, 1, 2).total_items == 6


def test_walking_a_listing_through_the_client_gives_every_credential_once(
    side: Side,  # noqa: F811  (the fixture imported above)
) -> None:
    for index in range(31):
        side.client.create_credential(f"w{(index * 11) % 31:02d}", "AWS", role=ROLE)
    pager = side.client.list_credentials(per_page=4)
    assert (len(pager), pager.total_pages) == (31, 8)
    assert [c.name for c in pager] == [f"w{index:02d}" for index in range(31)]
    assert [c.name for c in side.client.list_credentials(per_page=4)[-3:]] == ["w28", "w29", "w30"]
    walked: list[str] = []
    for page in side.client.list_credentials(per_page=10).pages():
        walked.extend(c.name for c in page.items)
        if page.page == 1:
            side.client.delete_credential("w00")  # before the walk's position: all move up
    assert walked == [f"w{index:02d}" for index in range(31) if index != 10]
