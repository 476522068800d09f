"""PKCS#12 for every key type, SM2 included (``cryptography`` cannot load or write SM2 keys).

Writing: PBES2 (PBKDF2-HMAC-SHA256, AES-256-CBC) bags and an HMAC-SHA256 MAC, as OpenSSL 3 does.
Reading: MAC with HMAC-SHA1/SHA-2/SM3 (PKCS#12 KDF); PBES2 (PBKDF2 with HMAC-SHA1/SHA-2/SM3,
AES-CBC or SM4-CBC) and pbeWithSHAAnd3-KeyTripleDES-CBC bags; key, shrouded-key and certificate
bags. RC2 (the OpenSSL ``-legacy`` default) is not supported.
"""
from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from typing import Any, Callable

from asn1crypto import algos, core, keys, pkcs12, x509
from cryptography.hazmat.primitives import padding as sym_padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from sign.certs import oids
from sign.certs.errors import CertificateError

SM4_CBC_OID = "1.2.156.10197.1.104.2"
_PRF = {"sha1": "sha1", "sha224": "sha224", "sha256": "sha256", "sha384": "sha384", "sha512": "sha512"}
_HMAC_SM3_OID = "1.2.156.10197.1.401.2"


@dataclass(frozen=True)
class PKCS12Contents:
    key: Any
    cert: x509.Certificate | None
    others: list[x509.Certificate] = field(hash=False)


def _hash_fn(name: str) -> Callable[[bytes], bytes]:
    if name == "sm3":
        from sign.crypto.sm3 import sm3_digest

        return sm3_digest
    return lambda data: hashlib.new(name, data).digest()


def _hmac(name: str, key: bytes, data: bytes) -> bytes:
    if name == "sm3":
        from sign.certs.profiles import hmac_sm3

        return hmac_sm3(key, data)
    return hmac.new(key, data, name).digest()


