"""The lifecycle on the command line (issue #13), the same against the embedded
default and a real ``tilecred serve`` on 127.0.0.1 (the ``side`` fixture of
tests/test_parity.py): expiry in a listing, the verdict of ``verify NAME``,
and who uses a credential. The library's side is in
tests/test_credential_lifecycle_both.py and tests/test_usage.py.
"""

from __future__ import annotations

import datetime
import json

from .conftest import CANARY_SECRET
from .test_cli_support import run
from .test_parity import AWS_KEY, Side

pytest_plugins = ["tests.test_server_harness", "tests.test_parity"]


def _sas(days: float) -> tuple[dict[str, object], datetime.datetime]:
    """An Azure SAS token whose ``se=`` is ``days`` from now, and that time."""
    when = (datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=days)).replace(
        microsecond=0
    )
    token = when.strftime("sv=1&se=%Y-%m-%dT%H:%M:%SZ&sig=") + CANARY_SECRET
    return {"azure": {"account_name": "lakeacct", "sas_token": token}}, when


def test_list_expiring_and_verify_judge_the_stored_expiry(side: Side) -> None:
    soon, soon_at = _sas(1.5)
    gone, gone_at = _sas(-1)
    side.client.create_credential("soon", "AZURE", token=soon)
    side.client.create_credential("later", "AZURE", token=_sas(30)[0])
    side.client.create_credential("gone", "AZURE", token=gone)
    side.client.create_credential("keys", "AWS", credential=AWS_KEY)

    week = run(["list", "--expiring", "7d"], side.cli)
    as_json = run(["list", "--expiring", "7d", "--json"], side.cli)
    fine = run(["verify", "soon"], side.cli)
    failed = run(["verify", "gone"], side.cli)

    header, *rows = week.out.splitlines()
    at = header.index("EXPIRES")
    assert [(row.split()[0], row[at : at + 16]) for row in rows] == [
        ("gone", f"{gone_at:%Y-%m-%d %H:%M}"), ("soon", f"{soon_at:%Y-%m-%d %H:%M}")
    ]  # fmt: skip
    assert [json.loads(line)["expires_at"] for line in as_json.out.splitlines()] == [
        f"{gone_at:%Y-%m-%dT%H:%M:%SZ}", f"{soon_at:%Y-%m-%dT%H:%M:%SZ}"
    ]  # fmt: skip
    assert (fine.code, fine.out, fine.err) == (
        0, "credential 'soon' verified\n",
        f"warning: credential 'soon': its secret expires at {soon_at:%Y-%m-%d %H:%M} UTC, "
        "in 1 day: replace it soon\n",
    )  # fmt: skip
    assert (failed.code, failed.out, failed.err) == (
        1, "", f"error: credential 'gone' failed verification: its secret expired at "
        f"{gone_at:%Y-%m-%d %H:%M} UTC: replace it\n",
    )  # fmt: skip
    for done in (week, as_json, fine, failed):
        assert CANARY_SECRET not in done.out + done.err


def test_audit_summary_says_who_uses_a_credential(side: Side) -> None:
    side.client.create_credential("lake", "AWS", credential=AWS_KEY, allowed_in_tasks=True)
    side.user.use_credential("lake")
    side.client.deactivate_credential("lake")
    refused = run(["exec", "lake", "--", "true"], {**side.cli, **_as_user(side)})
    actor = side.client.get_credential("lake").last_used_by

    summary = run(["audit", "--credential", "lake", "--summary"], side.cli)
    as_json = run(["audit", "--credential", "lake", "--summary", "--json"], side.cli)

    assert refused.code == 1
    assert "is deactivated: activate it with `tilecred activate lake`" in refused.err
    assert summary.code == 0, summary.err
    header, row = summary.out.splitlines()
    assert header.split() == [
        "ACTOR", "USES", "DENIED", "FAILED", "FIRST", "LAST", "LAST", "REQUEST"
    ]  # fmt: skip
    assert row.startswith(f"{actor}  ")
    assert row[header.index("USES") :].split()[:3] == ["1", "1", "0"]
    [line] = as_json.out.splitlines()
    assert {k: v for k, v in json.loads(line).items() if k in ("actor", "uses", "denied")} == {
        "actor": actor, "uses": 1, "denied": 1
    }  # fmt: skip
    for done in (refused, summary, as_json):
        assert CANARY_SECRET not in done.out + done.err


def _as_user(side: Side) -> dict[str, str]:
    """The command line's environment for whoever uses credentials on this side."""
    if side.kind == "local":
        return {}
    return {"TILEDB_REST_TOKEN": side.user.settings.token or ""}


def test_update_verify_first_without_a_new_secret_is_a_usage_error(side: Side) -> None:
    side.client.create_credential("lake", "AWS", credential=AWS_KEY)
    before = side.client.get_credential("lake")

    done = run(["update", "lake", "--verify-first", "--name", "pond"], side.cli)

    assert (done.code, done.out) == (2, "")
    assert done.err.endswith(
        "error: --verify-first verifies a new secret before it replaces the stored one: "
        "give --kind and the new secret too\n"
    )
    assert side.client.get_credential("lake") == before
