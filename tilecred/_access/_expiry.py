"""When a secret stops working: an Azure SAS token's ``se=``.

Only a SAS token declares its own expiry. A GCP service-account key file, a
Snowflake key pair (PKCS#8 carries no validity), AWS and HMAC key pairs and a
Databricks secret do not, so for them it is not known.
"""

from __future__ import annotations

import datetime

__all__ = ["EXPIRING_SOON", "declared_expiry", "expiry_warning", "sas_expiry", "stamp", "utcnow"]

# A secret that expires within this is "expiring soon": verify warns about it.
EXPIRING_SOON = datetime.timedelta(days=7)


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


def declared_expiry(token: object) -> datetime.datetime | None:
    """The expiry a secret declares itself, given a request's or credential's
    ``token`` container: a SAS token's ``se=``; ``None`` for every other kind."""
    azure = getattr(token, "azure", None)
    sas = getattr(azure, "sas_token", None)
    return sas_expiry(sas) if isinstance(sas, str) and sas else None


def stamp(when: datetime.datetime) -> str:
    """A time for a message, to the minute, in UTC: ``2026-12-02 10:00 UTC``."""
    return when.astimezone(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")


def expiry_warning(
    what: str, expires_at: datetime.datetime | None, now: datetime.datetime | None = None
) -> str | None:
    """Why ``what`` needs replacing soon, or ``None``: it expired, or expires within 7 days."""
    if expires_at is None:
        return None
    now = now or utcnow()
    if expires_at <= now:
        return f"{what} expired at {stamp(expires_at)}: replace it"
    left = expires_at - now
    if left > EXPIRING_SOON:
        return None
    days = left.days
    within = f"in {days} day{'s' if days != 1 else ''}" if days else "within a day"
    return f"{what} expires at {stamp(expires_at)}, {within}: replace it soon"
