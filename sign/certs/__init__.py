"""Certificates: internal CA, import, chain validation, key store.

Certificates are ``asn1crypto.x509.Certificate`` objects throughout. Modules:

* :mod:`sign.certs.ca` — ``create_hierarchy``, ``CertificateAuthority`` (issue, revoke, CRL)
* :mod:`sign.certs.profiles` — subject specs (``CompanySubject``, ``EventSubject``, ``TSASubject``...)
* :mod:`sign.certs.identity` — ``Identity`` (key + cert + chain + PEMs)
* :mod:`sign.certs.importing` — PEM/DER/PKCS#7/PKCS#12 import; :mod:`sign.certs.pkcs12` — PKCS#12 (SM2 too)
* :mod:`sign.certs.validate` — ``validate_chain``, ``TrustStore``
* :mod:`sign.certs.revocation` — ``is_revoked``, ``find_revocation``
* :mod:`sign.certs.keystore` — ``KeyStore``, ``SoftKeyStore``
* :mod:`sign.certs.pem`, :mod:`sign.certs.keys`, :mod:`sign.certs.oids`
"""
from sign.certs import oids  # noqa: F401  (registers SM2/SM3 OIDs with asn1crypto)
from sign.certs.ca import CAHierarchy, CertificateAuthority, create_hierarchy
from sign.certs.errors import (
    CertificateError, KeyNotFound, KeyStoreError, RevocationError, UnsupportedAlgorithm, UnsupportedMechanism,
    WrongKEK,
)
from sign.certs.identity import Identity
from sign.certs.importing import import_certificates, import_pem_identity, import_pkcs12
from sign.certs.keystore import KeyStore, SoftKeyStore
from sign.certs.pkcs12 import export_pkcs12
from sign.certs.profiles import CASubject, CompanySubject, EventSubject, TSASubject, hash_id_number
from sign.certs.revocation import is_revoked
from sign.certs.validate import TrustStore, ValidationResult, validate_chain

__all__ = [
    "CAHierarchy", "CASubject", "CertificateAuthority", "CertificateError", "CompanySubject", "EventSubject",
    "Identity", "KeyNotFound", "KeyStore", "KeyStoreError", "RevocationError", "SoftKeyStore", "TSASubject",
    "TrustStore", "UnsupportedAlgorithm", "UnsupportedMechanism", "ValidationResult", "WrongKEK",
    "create_hierarchy", "export_pkcs12", "hash_id_number", "import_certificates", "import_pem_identity", "import_pkcs12",
    "is_revoked", "validate_chain",
]