def pkcs12_kdf(hash_name: str, password: bytes | None, salt: bytes, purpose: int, iterations: int,
               length: int) -> bytes:
    """RFC 7292 appendix B.2 key derivation (``purpose``: 1 key, 2 IV, 3 MAC key)."""
    h = _hash_fn(hash_name)
    u = len(h(b""))
    v = 128 if hash_name in ("sha384", "sha512") else 64
    pwd = b"" if password is None else password.decode("utf-8").encode("utf-16-be") + b"\x00\x00"

    def fill(data: bytes) -> bytes:  # repeat to a multiple of v bytes
        if not data:
            return b""
        size = v * ((len(data) + v - 1) // v)
        return (data * (size // len(data) + 1))[:size]

    i = bytearray(fill(salt) + fill(pwd))
    out = b""
    while len(out) < length:
        a = h(bytes([purpose]) * v + bytes(i))
        for _ in range(iterations - 1):
            a = h(a)
        out += a
        b = int.from_bytes((a * (v // u + 1))[:v], "big")
        for j in range(0, len(i), v):
            block = (int.from_bytes(i[j:j + v], "big") + b + 1) % (1 << (8 * v))
            i[j:j + v] = block.to_bytes(v, "big")
    return out[:length]


def _cbc_decrypt(cipher: Any, key: bytes, iv: bytes, data: bytes) -> bytes:
    dec = Cipher(cipher(key), modes.CBC(iv)).decryptor()
    padded = dec.update(data) + dec.finalize()
    unpadder = sym_padding.PKCS7(cipher.block_size).unpadder()
    return unpadder.update(padded) + unpadder.finalize()


def _decrypt(alg: algos.EncryptionAlgorithm, data: bytes, password: bytes | None) -> bytes:
    name = alg["algorithm"].dotted
    if alg["algorithm"].native == "pbes2":
        return _decrypt_pbes2(alg["parameters"], data, password)
    if alg["algorithm"].native == "pkcs12_sha1_tripledes_3key":
        from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES

        params = alg["parameters"]
        salt, count = params["salt"].native, params["iterations"].native
        key = pkcs12_kdf("sha1", password, salt, 1, count, 24)
        iv = pkcs12_kdf("sha1", password, salt, 2, count, 8)
        return _cbc_decrypt(TripleDES, key, iv, data)
    raise CertificateError(f"unsupported PKCS#12 encryption {alg['algorithm'].native or name}")


def _decrypt_pbes2(params: Any, data: bytes, password: bytes | None) -> bytes:
    kdf, scheme = params["key_derivation_func"], params["encryption_scheme"]
    if kdf["algorithm"].native != "pbkdf2":
        raise CertificateError("unsupported PBES2 key derivation")
    kp = kdf["parameters"]
    prf_oid = kp["prf"]["algorithm"].dotted
    prf = "sm3" if prf_oid == _HMAC_SM3_OID else _PRF.get(kp["prf"]["algorithm"].native.replace("hmac_", ""))
    if prf is None:
        raise CertificateError(f"unsupported PBKDF2 PRF {prf_oid}")
    pwd = password or b""
    if scheme["algorithm"].dotted == SM4_CBC_OID:
        from sign.crypto.sm4 import sm4_cbc_decrypt

        iv = core.OctetString.load(scheme["parameters"].dump()).native
        key = _pbkdf2(prf, pwd, kp["salt"].native, kp["iteration_count"].native, 16)
        return sm4_cbc_decrypt(key, iv, data)
    cipher_name = scheme["algorithm"].native
    sizes = {"aes128_cbc": 16, "aes192_cbc": 24, "aes256_cbc": 32}
    if cipher_name not in sizes:
        raise CertificateError(f"unsupported PBES2 cipher {cipher_name}")
    key = _pbkdf2(prf, pwd, kp["salt"].native, kp["iteration_count"].native, sizes[cipher_name])
    return _cbc_decrypt(algorithms.AES, key, scheme["parameters"].native, data)


def _pbkdf2(prf: str, password: bytes, salt: bytes, iterations: int, length: int) -> bytes:
    if prf != "sm3":
        return hashlib.pbkdf2_hmac(prf, password, salt, iterations, length)
    out, block = b"", 1
    while len(out) < length:
        u = _hmac("sm3", password, salt + block.to_bytes(4, "big"))
        acc = int.from_bytes(u, "big")
        for _ in range(iterations - 1):
            u = _hmac("sm3", password, u)
            acc ^= int.from_bytes(u, "big")
        out += acc.to_bytes(32, "big")
        block += 1
    return out[:length]


def _check_mac(pfx: pkcs12.Pfx, content: bytes, password: bytes | None) -> None:
    mac_data = pfx["mac_data"]
    if not mac_data.native:
        return
    digest_alg = mac_data["mac"]["digest_algorithm"]["algorithm"]
    name = "sm3" if digest_alg.dotted == oids.SM3_OID else digest_alg.native
    if name not in ("sha1", "sha224", "sha256", "sha384", "sha512", "sm3"):
        raise CertificateError(f"unsupported PKCS#12 MAC digest {digest_alg.dotted}")
    size = len(_hash_fn(name)(b""))
    key = pkcs12_kdf(name, password, mac_data["mac_salt"].native, 3, mac_data["iterations"].native, size)
    if not hmac.compare_digest(_hmac(name, key, content), mac_data["mac"]["digest"].native):
        raise CertificateError("PKCS#12 MAC check failed: wrong password or corrupted file")


def _private_key(info: keys.PrivateKeyInfo) -> Any:
    algo = info["private_key_algorithm"]
    params = algo["parameters"]
    is_sm2 = algo["algorithm"].native == "ec" and params.name == "named" and params.chosen.dotted == oids.SM2_CURVE_OID
    if is_sm2:
        from sign.crypto.sm2 import SM2PrivateKey

        scalar = keys.ECPrivateKey.load(info["private_key"].contents)["private_key"].native
        return SM2PrivateKey.from_bytes(scalar.to_bytes(32, "big"))
    from cryptography.hazmat.primitives import serialization

    return serialization.load_der_private_key(info.dump(), password=None)


def _bags(safe_contents: pkcs12.SafeContents, password: bytes | None, keys_: list, certs: list) -> None:
    for bag in safe_contents:
        kind = bag["bag_id"].native
        value = bag["bag_value"]
        local_id = next((a["values"][0].native for a in bag["bag_attributes"]
                         if a["type"].native == "local_key_id"), None) if bag["bag_attributes"].native else None
        if kind == "pkcs8_shrouded_key_bag":
            clear = _decrypt(value["encryption_algorithm"], value["encrypted_data"].native, password)
            keys_.append((local_id, _private_key(keys.PrivateKeyInfo.load(clear))))
        elif kind == "key_bag":
            keys_.append((local_id, _private_key(value)))
        elif kind == "cert_bag" and value["cert_id"].native == "x509":
            certs.append((local_id, x509.Certificate.load(value["cert_value"].parsed.dump())))
        elif kind == "safe_contents":
            _bags(value, password, keys_, certs)


def read_pkcs12(data: bytes, password: bytes | None) -> PKCS12Contents:
    """Parse a PKCS#12 file; the certificate is the one matching the key (localKeyId or public key)."""
    try:
        pfx = pkcs12.Pfx.load(data, strict=True)
        content = pfx["auth_safe"]["content"].native
        _check_mac(pfx, content, password)
        keys_: list = []
        certs: list = []
        for info in pkcs12.AuthenticatedSafe.load(content):
            kind = info["content_type"].native
            if kind == "data":
                _bags(pkcs12.SafeContents.load(info["content"].native), password, keys_, certs)
            elif kind == "encrypted_data":
                eci = info["content"]["encrypted_content_info"]
                clear = _decrypt(eci["content_encryption_algorithm"], eci["encrypted_content"].native, password)
                _bags(pkcs12.SafeContents.load(clear), password, keys_, certs)
    except CertificateError:
        raise
    except Exception as exc:
        raise CertificateError(f"not a readable PKCS#12 file: {exc}") from exc
    return _assemble(keys_, certs)


def _assemble(keys_: list, certs: list) -> PKCS12Contents:
    if not keys_:
        raise CertificateError("PKCS#12 file contains no private key")
    local_id, key = keys_[0]
    from sign.certs.keys import public_key_info

    spki = public_key_info(key).dump()
    match = next((c for lid, c in certs if local_id is not None and lid == local_id), None)
    match = match or next((c for _lid, c in certs if c.public_key.dump() == spki), None)
    others = [c for _lid, c in certs if c is not match]
    return PKCS12Contents(key, match, others)




# ---- writing -------------------------------------------------------------------------------------
PBKDF2_ITERATIONS = 100_000
MAC_ITERATIONS = 2048


def _pbes2_encrypt(password: bytes, data: bytes) -> tuple[algos.EncryptionAlgorithm, bytes]:
    """PBES2: PBKDF2-HMAC-SHA256 + AES-256-CBC (what OpenSSL 3 writes by default)."""
    import os

    salt, iv = os.urandom(16), os.urandom(16)
    key = hashlib.pbkdf2_hmac("sha256", password, salt, PBKDF2_ITERATIONS, 32)
    padder = sym_padding.PKCS7(128).padder()
    enc = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    ct = enc.update(padder.update(data) + padder.finalize()) + enc.finalize()
    alg = algos.EncryptionAlgorithm({"algorithm": "pbes2", "parameters": {
        "key_derivation_func": {"algorithm": "pbkdf2", "parameters": {
            "salt": algos.Pbkdf2Salt(name="specified", value=salt), "iteration_count": PBKDF2_ITERATIONS,
            "prf": {"algorithm": "sha256"}}},
        "encryption_scheme": {"algorithm": "aes256_cbc", "parameters": iv},
    }})
    return alg, ct


def _private_key_info(key: Any) -> bytes:
    from sign.certs.keys import key_family

    if key_family(key) == "sm2":
        return key.to_der()
    from cryptography.hazmat.primitives import serialization

    return key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def write_pkcs12(key: Any, cert: x509.Certificate, chain: list[x509.Certificate], password: bytes | str,
                 friendly_name: str | None = None) -> bytes:
    """A PKCS#12 file (PBES2/AES-256-CBC bags, HMAC-SHA256 MAC) for any key type, SM2 included."""
    import os

    pwd = password.encode() if isinstance(password, str) else password
    if not pwd:
        raise CertificateError("a PKCS#12 password is required")
    local_id = hashlib.sha1(cert.dump()).digest()
    attrs = [{"type": "local_key_id", "values": [local_id]}]
    if friendly_name:
        attrs.append({"type": "friendly_name", "values": [friendly_name]})
    cert_bags = [pkcs12.SafeBag({"bag_id": "cert_bag", "bag_attributes": attrs if c is cert else None,
                                 "bag_value": pkcs12.CertBag({"cert_id": "x509", "cert_value": c})})
                 for c in [cert, *chain]]
    cert_alg, cert_ct = _pbes2_encrypt(pwd, pkcs12.SafeContents(cert_bags).dump())
    key_alg, key_ct = _pbes2_encrypt(pwd, _private_key_info(key))
    key_bag = pkcs12.SafeBag({"bag_id": "pkcs8_shrouded_key_bag", "bag_attributes": attrs,
                              "bag_value": keys.EncryptedPrivateKeyInfo({
                                  "encryption_algorithm": key_alg, "encrypted_data": key_ct})})
    auth_safe = pkcs12.AuthenticatedSafe([
        {"content_type": "encrypted_data", "content": {"version": "v0", "encrypted_content_info": {
            "content_type": "data", "content_encryption_algorithm": cert_alg, "encrypted_content": cert_ct}}},
        {"content_type": "data", "content": pkcs12.SafeContents([key_bag]).dump()},
    ]).dump()
    salt = os.urandom(16)
    mac_key = pkcs12_kdf("sha256", pwd, salt, 3, MAC_ITERATIONS, 32)
    return pkcs12.Pfx({
        "version": "v3",
        "auth_safe": {"content_type": "data", "content": auth_safe},
        "mac_data": {"mac": {"digest_algorithm": {"algorithm": "sha256"},
                             "digest": hmac.new(mac_key, auth_safe, "sha256").digest()},
                     "mac_salt": salt, "iterations": MAC_ITERATIONS},
    }).dump()


def export_pkcs12(identity: Any, password: bytes | str, friendly_name: str | None = None) -> bytes:
    """PKCS#12 of an :class:`~sign.certs.identity.Identity` (key, certificate and chain)."""
    return write_pkcs12(identity.key, identity.cert, list(identity.chain), password, friendly_name)
