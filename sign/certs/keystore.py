"""Key stores shaped like PKCS#11, so an HSM can replace the software store later.

``SoftKeyStore`` keeps private keys SM4-GCM wrapped under a key-encryption key (KEK): one JSON
file per key (``{key_id}.json``: key id, alg, label, nonce, wrapped bytes, public key), the key id
as AAD. Clear key material is never written. Unwrapped keys are cached in memory.
"""
from __future__ import annotations

import abc
import base64
import json
import os
import pathlib
import re
import secrets
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from asn1crypto import keys
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

from sign.certs.errors import KeyNotFound, KeyStoreError, UnsupportedMechanism, WrongKEK
from sign.certs.keys import KEY_ALGS, generate_private_key, key_family, public_key_info

MECHANISMS: dict[str, str] = {
    "SM2_SM3": "sm2",  # data; SM3(Z || M) with the default user id
    "SM2_DIGEST": "sm2",  # prehashed e (32 bytes)
    "RSA_PKCS1_SHA256": "rsa",
    "RSA_PKCS1_PREHASHED_SHA256": "rsa",
    "RSA_PSS_SHA256": "rsa",
    "ECDSA_SHA256": "ecdsa",
    "ECDSA_PREHASHED_SHA256": "ecdsa",
}
DEFAULT_MECHANISM = {"sm2": "SM2_SM3", "rsa": "RSA_PKCS1_SHA256", "ecdsa": "ECDSA_SHA256"}
_KEY_ID = re.compile(r"^[0-9a-f]{32}$")


@dataclass(frozen=True)
class KeyInfo:
    key_id: str
    alg: str
    label: str
    created: str


def alg_of(private_key: Any) -> str:
    """``"sm2"``, ``"rsa2048"``, ``"rsa3072"`` or ``"ecdsa-p256"`` for a private key object."""
    family = key_family(private_key)
    if family == "rsa":
        alg = f"rsa{private_key.key_size}"
    elif family == "ecdsa":
        alg = "ecdsa-p256" if isinstance(private_key.curve, ec.SECP256R1) else "ecdsa-other"
    else:
        alg = "sm2"
    if alg not in KEY_ALGS:
        raise KeyStoreError(f"unsupported key for the key store: {alg}")
    return alg


def sign_with_mechanism(private_key: Any, data: bytes, mechanism: str) -> bytes:
    """Sign with a key object and a PKCS#11-like mechanism name."""
    family = MECHANISMS.get(mechanism)
    if family is None:
        raise UnsupportedMechanism(f"unknown mechanism {mechanism!r}; known: {sorted(MECHANISMS)}")
    if family != key_family(private_key):
        raise UnsupportedMechanism(f"mechanism {mechanism} does not fit a {key_family(private_key)} key")
    if mechanism.endswith("DIGEST") or "PREHASHED" in mechanism:
        if len(data) != 32:
            raise UnsupportedMechanism(f"{mechanism} expects a 32-byte digest, got {len(data)} bytes")
    if mechanism == "SM2_SM3":
        return private_key.sign(data)
    if mechanism == "SM2_DIGEST":
        return private_key.sign_digest(data)
    if mechanism == "RSA_PKCS1_SHA256":
        return private_key.sign(data, padding.PKCS1v15(), hashes.SHA256())
    if mechanism == "RSA_PKCS1_PREHASHED_SHA256":
        return private_key.sign(data, padding.PKCS1v15(), Prehashed(hashes.SHA256()))
    if mechanism == "RSA_PSS_SHA256":
        pss = padding.PSS(padding.MGF1(hashes.SHA256()), padding.PSS.DIGEST_LENGTH)
        return private_key.sign(data, pss, hashes.SHA256())
    if mechanism == "ECDSA_SHA256":
        return private_key.sign(data, ec.ECDSA(hashes.SHA256()))
    return private_key.sign(data, ec.ECDSA(Prehashed(hashes.SHA256())))


