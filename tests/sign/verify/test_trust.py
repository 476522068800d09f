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


def test_revoked_signer_via_crl_in_dss_and_argument(ca, pyhanko_sign, plain_pdf, rsa_root):
    import io
    import pikepdf
    import verify_testkit as pdfedit
    from sign.certs.ca import utcnow
    from sign.certs.profiles import CompanySubject

    issuing = ca.rsa.issuing
    victim = issuing.new_identity(CompanySubject("被吊销保险公司", credit_code="91110000100000001X"))
    issuing.revoke(victim.cert, reason="key_compromise", date=utcnow() - dt.timedelta(hours=1))
    signed = pyhanko_sign(plain_pdf, victim)
    the_crl = issuing.crl()

    (sig,) = verify(signed, trust=[rsa_root], crls=[the_crl]).signatures
    assert not sig.valid and sig.trust.revocation == "revoked"
    assert "REVOKED" in _codes(sig)

    with pikepdf.open(io.BytesIO(signed)) as pdf:
        root = pdf.Root.objgen
    upd = pdfedit.Update(signed)
    stream = upd.put_stream(upd.new_number(), the_crl.dump())
    dss = upd.put(upd.new_number(), b"<< /CRLs [%d 0 R] >>" % stream)
    upd.put(root[0], pdfedit.unparse(signed, root, DSS=b"%d 0 R" % dss))
    (sig,) = verify(upd.build(), trust=[rsa_root]).signatures
    assert [c.kind for c in sig.changes_after] == ["DSS_UPDATED"]
    assert not sig.valid and "REVOKED" in _codes(sig)


def test_good_crl_reports_revocation_checked(pyhanko_rsa_pdf, rsa_root, ca):
    (sig,) = verify(pyhanko_rsa_pdf, trust=[rsa_root], crls=[ca.rsa.issuing.crl()]).signatures
    assert sig.valid and sig.trust.revocation == "good"


def test_crl_of_another_issuer_gives_unknown_revocation(pyhanko_rsa_pdf, rsa_root):
    from sign.certs.ca import create_hierarchy
    foreign = create_hierarchy("rsa2048", org="Foreign CA").issuing.crl()
    (sig,) = verify(pyhanko_rsa_pdf, trust=[rsa_root], crls=[foreign]).signatures
    assert sig.trust.revocation == "unknown" and sig.valid
