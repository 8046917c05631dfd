""" "Did you mean …?": the nearest of the known names to a misspelled one."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = ["did_you_mean"]


def did_you_mean(wrong: str, known: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest known name, or ``""`` when none is close."""
    near = difflib.get_close_matches(wrong, sorted(set(known)), n=1)
    return f" (did you mean {near[0]!r}?)" if near else ""
