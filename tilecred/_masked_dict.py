"""The mapping the forms hand out: a dict in every use, masked in every display.

``env()``, ``storage_options()`` and ``tiledb_config()`` return a
``MaskedDict``: a ``dict`` subclass, so s3fs, adlfs, gcsfs, pandas,
``tiledb.Config``, ``subprocess.run(env=...)``, ``os.environ.update``,
``json.dumps``, ``dict(...)`` and ``**`` see the real values. Only its
displays differ: ``repr``, ``str``, ``pprint``, IPython's pretty printer,
a notebook's HTML and rich show ``'***'`` for each value holding a secret.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from typing import Any, TypeVar

from ._display import Masked
from ._masking import holds_secret, register

__all__ = ["MaskedDict", "handed_out"]

_V = TypeVar("_V")


class MaskedDict(dict[str, _V]):
    """A dict whose displays show ``'***'`` for each value holding a secret.

    A value is masked when its key was marked secret when the mapping was
    handed out, or when its text holds a value registered for masking (so a
    secret added later is masked too).
    """

    def __init__(self, items: Mapping[str, _V] | Iterable[tuple[str, _V]] = (), /, *,
                 secret_keys: Iterable[str] = ()) -> None:  # fmt: skip
        super().__init__(items)
        self.secret_keys = frozenset(secret_keys)

    def _is_secret(self, key: str, value: object) -> bool:
        if key in getattr(self, "secret_keys", ()):
            return True
        return holds_secret(value if isinstance(value, str) else repr(value))

    def shown(self) -> dict[str, Any]:
        """A plain dict to display: nested mappings shown the same way, secrets as ``'***'``."""
        shown: dict[str, Any] = {}
        for key, value in self.items():
            if isinstance(value, MaskedDict):
                shown[key] = value.shown()
            elif self._is_secret(key, value):
                shown[key] = Masked()
            else:
                shown[key] = value
        return shown

    def __repr__(self) -> str:
        return repr(self.shown())

    __str__ = __repr__

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        # IPython's pretty printer (a notebook's text/plain) asks for this first.
        if cycle:
            printer.text("{...}")
        else:
            printer.pretty(self.shown())

    def _repr_html_(self) -> str:
        from html import escape  # loads on first use: `import tilecred` stays cheap

        rows = "".join(
            f"<tr><th>{escape(str(key))}</th><td><code>{escape(repr(value))}</code></td></tr>"
            for key, value in self.shown().items()
        )
        return f"<table>{rows}</table>"

    def __rich__(self) -> dict[str, Any]:
        # rich.print and Console.print render what this returns: the plain dict, masked.
        return self.shown()

    # What a dict's own methods would return as a plain dict keeps the masks.

    def copy(self) -> MaskedDict[_V]:
        return MaskedDict(self, secret_keys=self.secret_keys)

    def __or__(self, other: Any) -> MaskedDict[_V]:  # type: ignore[override]
        if not isinstance(other, Mapping):
            return NotImplemented
        return MaskedDict({**self, **other}, secret_keys=self.secret_keys.difference(other))

    def __ror__(self, other: Any) -> MaskedDict[_V]:  # type: ignore[override]
        if not isinstance(other, Mapping):
            return NotImplemented
        return MaskedDict({**other, **self}, secret_keys=self.secret_keys)


def handed_out(mapping: Mapping[str, Any], secrets: Collection[str]) -> MaskedDict[Any]:
    """``mapping`` as a ``MaskedDict``, its values holding any of ``secrets`` marked secret.

    Where every form's mapping leaves ``CredentialAccess``: ``secrets`` are
    registered for masking in logs and notebooks, and nested mappings (such
    as storage options' ``client_kwargs``) become ``MaskedDict`` too.
    """
    register(secrets)
    secrets = [secret for secret in secrets if secret]
    items: dict[str, Any] = {}
    secret_keys: set[str] = set()
    for key, value in mapping.items():
        if isinstance(value, Mapping):
            value = handed_out(value, secrets)
        elif isinstance(value, str) and any(secret in value for secret in secrets):
            secret_keys.add(key)
        items[key] = value
    return MaskedDict(items, secret_keys=secret_keys)
