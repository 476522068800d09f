"""SM4 block cipher (GB/T 32907-2016 / GM/T 0002-2012): ECB block, CBC+PKCS#7, GCM.

Engines: tongsuopy (``algorithms.SM4`` and ``aead.SM4GCM``) by default; gmssl's block function
otherwise. On the gmssl engine CBC and GCM (CTR + GHASH, NIST SP 800-38D) are implemented here on
top of the single-block primitive, because gmssl's own CBC does not check PKCS#7 padding and it
has no GCM. The gmssl path is slow (pure Python) and meant for small payloads and cross-checks.
"""
from __future__ import annotations

import hmac

from . import _engine
from .errors import DecryptionError

BLOCK_SIZE = 16
KEY_SIZE = 16
TAG_SIZE = 16
ENGINE = _engine.DEFAULT_ENGINE


def _check(key: bytes, iv: bytes | None = None, iv_len: int = BLOCK_SIZE) -> None:
    if len(key) != KEY_SIZE:
        raise ValueError("SM4 key must be 16 bytes")
    if iv is not None and len(iv) != iv_len:
        raise ValueError(f"SM4 IV/nonce must be {iv_len} bytes")


def _pad(data: bytes) -> bytes:
    n = BLOCK_SIZE - len(data) % BLOCK_SIZE
    return data + bytes([n]) * n


def _unpad(data: bytes) -> bytes:
    """Constant-shape PKCS#7 check; any defect raises DecryptionError."""
    if not data or len(data) % BLOCK_SIZE:
        raise DecryptionError("SM4-CBC ciphertext length is not a positive multiple of 16")
    n = data[-1]
    if not 1 <= n <= BLOCK_SIZE or not hmac.compare_digest(data[-n:], bytes([n]) * n):
        raise DecryptionError("bad PKCS#7 padding (wrong key or corrupted ciphertext)")
    return data[:-n]


def _xor(a: bytes, b: bytes) -> bytes:
    return (int.from_bytes(a, "big") ^ int.from_bytes(b, "big")).to_bytes(len(a), "big")


class _GmsslBlock:
    """Single-block SM4 on gmssl (no padding)."""

    def __init__(self, key: bytes, decrypt: bool = False) -> None:
        from gmssl import sm4 as gsm4

        self._c = gsm4.CryptSM4(padding_mode=-1)  # any non-PKCS7/ZERO value = no padding
        self._c.set_key(bytes(key), gsm4.SM4_DECRYPT if decrypt else gsm4.SM4_ENCRYPT)

    def __call__(self, block: bytes) -> bytes:
        return bytes(self._c.one_round(self._c.sk, list(block)))


def _tongsuo_cipher(key: bytes, mode):
    from tongsuopy.crypto.ciphers import Cipher, algorithms

    return Cipher(algorithms.SM4(bytes(key)), mode)


# --------------------------------------------------------------------------- ECB / CBC


def sm4_ecb_encrypt_block(key: bytes, block: bytes, *, engine: str | None = None) -> bytes:
    """Encrypt exactly one 16-byte block (for published test vectors)."""
    _check(key)
    if len(block) != BLOCK_SIZE:
        raise ValueError("block must be 16 bytes")
    if _engine.resolve(engine) == _engine.GMSSL:
        return _GmsslBlock(key)(block)
    from tongsuopy.crypto.ciphers import modes

    enc = _tongsuo_cipher(key, modes.ECB()).encryptor()
    return enc.update(bytes(block)) + enc.finalize()


def sm4_ecb_decrypt_block(key: bytes, block: bytes, *, engine: str | None = None) -> bytes:
    _check(key)
    if len(block) != BLOCK_SIZE:
        raise ValueError("block must be 16 bytes")
    if _engine.resolve(engine) == _engine.GMSSL:
        return _GmsslBlock(key, decrypt=True)(block)
    from tongsuopy.crypto.ciphers import modes

    dec = _tongsuo_cipher(key, modes.ECB()).decryptor()
    return dec.update(bytes(block)) + dec.finalize()


def sm4_cbc_encrypt(key: bytes, iv: bytes, data: bytes, *, engine: str | None = None) -> bytes:
    """SM4-CBC with PKCS#7 padding (output is always a non-empty multiple of 16)."""
    _check(key, iv)
    padded = _pad(bytes(data))
    if _engine.resolve(engine) == _engine.GMSSL:
        enc, prev, out = _GmsslBlock(key), bytes(iv), bytearray()
        for off in range(0, len(padded), BLOCK_SIZE):
            prev = enc(_xor(padded[off:off + BLOCK_SIZE], prev))
            out += prev
        return bytes(out)
    from tongsuopy.crypto.ciphers import modes

    ctx = _tongsuo_cipher(key, modes.CBC(bytes(iv))).encryptor()
    return ctx.update(padded) + ctx.finalize()


