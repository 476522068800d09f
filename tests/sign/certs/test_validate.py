"""Chain building and validation: positive and negative cases, RSA and SM2."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from asn1crypto import x509

from sign.certs.ca import CertificateAuthority, create_hierarchy, sign_tbs_certificate
from sign.certs.keys import KeySigner
from sign.certs.pem import dump_certificates
from sign.certs.profiles import CASubject, CompanySubject, Kind
from sign.certs.validate import (
    BAD_SIGNATURE, EXPIRED, KEY_USAGE, NOT_CA, NOT_YET_VALID, PATH_LENGTH, REVOCATION_UNKNOWN, REVOKED,
    UNTRUSTED_ROOT, TrustStore, signed_by, validate_chain,
)

NOW = datetime.now(timezone.utc)


@pytest.fixture(params=["rsa", "sm2"])
def hierarchy(request, ca):
    return ca.hierarchy(request.param)


@pytest.fixture
def fresh(request):
    """A private hierarchy per test (revocations do not leak into the session CA)."""
    return create_hierarchy(getattr(request, "param", "rsa2048"), org="Fresh CA")


def _ids(result):
    return [e.code for e in result.errors]


def test_valid_chain(hierarchy):
    ident = hierarchy.issuing.new_identity(CompanySubject("Valid Co"))
    result = validate_chain(ident.cert, ident.chain[:1], trust=[hierarchy.root.cert])
    assert result.ok, result.errors
    assert [c.dump() for c in result.path] == [c.dump() for c in ident.full_chain()]
    assert result.errors == [] and result.revocation is None


def test_path_built_from_unordered_pool_with_noise(ca):
    ident = ca.rsa.issuing.new_identity(CompanySubject("Pool Co"))
    other = create_hierarchy("rsa2048", org="Noise")
    pool = [other.issuing.cert, other.root.cert, ident.chain[0]]
    result = validate_chain(ident.cert, pool, trust=[other.root.cert, ca.rsa.root.cert])
    assert result.ok and len(result.path) == 3


def test_trust_store_from_pem_files(tmp_path, ca, rsa_identity):
    f1, f2 = tmp_path / "a.pem", tmp_path / "b.pem"
    f1.write_bytes(dump_certificates([ca.rsa.root.cert]))
    f2.write_bytes(dump_certificates([create_hierarchy(org="Other").root.cert]))
    store = TrustStore.from_pem_files(f1, f2)
    assert len(store) == 2 and rsa_identity.root in store
    assert validate_chain(rsa_identity.cert, rsa_identity.chain, trust=store).ok


def test_expired_and_not_yet_valid(hierarchy):
    ident = hierarchy.issuing.new_identity(CompanySubject("Short Co"), validity=timedelta(hours=1))
    trust = [hierarchy.root.cert]
    assert _ids(validate_chain(ident.cert, ident.chain, trust=trust, at=NOW + timedelta(hours=2))) == [EXPIRED]
    future = hierarchy.issuing.new_identity(CompanySubject("Future Co"), not_before=NOW + timedelta(days=1))
    assert _ids(validate_chain(future.cert, future.chain, trust=trust)) == [NOT_YET_VALID]
    assert NOT_YET_VALID in validate_chain(ident.cert, ident.chain, trust=trust, at=NOW - timedelta(days=1)).codes
    old = hierarchy.issuing.new_identity(CompanySubject("Old Co"), validity=timedelta(days=1),
                                         not_before=NOW - timedelta(days=3))
    result = validate_chain(old.cert, old.chain, trust=trust)
    assert not result.ok and _ids(result) == [EXPIRED]
    # long-term validation: valid at a moment in the past
    assert validate_chain(old.cert, old.chain, trust=trust, at=NOW - timedelta(days=2, hours=12)).ok


def test_wrong_root(hierarchy, ca):
    ident = hierarchy.issuing.new_identity(CompanySubject("Wrong Root Co"))
    other = create_hierarchy("rsa2048", org="Other CA")
    result = validate_chain(ident.cert, ident.chain[:1], trust=[other.root.cert])
    assert not result.ok and UNTRUSTED_ROOT in result.codes


def test_same_name_different_key_root():
    a = create_hierarchy("rsa2048", org="Twin")
    b = create_hierarchy("rsa2048", org="Twin")  # identical names, different keys
    ident = a.issuing.new_identity(CompanySubject("Twin Co"))
    result = validate_chain(ident.cert, [a.issuing.cert], trust=[b.root.cert])
    assert not result.ok and result.codes & {UNTRUSTED_ROOT, BAD_SIGNATURE}


def _tampered(cert: x509.Certificate) -> x509.Certificate:
    der = bytearray(cert.dump())
    name = "Tamper Co".encode()
    pos = bytes(der).index(name)
    der[pos] = ord("X")
    return x509.Certificate.load(bytes(der))


def test_tampered_certificate(hierarchy):
    ident = hierarchy.issuing.new_identity(CompanySubject("Tamper Co"))
    bad = _tampered(ident.cert)
    assert not signed_by(bad, ident.chain[0]) and signed_by(ident.cert, ident.chain[0])
    result = validate_chain(bad, ident.chain, trust=[hierarchy.root.cert])
    assert _ids(result) == [BAD_SIGNATURE]


def test_non_ca_issuer(hierarchy):
    ee = hierarchy.issuing.new_identity(CompanySubject("Rogue Issuer Co"))
    rogue = CertificateAuthority(KeySigner(ee.key), ee.cert, list(ee.chain))
    victim = rogue.issue(CompanySubject("Victim Co"), rogue.signer.public_key_info())
    result = validate_chain(victim, [ee.cert, *ee.chain], trust=[hierarchy.root.cert])
    assert NOT_CA in result.codes and not result.ok
    assert BAD_SIGNATURE not in result.codes


def test_path_length_exceeded(fresh):
    sub2 = fresh.issuing.create_subordinate(CASubject("Too Deep CA", "Fresh CA"))
    ident = sub2.new_identity(CompanySubject("Deep Co"))
    result = validate_chain(ident.cert, ident.chain, trust=[fresh.root.cert])
    assert PATH_LENGTH in result.codes


def test_key_usage_for_purpose(ca, rsa_identity, tsa_identity_rsa):
    trust = [ca.rsa.root.cert]
    assert KEY_USAGE in validate_chain(rsa_identity.cert, rsa_identity.chain, trust=trust,
                                       purpose="timestamping").codes
    assert validate_chain(tsa_identity_rsa.cert, tsa_identity_rsa.chain, trust=trust,
                          purpose="timestamping").ok
    # a CA certificate (keyCertSign only) used as a signing certificate
    no_sig = ca.rsa.issuing.issue(CompanySubject("KU Co"), ca.rsa.issuing.signer.public_key_info(),
                                  kind=Kind.ISSUING_CA)
    tbs = no_sig["tbs_certificate"].copy()
    exts = [e for e in tbs["extensions"] if e["extn_id"].native != "key_usage"]
    exts.append(x509.Extension({"extn_id": "key_usage", "critical": True, "extn_value": {"key_cert_sign"}}))
    tbs["extensions"] = exts
    cert = sign_tbs_certificate(tbs, ca.rsa.issuing.signer)
    assert KEY_USAGE in validate_chain(cert, [ca.rsa.issuing.cert], trust=trust).codes


@pytest.mark.parametrize("fresh", ["rsa2048", "sm2"], indirect=True)
def test_revoked(fresh):
    ident = fresh.issuing.new_identity(CompanySubject("Revoked Co"))
    trust = [fresh.root.cert]
    before = fresh.issuing.crl()
    assert validate_chain(ident.cert, ident.chain, trust=trust, crls=[before]).ok
    when = datetime.now(timezone.utc) - timedelta(seconds=30)  # after the cert was issued
    fresh.issuing.revoke(ident.cert, reason="key_compromise", date=when)
    crl_ = fresh.issuing.crl()
    result = validate_chain(ident.cert, ident.chain, trust=trust, crls=[crl_])
    assert _ids(result) == [REVOKED]
    assert result.revocation.reason == "key_compromise" and result.revocation.date == when.replace(microsecond=0)
    # before the revocation date the certificate was good (long-term validation)
    assert validate_chain(ident.cert, ident.chain, trust=trust, crls=[crl_], at=when - timedelta(minutes=1)).ok


def test_crl_from_wrong_key_is_ignored(fresh):
    ident = fresh.issuing.new_identity(CompanySubject("Forged CRL Co"))
    impostor = CertificateAuthority.create_root(CASubject(fresh.issuing.cert.subject.native["common_name"],
                                                          "Fresh CA"))
    impostor.revoke(ident.cert.serial_number, reason="key_compromise")
    forged = impostor.crl()
    assert forged.issuer == ident.cert.issuer
    assert validate_chain(ident.cert, ident.chain, trust=[fresh.root.cert], crls=[forged]).ok


def test_require_revocation(fresh):
    ident = fresh.issuing.new_identity(CompanySubject("Needs CRL Co"))
    trust = [fresh.root.cert]
    result = validate_chain(ident.cert, ident.chain, trust=trust, require_revocation=True)
    assert result.codes == {REVOCATION_UNKNOWN}
    crls = [fresh.issuing.crl(), fresh.root.crl()]
    assert validate_chain(ident.cert, ident.chain, trust=trust, crls=crls, require_revocation=True).ok
    stale = validate_chain(ident.cert, ident.chain, trust=trust, crls=crls, require_revocation=True,
                           at=NOW + timedelta(days=30))
    assert stale.codes == {REVOCATION_UNKNOWN}


def test_root_itself_trusted(ca):
    assert validate_chain(ca.rsa.root.cert, trust=[ca.rsa.root.cert], purpose="any").ok


def test_ecdsa_hierarchy_with_crl():
    h = create_hierarchy("ecdsa-p256", org="EC CA")
    ident = h.issuing.new_identity(CompanySubject("EC Co"))
    assert ident.alg == "ecdsa"
    assert validate_chain(ident.cert, ident.chain, trust=[h.root.cert], crls=[h.issuing.crl()]).ok
    h.issuing.revoke(ident.cert, reason="cessation_of_operation")
    assert validate_chain(ident.cert, ident.chain, trust=[h.root.cert], crls=[h.issuing.crl()]).codes == {REVOKED}
