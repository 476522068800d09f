"""SM2 public-key cryptography (GB/T 32918 / GM/T 0003) on the SM2 recommended curve.

Engines
-------
``tongsuo`` (default): tongsuopy/Tongsuo through its OpenSSL-1.1.1 style ``EVP_PKEY_sign`` /
``EVP_PKEY_verify`` / ``EVP_PKEY_encrypt`` / ``EVP_PKEY_decrypt`` on an EVP_PKEY aliased to
``EVP_PKEY_SM2``. For SM2 keys these take the digest ``e`` directly (no hashing inside), which is
exactly ``sign_digest``/``verify_digest``; ``sign``/``verify`` compute ``e = SM3(Z_A || M)``
themselves so that any user ID works (tongsuopy's high-level API only knows the default ID).

``gmssl`` (fallback, pure Python, ~100x slower): gmssl's point arithmetic and sign/verify
equations. gmssl draws its nonces from :mod:`random` (not a CSPRNG) and its ``decrypt`` never
checks C3, so this module supplies the nonces from :mod:`secrets` and implements SM2 encryption
itself on top of gmssl's scalar multiplication.

Selection: tongsuo unless tongsuopy is missing or ``SIGN_CRYPTO_ENGINE=gmssl``; :data:`ENGINE`
holds the choice. Every constructor also accepts ``engine=`` to pin a key to one engine.

Formats: signatures are DER ``SEQUENCE {r INTEGER, s INTEGER}``; ciphertexts are GM/T 0009
``SEQUENCE {x INTEGER, y INTEGER, hash OCTET STRING(32), ciphertext OCTET STRING}`` (raw
``04||C1||C3||C2`` is accepted for decryption); keys are PKCS#8 / SubjectPublicKeyInfo with
``id-ecPublicKey`` and the curve OID ``1.2.156.10197.1.301``.
"""
from __future__ import annotations

import hmac
import secrets
from typing import Any

from . import _der, _engine
from .errors import CryptoError, DecryptionError
from .sm3 import SM3Hasher, sm3_digest

DEFAULT_UID = b"1234567812345678"
SM2_CURVE_OID = "1.2.156.10197.1.301"
EC_PUBLIC_KEY_OID = "1.2.840.10045.2.1"
ENGINE = _engine.DEFAULT_ENGINE

# SM2 recommended curve parameters (GB/T 32918.5-2017).
P = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFF
A = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFC
B = 0x28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93
N = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123
GX = 0x32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7
GY = 0xBC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0

_SPKI_PREFIX = _der.encode_sequence(
    _der.encode_oid(EC_PUBLIC_KEY_OID), _der.encode_oid(SM2_CURVE_OID)
)


def _i2b(n: int) -> bytes:
    return n.to_bytes(32, "big")


def _on_curve(x: int, y: int) -> bool:
    return 0 <= x < P and 0 <= y < P and (y * y - (x * x * x + A * x + B)) % P == 0


def _decompress(prefix: int, x: int) -> int:
    """y from a compressed point (p = 3 mod 4, so sqrt is a single exponentiation)."""
    rhs = (x * x * x + A * x + B) % P
    y = pow(rhs, (P + 1) // 4, P)
    if y * y % P != rhs:
        raise ValueError("compressed SM2 point is not on the curve")
    return y if (y & 1) == (prefix & 1) else P - y


def encode_signature(r: int, s: int) -> bytes:
    """DER ``SEQUENCE {r, s}``."""
    return _der.encode_sequence(_der.encode_uint(r), _der.encode_uint(s))


def decode_signature(signature_der: bytes) -> tuple[int, int]:
    """Strictly parse a DER SM2 signature; raises ValueError unless canonical with 1 <= r,s < n."""
    items = _der.read_sequence(bytes(signature_der))
    if len(items) != 2:
        raise _der.DERError("signature must hold exactly two INTEGERs")
    r, s = (_der.decode_uint(t, v) for t, v in items)
    if not (1 <= r < N and 1 <= s < N):
        raise _der.DERError("signature r/s out of range")
    return r, s


def signature_to_raw(signature_der: bytes) -> bytes:
    """DER signature -> 64-byte r||s (the form some Java/JS SDKs exchange)."""
    r, s = decode_signature(signature_der)
    return _i2b(r) + _i2b(s)


def signature_from_raw(raw: bytes) -> bytes:
    """64-byte r||s -> DER signature."""
    if len(raw) != 64:
        raise ValueError("raw SM2 signature must be 64 bytes (r||s)")
    return encode_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))


