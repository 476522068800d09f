"""SM3 hash (GB/T 32905-2016 / GM/T 0004-2012), streaming hasher and HMAC-SM3 (RFC 2104).

Engines: tongsuopy (``hashes.SM3``) by default; gmssl's compression function otherwise. The gmssl
path does its own Merkle–Damgård buffering so that :class:`SM3Hasher` streams with either engine
(gmssl only exposes a one-shot ``sm3_hash`` over a list of ints).

Within the C engine, ``hashlib``'s SM3 (the system OpenSSL's) is taken when OpenSSL has it: the
same C compression function at the same speed for large inputs, but ~2 µs instead of ~10 µs per
short digest (tongsuopy builds an EVP context through cffi at every ``Hash``), which matters for
the hash chains (one SM3 per operation-log entry and evidence event). Both are checked against
gmssl and the GB/T 32905 vectors by the tests.
"""
from __future__ import annotations

import hashlib
import struct

from . import _engine

DIGEST_SIZE = 32
BLOCK_SIZE = 64
ENGINE = _engine.DEFAULT_ENGINE


class _GmsslSM3State:
    """Incremental SM3 built on ``gmssl.sm3.sm3_cf`` (pure Python, ~0.25 MB/s)."""

    def __init__(self) -> None:
        from gmssl import sm3 as _g

        self._cf = _g.sm3_cf
        self._v: list[int] = list(_g.IV)
        self._buf = b""
        self._length = 0

    def update(self, data: bytes) -> None:
        self._length += len(data)
        buf = self._buf + bytes(data)
        full = len(buf) - len(buf) % BLOCK_SIZE
        for off in range(0, full, BLOCK_SIZE):
            self._v = self._cf(self._v, list(buf[off:off + BLOCK_SIZE]))
        self._buf = buf[full:]

    def copy(self) -> "_GmsslSM3State":
        other = _GmsslSM3State.__new__(_GmsslSM3State)
        other._cf, other._v, other._buf, other._length = self._cf, list(self._v), self._buf, self._length
        return other

    def digest(self) -> bytes:
        tail = self._buf + b"\x80"
        tail += b"\x00" * ((56 - len(tail)) % BLOCK_SIZE)
        tail += struct.pack(">Q", (self._length * 8) & 0xFFFFFFFFFFFFFFFF)
        v = list(self._v)
        for off in range(0, len(tail), BLOCK_SIZE):
            v = self._cf(v, list(tail[off:off + BLOCK_SIZE]))
        return b"".join(struct.pack(">I", w & 0xFFFFFFFF) for w in v)


def _hashlib_has_sm3() -> bool:
    try:
        return hashlib.new("sm3", b"abc").hexdigest() == (
            "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0")
    except ValueError:  # OpenSSL built without SM3
        return False


HASHLIB_SM3 = _hashlib_has_sm3()


class _HashlibSM3State:
    """Incremental SM3 on ``hashlib.new("sm3")`` (OpenSSL, C speed, cheap to create)."""

    def __init__(self, ctx=None) -> None:
        self._ctx = ctx if ctx is not None else hashlib.new("sm3")

    def update(self, data: bytes) -> None:
        self._ctx.update(data)

    def copy(self) -> "_HashlibSM3State":
        return _HashlibSM3State(self._ctx.copy())

    def digest(self) -> bytes:
        return self._ctx.digest()


class _TongsuoSM3State:
    """Incremental SM3 on tongsuopy's ``hashes.Hash`` (C speed)."""

    def __init__(self, ctx=None) -> None:
        from tongsuopy.crypto import hashes

        self._ctx = ctx if ctx is not None else hashes.Hash(hashes.SM3())

    def update(self, data: bytes) -> None:
        self._ctx.update(bytes(data))

    def copy(self) -> "_TongsuoSM3State":
        return _TongsuoSM3State(self._ctx.copy())

    def digest(self) -> bytes:
        # finalize() consumes the context, so finalize a copy and keep this one usable.
        return self._ctx.copy().finalize()


class SM3Hasher:
    """hashlib-like streaming SM3: ``update()`` any number of times, ``digest()`` is repeatable."""

    name = "sm3"
    digest_size = DIGEST_SIZE
    block_size = BLOCK_SIZE

    def __init__(self, data: bytes = b"", *, engine: str | None = None) -> None:
        self.engine = _engine.resolve(engine)
        if self.engine != _engine.TONGSUO:
            self._state = _GmsslSM3State()
        else:
            self._state = _HashlibSM3State() if HASHLIB_SM3 else _TongsuoSM3State()
        if data:
            self.update(data)

    def update(self, data: bytes) -> None:
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError("SM3Hasher.update() expects bytes-like data")
        self._state.update(data)

    def digest(self) -> bytes:
        return self._state.digest()

    def hexdigest(self) -> str:
        return self.digest().hex()

    def copy(self) -> "SM3Hasher":
        other = SM3Hasher.__new__(SM3Hasher)
        other.engine = self.engine
        other._state = self._state.copy()
        return other


def sm3_digest(data: bytes, *, engine: str | None = None) -> bytes:
    """SM3(data) as 32 raw bytes."""
    if HASHLIB_SM3 and _engine.resolve(engine) == _engine.TONGSUO:
        return hashlib.new("sm3", data).digest()
    return SM3Hasher(data, engine=engine).digest()


def sm3_hexdigest(data: bytes, *, engine: str | None = None) -> str:
    """SM3(data) as 64 lowercase hex characters."""
    return sm3_digest(data, engine=engine).hex()


def sm3_file(path, *, chunk_size: int = 1 << 20, engine: str | None = None) -> bytes:
    """SM3 of a file, read in ``chunk_size`` pieces (never loads the whole file)."""
    hasher = SM3Hasher(engine=engine)
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(chunk_size), b""):
            hasher.update(chunk)
    return hasher.digest()


def hmac_sm3(key: bytes, data: bytes, *, engine: str | None = None) -> bytes:
    """HMAC-SM3 per RFC 2104 (block size 64, output 32 bytes)."""
    if len(key) > BLOCK_SIZE:
        key = sm3_digest(key, engine=engine)
    key = key.ljust(BLOCK_SIZE, b"\x00")
    inner = SM3Hasher(bytes(b ^ 0x36 for b in key), engine=engine)
    inner.update(data)
    outer = SM3Hasher(bytes(b ^ 0x5C for b in key), engine=engine)
    outer.update(inner.digest())
    return outer.digest()