class KeyStore(abc.ABC):
    """PKCS#11-shaped key store: keys are referred to by id, private keys never leave it."""

    @abc.abstractmethod
    def generate_key(self, alg: str, label: str = "") -> str:
        """Generate a key pair (``"sm2"``, ``"rsa2048"``, ``"rsa3072"``, ``"ecdsa-p256"``); return its id."""

    @abc.abstractmethod
    def import_key(self, private_key: Any, label: str = "") -> str:
        """Store an existing private key object; return its id."""

    @abc.abstractmethod
    def public_key(self, key_id: str) -> keys.PublicKeyInfo:
        """The SubjectPublicKeyInfo of a key."""

    @abc.abstractmethod
    def sign(self, key_id: str, data_or_digest: bytes, mechanism: str) -> bytes:
        """Sign with a mechanism of :data:`MECHANISMS` (EC/SM2 signatures are DER)."""

    @abc.abstractmethod
    def delete_key(self, key_id: str) -> None:
        """Remove a key (``KeyNotFound`` when absent)."""

    @abc.abstractmethod
    def list_keys(self) -> list[KeyInfo]:
        """All keys, without private material."""

    def key_info(self, key_id: str) -> KeyInfo:
        for info in self.list_keys():
            if info.key_id == key_id:
                return info
        raise KeyNotFound(f"no key {key_id!r}")

    def signer(self, key_id: str) -> "KeyStoreSigner":
        """A :class:`sign.certs.keys.Signer` backed by this store (for the CA, CRLs, TSA)."""
        info = self.key_info(key_id)
        return KeyStoreSigner(self, key_id, "rsa" if info.alg.startswith("rsa") else info.alg.split("-")[0])


@dataclass(frozen=True)
class KeyStoreSigner:
    store: KeyStore
    key_id: str
    family: str

    def public_key_info(self) -> keys.PublicKeyInfo:
        return self.store.public_key(self.key_id)

    def sign(self, data: bytes) -> bytes:
        return self.store.sign(self.key_id, data, DEFAULT_MECHANISM[self.family])


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _unb64(text: str) -> bytes:
    return base64.b64decode(text.encode(), validate=True)