def encode_ciphertext(x1: int, y1: int, c3: bytes, c2: bytes) -> bytes:
    """GM/T 0009 ASN.1 SM2 ciphertext."""
    return _der.encode_sequence(
        _der.encode_uint(x1), _der.encode_uint(y1),
        _der.encode_tlv(0x04, c3), _der.encode_tlv(0x04, c2),
    )


def decode_ciphertext(ciphertext: bytes) -> tuple[int, int, bytes, bytes]:
    """Parse ASN.1 or raw ``04||x||y||C3||C2``; returns (x1, y1, C3, C2). Raises DecryptionError."""
    data = bytes(ciphertext)
    try:
        if data[:1] == b"\x04":
            if len(data) < 65 + 32 + 1:
                raise ValueError("raw C1C3C2 ciphertext too short")
            x1, y1 = int.from_bytes(data[1:33], "big"), int.from_bytes(data[33:65], "big")
            c3, c2 = data[65:97], data[97:]
        else:
            items = _der.read_sequence(data)
            if len(items) != 4 or items[2][0] != 0x04 or items[3][0] != 0x04:
                raise ValueError("expected SEQUENCE{INTEGER, INTEGER, OCTET STRING, OCTET STRING}")
            x1, y1 = _der.decode_uint(*items[0]), _der.decode_uint(*items[1])
            c3, c2 = items[2][1], items[3][1]
        if len(c3) != 32 or not c2:
            raise ValueError("bad C3/C2 length")
    except (ValueError, IndexError) as exc:
        raise DecryptionError(f"malformed SM2 ciphertext: {exc}") from None
    if not _on_curve(x1, y1):
        raise DecryptionError("SM2 ciphertext C1 is not on the curve")
    return x1, y1, c3, c2


def ciphertext_to_c1c3c2(ciphertext: bytes) -> bytes:
    """Any accepted form -> raw ``04||x||y||C3||C2``."""
    x1, y1, c3, c2 = decode_ciphertext(ciphertext)
    return b"\x04" + _i2b(x1) + _i2b(y1) + c3 + c2


def c1c3c2_to_der(raw: bytes, *, prefixed: bool = True) -> bytes:
    """Raw C1C3C2 -> GM/T 0009 ASN.1.

    ``prefixed=False`` for the 04-less form many JS/Java SDKs (and gmssl) emit. It must be said
    explicitly: x1 itself may start with byte 0x04, so the form cannot be guessed.
    """
    raw = bytes(raw)
    return encode_ciphertext(*decode_ciphertext(raw if prefixed else b"\x04" + raw))


def _kdf(z: bytes, klen: int, engine: str) -> bytes:
    """GB/T 32918.4 KDF with SM3."""
    out = bytearray()
    counter = 1
    while len(out) < klen:
        out += sm3_digest(z + counter.to_bytes(4, "big"), engine=engine)
        counter += 1
    return bytes(out[:klen])


# --------------------------------------------------------------------------- engines


