"""A Dagster resource that uses tilecred credentials by name.

    from tilecred.integrations.dagster import TilecredResource

    @asset
    def raw(tilecred: TilecredResource) -> bytes:
        with tilecred.use("prod-s3") as access:
            s3 = access.boto3_session().client("s3")
            ...

    defs = Definitions(assets=[raw], resources={"tilecred": TilecredResource(teamspace="etl")})

Every use is gated by ``allowed_in_tasks`` and audited, with the run and the
op that asked in the record's detail.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from dagster import ConfigurableResource, InitResourceContext
from pydantic import PrivateAttr

from .._access import CredentialAccess
from .._api import get_client

__all__ = ["TilecredResource"]


class TilecredResource(ConfigurableResource):  # type: ignore[misc]
    """tilecred credentials, used by name.

    Attributes:
        teamspace: the teamspace the credentials are in; by default the
            caller's default teamspace, else the workspace.
    """

    teamspace: str | None = None
    _purpose: str = PrivateAttr(default="dagster")

    def setup_for_execution(self, context: InitResourceContext) -> None:
        run_id = getattr(context, "run_id", None)
        if run_id:
            self._purpose = f"dagster run={run_id}"

    @contextlib.contextmanager
    def use(self, name: str) -> Iterator[CredentialAccess]:
        """Use credential ``name``; its access is closed when the block ends."""
        access = get_client().use_credential(name, teamspace=self.teamspace, purpose=self._purpose)
        with access:
            yield access
