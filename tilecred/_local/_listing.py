"""Pages of a listing at a cost that does not grow with the page's number.

TileDB's listing API asks for a page by number (``page``, ``per_page``) and
answers with the listing's totals. Done naively, each page counts the whole
listing and skips ``(page - 1) * per_page`` rows, so walking N credentials
costs O(N²). Here:

- **the totals** come from ``credential_counts`` (schema version 12), one row
  per workspace, scope, provider and kind of secret, kept by triggers on
  ``credentials`` in the same transaction as every insert, delete and
  change of those columns. A listing's total is the sum over the rows its
  filter matches, a handful whatever the store holds. Each row also counts
  its ``changes``: their sum, the listing's *generation*, only grows, and
  grows whenever a credential enters, leaves or moves within the listing.
- **the rows** of page n + 1 are found by key (``name > last name of page
  n``), which this process remembers per listing and generation
  (:class:`PageKeys`): a walk, through the library or through ``tilecred
  serve``, costs one index seek per page. A page asked for on its own (a
  pager's ``pager[-1]``) is read from the nearer end of the index: the last
  page costs what the first does. Only a page in the middle, with no
  remembered key, skips entries, in the index alone.

When the generation moved (another writer, another instance), the
remembered keys of that listing are dropped: a page is never found by a key
from a listing that has changed since.
"""

from __future__ import annotations

import collections
import dataclasses
import threading
from collections.abc import Collection, Sequence
from typing import Any

from .._models import CloudProvider, CredentialType
from ._core import _COLUMNS
from ._engine import Connection

__all__ = ["Filter", "PageKeys", "read_page"]

# How many listings (workspace, scope, filter) keep their page keys, and how
# many keys one listing keeps; past either, the oldest are forgotten.
_LISTINGS = 256
_KEYS_PER_LISTING = 100_000


@dataclasses.dataclass(frozen=True, slots=True)
class Filter:
    """Which credentials a listing holds, as SQL conditions and their parameters.

    ``counted`` conditions name only columns that ``credential_counts`` has
    too (workspace, scope, provider, kind, member), so the same text filters both
    tables; ``names`` and ``ids`` can only be checked on ``credentials``,
    and a listing with either is counted there (it is as short as its list).
    """

    counted: tuple[str, ...]
    params: tuple[Any, ...]
    names: tuple[str, ...] | None = None
    ids: tuple[str, ...] | None = None

    @classmethod
    def of(
        cls,
        workspace_id: str,
        teamspace_id: str | None,
        *,
        provider: Sequence[CloudProvider] | None = None,
        exclude_provider: Sequence[CloudProvider] | None = None,
        credential_type: CredentialType | None = None,
        names: Sequence[str] | None = None,
        ids: Collection[str] | None = None,
        without_members: Collection[tuple[str, str]] = (),
    ) -> Filter:
        where = ["workspace_id = ?", "scope = ?"]
        params: list[Any] = [workspace_id, teamspace_id or ""]
        for providers, operator in ((provider, "IN"), (exclude_provider, "NOT IN")):
            if providers:
                where.append(f"provider {operator} ({', '.join('?' * len(providers))})")
                params.extend(p.value for p in providers)
        if without_members:
            # Both engines concatenate with ||; "." is in no container or member name.
            where.append(f"kind || '.' || member NOT IN ({', '.join('?' * len(without_members))})")
            params.extend(f"{kind}.{member}" for kind, member in sorted(without_members))
        # scope is '' exactly when teamspace_id is NULL (a CHECK on credentials).
        if credential_type is CredentialType.WORKSPACE:
            where.append("scope = ''")
        elif credential_type is CredentialType.TEAMSPACE:
            where.append("scope <> ''")
        return cls(
            tuple(where),
            tuple(params),
            None if names is None else tuple(names),
            None if ids is None else tuple(sorted(ids)),
        )

    @property
    def counted_only(self) -> bool:
        """Whether ``credential_counts`` holds this listing's total."""
        return self.names is None and self.ids is None

    def where(self) -> tuple[str, list[Any]]:
        """The condition on ``credentials`` and its parameters."""
        where, params = list(self.counted), list(self.params)
        if self.names is not None:
            where.append(f"name IN ({', '.join('?' * len(self.names))})")
            params.extend(self.names)
        if self.ids is not None:
            where.append(f"id IN ({', '.join('?' * len(self.ids))})" if self.ids else "1 = 0")
            params.extend(self.ids)
        return " AND ".join(where), params