class _TongsuoOps:
    """SM2 through tongsuopy's EVP_PKEY layer."""

    name = _engine.TONGSUO

    def __init__(self) -> None:
        from tongsuopy.backends.tongsuo import backend
        from tongsuopy.crypto.asymciphers import ec

        self._b, self._lib, self._ffi, self._ec = backend, backend._lib, backend._ffi, ec

    def generate(self) -> int:
        return self._ec.generate_private_key(self._ec.SM2()).private_numbers().private_value

    def private_native(self, d: int) -> Any:
        return self._ec.derive_private_key(d, self._ec.SM2())

    def public_point(self, native_priv: Any) -> tuple[int, int]:
        nums = native_priv.public_key().public_numbers()
        return nums.x, nums.y

    def public_native(self, x: int, y: int) -> Any:
        return self._ec.EllipticCurvePublicNumbers(x, y, self._ec.SM2()).public_key()

    def _pkey_op(self, native: Any, init: str, op: str, data: bytes) -> bytes | None:
        """Run an EVP_PKEY_<op> (size query, then call); None on failure (errors drained)."""
        lib, ffi = self._lib, self._ffi
        ctx = ffi.gc(lib.EVP_PKEY_CTX_new(native._evp_pkey, ffi.NULL), lib.EVP_PKEY_CTX_free)
        func = getattr(lib, op)
        outlen = ffi.new("size_t *")
        if ctx == ffi.NULL or getattr(lib, init)(ctx) != 1 or func(ctx, ffi.NULL, outlen, data, len(data)) != 1:
            self._b._consume_errors()
            return None
        buf = ffi.new("unsigned char[]", max(outlen[0], 1))
        if func(ctx, buf, outlen, data, len(data)) != 1:
            self._b._consume_errors()
            return None
        return ffi.buffer(buf)[: outlen[0]]

    def sign_digest(self, native_priv: Any, d: int, e: bytes) -> tuple[int, int]:
        der = self._pkey_op(native_priv, "EVP_PKEY_sign_init", "EVP_PKEY_sign", e)
        if der is None:
            raise CryptoError("tongsuo SM2 signing failed")
        return decode_signature(der)

    def verify_digest(self, native_pub: Any, x: int, y: int, r: int, s: int, e: bytes) -> bool:
        lib, ffi = self._lib, self._ffi
        sig = encode_signature(r, s)
        ctx = ffi.gc(lib.EVP_PKEY_CTX_new(native_pub._evp_pkey, ffi.NULL), lib.EVP_PKEY_CTX_free)
        ok = lib.EVP_PKEY_verify_init(ctx) == 1 and lib.EVP_PKEY_verify(ctx, sig, len(sig), e, len(e)) == 1
        if not ok:
            self._b._consume_errors()
        return ok

    def encrypt(self, native_pub: Any, x: int, y: int, plaintext: bytes) -> bytes:
        out = self._pkey_op(native_pub, "EVP_PKEY_encrypt_init", "EVP_PKEY_encrypt", plaintext)
        if out is None:
            raise CryptoError("tongsuo SM2 encryption failed")
        return out

    def decrypt(self, native_priv: Any, d: int, x1: int, y1: int, c3: bytes, c2: bytes) -> bytes:
        out = self._pkey_op(native_priv, "EVP_PKEY_decrypt_init", "EVP_PKEY_decrypt",
                            encode_ciphertext(x1, y1, c3, c2))
        if out is None:
            raise DecryptionError("SM2 decryption failed (wrong key or corrupted ciphertext)")
        return out


class _GmsslOps:
    """SM2 on gmssl's pure-Python point arithmetic; nonces and encryption done here (see module doc)."""

    name = _engine.GMSSL
    _G_HEX = "%064x%064x" % (GX, GY)

    def __init__(self) -> None:
        from gmssl import sm2 as gsm2

        self._gsm2 = gsm2

    def _crypt(self, d: int = 0, x: int = GX, y: int = GY) -> Any:
        c = self._gsm2.CryptSM2(private_key="%064x" % d, public_key="00")
        # Set after construction: gmssl's own `lstrip("04")` mangles keys whose x starts with 0/4.
        c.public_key = "%064x%064x" % (x, y)
        return c

    def _mul(self, k: int, x: int, y: int) -> tuple[int, int]:
        out = self._crypt()._kg(k, "%064x%064x" % (x, y))
        return int(out[:64], 16), int(out[64:128], 16)

    def generate(self) -> int:
        return 1 + secrets.randbelow(N - 2)  # d in [1, n-2]

    def private_native(self, d: int) -> Any:
        return self._crypt(d)

    def public_point(self, native_priv: Any) -> tuple[int, int]:
        return self._mul(int(native_priv.private_key, 16), GX, GY)

    def public_native(self, x: int, y: int) -> Any:
        return self._crypt(0, x, y)

    def sign_digest(self, native_priv: Any, d: int, e: bytes) -> tuple[int, int]:
        while True:
            k = 1 + secrets.randbelow(N - 1)
            sig = native_priv.sign(e, "%064x" % k)
            if sig:  # gmssl returns None for the (negligible) r == 0 / r + k == n / s == 0 cases
                return int(sig[:64], 16), int(sig[64:128], 16)

    def verify_digest(self, native_pub: Any, x: int, y: int, r: int, s: int, e: bytes) -> bool:
        try:  # gmssl has no special case for sG + tP = O; any arithmetic failure is a rejection
            return bool(native_pub.verify("%064x%064x" % (r, s), e))
        except Exception:
            return False

    def encrypt(self, native_pub: Any, x: int, y: int, plaintext: bytes) -> bytes:
        while True:
            k = 1 + secrets.randbelow(N - 1)
            x1, y1 = self._mul(k, GX, GY)
            x2, y2 = self._mul(k, x, y)
            t = _kdf(_i2b(x2) + _i2b(y2), len(plaintext), self.name)
            if any(t):
                break
        c2 = bytes(a ^ b for a, b in zip(plaintext, t))
        c3 = sm3_digest(_i2b(x2) + plaintext + _i2b(y2), engine=self.name)
        return encode_ciphertext(x1, y1, c3, c2)

    def decrypt(self, native_priv: Any, d: int, x1: int, y1: int, c3: bytes, c2: bytes) -> bytes:
        x2, y2 = self._mul(d, x1, y1)
        t = _kdf(_i2b(x2) + _i2b(y2), len(c2), self.name)
        if not any(t):
            raise DecryptionError("SM2 decryption failed (KDF output is zero)")
        plaintext = bytes(a ^ b for a, b in zip(c2, t))
        if not hmac.compare_digest(sm3_digest(_i2b(x2) + plaintext + _i2b(y2), engine=self.name), c3):
            raise DecryptionError("SM2 decryption failed (wrong key or corrupted ciphertext)")
        return plaintext


