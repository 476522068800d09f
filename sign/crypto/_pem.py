"""PEM and PKCS#8 for SM2 keys, engine-independent (asn1crypto for parsing, _der for writing).

Written keys: ``PrivateKeyInfo{ id-ecPublicKey + 1.2.156.10197.1.301, ECPrivateKey{1, d, [1] pub} }``
— the same shape tongsuopy writes. With a password: PKCS#8 ``EncryptedPrivateKeyInfo`` using
PBES2 / PBKDF2-HMAC-SHA256 / SM4-CBC (again tongsuopy's own choice, so either side reads the other).
Read: PKCS#8, encrypted PKCS#8 (PBKDF2 with HMAC-SHA1/SHA2, SM4-CBC or AES-CBC) and SEC1 EC keys.
"""
from __future__ import annotations

import base64
import hashlib
import os
import re

from asn1crypto import core, keys

from . import _der
from .errors import DecryptionError
from .sm4 import sm4_cbc_decrypt, sm4_cbc_encrypt

SM2_CURVE_OID = "1.2.156.10197.1.301"
SM4_CBC_OID = "1.2.156.10197.1.104.2"
PBES2_OID = "1.2.840.113549.1.5.13"
PBKDF2_OID = "1.2.840.113549.1.5.12"
HMAC_SHA256_OID = "1.2.840.113549.2.9"
PBKDF2_ITERATIONS = 100_000

# No asn1crypto NamedCurve registration here: curves are compared by dotted OID, and the
# global registry naming is owned by sign.certs.oids.

_PRF_HASHES = {"sha1": "sha1", "sha224": "sha224", "sha256": "sha256", "sha384": "sha384", "sha512": "sha512"}
_AES_CBC = {"aes128_cbc": 16, "aes192_cbc": 24, "aes256_cbc": 32}


def pem_encode(der: bytes, label: str) -> bytes:
    body = base64.encodebytes(der).replace(b"\n", b"")
    lines = [body[i:i + 64] for i in range(0, len(body), 64)]
    return b"\n".join([f"-----BEGIN {label}-----".encode(), *lines, f"-----END {label}-----".encode()]) + b"\n"


def pem_decode(pem: bytes | str, *labels: str) -> bytes:
    """Return the DER of the first PEM block whose label is in ``labels``."""
    text = pem.decode("ascii", "replace") if isinstance(pem, (bytes, bytearray)) else pem
    der, _ = pem_decode_any(text, labels)
    return der


def pem_decode_any(text: str, labels) -> tuple[bytes, str]:
    for m in re.finditer(r"-----BEGIN ([A-Z0-9 ]+)-----(.*?)-----END \1-----", text, re.S):
        if m.group(1) in labels:
            if "Proc-Type:" in m.group(2):
                raise ValueError("legacy OpenSSL-encrypted PEM is not supported; use PKCS#8")
            return base64.b64decode("".join(m.group(2).split())), m.group(1)
    raise ValueError(f"no PEM block labelled {' or '.join(labels)}")


def _password_bytes(password: bytes | str | None) -> bytes | None:
    return password.encode("utf-8") if isinstance(password, str) else password


def private_key_to_der(d: int, public_point: bytes, password: bytes | str | None = None) -> bytes:
    ec_private = _der.encode_sequence(
        _der.encode_uint(1),
        _der.encode_tlv(0x04, d.to_bytes(32, "big")),
        _der.encode_tlv(0xA1, _der.encode_tlv(0x03, b"\x00" + public_point)),
    )
    pkcs8 = _der.encode_sequence(
        _der.encode_uint(0),
        _der.encode_sequence(_der.encode_oid("1.2.840.10045.2.1"), _der.encode_oid(SM2_CURVE_OID)),
        _der.encode_tlv(0x04, ec_private),
    )
    password = _password_bytes(password)
    return pkcs8 if password is None else _encrypt_pkcs8(pkcs8, password)


def _encrypt_pkcs8(pkcs8: bytes, password: bytes) -> bytes:
    salt, iv = os.urandom(16), os.urandom(16)
    key = hashlib.pbkdf2_hmac("sha256", bytes(password), salt, PBKDF2_ITERATIONS, 16)
    alg = _der.encode_sequence(
        _der.encode_oid(PBES2_OID),
        _der.encode_sequence(
            _der.encode_sequence(
                _der.encode_oid(PBKDF2_OID),
                _der.encode_sequence(
                    _der.encode_tlv(0x04, salt), _der.encode_uint(PBKDF2_ITERATIONS),
                    _der.encode_sequence(_der.encode_oid(HMAC_SHA256_OID), b"\x05\x00"),
                ),
            ),
            _der.encode_sequence(_der.encode_oid(SM4_CBC_OID), _der.encode_tlv(0x04, iv)),
        ),
    )
    return _der.encode_sequence(alg, _der.encode_tlv(0x04, sm4_cbc_encrypt(key, iv, pkcs8)))