class PageKeys:
    """The last name of each page served, per listing and generation, in this process.

    ``offset -> name``: the listing's rows from ``offset`` on are those after
    ``name``. Keys do not depend on the page size, so pages of any size share them.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._listings: collections.OrderedDict[tuple[Any, ...], tuple[int, dict[int, str]]] = (
            collections.OrderedDict()
        )

    def get(self, listing: tuple[Any, ...], generation: int, offset: int) -> str | None:
        with self._lock:
            found = self._listings.get(listing)
            if found is None or found[0] != generation:
                return None
            return found[1].get(offset)

    def put(self, listing: tuple[Any, ...], generation: int, offset: int, name: str) -> None:
        with self._lock:
            found = self._listings.get(listing)
            if found is None or found[0] < generation or len(found[1]) >= _KEYS_PER_LISTING:
                found = (generation, {})
            elif found[0] > generation:
                return  # a reader on an older snapshot: its keys are already stale
            found[1][offset] = name
            self._listings[listing] = found
            self._listings.move_to_end(listing)
            while len(self._listings) > _LISTINGS:
                self._listings.popitem(last=False)


def _tally(conn: Connection, chosen: Filter) -> tuple[int, int]:
    """The listing's total and generation."""
    if not chosen.counted_only:
        condition, params = chosen.where()
        (total,) = conn.execute(
            f"SELECT count(*) FROM credentials WHERE {condition}",  # noqa: S608
            params,
        ).fetchone()
        return int(total), -1
    total, generation = conn.execute(
        "SELECT coalesce(sum(n), 0), coalesce(sum(changes), 0) FROM credential_counts"  # noqa: S608
        " WHERE " + " AND ".join(chosen.counted),
        chosen.params,
    ).fetchone()
    return int(total), int(generation)


def read_page(
    conn: Connection, keys: PageKeys, chosen: Filter, offset: int, size: int
) -> tuple[int, list[tuple[Any, ...]]]:
    """The listing's total and its rows ``offset`` to ``offset + size``, by name.

    Run inside one read transaction: the total and the rows come from one snapshot.
    """
    total, generation = _tally(conn, chosen)
    count = min(size, total - offset)
    if count <= 0:
        return total, []
    condition, params = chosen.where()
    select = f"SELECT {_COLUMNS} FROM credentials WHERE {condition}"  # noqa: S608
    listing = (chosen.counted, chosen.params)
    after = None if generation < 0 else keys.get(listing, generation, offset)
    if after is not None:
        rows = conn.execute(
            select + " AND name > ? ORDER BY name LIMIT ?", [*params, after, count]
        ).fetchall()
    else:
        # No key remembered: skip entries of the name index alone, from the
        # nearer end (the last page costs what the first does), then read
        # the page's rows from the name found.
        backwards = offset > total - offset - count
        skip = total - offset - count if backwards else offset
        order, bound = ("DESC", "<=") if backwards else ("", ">=")
        seek = ""
        if skip:
            seek = (
                f" AND name {bound} (SELECT name FROM credentials WHERE {condition}"  # noqa: S608
                f" ORDER BY name {order} LIMIT 1 OFFSET ?)"
            )
            params = [*params, *params, skip]
        rows = conn.execute(
            select + seek + f" ORDER BY name {order} LIMIT ?", [*params, count]
        ).fetchall()
        if backwards:
            rows.reverse()
    if rows and generation >= 0:
        keys.put(listing, generation, offset + len(rows), rows[-1][2])
    return total, rows
