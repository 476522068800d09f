"""A signing identity: private key, certificate and its chain (issuing CA ... root)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from asn1crypto import x509

from sign.certs.keys import key_family
from sign.certs.pem import dump_certificate, dump_certificates, dump_private_key


@dataclass(frozen=True)
class Identity:
    """Key + certificate + chain.

    ``alg`` is ``"rsa"``, ``"sm2"`` or ``"ecdsa"``; ``key`` a ``cryptography`` private key or
    ``SM2PrivateKey``; ``chain`` the issuers from the issuing CA up to and including the root
    (empty for a self-signed certificate); ``root`` the top of the chain (``None`` when an imported
    chain stops below its root).
    """

    alg: str
    key: Any = field(repr=False)
    cert: x509.Certificate
    chain: list[x509.Certificate] = field(hash=False)
    key_pem: bytes = field(repr=False)
    cert_pem: bytes
    chain_pem: bytes
    root: x509.Certificate | None

    @classmethod
    def create(cls, key: Any, cert: x509.Certificate, chain: list[x509.Certificate] | tuple = ()) -> "Identity":
        chain = list(chain)
        top = chain[-1] if chain else cert
        root = top if top.self_signed in ("maybe", "yes") else None
        return cls(
            alg=key_family(key), key=key, cert=cert, chain=chain, key_pem=dump_private_key(key),
            cert_pem=dump_certificate(cert), chain_pem=dump_certificates(chain), root=root,
        )

    @property
    def subject(self) -> str:
        return self.cert.subject.human_friendly

    def full_chain(self) -> list[x509.Certificate]:
        """The certificate followed by its chain."""
        return [self.cert, *self.chain]
