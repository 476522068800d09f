"""SM3: GB/T 32905 / GM/T 0004 vectors, streaming, HMAC-SM3 against an independent construction."""
from __future__ import annotations

import hmac
import os
import random

import pytest
from gmssl import sm3 as gsm3

from sign.crypto.sm3 import SM3Hasher, hmac_sm3, sm3_digest, sm3_file, sm3_hexdigest

VECTORS = [
    (b"abc", "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"),  # GB/T 32905 A.1
    (b"abcd" * 16, "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732"),  # A.2
    (b"", "1ab21d8355cfa17f8e61194831e81a8f22bec8c728fefb747ed035eb5082aa2b"),
]


def gmssl_sm3(data: bytes) -> bytes:
    return bytes.fromhex(gsm3.sm3_hash(list(data)))


class GmsslSM3:
    """Minimal hashlib-style object on gmssl's one-shot sm3_hash (for Python's hmac module)."""

    digest_size = 32
    block_size = 64

    def __init__(self, data: bytes = b"") -> None:
        self._data = bytes(data)

    def update(self, data: bytes) -> None:
        self._data += bytes(data)

    def copy(self) -> "GmsslSM3":
        return GmsslSM3(self._data)

    def digest(self) -> bytes:
        return gmssl_sm3(self._data)


@pytest.mark.parametrize("data,expected", VECTORS)
def test_published_vectors(engine, data, expected):
    assert sm3_hexdigest(data, engine=engine) == expected
    assert sm3_digest(data, engine=engine) == bytes.fromhex(expected)
    assert gmssl_sm3(data).hex() == expected


def test_matches_gmssl_on_small_inputs(engine):
    rng = random.Random(1234)
    for n in list(range(0, 130)) + [255, 256, 1000]:
        data = rng.randbytes(n)
        assert sm3_digest(data, engine=engine) == gmssl_sm3(data), n


def test_streaming_equals_one_shot(engine):
    data = os.urandom(3000)
    for chunk in (1, 7, 63, 64, 65, 1000):
        h = SM3Hasher(engine=engine)
        for off in range(0, len(data), chunk):
            h.update(data[off:off + chunk])
        assert h.digest() == sm3_digest(data, engine=engine)
        assert h.digest() == h.digest()  # digest() does not consume the state


def test_copy_is_independent(engine):
    h = SM3Hasher(b"ab", engine=engine)
    c = h.copy()
    h.update(b"c")
    c.update(b"x")
    assert h.hexdigest() == sm3_hexdigest(b"abc")
    assert c.digest() == sm3_digest(b"abx")
    assert (h.name, h.digest_size, h.block_size) == ("sm3", 32, 64)


def test_update_rejects_str(engine):
    with pytest.raises(TypeError):
        SM3Hasher(engine=engine).update("abc")  # type: ignore[arg-type]


def test_memoryview_and_bytearray(engine):
    assert sm3_digest(bytearray(b"abc"), engine=engine) == sm3_digest(memoryview(b"abc"), engine=engine)


def test_file_hash_streams(tmp_path, engine):
    size = 5_000_000 if engine == "tongsuo" else 20_000
    data = os.urandom(size)
    path = tmp_path / "doc.pdf"
    path.write_bytes(data)
    assert sm3_file(path, chunk_size=65_536, engine=engine) == sm3_digest(data, engine=engine)


def test_engines_agree_on_larger_input():
    data = os.urandom(20_000)
    assert sm3_digest(data, engine="gmssl") == sm3_digest(data, engine="tongsuo") == gmssl_sm3(data)


@pytest.mark.parametrize("key", [b"", b"k", b"key" * 10, b"\xaa" * 64, b"\xbb" * 65, os.urandom(131)])
@pytest.mark.parametrize("msg", [b"", b"Hi There", b"\xdd" * 50, os.urandom(200)])
def test_hmac_sm3_matches_python_hmac_on_gmssl(engine, key, msg):
    expected = hmac.new(key, msg, GmsslSM3).digest()
    assert hmac_sm3(key, msg, engine=engine) == expected


def test_hmac_sm3_differs_by_key_and_message():
    assert hmac_sm3(b"a", b"m") != hmac_sm3(b"b", b"m")
    assert hmac_sm3(b"a", b"m") != hmac_sm3(b"a", b"n")
    assert len(hmac_sm3(b"a", b"m")) == 32
