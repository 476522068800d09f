"""Certificates: internal CA, import, chain validation, key store.

Certificates are ``asn1crypto.x509.Certificate`` objects throughout.
"""
from sign.certs import oids  # noqa: F401  (registers SM2/SM3 OIDs with asn1crypto)
from sign.certs.errors import CertificateError, KeyStoreError
from sign.certs.identity import Identity

__all__ = ["CertificateError", "Identity", "KeyStoreError"]
