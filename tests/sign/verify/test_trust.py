"""Trust and time: certificates outside the trust store, `at` outside validity."""
from __future__ import annotations

import datetime as dt

from sign.verify import verify


def _codes(sig) -> set[str]:
    return {p.code for p in sig.trust.errors}


def test_signer_outside_trust_store_is_untrusted(pyhanko_rsa_pdf):
    from sign.certs.ca import create_hierarchy
    stranger = create_hierarchy("rsa2048", org="Stranger Inc").root.cert
    report = verify(pyhanko_rsa_pdf, trust=[stranger])
    (sig,) = report.signatures
    assert sig.intact and sig.crypto_valid
    assert sig.trust.checked and not sig.trust.trusted
    assert "UNTRUSTED_ROOT" in _codes(sig)
    assert not report.valid


def test_at_after_expiry(pyhanko_rsa_pdf, rsa_root):
    (sig,) = verify(pyhanko_rsa_pdf, trust=[rsa_root],
                    at=dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=365 * 40)).signatures
    assert not sig.valid and "EXPIRED" in _codes(sig)


def test_at_before_validity(pyhanko_rsa_pdf, rsa_root):
    (sig,) = verify(pyhanko_rsa_pdf, trust=[rsa_root], at=dt.datetime(2001, 1, 1)).signatures
    assert not sig.valid and "NOT_YET_VALID" in _codes(sig)
    assert sig.trust.checked_at == dt.datetime(2001, 1, 1, tzinfo=dt.timezone.utc)


def test_trust_store_object_is_accepted(pyhanko_rsa_pdf, rsa_root):
    from sign.certs.validate import TrustStore

    assert verify(pyhanko_rsa_pdf, trust=TrustStore([rsa_root])).valid


def test_intermediate_alone_is_a_trust_anchor(pyhanko_rsa_pdf, rsa_identity):
    issuing = rsa_identity.chain[0]
    (sig,) = verify(pyhanko_rsa_pdf, trust=[issuing]).signatures
    assert sig.trust.trusted, sig.trust
