"""A lazy, re-iterable view of a paginated listing."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Generic, TypeVar, overload

from ._backend import Page
from ._display import credentials_html, failure_html
from ._errors import CredentialsError, InvalidArgumentError
from ._models import PaginationMetadata

__all__ = ["Page", "Pager"]

T = TypeVar("T")

FetchPage = Callable[[int, "int | None"], Page[T]]

_MISSING = object()


class Pager(Generic[T]):
    """The items of a listing, fetched a page at a time, only when used.

    Nothing is sent until the pager is used. ``for item in pager`` walks from
    the first requested page to the last, holding one page in memory; each
    new iteration starts again. ``pager[i]``, ``pager[-1]`` and
    ``pager[a:b]`` fetch only the pages that hold those items (a negative
    index first needs the total, from the first page). ``len(pager)``,
    ``total_items`` and ``total_pages`` come from the server's
    pagination metadata. Iteration stops at the last page or at an empty page,
    and a page that repeats the one before ends it too, so a misbehaving
    server cannot make it loop forever. The first page fetched for ``len()``
    or an index is reused by the next walk, so ``list(pager)`` asks for each
    page once.

    Raises:
        CredentialsError: when a page cannot be fetched.
    """

    def __init__(self, fetch: FetchPage[T], page: int = 1, per_page: int | None = None) -> None:
        self._fetch = fetch
        self._start = page
        self._per_page = per_page
        # The first page, kept once fetched for its metadata (len, totals).
        self._first: Page[T] | None = None
        # True while the kept first page has not been walked by an iteration:
        # ``list(pager)`` asks len() first, and the walk that follows reuses
        # that page instead of asking for it twice.
        self._first_unused = False
        # Why the first page could not be fetched, once a display or len() tried:
        # a pager that failed shows its error, never an empty listing.
        self._failure: CredentialsError | None = None

    def __repr__(self) -> str:
        failed = "" if self._failure is None else f", failed={str(self._failure)!r}"
        return f"Pager(page={self._start}, per_page={self._per_page}{failed})"

    def _repr_html_(self) -> str:
        """The first page as a table and the listing's total, for Jupyter.

        Only the first page is fetched (once, and kept for the next walk): a
        notebook cell that shows a pager does not walk the whole listing.
        """
        try:
            first = self._first_page()
        except CredentialsError as exc:
            # The message is one scrubbed line; a traceback in a cell says no more.
            # Not a table: an empty one would read as "no credentials".
            return failure_html(exc)
        shown = len(first.items)
        if first.total_items is None:
            caption = f"page {first.page}: {shown} shown"
        else:
            pages = f" of {first.total_pages}" if first.total_pages is not None else ""
            caption = f"page {first.page}{pages}: {shown} shown of {first.total_items} in all"
        return credentials_html(first.items, caption=caption)

    # -- fetching ----------------------------------------------------------------

    def _get(self, number: int) -> Page[T]:
        """Page ``number``; empty if the server answered with another page."""
        page = self._fetch(number, self._per_page)
        if page.total_pages is not None and page.page != number:
            # A server that ignores ``page`` (or clamps it) must not make an
            # index past the end return an item from an earlier page.
            return Page([], number, page.per_page, page.total_pages, page.total_items)
        return page

    def _first_page(self) -> Page[T]:
        if self._first is None:
            try:
                self._first = self._get(self._start)
            except CredentialsError as exc:
                self._failure = exc
                raise
            self._failure = None
            self._first_unused = True
        return self._first

    def pages(self) -> Iterator[Page[T]]:
        """Yield one ``Page`` at a time, from the first requested page.

        Raises:
            CredentialsError: when a page cannot be fetched.
        """
        number = self._start
        previous_head: object = _MISSING
        while True:
            if number == self._start and self._first_unused and self._first is not None:
                page = self._first
            else:
                page = self._get(number)
                if number == self._start:
                    self._first = page
            if number == self._start:
                self._first_unused = False
            if not page.items or page.items[0] == previous_head:
                # An empty page ends the listing; so does a page that starts
                # like the one before (a server that ignores ``page``).
                return
            yield page
            if page.total_pages is not None:
                if number >= page.total_pages:
                    return
            elif page.per_page is None or len(page.items) < page.per_page:
                # Without metadata a short page is the last one, and with no
                # page size the first page is all there is.
                return
            previous_head = page.items[0]
            number += 1

    def __iter__(self) -> Iterator[T]:
        for page in self.pages():
            yield from page.items

    # -- metadata -----------------------------------------------------------------

    @property
    def total_items(self) -> int:
        """How many items the whole listing has, from the first page's metadata.

        Raises:
            CredentialsError: the page cannot be fetched or has no metadata.
        """
        total = self._first_page().total_items
        if total is None:
            raise CredentialsError("the server sent no pagination metadata (total_items)")
        return total

    @property
    def total_pages(self) -> int:
        """How many pages the whole listing has.

        Raises:
            CredentialsError: the page cannot be fetched or has no metadata.
        """
        total = self._first_page().total_pages
        if total is None:
            raise CredentialsError("the server sent no pagination metadata (total_pages)")
        return total

    def _page_size(self) -> int | None:
        """Items per page: the server's if it said, else what was asked for.

        ``None`` means there is only one page (no size asked, none reported).
        """
        first = self._first
        if first is not None and first.total_pages is not None and first.per_page:
            return first.per_page
        if self._per_page is not None:
            return self._per_page
        first = self._first_page()
        return first.per_page if first.total_pages is not None and first.per_page else None

    def __len__(self) -> int:
        """How many items there are from the requested page on.

        Without pagination metadata the pages are walked and counted.
        """
        first = self._first_page()
        size = self._page_size()
        if first.total_items is not None and size is not None:
            return max(0, first.total_items - (self._start - 1) * size)
        if size is None or len(first.items) < size:
            return len(first.items)  # the only page, as iteration sees it
        return sum(len(page.items) for page in self.pages())

    # -- the attributes of TileDB's Pager, for code written against it -------------

    @property
    def page(self) -> int:
        """The page iteration and indexing start from (1-based)."""
        return self._start

    @property
    def data(self) -> list[T]:
        """The items of the current page (``page``), fetched if need be.

        Raises:
            CredentialsError: the page cannot be fetched.
        """
        return self._first_page().items

    @property
    def pagination_metadata(self) -> PaginationMetadata | None:
        """The current page's pagination metadata; ``None`` if the server sent none.

        Raises:
            CredentialsError: the page cannot be fetched.
        """
        first = self._first_page()
        if first.per_page is None or first.total_pages is None or first.total_items is None:
            return None
        return PaginationMetadata(
            page=first.page,
            per_page=first.per_page,
            total_pages=first.total_pages,
            total_items=first.total_items,
        )

    def call_page(self, page: int) -> None:
        """Fetch page ``page`` now and make it the current page.

        Iteration and indexing then start from it, as with TileDB's ``Pager``.

        Raises:
            InvalidArgumentError: ``page`` is not an int of at least 1.
            CredentialsError: the page cannot be fetched.
        """
        if isinstance(page, bool) or not isinstance(page, int) or page < 1:
            raise InvalidArgumentError(f"page must be an int of at least 1, not {page!r}")
        fetched = self._get(page)
        self._start, self._first, self._first_unused = page, fetched, True

    # -- indexing -----------------------------------------------------------------

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
        item = self._item(position, {}) if position >= 0 else _MISSING
        if item is _MISSING:
            raise IndexError(f"Pager index {index} out of range")
        return item  # type: ignore[return-value]

    def _slice(self, index: slice) -> list[T]:
        start, stop, step = index.start, index.stop, index.step
        if step == 0:
            raise ValueError("slice step cannot be zero")
        if any(v is not None and v < 0 for v in (start, stop, step)) or stop is None:
            positions = range(*index.indices(len(self)))
        else:
            # Non-negative bounds need no total: fetch only the pages in range.
            positions = range(start or 0, stop, step or 1)
        fetched: dict[int, Page[T]] = {}
        items: list[T] = []
        for position in positions:
            item = self._item(position, fetched)
            if item is _MISSING:
                if positions.step > 0:
                    break  # past the end: every later position is too
                continue
            items.append(item)  # type: ignore[arg-type]
        return items

    def _item(self, position: int, fetched: dict[int, Page[T]]) -> T | object:
        """The item at ``position`` from the requested page on, or ``_MISSING``."""
        size = self._page_size()
        number = self._start if size is None else self._start + position // size
        offset = position if size is None else position % size
        page = fetched.get(number)
        if page is None:
            page = self._first_page() if number == self._start else self._get(number)
            fetched[number] = page
        if page.total_pages is not None and page.per_page and page.per_page != size:
            # The server uses another page size than asked for (a cap):
            # recompute from its size, once it is known from the first page.
            self._first_page()
            if self._page_size() != size:
                return self._item(position, fetched)
        if offset >= len(page.items):
            return _MISSING
        return page.items[offset]
