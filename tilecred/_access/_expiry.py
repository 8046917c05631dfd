"""When a secret stops working: an Azure SAS token's ``se=``."""

from __future__ import annotations

import datetime

__all__ = ["sas_expiry", "utcnow"]


def utcnow() -> datetime.datetime:
    """Now, with its zone: every expiry here is compared to this."""
    return datetime.datetime.now(datetime.UTC)


def sas_expiry(sas_token: str) -> datetime.datetime | None:
    """The expiry (``se=``) of a SAS token, or ``None`` when it has none we can read.

    ``se`` is an ISO 8601 UTC time, to the second or the day
    (``2026-12-02T10:00:00Z``, ``2026-12-02``), percent-encoded or not.
    """
    from urllib.parse import parse_qs  # loads on first use: `import tilecred` stays cheap

    query = parse_qs(sas_token.lstrip("?"), keep_blank_values=False)
    values = query.get("se")
    if not values:
        return None
    text = values[0].strip()
    try:
        when = datetime.datetime.fromisoformat(text)
    except ValueError:
        return None
    if when.tzinfo is None:  # SAS times are UTC
        when = when.replace(tzinfo=datetime.UTC)
    return when
