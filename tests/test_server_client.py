"""tilecred's own client against ``tilecred serve``: the full lifecycle, and load."""

from __future__ import annotations

import threading
from typing import Any

import pytest

import tilecred
from tests.conftest import CANARY_SECRET
from tests.test_server_harness import ROLE_ARN, Running

pytest_plugins = ["tests.test_server_harness"]


def client_for(server: Running, token: str | None = None) -> tilecred.Client:
    return tilecred.Client(host=server.url, token=token or server.token, retries=0)


def test_full_lifecycle_with_teamspace_names(server: Running) -> None:
    server.request("POST", f"/v4/teamspaces/{server.workspace_id}",
                   body={"name": "ml", "visibility": "private"})  # fmt: skip
    with client_for(server) as client:
        client.create_credential(
            "s3", "aws", teamspace="ml",
            credential={"aws": {"access_key_id": "AKIAIOSFODNN7EXAMPLE",
                                "secret_access_key": CANARY_SECRET}},
        )  # fmt: skip
        client.create_credential("role", tilecred.CloudProvider.AWS, teamspace="ml",
                                 role=tilecred.AccessCredentialRole(
                                     aws=tilecred.AWSRole(role_arn=ROLE_ARN)),
                                 provider_default=True)  # fmt: skip
        client.create_credential(
            "az", "AZURE", token={"azure": {"account_name": "acct", "sas_token": CANARY_SECRET}}
        )
        got = client.get_credential("s3", teamspace="ml")
        assert got.name == "s3"
        assert got.credential_type is tilecred.CredentialType.TEAMSPACE
        assert got.credential is not None
        assert got.credential.aws is not None
        assert got.credential.aws.access_key_id == "AKIAIOSFODNN7EXAMPLE"
        assert got.credential.aws.secret_access_key is None  # "" on the wire
        role = client.get_credential("role", teamspace="ml")
        assert role.role is not None
        assert role.role.aws is not None
        assert role.role.aws.external_id is None
        assert role.provider_default is True

        pager = client.list_credentials(teamspace="ml", per_page=1)
        assert [c.name for c in pager] == ["role", "s3"]
        assert (len(pager), pager.total_pages) == (2, 2)
        assert [c.name for c in client.list_credentials()] == ["az"]
        assert [c.name for c in client.list_credentials(provider="AZURE")] == ["az"]
        assert [
            c.name for c in client.list_credentials(teamspace="ml", exclude_provider="AWS")
        ] == []

        client.update_credential("s3", teamspace="ml", name="s3-renamed", allowed_in_tasks=True)
        renamed = client.get_credential("s3-renamed", teamspace="ml")
        assert (renamed.id, renamed.allowed_in_tasks) == (got.id, True)

        client.verify_credential("check", "AWS", teamspace="ml",
                                 role={"aws": {"role_arn": ROLE_ARN}})  # fmt: skip
        with pytest.raises(tilecred.CredentialsError) as failed:
            client.verify_credential("check", "AWS", role={"aws": {"role_arn": "nope"}})
        assert failed.value.status == 422
        assert failed.value.request_id

        client.delete_credential("s3-renamed", teamspace="ml")
        with pytest.raises(tilecred.NotFoundError) as missing:
            client.get_credential("s3-renamed", teamspace="ml")
        assert str(missing.value) == (
            "could not get credential 's3-renamed' in teamspace 'ml': 404 Not Found: "
            f"credential not found (request id {missing.value.request_id})"
        )
        with pytest.raises(tilecred.NotFoundError) as no_team:
            client.get_credential("x", teamspace="nope")
        assert no_team.value.message == "teamspace 'nope' not found"
        with pytest.raises(tilecred.ConflictError):
            client.create_credential(
                "az", "AZURE", token={"azure": {"account_name": "a", "sas_token": "s"}}
            )


def test_read_only_token_through_the_client(server: Running) -> None:
    _record, reader = server.app.tokens.create(server.workspace_id, "reader", read_only=True)
    with client_for(server, reader) as client:
        assert list(client.list_credentials()) == []
        with pytest.raises(tilecred.CredentialsError) as denied:
            client.create_credential("x", "AWS", role={"aws": {"role_arn": ROLE_ARN}})
        assert denied.value.status == 403
        assert denied.value.message == "this API token is read-only"


THREADS = 8
PER_THREAD = 200  # requests: 50 rounds of create, get, list, then rename or delete


def test_eight_threads_of_mixed_requests_leave_an_exact_state(server: Running) -> None:
    failures: list[BaseException] = []
    counts = [0] * THREADS
    client = client_for(server)  # one client, shared: its pool is thread-safe

    def work(index: int) -> None:
        try:
            for round_ in range(PER_THREAD // 4):
                name = f"t{index}-c{round_}"
                client.create_credential(name, "AWS", role={"aws": {"role_arn": ROLE_ARN}})
                assert client.get_credential(name).name == name
                page = client.list_credentials(per_page=5)
                assert page.total_items is None or page.total_items >= 1
                next(iter(page))
                if round_ % 2:
                    client.update_credential(name, name=f"t{index}-r{round_}")
                else:
                    client.delete_credential(name)
                counts[index] += 4
        except BaseException as exc:  # reported below, with the thread's index
            failures.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    client.close()
    assert failures == []
    assert counts == [PER_THREAD] * THREADS
    expected = sorted(f"t{i}-r{r}" for i in range(THREADS) for r in range(PER_THREAD // 4) if r % 2)
    with client_for(server) as check:
        names: list[Any] = [c.name for c in check.list_credentials(per_page=1000)]
    assert sorted(names) == expected
    assert len(names) == THREADS * PER_THREAD // 8