class SoftKeyStore(KeyStore):
    """Software key store: SM4-GCM wrapped keys in ``directory`` (or in memory when ``None``)."""

    def __init__(self, directory: str | pathlib.Path | None, kek: bytes) -> None:
        if not isinstance(kek, (bytes, bytearray)) or len(kek) != 16:
            raise KeyStoreError("KEK must be 16 bytes (SM4-128)")
        self._kek = bytes(kek)
        self._dir = pathlib.Path(directory) if directory is not None else None
        self._memory: dict[str, dict[str, str]] = {}
        self._cache: dict[str, Any] = {}
        self._lock = threading.RLock()
        if self._dir is not None:
            self._dir.mkdir(parents=True, exist_ok=True)
        self._check_kek()

    # ---- records ------------------------------------------------------------------------
    def _path(self, key_id: str) -> pathlib.Path:
        if not _KEY_ID.match(key_id):
            raise KeyNotFound(f"invalid key id {key_id!r}")
        assert self._dir is not None
        return self._dir / f"{key_id}.json"

    def _record_ids(self) -> list[str]:
        if self._dir is None:
            return list(self._memory)
        return sorted(p.stem for p in self._dir.glob("*.json") if _KEY_ID.match(p.stem))

    def _read(self, key_id: str) -> dict[str, str]:
        if self._dir is None:
            try:
                return self._memory[key_id]
            except KeyError:
                raise KeyNotFound(f"no key {key_id!r}") from None
        path = self._path(key_id)
        try:
            return json.loads(path.read_text())
        except FileNotFoundError:
            raise KeyNotFound(f"no key {key_id!r}") from None
        except (OSError, ValueError) as exc:
            raise KeyStoreError(f"unreadable key file {path.name}: {exc}") from exc

    def _write(self, record: dict[str, str]) -> None:
        if self._dir is None:
            self._memory[record["key_id"]] = record
            return
        path = self._path(record["key_id"])
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(record, fh, indent=1)
        os.replace(tmp, path)

    # ---- wrapping -----------------------------------------------------------------------
    def _wrap(self, key_id: str, alg: str, label: str, private_key: Any) -> dict[str, str]:
        from sign.crypto.sm4 import sm4_gcm_encrypt

        nonce = secrets.token_bytes(12)
        wrapped = sm4_gcm_encrypt(self._kek, nonce, _serialize(private_key), aad=key_id.encode())
        return {
            "version": "1", "key_id": key_id, "alg": alg, "label": label,
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "nonce": _b64(nonce), "wrapped": _b64(wrapped),
            "public_key": _b64(public_key_info(private_key).dump()),
        }

    def _unwrap(self, record: dict[str, str]) -> Any:
        from sign.crypto.errors import DecryptionError
        from sign.crypto.sm4 import sm4_gcm_decrypt

        try:
            clear = sm4_gcm_decrypt(self._kek, _unb64(record["nonce"]), _unb64(record["wrapped"]),
                                    aad=record["key_id"].encode())
        except DecryptionError as exc:
            raise WrongKEK(f"cannot unwrap key {record['key_id']}: wrong KEK or tampered key file") from exc
        except (KeyError, ValueError) as exc:
            raise KeyStoreError(f"malformed key record {record.get('key_id')!r}: {exc}") from exc
        return _deserialize(record["alg"], clear)

    def _check_kek(self) -> None:
        ids = self._record_ids()
        if ids:
            self._private(ids[0])

    def _private(self, key_id: str) -> Any:
        with self._lock:
            key = self._cache.get(key_id)
            if key is None:
                key = self._unwrap(self._read(key_id))
                self._cache[key_id] = key
            return key

    # ---- KeyStore API -------------------------------------------------------------------
    def generate_key(self, alg: str, label: str = "") -> str:
        if alg not in KEY_ALGS:
            raise KeyStoreError(f"unknown key algorithm {alg!r}; expected one of {KEY_ALGS}")
        return self._store(alg, label, generate_private_key(alg))

    def import_key(self, private_key: Any, label: str = "") -> str:
        return self._store(alg_of(private_key), label, private_key)

    def _store(self, alg: str, label: str, private_key: Any) -> str:
        key_id = secrets.token_hex(16)
        with self._lock:
            self._write(self._wrap(key_id, alg, label, private_key))
            self._cache[key_id] = private_key
        return key_id

    def public_key(self, key_id: str) -> keys.PublicKeyInfo:
        return keys.PublicKeyInfo.load(_unb64(self._read(key_id)["public_key"]))

    def sign(self, key_id: str, data_or_digest: bytes, mechanism: str) -> bytes:
        return sign_with_mechanism(self._private(key_id), data_or_digest, mechanism)

    def delete_key(self, key_id: str) -> None:
        with self._lock:
            self._read(key_id)
            self._cache.pop(key_id, None)
            if self._dir is None:
                del self._memory[key_id]
            else:
                self._path(key_id).unlink()

    def list_keys(self) -> list[KeyInfo]:
        out = []
        for key_id in self._record_ids():
            rec = self._read(key_id)
            out.append(KeyInfo(rec["key_id"], rec["alg"], rec.get("label", ""), rec.get("created", "")))
        return out


def _serialize(private_key: Any) -> bytes:
    if key_family(private_key) == "sm2":
        return private_key.to_bytes()
    return private_key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                     serialization.NoEncryption())


def _deserialize(alg: str, clear: bytes) -> Any:
    if alg == "sm2":
        from sign.crypto.sm2 import SM2PrivateKey

        return SM2PrivateKey.from_bytes(clear)
    key = serialization.load_der_private_key(clear, password=None)
    if not isinstance(key, (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey)):
        raise KeyStoreError(f"unexpected key type in record ({alg})")
    return key