_OPS: dict[str, Any] = {}


def _ops(engine: str | None) -> Any:
    name = _engine.resolve(engine)
    if name not in _OPS:
        _OPS[name] = _TongsuoOps() if name == _engine.TONGSUO else _GmsslOps()
    return _OPS[name]


# --------------------------------------------------------------------------- keys


class SM2PublicKey:
    """An SM2 public point. Immutable; equality is by point (engine not included)."""

    def __init__(self, x: int, y: int, *, engine: str | None = None) -> None:
        if not _on_curve(x, y):
            raise ValueError("point is not on the SM2 curve")
        self.x, self.y = x, y
        self._ops = _ops(engine)
        self.engine: str = self._ops.name
        self._native = self._ops.public_native(x, y)

    # -- encodings
    @classmethod
    def from_bytes(cls, point: bytes, *, engine: str | None = None) -> "SM2PublicKey":
        """65-byte ``04||x||y``, 64-byte ``x||y`` or 33-byte compressed ``02/03||x``."""
        point = bytes(point)
        if len(point) == 65 and point[0] == 4:
            point = point[1:]
        if len(point) == 33 and point[0] in (2, 3):
            x = int.from_bytes(point[1:], "big")
            if x >= P:
                raise ValueError("compressed SM2 point x out of range")
            return cls(x, _decompress(point[0], x), engine=engine)
        if len(point) != 64:
            raise ValueError("SM2 public key must be 65 bytes 04||x||y, 64 bytes x||y or 33 compressed")
        return cls(int.from_bytes(point[:32], "big"), int.from_bytes(point[32:], "big"), engine=engine)

    def to_bytes(self) -> bytes:
        return b"\x04" + _i2b(self.x) + _i2b(self.y)

    @classmethod
    def from_der(cls, spki_der: bytes, *, engine: str | None = None) -> "SM2PublicKey":
        """SubjectPublicKeyInfo with id-ecPublicKey+SM2 curve (or the SM2 OID as algorithm)."""
        try:
            alg, bits = _der.read_sequence(bytes(spki_der))
            if alg[0] != 0x30 or bits[0] != 0x03 or bits[1][:1] != b"\x00":
                raise ValueError("not a SubjectPublicKeyInfo")
            oids = [v for t, v in _der.read_sequence(_der.encode_tlv(0x30, alg[1])) if t == 0x06]
        except ValueError as exc:
            raise ValueError(f"malformed SM2 SubjectPublicKeyInfo: {exc}") from None
        sm2_oid = _der.encode_oid(SM2_CURVE_OID)[2:]
        if sm2_oid not in oids:
            raise ValueError("SubjectPublicKeyInfo is not on the SM2 curve (OID 1.2.156.10197.1.301)")
        return cls.from_bytes(bits[1][1:], engine=engine)

    def to_der(self) -> bytes:
        return _der.encode_sequence(_SPKI_PREFIX, _der.encode_tlv(0x03, b"\x00" + self.to_bytes()))

    @classmethod
    def from_pem(cls, pem: bytes, *, engine: str | None = None) -> "SM2PublicKey":
        from ._pem import pem_decode

        return cls.from_der(pem_decode(pem, "PUBLIC KEY"), engine=engine)

    def to_pem(self) -> bytes:
        from ._pem import pem_encode

        return pem_encode(self.to_der(), "PUBLIC KEY")

    # -- signatures
    def z_value(self, uid: bytes = DEFAULT_UID) -> bytes:
        """Z_A = SM3(ENTL || ID || a || b || xG || yG || xA || yA) (GB/T 32918.2 §5.5)."""
        if len(uid) >= 8192:
            raise ValueError("SM2 user ID must be shorter than 8192 bytes")
        entl = (len(uid) * 8).to_bytes(2, "big")
        return sm3_digest(
            entl + bytes(uid) + b"".join(_i2b(v) for v in (A, B, GX, GY, self.x, self.y)),
            engine=self.engine,
        )

    def hasher(self, uid: bytes = DEFAULT_UID) -> SM3Hasher:
        """An SM3Hasher already fed with Z_A: stream M into it, then ``digest()`` is e.

        For large documents: ``h = pub.hasher(); for c in chunks: h.update(c)`` then
        ``key.sign_digest(h.digest())`` / ``pub.verify_digest(sig, h.digest())``.
        """
        return SM3Hasher(self.z_value(uid), engine=self.engine)

    def message_digest(self, data: bytes, uid: bytes = DEFAULT_UID) -> bytes:
        """e = SM3(Z_A || M), the value actually signed."""
        hasher = self.hasher(uid)
        hasher.update(data)
        return hasher.digest()

    def verify(self, signature_der: bytes, data: bytes, uid: bytes = DEFAULT_UID) -> bool:
        """True iff ``signature_der`` is a valid SM2 signature of ``data`` under ``uid``."""
        return self.verify_digest(signature_der, self.message_digest(data, uid))

    def verify_digest(self, signature_der: bytes, e: bytes) -> bool:
        """Verify against a precomputed e = SM3(Z_A || M). Malformed signatures give False."""
        if len(e) != 32:
            raise ValueError("SM2 digest e must be 32 bytes (SM3 output)")
        try:
            r, s = decode_signature(signature_der)
        except (ValueError, TypeError):
            return False
        return self._ops.verify_digest(self._native, self.x, self.y, r, s, bytes(e))

    # -- encryption
    def encrypt(self, plaintext: bytes) -> bytes:
        """SM2 encryption (C1C3C2 order), GM/T 0009 ASN.1 output."""
        if not plaintext:
            raise ValueError("SM2 cannot encrypt an empty plaintext")
        return self._ops.encrypt(self._native, self.x, self.y, bytes(plaintext))

    def with_engine(self, engine: str | None) -> "SM2PublicKey":
        return SM2PublicKey(self.x, self.y, engine=engine)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SM2PublicKey) and (self.x, self.y) == (other.x, other.y)

    def __hash__(self) -> int:
        return hash((self.x, self.y))

    def __repr__(self) -> str:
        return f"SM2PublicKey({self.to_bytes().hex()[:18]}..., engine={self.engine!r})"


