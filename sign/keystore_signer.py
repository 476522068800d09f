"""A PDF/CMS :class:`~sign.signers.Signer` whose private key stays in a :class:`KeyStore`.

The key store is PKCS#11-shaped (``sign(key_id, data, mechanism)``), so the same signer works
with the SM4-wrapped soft store today and an HSM later.
"""
from __future__ import annotations

from typing import Sequence

from asn1crypto import x509

from sign.certs.keystore import KeyStore
from sign.pdf.errors import SignerError
from sign.signers import Signer, cert_algorithm

_MECHANISMS = {("sm2", "sm3"): "SM2_SM3", ("rsa", "sha256"): "RSA_PKCS1_SHA256"}


class KeyStoreSigner(Signer):
    def __init__(self, store: KeyStore, key_id: str, cert: x509.Certificate,
                 chain: Sequence[x509.Certificate] = ()) -> None:
        super().__init__()
        self._store, self._key_id = store, key_id
        self._cert, self._chain = cert, list(chain)
        self._alg = cert_algorithm(cert)

    @property
    def signing_cert(self) -> x509.Certificate:
        return self._cert

    @property
    def algorithm(self) -> str:  # read from the certificate once (the CMS builder asks often)
        return self._alg

    @property
    def cert_chain(self) -> Sequence[x509.Certificate]:
        return self._chain

    def sign_raw(self, data: bytes, digest_alg: str) -> bytes:
        mechanism = _MECHANISMS.get((self._alg, digest_alg))
        if mechanism is None:
            raise SignerError(f"no key-store mechanism for {self._alg} with {digest_alg}")
        return self._store.sign(self._key_id, data, mechanism)
