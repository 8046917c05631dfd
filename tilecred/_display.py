"""How models and pagers show themselves: reprs, rich, and HTML for notebooks.

Nothing here prints a secret. The HTML table has no column for one, and the
reprs put ``'***'`` in place of every secret field (the models say which).
"""

from __future__ import annotations

import datetime
import enum
from collections.abc import Iterable
from typing import Any

from ._errors import MASK

__all__ = ["Masked", "Plain", "credentials_html", "failure_html", "shown"]

# The columns of a credential table, and the heading of each.
_COLUMNS = ("name", "provider", "kind", "default", "tasks", "status", "updated")


class Masked:
    """Stands in for a secret when a struct is displayed."""

    __slots__ = ()

    def __repr__(self) -> str:
        return repr(MASK)


class Plain:
    """Shows a time or an enum as its plain value in rich's pretty printer."""

    __slots__ = ("text",)

    def __init__(self, value: datetime.datetime | enum.Enum) -> None:
        self.text = shown(value)

    def __repr__(self) -> str:
        return self.text


def shown(value: object) -> str:
    """How a field's value reads in a repr: times as ISO strings, enums as their values."""
    if isinstance(value, datetime.datetime):
        return repr(value.isoformat())
    if isinstance(value, enum.Enum):
        return repr(value.value)
    return repr(value)


def _kind(credential: Any) -> str:
    """Where its secret sits: ``credential.aws``, ``role.aws``, ``token.azure``…"""
    for container in ("credential", "role", "token"):
        value = getattr(credential, container, None)
        if value is None:
            continue
        for member in value.__struct_fields__:
            if getattr(value, member) is not None:
                return f"{container}.{member}"
        return container
    return ""


def _flag(value: bool | None) -> str:
    return "" if value is None else ("yes" if value else "no")


def _cells(credential: Any) -> tuple[str, ...]:
    updated = credential.updated_at or credential.created_at
    return (
        credential.name,
        credential.provider.value,
        _kind(credential),
        _flag(credential.provider_default),
        _flag(credential.allowed_in_tasks),
        credential.status or "",
        updated.isoformat(timespec="seconds") if updated is not None else "",
    )


def credentials_html(credentials: Iterable[Any], caption: str | None = None) -> str:
    """A compact HTML table of credentials, one row each, every value escaped.

    Secrets have no column, so none can show, whatever the credentials hold.
    """
    # Imported here: only a notebook asks for HTML, and ``import tilecred`` stays cheap.
    from html import escape

    parts = ["<table>"]
    if caption is not None:
        parts.append(f"<caption>{escape(caption)}</caption>")
    parts.append("<thead><tr>" + "".join(f"<th>{c}</th>" for c in _COLUMNS) + "</tr></thead>")
    parts.append("<tbody>")
    for credential in credentials:
        cells = "".join(f"<td>{escape(str(cell))}</td>" for cell in _cells(credential))
        parts.append(f"<tr>{cells}</tr>")
    parts.append("</tbody></table>")
    return "".join(parts)


def failure_html(error: Exception) -> str:
    """A listing that failed, for Jupyter: its one-line error, in a box, escaped."""
    from html import escape

    style = "border-left: 3px solid #c00; padding: 0.3em 0.6em"
    return f'<div style="{style}">{escape(str(error))}</div>'