def sm4_cbc_decrypt(key: bytes, iv: bytes, data: bytes, *, engine: str | None = None) -> bytes:
    """Inverse of :func:`sm4_cbc_encrypt`; DecryptionError on bad length or padding."""
    _check(key, iv)
    data = bytes(data)
    if not data or len(data) % BLOCK_SIZE:
        raise DecryptionError("SM4-CBC ciphertext length is not a positive multiple of 16")
    if _engine.resolve(engine) == _engine.GMSSL:
        dec, prev, out = _GmsslBlock(key, decrypt=True), bytes(iv), bytearray()
        for off in range(0, len(data), BLOCK_SIZE):
            block = data[off:off + BLOCK_SIZE]
            out += _xor(dec(block), prev)
            prev = block
        return _unpad(bytes(out))
    from tongsuopy.crypto.ciphers import modes

    ctx = _tongsuo_cipher(key, modes.CBC(bytes(iv))).decryptor()
    return _unpad(ctx.update(data) + ctx.finalize())


# --------------------------------------------------------------------------- GCM

_R = 0xE1 << 120


def _gf_mul(x: int, y: int) -> int:
    """Multiplication in GF(2^128) with the GCM bit order (SP 800-38D, Algorithm 1)."""
    z, v = 0, y
    for i in range(127, -1, -1):
        if (x >> i) & 1:
            z ^= v
        v = (v >> 1) ^ _R if v & 1 else v >> 1
    return z


def _ghash(h: int, aad: bytes, ct: bytes) -> bytes:
    def blocks(data: bytes):
        for off in range(0, len(data), BLOCK_SIZE):
            yield data[off:off + BLOCK_SIZE].ljust(BLOCK_SIZE, b"\x00")

    y = 0
    for block in (*blocks(aad), *blocks(ct)):
        y = _gf_mul(y ^ int.from_bytes(block, "big"), h)
    lengths = (len(aad) * 8).to_bytes(8, "big") + (len(ct) * 8).to_bytes(8, "big")
    return _gf_mul(y ^ int.from_bytes(lengths, "big"), h).to_bytes(16, "big")


def _gmssl_gcm(key: bytes, nonce: bytes, data: bytes, aad: bytes, decrypt: bool, tag: bytes = b"") -> bytes:
    enc = _GmsslBlock(key)
    h = int.from_bytes(enc(bytes(16)), "big")
    j0 = int.from_bytes(nonce + b"\x00\x00\x00\x01", "big")
    out = bytearray()
    for i, off in enumerate(range(0, len(data), BLOCK_SIZE)):
        counter = (j0 & ~0xFFFFFFFF) | ((j0 + 1 + i) & 0xFFFFFFFF)
        chunk = data[off:off + BLOCK_SIZE]
        out += _xor(chunk, enc(counter.to_bytes(16, "big"))[: len(chunk)])
    ct = data if decrypt else bytes(out)
    expected = _xor(enc(j0.to_bytes(16, "big")), _ghash(h, aad, ct))
    if decrypt:
        if not hmac.compare_digest(expected, tag):
            raise DecryptionError("SM4-GCM authentication failed (bad tag, key, nonce or AAD)")
        return bytes(out)
    return bytes(out) + expected


def sm4_gcm_encrypt(key: bytes, nonce: bytes, plaintext: bytes, aad: bytes = b"", *,
                    engine: str | None = None) -> bytes:
    """SM4-GCM with a 12-byte nonce; returns ciphertext || 16-byte tag. Never reuse a nonce per key."""
    _check(key, nonce, 12)
    if _engine.resolve(engine) == _engine.GMSSL:
        return _gmssl_gcm(bytes(key), bytes(nonce), bytes(plaintext), bytes(aad), decrypt=False)
    from tongsuopy.crypto.ciphers.aead import SM4GCM

    return SM4GCM(bytes(key)).encrypt(bytes(nonce), bytes(plaintext), bytes(aad))


def sm4_gcm_decrypt(key: bytes, nonce: bytes, data: bytes, aad: bytes = b"", *,
                    engine: str | None = None) -> bytes:
    """Inverse of :func:`sm4_gcm_encrypt`; DecryptionError if the tag does not verify."""
    _check(key, nonce, 12)
    data = bytes(data)
    if len(data) < TAG_SIZE:
        raise DecryptionError("SM4-GCM input shorter than the 16-byte tag")
    if _engine.resolve(engine) == _engine.GMSSL:
        return _gmssl_gcm(bytes(key), bytes(nonce), data[:-TAG_SIZE], bytes(aad), True, data[-TAG_SIZE:])
    from tongsuopy.crypto.ciphers.aead import SM4GCM
    from tongsuopy.crypto.exceptions import InvalidTag

    try:
        return SM4GCM(bytes(key)).decrypt(bytes(nonce), data, bytes(aad))
    except InvalidTag:
        raise DecryptionError("SM4-GCM authentication failed (bad tag, key, nonce or AAD)") from None
