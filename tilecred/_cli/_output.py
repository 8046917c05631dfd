"""What commands print: aligned tables for people, JSON for scripts.

Colour only on a terminal, and never when ``NO_COLOR`` is set (no-color.org).
JSON carries the wire fields of TileDB's API; secret fields are removed
before printing, whatever a server sent.
"""

from __future__ import annotations

import datetime
import os
import sys
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TextIO, TypeVar

import msgspec

from tilecred import AccessCredential
from tilecred._models import _Model

from ._kinds import kind_of

__all__ = [
    "CREDENTIAL_COLUMNS",
    "Style",
    "Table",
    "credential_details",
    "credential_row",
    "print_items",
    "print_warning",
    "to_json",
    "utc_time",
]

T = TypeVar("T")

_CODES = {"bold": "1", "dim": "2", "red": "31", "green": "32", "yellow": "33"}


class Style:
    """ANSI colour for one stream, on only when it is a terminal and NO_COLOR is unset."""

    def __init__(self, stream: TextIO) -> None:
        try:
            terminal = stream.isatty()
        except ValueError:
            terminal = False
        self.enabled = (
            terminal and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"
        )

    def paint(self, text: str, colour: str) -> str:
        """``text`` in ``colour`` (a name in the table above), or as it is."""
        if not self.enabled or not text:
            return text
        return f"\x1b[{_CODES[colour]}m{text}\x1b[0m"


def print_warning(message: object) -> None:
    """``warning: …`` on stderr, one line, as errors are printed."""
    sys.stderr.write(f"{Style(sys.stderr).paint('warning:', 'yellow')} {message}\n")


def _public(struct: Any, data: Any) -> Any:
    """``data`` (``struct`` as builtins) without the secret fields of any struct inside.

    Secrets are found by the models' marks, field by field, not by name: a
    bearer token's ``token`` is secret, a credential's ``token`` container is not.
    """
    if isinstance(struct, _Model) and isinstance(data, dict):
        for field in type(struct).__secret_fields__:
            data.pop(field, None)
        for field in struct.__struct_fields__:
            if field in data:
                data[field] = _public(getattr(struct, field), data[field])
    elif isinstance(struct, list) and isinstance(data, list):
        return [_public(inner, item) for inner, item in zip(struct, data, strict=True)]
    return data


def to_json(value: Any) -> str:
    """One line of JSON: wire field names, unset fields omitted, secrets removed."""
    return msgspec.json.encode(_public(value, msgspec.to_builtins(value))).decode()


# -- tables -----------------------------------------------------------------------


class Table:
    """An aligned table printed a batch of rows at a time.

    Column widths are taken from the header and the first batch, and only
    grow after that: a later, wider value shifts the rows from there on but
    no earlier row is held back waiting for it.
    """

    def __init__(
        self,
        out: TextIO,
        headers: Sequence[str],
        style: Style,
        paint: Callable[[int, str], str | None] = lambda column, text: None,
    ) -> None:
        self._out = out
        self._headers = headers
        self._style = style
        self._paint = paint
        self._widths: list[int] | None = None
        self.rows = 0

    def write(self, rows: Iterable[Sequence[str]]) -> None:
        """Print some rows (the header first, before the first batch) and flush."""
        batch = list(rows)
        if not batch:
            return
        first = self._widths is None
        widths = [len(h) for h in self._headers] if self._widths is None else self._widths
        for row in batch:
            widths = [max(w, len(cell)) for w, cell in zip(widths, row, strict=True)]
        self._widths = widths
        if first:
            self._line(self._headers, header=True)
        for row in batch:
            self._line(row, header=False)
        self.rows += len(batch)
        self._out.flush()

    def _line(self, cells: Sequence[str], *, header: bool) -> None:
        assert self._widths is not None
        parts = []
        for column, (cell, width) in enumerate(zip(cells, self._widths, strict=True)):
            pad = "" if column == len(cells) - 1 else " " * (width - len(cell))
            colour = "bold" if header else self._paint(column, cell)
            parts.append((self._style.paint(cell, colour) if colour else cell) + pad)
        self._out.write("  ".join(parts) + "\n")


