"""Credentials' lifecycle (issue #13) on the embedded default, on a real SQLite file."""

from __future__ import annotations

import datetime

import tilecred
from tilecred import create_credential, get_credential, list_credentials, update_credential

from .conftest import CANARY_SECRET

ROLE = {"aws": {"role_arn": "arn:aws:iam::123456789012:role/demo"}}


def _sas(expiry: str) -> dict[str, object]:
    token = f"sv=2024-11-04&se={expiry}&sig={CANARY_SECRET}"
    return {"azure": {"account_name": "lakeacct", "sas_token": token}}


def test_a_new_credential_is_active_and_knows_no_expiry_without_one() -> None:
    create_credential("r", "AWS", role=ROLE)
    assert get_credential("r").active is True
    assert get_credential("r").expires_at is None
    assert [(c.name, c.active, c.expires_at) for c in list_credentials()] == [("r", True, None)]


def test_a_sas_token_s_se_is_the_credential_s_expiry_on_create_and_update() -> None:
    create_credential("sas", "AZURE", token=_sas("2031-05-06T07:08:09Z"))
    when = datetime.datetime(2031, 5, 6, 7, 8, 9, tzinfo=datetime.UTC)
    assert get_credential("sas").expires_at == when
    assert list_credentials()[0].expires_at == when
    # A rename keeps it; a new secret replaces it.
    update_credential("sas", name="sas2")
    assert get_credential("sas2").expires_at == when
    update_credential("sas2", token=_sas("2032-01-02"))
    updated = get_credential("sas2")
    assert updated.expires_at == datetime.datetime(2032, 1, 2, tzinfo=datetime.UTC)
    assert CANARY_SECRET not in repr(updated)
    assert tilecred.get_client().settings.backend == "local"
