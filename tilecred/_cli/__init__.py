"""The ``tilecred`` command line: ``tilecred list/get/create/update/delete/verify/config``.

The console script's entry point is :func:`main`; ``python -m tilecred`` runs it too.
"""

from ._main import main

__all__ = ["main"]
