"""Shared fixtures for all ``sign`` tests: CA hierarchies (RSA, SM2), identities, a TSA server.

* ``ca``: session :class:`PKI` with ``ca.rsa`` and ``ca.sm2`` (:class:`sign.certs.ca.CAHierarchy`,
  each ``.root`` / ``.issuing`` a :class:`~sign.certs.ca.CertificateAuthority`), CAs valid from
  30 days ago; ``ca.hierarchy("rsa"|"sm2")``. ``ca.sm2`` skips the test while ``sign.crypto.sm2``
  is unavailable. Issue extra certificates freely (``ca.rsa.issuing.new_identity(...)``), but do
  not revoke on these shared CAs: use ``sign.certs.ca.create_hierarchy()`` for revocation tests.
* ``id_hash_key``: HMAC key used for the ID-number hash in per-event subjects.
* ``rsa_identity`` / ``sm2_identity``: company signing identities (:class:`sign.certs.identity.Identity`).
* ``event_identity_rsa`` / ``event_identity_sm2``: per-event individual identities.
* ``tsa_identity_rsa`` / ``tsa_identity_sm2``: TSA identities (EKU timeStamping, critical).
* ``tsa_server_url``: URL of an RSA HTTP TSA on 127.0.0.1 (session); ``tsa_server_url_sm2`` likewise.
"""
from __future__ import annotations

import functools
from datetime import datetime, timedelta, timezone
from typing import Iterator

import pytest

from sign.certs.ca import CAHierarchy, create_hierarchy
from sign.certs.identity import Identity
from sign.certs.profiles import CompanySubject, EventSubject, TSASubject

ID_HASH_KEY = b"test-id-hash-key-0123456789abcdef"
# Session CAs are back-dated so tests can validate at moments in the recent past.
CA_NOT_BEFORE = datetime.now(timezone.utc) - timedelta(days=30)
CRL_URL = "http://127.0.0.1/crl/issuing.crl"


def _require_sm2() -> None:
    pytest.importorskip("sign.crypto.sm2", reason="sign.crypto.sm2 not available yet")


class PKI:
    """Session PKI: an RSA-2048 hierarchy (eager) and an SM2 hierarchy (built on first use)."""

    def __init__(self) -> None:
        self.rsa: CAHierarchy = create_hierarchy("rsa2048", org="Test Insurer", crl_url=CRL_URL,
                                                 not_before=CA_NOT_BEFORE)

    @functools.cached_property
    def _sm2(self) -> CAHierarchy:
        return create_hierarchy("sm2", org="Test Insurer", crl_url=CRL_URL, not_before=CA_NOT_BEFORE)

    @property
    def sm2(self) -> CAHierarchy:
        _require_sm2()
        return self._sm2

    def hierarchy(self, alg: str) -> CAHierarchy:
        return self.sm2 if alg == "sm2" else self.rsa


@pytest.fixture(scope="session")
def ca() -> PKI:
    return PKI()


@pytest.fixture(scope="session")
def id_hash_key() -> bytes:
    return ID_HASH_KEY


def _company(pki: PKI, alg: str) -> Identity:
    subject = CompanySubject("测试保险股份有限公司", credit_code="91110000100000000X")
    return pki.hierarchy(alg).issuing.new_identity(subject)


def _event(pki: PKI, alg: str) -> Identity:
    subject = EventSubject.from_id_number("张三", "11010119900307777X", ID_HASH_KEY,
                                          organization="测试保险股份有限公司", event_id="EVT-0001")
    return pki.hierarchy(alg).issuing.new_identity(subject)


def _tsa(pki: PKI, alg: str) -> Identity:
    return pki.hierarchy(alg).issuing.new_identity(TSASubject(f"Test TSA {alg.upper()}", "Test Insurer"))


@pytest.fixture(scope="session")
def rsa_identity(ca: PKI) -> Identity:
    return _company(ca, "rsa")


@pytest.fixture(scope="session")
def sm2_identity(ca: PKI) -> Identity:
    return _company(ca, "sm2")


@pytest.fixture(scope="session")
def event_identity_rsa(ca: PKI) -> Identity:
    return _event(ca, "rsa")


@pytest.fixture(scope="session")
def event_identity_sm2(ca: PKI) -> Identity:
    return _event(ca, "sm2")


@pytest.fixture(scope="session")
def tsa_identity_rsa(ca: PKI) -> Identity:
    return _tsa(ca, "rsa")


@pytest.fixture(scope="session")
def tsa_identity_sm2(ca: PKI) -> Identity:
    return _tsa(ca, "sm2")


def _serve(identity: Identity) -> Iterator[str]:
    from sign.tsa import TimeStampAuthority, serve_in_thread

    server = serve_in_thread(TimeStampAuthority.from_identity(identity), host="127.0.0.1", port=0)
    try:
        yield server.url
    finally:
        server.close()


@pytest.fixture(scope="session")
def tsa_server_url(tsa_identity_rsa: Identity) -> Iterator[str]:
    """URL of an HTTP RSA TSA (``POST application/timestamp-query``) on a free 127.0.0.1 port."""
    yield from _serve(tsa_identity_rsa)


@pytest.fixture(scope="session")
def tsa_server_url_sm2(tsa_identity_sm2: Identity) -> Iterator[str]:
    yield from _serve(tsa_identity_sm2)
