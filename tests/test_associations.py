"""Associations on the local store: targets, defaults, and the use they choose."""

from __future__ import annotations

import getpass
from typing import Any

import pytest

import tilecred
from tilecred import (
    Association,
    ConflictError,
    InvalidArgumentError,
    NotFoundError,
    associate_credential,
    create_credential,
    delete_credential,
    dissociate_credential,
    list_associations,
    read_audit,
    update_credential,
    use_credential,
)

from .conftest import CANARY_SECRET

ACTOR = f"local:{getpass.getuser()}"

# Every test here runs on SQLite and on PostgreSQL (tests/_engines.py).
pytestmark = pytest.mark.usefixtures("engine")


def _key(name: str, **extra: Any) -> None:
    secret = {"aws": {"access_key_id": "AKIAIOSFODNN7EXAMPLE", "secret_access_key": CANARY_SECRET}}
    create_credential(name, "AWS", credential=secret, allowed_in_tasks=True, **extra)


def _pairs(found: list[Association]) -> list[tuple[str, str, bool]]:
    return [(a.target, a.name, a.default) for a in found]


def test_associations_are_listed_by_target_and_filtered_exactly() -> None:
    _key("raw")
    _key("all")
    made = associate_credential("raw", "s3://lake/raw/", default=True)
    assert (made.name, made.target, made.default, made.teamspace) == (
        "raw", "s3://lake/raw/", True, None,
    )  # fmt: skip
    associate_credential("all", "s3://lake/")
    associate_credential("all", "dag:etl_daily")
    assert _pairs(list_associations()) == [
        ("dag:etl_daily", "all", False),
        ("s3://lake/", "all", False),
        ("s3://lake/raw/", "raw", True),
    ]
    assert _pairs(list_associations("all")) == [
        ("dag:etl_daily", "all", False), ("s3://lake/", "all", False),
    ]  # fmt: skip
    assert _pairs(list_associations(target="s3://lake/")) == [("s3://lake/", "all", False)]
    # target= matches exactly: a prefix of a target is another target.
    assert list_associations(target="s3://lake") == []


def test_the_longest_matching_prefix_chooses_and_the_audit_record_says_which_url() -> None:
    _key("raw")
    _key("all")
    associate_credential("raw", "s3://lake/raw/")
    associate_credential("all", "s3://lake")
    with use_credential(url="s3://lake/raw/2026/x.parquet?X-Amz-Signature=abc") as access:
        assert access.credential.name == "raw"
        key = access.credential.credential
        assert key is not None
        assert key.aws is not None
        assert key.aws.secret_access_key == CANARY_SECRET
    assert use_credential(url="s3://lake/other.csv", purpose="dag etl").credential.name == "all"
    assert use_credential(url="s3://lake").credential.name == "all"
    records = [(r.credential, r.action, r.outcome, r.detail) for r in read_audit()[-2:]]
    assert records == [
        ("all", "use", "ok", "url=s3://lake/other.csv; dag etl"),
        ("all", "use", "ok", "url=s3://lake"),
    ]
    # At a boundary only: s3://lake is not a prefix of the bucket s3://lakehouse.
    with pytest.raises(NotFoundError) as caught:
        use_credential(url="s3://lakehouse/x")
    assert caught.value.message == (
        "no credential is associated with a prefix of URL 's3://lakehouse/x' in workspace "
        "'default': associate one with associate_credential(name, target)"
    )
    assert str(caught.value).startswith(
        "could not use the credential for url 's3://lakehouse/x': 404 Not Found: "
    )


def test_several_without_a_default_are_refused_listing_them_and_the_default_moves() -> None:
    _key("a")
    _key("b")
    associate_credential("b", "job:nightly")
    associate_credential("a", "job:nightly")
    with pytest.raises(ConflictError) as caught:
        use_credential(target="job:nightly")
    assert caught.value.message == (
        "2 credentials are associated with 'job:nightly' and none is its default: 'a', 'b'; "
        "choose one by name, or make one the default with "
        "associate_credential(name, target, default=True)"
    )
    failed = read_audit()[-1]
    assert (failed.credential, failed.outcome) == (None, "failed")
    associate_credential("a", "job:nightly", default=True)
    assert use_credential(target="job:nightly").credential.name == "a"
    associate_credential("b", "job:nightly", default=True)
    assert _pairs(list_associations(target="job:nightly")) == [
        ("job:nightly", "a", False), ("job:nightly", "b", True),
    ]  # fmt: skip
    assert use_credential(target="job:nightly").credential.name == "b"
    moved = read_audit()[-2]
    assert (moved.action, moved.credential, moved.detail) == (
        "association.create", "b", "target=job:nightly default (was 'a''s)",
    )  # fmt: skip