class SM2PrivateKey:
    """An SM2 private scalar d in [1, n-2] plus its public key."""

    def __init__(self, d: int, *, engine: str | None = None) -> None:
        if not 1 <= d <= N - 2:
            raise ValueError("SM2 private key must be in [1, n-2]")
        self._d = d
        self._ops = _ops(engine)
        self.engine: str = self._ops.name
        self._native = self._ops.private_native(d)
        x, y = self._ops.public_point(self._native)
        self._public = SM2PublicKey(x, y, engine=self.engine)

    @classmethod
    def generate(cls, *, engine: str | None = None) -> "SM2PrivateKey":
        return cls(_ops(engine).generate(), engine=engine)

    @classmethod
    def from_bytes(cls, d: bytes, *, engine: str | None = None) -> "SM2PrivateKey":
        if len(d) != 32:
            raise ValueError("SM2 private key must be a 32-byte big-endian scalar")
        return cls(int.from_bytes(d, "big"), engine=engine)

    def to_bytes(self) -> bytes:
        return _i2b(self._d)

    def public_key(self) -> SM2PublicKey:
        return self._public

    def sign(self, data: bytes, uid: bytes = DEFAULT_UID) -> bytes:
        """DER SM2 signature of SM3(Z_A || data)."""
        return self.sign_digest(self._public.message_digest(data, uid))

    def sign_digest(self, e: bytes) -> bytes:
        """Sign a precomputed e = SM3(Z_A || M) (e.g. for a remote/HSM-style Signer)."""
        if len(e) != 32:
            raise ValueError("SM2 digest e must be 32 bytes (SM3 output)")
        r, s = self._ops.sign_digest(self._native, self._d, bytes(e))
        return encode_signature(r, s)

    def decrypt(self, ciphertext: bytes) -> bytes:
        """Decrypt GM/T 0009 ASN.1 or raw 04||C1||C3||C2; DecryptionError on any failure."""
        x1, y1, c3, c2 = decode_ciphertext(ciphertext)
        return self._ops.decrypt(self._native, self._d, x1, y1, c3, c2)

    # -- serialization (PKCS#8; see _pem.py)
    def to_der(self, password: bytes | str | None = None) -> bytes:
        from . import _pem

        return _pem.private_key_to_der(self._d, self._public.to_bytes(), password)

    @classmethod
    def from_der(cls, der: bytes, password: bytes | str | None = None, *, engine: str | None = None) -> "SM2PrivateKey":
        from . import _pem

        return cls._from_parsed(_pem.private_key_from_der(der, password), engine)

    def to_pem(self, password: bytes | str | None = None) -> bytes:
        from . import _pem

        label = "ENCRYPTED PRIVATE KEY" if password is not None else "PRIVATE KEY"
        return _pem.pem_encode(self.to_der(password), label)

    @classmethod
    def from_pem(cls, pem: bytes, password: bytes | str | None = None, *, engine: str | None = None) -> "SM2PrivateKey":
        from . import _pem

        return cls._from_parsed(_pem.private_key_from_pem(pem, password), engine)

    @classmethod
    def _from_parsed(cls, parsed: tuple[int, bytes | None], engine: str | None) -> "SM2PrivateKey":
        d, embedded_pub = parsed
        key = cls(d, engine=engine)
        if embedded_pub is not None and embedded_pub != key._public.to_bytes():
            raise ValueError("private key file is inconsistent: embedded public key does not match d")
        return key

    def with_engine(self, engine: str | None) -> "SM2PrivateKey":
        return SM2PrivateKey(self._d, engine=engine)

    def __repr__(self) -> str:  # never print the scalar
        return f"SM2PrivateKey(public={self._public.to_bytes().hex()[:18]}..., engine={self.engine!r})"


