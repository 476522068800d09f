"""The platform's own PKI: an SM2 and an RSA CA (root → issuing), the seal-making identity that
signs SESeal structures, and a key store for company keys. Private keys live only in the
SM4-wrapped key store under ``DATA_DIR/pki/keys`` (KEK = the first data key); certificates and
key ids are in ``DATA_DIR/pki/pki.json``. Created on first use, under a file lock so that
several workers starting together create it once.

A deployment with several hosts shares DATA_DIR/pki (or replaces ``SoftKeyStore`` by an HSM
implementation of ``sign.certs.KeyStore``).
"""
from __future__ import annotations

import datetime as dt
import fcntl
import json
import pathlib
import threading
from typing import Any

from asn1crypto import x509

from sign.certs import CertificateAuthority, CompanySubject, SoftKeyStore, create_hierarchy
from sign.certs.identity import Identity
from sign.certs.pem import dump_certificates, load_certificates

ORG = "电子签章平台"
ALGS = ("sm2", "rsa2048")
_cache: dict[tuple[str, bytes], "PlatformPKI"] = {}
_cache_lock = threading.Lock()


def _pem(cert: x509.Certificate) -> str:
    return dump_certificates([cert]).decode()


def _cert(pem: str) -> x509.Certificate:
    return load_certificates(pem.encode())[0]


class PlatformPKI:
    def __init__(self, directory: pathlib.Path, kek: bytes) -> None:
        self.directory = directory
        self.keystore = SoftKeyStore(directory / "keys", kek)
        self._state = self._load_or_create()

    @classmethod
    def for_settings(cls, settings) -> "PlatformPKI":
        directory = settings.data_path / "pki"
        kek = settings.resolved_data_keys()[0][1]
        with _cache_lock:
            key = (str(directory), kek)
            if key not in _cache:
                _cache[key] = cls(directory, kek)
            return _cache[key]

    def _load_or_create(self) -> dict[str, Any]:
        self.directory.mkdir(parents=True, exist_ok=True)
        state_file = self.directory / "pki.json"
        with open(self.directory / ".lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if state_file.exists():
                return json.loads(state_file.read_text())
            state = self._create()
            state_file.write_text(json.dumps(state, indent=1))
            return state

    def _create(self) -> dict[str, Any]:
        state: dict[str, Any] = {"created_at": dt.datetime.now(dt.timezone.utc).isoformat()}
        for alg in ALGS:
            hierarchy = create_hierarchy(alg, org=ORG)
            state[alg] = {
                "root_cert": _pem(hierarchy.root.cert),
                "root_key_id": self.keystore.import_key(hierarchy.root.key, f"{alg} root CA"),
                "issuing_cert": _pem(hierarchy.issuing.cert),
                "issuing_key_id": self.keystore.import_key(hierarchy.issuing.key, f"{alg} issuing CA"),
            }
            if alg == "sm2":
                maker = hierarchy.issuing.new_identity(
                    CompanySubject(ORG, common_name=f"{ORG} 电子印章制作"), alg="sm2",
                    validity=dt.timedelta(days=3650))
                state["seal_maker"] = {"cert": _pem(maker.cert),
                                       "key_id": self.keystore.import_key(maker.key, "seal maker")}
        return state

    def issuing_ca(self, alg: str) -> CertificateAuthority:
        entry = self._state["sm2" if alg == "sm2" else "rsa2048"]
        return CertificateAuthority(signer=self.keystore.signer(entry["issuing_key_id"]),
                                    cert=_cert(entry["issuing_cert"]),
                                    chain=[_cert(entry["root_cert"])])

    def roots(self) -> list[x509.Certificate]:
        return [_cert(self._state[alg]["root_cert"]) for alg in ALGS]

    def seal_maker(self) -> Identity:
        """The identity that signs SESeal structures (its key object, from the key store)."""
        entry = self._state["seal_maker"]
        ca = self.issuing_ca("sm2")
        key = self.keystore._private(entry["key_id"])  # noqa: SLF001 - in-process soft key
        return Identity.create(key, _cert(entry["cert"]), [ca.cert, *ca.chain])

    def issue_company_certificate(self, alg: str, company: str, uscc: str = "",
                                  years: int = 3) -> dict[str, Any]:
        """A long-term company certificate with its key generated inside the key store."""
        key_alg = "sm2" if alg == "sm2" else "rsa2048"
        key_id = self.keystore.generate_key(key_alg, f"company {company} {alg}")
        ca = self.issuing_ca(alg)
        cert = ca.issue(CompanySubject(company, credit_code=uscc or None),
                        self.keystore.public_key(key_id), validity=dt.timedelta(days=365 * years))
        return {"key_id": key_id, "cert_pem": _pem(cert),
                "chain_pem": dump_certificates([ca.cert, *ca.chain]).decode(),
                "not_after": cert.not_valid_after}