def test_a_rename_keeps_associations_and_a_delete_removes_them() -> None:
    _key("old")
    associate_credential("old", "gs://bucket/", default=True)
    update_credential("old", name="new")
    assert _pairs(list_associations()) == [("gs://bucket/", "new", True)]
    assert use_credential(url="gs://bucket/k").credential.name == "new"
    delete_credential("new")
    assert list_associations() == []


def test_dissociate_removes_one_and_refuses_what_is_not_there() -> None:
    _key("k")
    associate_credential("k", "https://api.example.com/")
    dissociate_credential("k", "https://api.example.com/")
    assert list_associations("k") == []
    with pytest.raises(NotFoundError) as caught:
        dissociate_credential("k", "https://api.example.com/")
    assert caught.value.message == (
        "credential 'k' is not associated with 'https://api.example.com/'"
    )
    with pytest.raises(NotFoundError) as missing:
        associate_credential("nobody", "dag:x")
    assert str(missing.value) == (
        "could not associate credential 'nobody': 404 Not Found: credential not found"
    )
    actions = [(r.action, r.credential, r.outcome, r.detail) for r in read_audit()[-3:]]
    assert actions == [
        ("association.delete", "k", "ok", "target=https://api.example.com/"),
        ("association.delete", "k", "failed",
         "credential 'k' is not associated with 'https://api.example.com/'"),
        ("association.create", "nobody", "failed", "credential not found"),
    ]  # fmt: skip


def test_associations_belong_to_their_teamspace() -> None:
    _key("ml-key", teamspace="ml")
    associate_credential("ml-key", "az://models/", teamspace="ml")
    assert list_associations() == []
    (found,) = list_associations(teamspace="ml")
    assert (found.teamspace, found.target) == ("ml", "az://models/")
    with pytest.raises(NotFoundError):
        use_credential(url="az://models/m.bin")
    assert use_credential(url="az://models/m.bin", teamspace="ml").credential.name == "ml-key"


def test_the_provider_default_is_used_by_provider() -> None:
    _key("first")
    with pytest.raises(NotFoundError) as caught:
        use_credential(provider="aws")
    assert caught.value.message == (
        "no AWS credential is the provider default in workspace 'default': make one the "
        "default with update_credential(name, provider_default=True)"
    )
    _key("main", provider_default=True)
    assert use_credential(provider="AWS").credential.name == "main"
    assert read_audit()[-1].detail == "provider=AWS"


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("", "target must not be empty"),
        ("x" * 1001, "target is 1001 characters long; the limit is 1000"),
        ("dag:a\nb", "target 'dag:a\\nb' must not contain control characters"),
        ("://bucket/",
         "target '://bucket/' has no scheme: a URL starts with one, e.g. s3://bucket/"),
        ("s3://AKIA:secret@bucket/",
         "target must not carry a user or password (the part before '@')"),
        (" dag:x", "target ' dag:x' must not start or end with spaces"),
        (3, "target must be a str, not int"),
    ],
)  # fmt: skip
def test_bad_targets_are_refused_before_any_io(target: Any, message: str) -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        associate_credential("nothing-stored", target)
    assert caught.value.message == message


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "give exactly one of name, url, target and provider to choose a credential, not none"),
        ({"name": "a", "url": "s3://b/"}, "give exactly one of name, url, target and provider "
         "to choose a credential, not name, url"),
        ({"url": "dag:etl"}, "url 'dag:etl' is not a URL: give one with a scheme, e.g. "
         "s3://bucket/key, or use target= for an object id"),
        ({"provider": "nope"}, None),
    ],
)  # fmt: skip
def test_use_takes_exactly_one_way_to_choose(kwargs: dict[str, Any], message: str | None) -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        use_credential(**kwargs)
    if message is not None:
        assert caught.value.message == message
    assert read_audit() == []


def test_associations_never_show_a_secret(capsys: pytest.CaptureFixture[str]) -> None:
    _key("k")
    made = associate_credential("k", "s3://b/", default=True)
    print(made, list_associations(), repr(tilecred.Association))
    assert CANARY_SECRET not in capsys.readouterr().out