def print_items(
    items: Sequence[T],
    *,
    as_json: bool,
    headers: Sequence[str],
    row: Callable[[T], Sequence[str]],
    empty: str,
    paint: Callable[[int, str], str | None] = lambda column, text: None,
) -> None:
    """JSON Lines on standard output (one item a line, secrets removed), or an
    aligned table with a header; with no items, ``empty`` on standard error
    (JSON Lines then print nothing at all)."""
    if as_json:
        sys.stdout.writelines(to_json(item) + "\n" for item in items)
        return
    Table(sys.stdout, headers, Style(sys.stdout), paint).write(row(item) for item in items)
    if not items:
        print(empty, file=sys.stderr)


def utc_time(value: datetime.datetime) -> str:
    """A time in UTC to the second, as the audit tables show it."""
    return value.astimezone(datetime.UTC).strftime("%Y-%m-%d %H:%M:%S")


# -- credentials ------------------------------------------------------------------

CREDENTIAL_COLUMNS = (
    "NAME", "PROVIDER", "KIND", "DEFAULT", "TASKS", "ACTIVE", "STATUS", "EXPIRES", "UPDATED",
    "LAST USED", "USED BY",
)  # fmt: skip
_STATUS_COLOURS = {"verified": "green", "failed": "red"}


def _yes_no(value: bool | None) -> str:
    return "-" if value is None else ("yes" if value else "no")


def _when(value: datetime.datetime | None) -> str:
    if value is None:
        return "-"
    if value.tzinfo is not None:
        value = value.astimezone(datetime.UTC)
    return value.strftime("%Y-%m-%d %H:%M")


def credential_row(cred: AccessCredential) -> tuple[str, ...]:
    """One table row: name, provider, kind, default, tasks, active, status, expires,
    updated, last used (times in UTC), used by."""
    return (
        cred.name,
        cred.provider.value,
        kind_of(cred) or "-",
        _yes_no(cred.provider_default),
        _yes_no(cred.allowed_in_tasks),
        _yes_no(cred.active),
        cred.status or "-",
        _when(cred.expires_at),
        _when(cred.updated_at or cred.created_at),
        _when(cred.last_used_at),
        cred.last_used_by or "-",
    )


def status_colour(column: int, text: str) -> str | None:
    """The colour of a status cell in a credentials table."""
    if column == CREDENTIAL_COLUMNS.index("STATUS"):
        return _STATUS_COLOURS.get(text)
    return None


def credential_details(cred: AccessCredential) -> list[tuple[str, str]]:
    """Label and value pairs for one credential, secrets left out."""
    pairs = [
        ("name", cred.name),
        ("id", cred.id),
        ("provider", cred.provider.value),
        ("kind", kind_of(cred) or "-"),
        ("type", cred.credential_type.value),
        ("default", _yes_no(cred.provider_default)),
        ("allowed in tasks", _yes_no(cred.allowed_in_tasks)),
        ("active", _yes_no(cred.active)),
        ("status", cred.status or "-"),
        ("expires", _when(cred.expires_at) + (" UTC" if cred.expires_at else "")),
        ("created", _when(cred.created_at) + " UTC"),
        ("updated", _when(cred.updated_at) + (" UTC" if cred.updated_at else "")),
        ("last used", _when(cred.last_used_at) + (" UTC" if cred.last_used_at else "")),
        ("used by", cred.last_used_by or "-"),
        ("description", cred.description or "-"),
    ]
    for container in ("credential", "role", "token"):
        held = getattr(cred, container)
        members = _public(held, msgspec.to_builtins(held)) or {}
        for fields in members.values():
            for field, value in fields.items():
                shown = str(value).lower() if isinstance(value, bool) else str(value)
                pairs.append((field.replace("_", " "), shown))
    return pairs