def _decrypt_pkcs8(der: bytes, password: bytes) -> bytes:
    info = keys.EncryptedPrivateKeyInfo.load(der)
    alg = info["encryption_algorithm"]
    if alg["algorithm"].native != "pbes2":
        raise ValueError(f"unsupported PKCS#8 encryption {alg['algorithm'].native}; expected PBES2")
    kdf = alg["parameters"]["key_derivation_func"]
    scheme = alg["parameters"]["encryption_scheme"]
    if kdf["algorithm"].native != "pbkdf2":
        raise ValueError("unsupported PBES2 key derivation; expected PBKDF2")
    params = kdf["parameters"]
    prf = params["prf"]["algorithm"].native if params["prf"].native else "sha1"
    if prf not in _PRF_HASHES:
        raise ValueError(f"unsupported PBKDF2 PRF {prf}")
    cipher = scheme["algorithm"].dotted
    name = scheme["algorithm"].native
    key_len = 16 if cipher == SM4_CBC_OID else _AES_CBC.get(name)
    if key_len is None:
        raise ValueError(f"unsupported PBES2 cipher {name}")
    iv = scheme["parameters"].parsed.native if cipher == SM4_CBC_OID else scheme["parameters"].native
    key = hashlib.pbkdf2_hmac(_PRF_HASHES[prf], bytes(password), params["salt"].native,
                              params["iteration_count"].native, key_len)
    data = info["encrypted_data"].native
    try:
        if cipher == SM4_CBC_OID:
            return sm4_cbc_decrypt(key, iv, data)
        return _aes_cbc_decrypt(key, iv, data)
    except DecryptionError:
        raise DecryptionError("cannot decrypt private key: wrong password or corrupted data") from None


def _aes_cbc_decrypt(key: bytes, iv: bytes, data: bytes) -> bytes:
    from cryptography.hazmat.primitives import padding
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    dec = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
    unpadder = padding.PKCS7(128).unpadder()
    try:
        return unpadder.update(dec.update(data) + dec.finalize()) + unpadder.finalize()
    except ValueError:
        raise DecryptionError("cannot decrypt private key: wrong password or corrupted data") from None


def _check_curve(params: core.Asn1Value | None) -> None:
    if params is None or params.native is None:
        return
    if params.name != "named" or params.chosen.dotted != SM2_CURVE_OID:
        raise ValueError("EC private key is not on the SM2 curve (OID 1.2.156.10197.1.301)")


def _from_ec_private(ec: keys.ECPrivateKey) -> tuple[int, bytes | None]:
    _check_curve(ec["parameters"] if ec["parameters"].native is not None else None)
    pub = ec["public_key"].native
    return ec["private_key"].native, (bytes(pub) if pub is not None else None)


def private_key_from_der(der: bytes, password: bytes | str | None = None) -> tuple[int, bytes | None]:
    """Return (d, embedded public point or None) from PKCS#8, encrypted PKCS#8 or SEC1 DER."""
    der, password = bytes(der), _password_bytes(password)
    try:
        encrypted = _looks_encrypted(der)
        if encrypted:
            if password is None:
                raise ValueError("private key is encrypted: a password is required")
            der = _decrypt_pkcs8(der, password)
            try:
                return _from_plain_der(der)
            except (ValueError, KeyError, TypeError, IndexError):
                # a wrong password passes the padding check about once in 256 tries and
                # leaves garbage: that is still a wrong password, not a malformed key
                raise DecryptionError("wrong password (the decrypted key is not DER)") from None
        elif password is not None:
            raise ValueError("a password was given but the private key is not encrypted")
        return _from_plain_der(der)
    except DecryptionError:
        raise
    except (ValueError, KeyError, TypeError, IndexError) as exc:
        raise ValueError(f"cannot load SM2 private key: {exc}") from None


def _looks_encrypted(der: bytes) -> bool:
    items = _der.read_sequence(der)
    return len(items) == 2 and items[0][0] == 0x30 and items[1][0] == 0x04


def _from_plain_der(der: bytes) -> tuple[int, bytes | None]:
    items = _der.read_sequence(der)
    if len(items) < 3:
        raise ValueError("not a PKCS#8 or SEC1 private key")
    if items[1][0] == 0x04:  # SEC1 ECPrivateKey: version INTEGER, then OCTET STRING d
        return _from_ec_private(keys.ECPrivateKey.load(der))
    info = keys.PrivateKeyInfo.load(der)
    alg = info["private_key_algorithm"]
    if alg["algorithm"].dotted not in ("1.2.840.10045.2.1", SM2_CURVE_OID):
        raise ValueError(f"not an EC/SM2 key: {alg['algorithm'].native}")
    if alg["algorithm"].dotted == "1.2.840.10045.2.1":
        _check_curve(alg["parameters"])
    return _from_ec_private(keys.ECPrivateKey.load(info["private_key"].contents))


def private_key_from_pem(pem: bytes | str, password: bytes | str | None = None) -> tuple[int, bytes | None]:
    text = pem.decode("ascii", "replace") if isinstance(pem, (bytes, bytearray)) else pem
    der, _ = pem_decode_any(text, ("PRIVATE KEY", "ENCRYPTED PRIVATE KEY", "EC PRIVATE KEY"))
    return private_key_from_der(der, password)