def load_public_key(obj: Any, *, engine: str | None = None) -> SM2PublicKey:
    """Accept an SM2PublicKey/SM2PrivateKey, a raw point (bytes or hex), SPKI DER or PEM."""
    if isinstance(obj, SM2PublicKey):
        return obj if engine is None or obj.engine == engine else obj.with_engine(engine)
    if isinstance(obj, SM2PrivateKey):
        return load_public_key(obj.public_key(), engine=engine)
    if isinstance(obj, str):
        obj = obj.encode() if "-----BEGIN" in obj else bytes.fromhex(obj)
    data = bytes(obj)
    if data.lstrip().startswith(b"-----BEGIN"):
        return SM2PublicKey.from_pem(data, engine=engine)
    if data[:1] == b"\x30" and len(data) not in (64, 65, 33):
        return SM2PublicKey.from_der(data, engine=engine)
    return SM2PublicKey.from_bytes(data, engine=engine)


def load_private_key(obj: Any, password: bytes | str | None = None, *, engine: str | None = None) -> SM2PrivateKey:
    """Accept an SM2PrivateKey, a 32-byte scalar (bytes or hex), PKCS#8/SEC1 DER or PEM."""
    if isinstance(obj, SM2PrivateKey):
        return obj if engine is None or obj.engine == engine else obj.with_engine(engine)
    if isinstance(obj, str):
        obj = obj.encode() if "-----BEGIN" in obj else bytes.fromhex(obj)
    data = bytes(obj)
    if data.lstrip().startswith(b"-----BEGIN"):
        return SM2PrivateKey.from_pem(data, password, engine=engine)
    if len(data) == 32:
        return SM2PrivateKey.from_bytes(data, engine=engine)
    return SM2PrivateKey.from_der(data, password, engine=engine)
