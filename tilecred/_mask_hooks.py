"""Where masked values are caught on their way out: logging, and an IPython kernel.

Installed when the first value is registered (``tilecred._masking``), never
at import. Each hook wraps a function once, marked so it is never wrapped
twice, and calls what it wrapped.

- Logging: ``LogRecord.getMessage`` on the class, which every formatter calls
  for every record of every logger: handlers configured before the first use
  and after it are covered alike, as are records made by another record
  factory. ``Formatter.formatException`` too, for tracebacks.
- An IPython kernel: the ``send`` of the kernel's session, through which
  print output, results, display data and tracebacks all reach the notebook.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Callable
from typing import Any

__all__ = ["install"]

Scrub = Callable[[str], str]

# Set on each function a hook put in place: a second install leaves it as it is.
_MARK = "__tilecred_masks__"
_lock = threading.Lock()


def install(scrub: Scrub) -> None:
    """Put the hooks in place; cheap when they already are."""
    with _lock:
        _install_logging(scrub)
        _install_kernel(scrub)


def _marked(function: Any) -> bool:
    return getattr(function, _MARK, False) is True


def _install_logging(scrub: Scrub) -> None:
    get_message = logging.LogRecord.getMessage
    if not _marked(get_message):

        def masked_get_message(record: logging.LogRecord) -> str:
            return scrub(get_message(record))

        setattr(masked_get_message, _MARK, True)
        # setattr: mypy refuses a plain assignment to a method.
        setattr(logging.LogRecord, "getMessage", masked_get_message)  # noqa: B010

    format_exception = logging.Formatter.formatException
    if not _marked(format_exception):

        def masked_format_exception(formatter: logging.Formatter, exc_info: Any) -> str:
            return scrub(format_exception(formatter, exc_info))

        setattr(masked_format_exception, _MARK, True)
        setattr(logging.Formatter, "formatException", masked_format_exception)  # noqa: B010


def _install_kernel(scrub: Scrub) -> None:
    """Mask what an IPython kernel in this process sends, if one runs here."""
    if "ipykernel" not in sys.modules or "IPython" not in sys.modules:
        return
    shell = sys.modules["IPython"].get_ipython()
    if shell is None:
        return
    # The kernel and its streams share one session; each is asked in case one day they do not.
    holders = (
        getattr(shell, "kernel", None),
        getattr(shell, "display_pub", None),
        getattr(shell, "displayhook", None),
        sys.stdout,
        sys.stderr,
    )
    for holder in holders:
        session = getattr(holder, "session", None)
        if session is not None and callable(getattr(session, "send", None)):
            _mask_session(session, scrub)


def _mask_session(session: Any, scrub: Scrub) -> None:
    send = session.send
    if _marked(send):
        return

    def masked_send(
        stream: Any, msg_or_type: Any, content: Any = None, *args: Any, **kwargs: Any
    ) -> Any:
        if isinstance(msg_or_type, dict) and "content" in msg_or_type:
            # A copy: the caller's message is left as it was.
            msg_or_type = {**msg_or_type, "content": _scrubbed(msg_or_type["content"], scrub)}
        if content is not None:
            content = _scrubbed(content, scrub)
        return send(stream, msg_or_type, content, *args, **kwargs)

    setattr(masked_send, _MARK, True)
    session.send = masked_send


def _scrubbed(value: Any, scrub: Scrub) -> Any:
    """``value`` (a message's content) with every string in it scrubbed."""
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, dict):
        return {key: _scrubbed(item, scrub) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_scrubbed(item, scrub) for item in value]
    return value
