"""``StreamMasker``: secrets become ``***`` however the stream is cut, and nothing else changes."""

from __future__ import annotations

import os
import random
import re

from tests.conftest import CANARY_SECRET
from tilecred._stream_mask import StreamMasker

SECRET = CANARY_SECRET.encode()
PEM = b"-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\n"


def _whole(data: bytes, secrets: list[bytes]) -> bytes:
    """The reference: one regular expression over the whole stream, longest secret first."""
    kept = sorted((s for s in secrets if len(s) >= 6), key=len, reverse=True)
    if not kept:
        return data
    return re.sub(b"|".join(re.escape(s) for s in kept), b"***", data)


def _streamed(chunks: list[bytes], secrets: list[bytes]) -> list[bytes]:
    masker = StreamMasker(secrets)
    return [masker.feed(chunk) for chunk in chunks] + [masker.flush()]


def _cut(data: bytes, rng: random.Random) -> list[bytes]:
    cuts = sorted(rng.sample(range(1, len(data)), k=min(len(data) - 1, rng.randint(0, 12))))
    return [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True)]


def test_a_line_is_shown_at_once_and_the_secret_in_it_masked() -> None:
    masker = StreamMasker([SECRET])
    assert masker.feed(b"key=" + SECRET + b"\n") == b"key=***\n"
    assert masker.feed(b"done\n") == b"done\n"
    assert masker.flush() == b""


def test_a_secret_split_across_writes_is_caught_and_only_its_start_is_held() -> None:
    masker = StreamMasker([SECRET])
    assert masker.feed(b"key=" + SECRET[:5]) == b"key="  # could be the secret: held
    assert masker.feed(SECRET[5:9]) == b""
    assert masker.feed(SECRET[9:] + b" ok\n") == b"*** ok\n"
    assert masker.feed(SECRET[:3]) == b""
    assert masker.feed(b"X\n") == SECRET[:3] + b"X\n"  # not the secret after all: shown


def test_the_held_start_is_shown_at_the_end_of_the_stream() -> None:
    masker = StreamMasker([SECRET])
    assert (masker.feed(b"tail " + SECRET[:-1]), masker.flush()) == (b"tail ", SECRET[:-1])


def test_a_secret_that_starts_a_longer_one_waits_for_the_longer_one() -> None:
    short, long = b"abcdefgh", b"abcdefgh-and-more"
    masker = StreamMasker([short, long])
    assert masker.feed(b"x " + short) == b"x "
    assert masker.feed(b"-and-more y") == b"*** y"
    assert masker.feed(short) == b""
    assert masker.flush() == b"***"


def test_values_under_six_bytes_are_not_masked() -> None:
    masker = StreamMasker([b"12345", b"123456"])
    assert masker.feed(b"12345 123456 1234567\n") == b"12345 *** ***7\n"
    assert not StreamMasker([b"admin"]).active


def test_binary_output_passes_unchanged_around_the_secret() -> None:
    rng = random.Random(7)
    noise = bytes(rng.randrange(256) for _ in range(5000))
    data = noise + SECRET + noise + PEM[:40] + b"\x00\xff" + noise
    out = b"".join(_streamed(_cut(data, rng), [SECRET, PEM]))
    assert out == noise + b"***" + noise + PEM[:40] + b"\x00\xff" + noise


def test_any_cutting_of_any_stream_gives_what_masking_the_whole_gives() -> None:
    rng = random.Random(2026)
    alphabet = b"ab\n-"
    for _ in range(3000):
        secrets = [bytes(rng.choice(alphabet) for _ in range(rng.randint(4, 10)))
                   for _ in range(rng.randint(1, 3))]  # fmt: skip
        pieces = [
            rng.choice([*secrets, b"a", b"b", b"\n", b"-"]) for _ in range(rng.randint(0, 12))
        ]
        data = b"".join(pieces)
        if not data:
            continue
        assert b"".join(_streamed(_cut(data, rng), secrets)) == _whole(data, secrets), (
            data, secrets
        )  # fmt: skip


def test_large_random_output_is_unchanged_when_no_secret_is_in_it() -> None:
    data = os.urandom(1 << 20)
    secrets = [SECRET, PEM]
    chunks = [data[i : i + 65536] for i in range(0, len(data), 65536)]
    assert b"".join(_streamed(chunks, secrets)) == _whole(data, secrets)
