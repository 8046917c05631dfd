"""A lazy, re-iterable view of a paginated listing."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Generic, TypeVar, overload

from ._backend import Page
from ._errors import CredentialsError

__all__ = ["Page", "Pager"]

T = TypeVar("T")

FetchPage = Callable[[int, "int | None"], Page[T]]


class Pager(Generic[T]):
    """The items of a listing, fetched a page at a time, only when used.

    Nothing is sent until the pager is used. ``for item in pager`` walks from
    the first requested page to the last, holding one page in memory; each
    new iteration starts again. ``pager[i]``, ``pager[-1]`` and
    ``pager[a:b]`` fetch only the pages that hold those items. ``len(pager)``,
    :attr:`total_items` and :attr:`total_pages` come from the server's
    pagination metadata. Iteration stops at the last page or at an empty page,
    so a misbehaving server cannot make it loop forever.

    Raises:
        CredentialsError: when a page cannot be fetched.
    """

    def __init__(self, fetch: FetchPage[T], page: int = 1, per_page: int | None = None) -> None:
        self._fetch = fetch
        self._start = page
        self._per_page = per_page
        # The first page, kept once fetched for its metadata (len, totals).
        self._first: Page[T] | None = None

    def __repr__(self) -> str:
        return f"Pager(page={self._start}, per_page={self._per_page})"

    def pages(self) -> Iterator[Page[T]]:
        """Yield one :class:`Page` at a time, from the first requested page."""
        number = self._start
        while True:
            page = self._fetch(number, self._per_page)
            if number == self._start:
                self._first = page
            if not page.items:
                return
            yield page
            if page.total_pages is not None:
                if page.page != number or number >= page.total_pages:
                    return
            elif page.per_page is None or len(page.items) < page.per_page:
                # Without metadata a short page is the last one.
                return
            number += 1

    def __iter__(self) -> Iterator[T]:
        for page in self.pages():
            yield from page.items

    def _first_page(self) -> Page[T]:
        if self._first is None:
            self._first = self._fetch(self._start, self._per_page)
        return self._first

    @property
    def total_items(self) -> int:
        """How many items the whole listing has, from page 1."""
        total = self._first_page().total_items
        if total is None:
            raise CredentialsError("the server sent no pagination metadata (total_items)")
        return total

    @property
    def total_pages(self) -> int:
        """How many pages the whole listing has."""
        total = self._first_page().total_pages
        if total is None:
            raise CredentialsError("the server sent no pagination metadata (total_pages)")
        return total

    def _page_size(self) -> int:
        if self._per_page is not None:
            return self._per_page
        size = self._first_page().per_page
        if size is None:
            raise CredentialsError("the server sent no pagination metadata (per_page)")
        return size

    def __len__(self) -> int:
        """How many items there are from the requested page on."""
        skipped = (self._start - 1) * self._page_size()
        return max(0, self.total_items - skipped)

    @overload
    def __getitem__(self, index: int) -> T: ...

    @overload
    def __getitem__(self, index: slice) -> list[T]: ...

    def __getitem__(self, index: int | slice) -> T | list[T]:
        if isinstance(index, slice):
            return self._slice(index)
        if not isinstance(index, int):
            raise TypeError(f"Pager indices must be int or slice, not {type(index).__name__}")
        position = index + len(self) if index < 0 else index
        if position < 0:
            raise IndexError("Pager index out of range")
        item = self._item(position, {})
        if item is _MISSING:
            raise IndexError("Pager index out of range")
        return item  # type: ignore[return-value]

    def _slice(self, index: slice) -> list[T]:
        start, stop, step = index.start, index.stop, index.step
        if step is not None and step == 0:
            raise ValueError("slice step cannot be zero")
        negative = any(v is not None and v < 0 for v in (start, stop, step))
        if negative or stop is None:
            positions = range(*index.indices(len(self)))
        else:
            # Non-negative bounds need no total: fetch only the pages in range.
            positions = range(start or 0, stop, step or 1)
        fetched: dict[int, Page[T]] = {}
        items: list[T] = []
        for position in positions:
            item = self._item(position, fetched)
            if item is _MISSING:
                if (step or 1) > 0:
                    break
                continue
            items.append(item)  # type: ignore[arg-type]
        return items

    def _item(self, position: int, fetched: dict[int, Page[T]]) -> T | object:
        size = self._page_size()
        number = self._start + position // size
        page = fetched.get(number)
        if page is None:
            if number == self._start:
                page = self._first_page()
            else:
                page = self._fetch(number, self._per_page)
            fetched[number] = page
        offset = position % size
        if offset >= len(page.items):
            return _MISSING
        return page.items[offset]


_MISSING = object()
