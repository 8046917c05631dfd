"""The bodies the fixed-answer server sends: one credential, and listing pages.

Items are rendered from byte templates so that a page of a 1,000,000-item
listing costs the server well under a millisecond to produce. They cycle
through three shapes (an AWS key, an AWS role, an Azure SAS token) with the
empty secret fields a TileDB-compatible server sends, so both clients decode
what a real listing holds.
"""

from __future__ import annotations

__all__ = ["TEAMSPACE_PREFIX", "get_body", "page_body", "teamspace_for", "total_of_teamspace"]

# A listing's size is carried in the teamspace id: ``ts_n10000`` lists 10,000.
TEAMSPACE_PREFIX = "ts_n"

_STAMP = b'"created_at":"2026-11-01T10:00:00Z","updated_at":"2026-11-02T11:30:00Z"'
_SHAPES = (
    b'{"credential_type":"workspace","id":"cred_%08d","name":"bench-%08d","provider":"AWS",'
    b'"provider_default":false,' + _STAMP + b',"allowed_in_tasks":true,"credential":{"aws":'
    b'{"access_key_id":"AKIAIOSFODNN7EXAMPLE","secret_access_key":""}}}',
    b'{"credential_type":"workspace","id":"cred_%08d","name":"bench-%08d","provider":"AWS",'
    b'"provider_default":false,' + _STAMP + b',"allowed_in_tasks":false,"role":{"aws":'
    b'{"role_arn":"arn:aws:iam::123456789012:role/bench","external_id":""}}}',
    b'{"credential_type":"workspace","id":"cred_%08d","name":"bench-%08d","provider":"AZURE",'
    b'"provider_default":false,' + _STAMP + b',"allowed_in_tasks":true,"token":{"azure":'
    b'{"account_name":"benchacct","sas_token":""}}}',
)


def _item(number: int) -> bytes:
    return _SHAPES[number % 3] % (number, number)


def get_body() -> bytes:
    """The body of ``GET /v4/credentials/{workspace}/{name}``: one AWS key credential."""
    return b'{"data":' + _item(0) + b"}"


def teamspace_for(total: int) -> str:
    """The teamspace id whose listing has ``total`` items."""
    return f"{TEAMSPACE_PREFIX}{total}"


def total_of_teamspace(teamspace: str) -> int | None:
    """How many items the listing of ``teamspace`` has; ``None`` if it names no size."""
    digits = teamspace[len(TEAMSPACE_PREFIX) :]
    if teamspace.startswith(TEAMSPACE_PREFIX) and digits.isdigit():
        return int(digits)
    return None


def page_body(total: int, page: int, per_page: int) -> bytes:
    """Page ``page`` (1-based) of a listing of ``total`` items, with pagination metadata.

    A page past the end is empty, as a real server answers.
    """
    first = (page - 1) * per_page
    stop = min(first + per_page, total)
    items = b",".join([_item(n) for n in range(first, stop)])
    pages = -(-total // per_page)
    meta = b'{"page":%d,"per_page":%d,"total_pages":%d,"total_items":%d}' % (
        page,
        per_page,
        pages,
        total,
    )
    return b'{"data":[' + items + b'],"pagination_metadata":' + meta + b"}"
