"""``tilecred serve``: TileDB's v4 credentials REST API over the local store.

The WSGI application runs under any WSGI server (``create_app()`` is a
factory); ``tilecred serve`` runs it under cheroot, the ``server`` extra.
"""

from ._app import ServerApp, create_app

__all__ = ["ServerApp", "create_app"]
