"""Exceptions raised by :mod:`sign.certs`."""
from __future__ import annotations


class CertificateError(Exception):
    """A certificate, key or bundle could not be parsed, built or used."""


class UnsupportedAlgorithm(CertificateError):
    """The key or signature algorithm is not supported."""


class RevocationError(CertificateError):
    """A CRL could not be built or used."""


class KeyStoreError(Exception):
    """A key store operation failed."""


class KeyNotFound(KeyStoreError):
    """No key with the given id exists in the store."""


class WrongKEK(KeyStoreError):
    """The key-encryption key does not unwrap the stored keys (wrong KEK or tampered file)."""


class UnsupportedMechanism(KeyStoreError):
    """The signing mechanism does not fit the key or is unknown."""
