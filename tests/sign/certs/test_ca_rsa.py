"""Internal CA (RSA): profiles, independent checks with cryptography and pyhanko-certvalidator."""
from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

import pytest
from cryptography import x509 as cx
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from pyhanko_certvalidator import CertificateValidator, ValidationContext
from pyhanko_certvalidator.errors import PathValidationError, RevokedError

from sign.certs.ca import create_hierarchy
from sign.certs.profiles import CompanySubject, hash_id_number
from sign.certs.revocation import is_revoked

ID_NUMBER = "11010119900307777X"


def _cx(cert):
    return cx.load_der_x509_certificate(cert.dump())


def _pyhanko_validate(leaf, chain, roots, crls=(), moment=None, usage=frozenset({"non_repudiation"})):
    ctx = ValidationContext(trust_roots=list(roots), other_certs=list(chain), crls=list(crls),
                            moment=moment, allow_fetching=False,
                            revocation_mode="hard-fail" if crls else "soft-fail")
    validator = CertificateValidator(leaf, intermediate_certs=list(chain), validation_context=ctx)
    return asyncio.run(validator.async_validate_usage(set(usage)))


def test_company_certificate_profile(rsa_identity):
    cert = _cx(rsa_identity.cert)
    assert cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == "测试保险股份有限公司"
    assert cert.subject.get_attributes_for_oid(NameOID.SERIAL_NUMBER)[0].value == "91110000100000000X"
    ku = cert.extensions.get_extension_for_class(cx.KeyUsage)
    assert ku.critical and ku.value.digital_signature and ku.value.content_commitment
    assert not ku.value.key_cert_sign
    bc = cert.extensions.get_extension_for_class(cx.BasicConstraints)
    assert bc.critical and not bc.value.ca
    aki = cert.extensions.get_extension_for_class(cx.AuthorityKeyIdentifier).value.key_identifier
    issuer_ski = _cx(rsa_identity.chain[0]).extensions.get_extension_for_class(cx.SubjectKeyIdentifier)
    assert aki == issuer_ski.value.digest
    dp = cert.extensions.get_extension_for_class(cx.CRLDistributionPoints).value
    assert dp[0].full_name[0].value.startswith("http://")
    assert cert.signature_hash_algorithm.name == "sha256"
    assert cert.public_key().key_size == 2048


def test_chain_verifies_with_cryptography(rsa_identity):
    leaf, issuing, root = (_cx(c) for c in [rsa_identity.cert, *rsa_identity.chain])
    leaf.verify_directly_issued_by(issuing)
    issuing.verify_directly_issued_by(root)
    root.verify_directly_issued_by(root)
    assert issuing.extensions.get_extension_for_class(cx.BasicConstraints).value.ca
    assert issuing.extensions.get_extension_for_class(cx.BasicConstraints).value.path_length == 0


@pytest.mark.parametrize("which", ["rsa_identity", "event_identity_rsa", "tsa_identity_rsa"])
def test_path_validates_with_cryptography_verifier(request, which):
    from cryptography.x509.verification import ExtensionPolicy, PolicyBuilder, Store, VerificationError

    ident = request.getfixturevalue(which)
    leaf, issuing, root = (_cx(c) for c in ident.full_chain())

    def verifier(anchor):
        return (PolicyBuilder().store(Store([anchor])).time(datetime.now(timezone.utc))
                .extension_policies(ca_policy=ExtensionPolicy.webpki_defaults_ca(),
                                    ee_policy=ExtensionPolicy.permit_all())
                .build_client_verifier())

    chain = verifier(root).verify(leaf, [issuing]).chain
    assert [c.subject for c in chain] == [leaf.subject, issuing.subject, root.subject]
    with pytest.raises(VerificationError):
        verifier(_cx(create_hierarchy("rsa2048", org="Stranger").root.cert)).verify(leaf, [issuing])


def test_chain_validates_with_pyhanko_certvalidator(rsa_identity):
    path = _pyhanko_validate(rsa_identity.cert, rsa_identity.chain[:1], [rsa_identity.root])
    assert len(path) == 3


def test_event_certificate_hides_id_number(event_identity_rsa, id_hash_key):
    cert = _cx(event_identity_rsa.cert)
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "张三"
    serial = cert.subject.get_attributes_for_oid(NameOID.SERIAL_NUMBER)[0].value
    assert serial == hash_id_number(ID_NUMBER, id_hash_key)
    assert len(serial) == 64 and ID_NUMBER not in serial
    assert ID_NUMBER.encode() not in event_identity_rsa.cert.dump()
    lifetime = cert.not_valid_after_utc - cert.not_valid_before_utc
    assert lifetime <= timedelta(days=2)
    _pyhanko_validate(event_identity_rsa.cert, event_identity_rsa.chain[:1], [event_identity_rsa.root])


def test_id_hash_is_keyed_and_normalised():
    assert hash_id_number("11010119900307777x", b"k1") == hash_id_number(" 11010119900307777X ", b"k1")
    assert hash_id_number(ID_NUMBER, b"k1") != hash_id_number(ID_NUMBER, b"k2")


def test_tsa_certificate_has_critical_time_stamping_eku(tsa_identity_rsa):
    eku = _cx(tsa_identity_rsa.cert).extensions.get_extension_for_class(cx.ExtendedKeyUsage)
    assert eku.critical and list(eku.value) == [ExtendedKeyUsageOID.TIME_STAMPING]


def test_rsa3072_hierarchy():
    h = create_hierarchy("rsa3072", org="Big Key")
    ident = h.issuing.new_identity(CompanySubject("Big Key Co"))
    assert _cx(ident.cert).public_key().key_size == 3072
    _cx(ident.cert).verify_directly_issued_by(_cx(h.issuing.cert))


def test_crl_revocation_checked_by_cryptography_and_pyhanko():
    h = create_hierarchy("rsa2048", org="Revoking CA", crl_url="http://127.0.0.1/x.crl")
    good = h.issuing.new_identity(CompanySubject("Good Co"))
    bad = h.issuing.new_identity(CompanySubject("Bad Co"))
    when = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(minutes=1)
    h.issuing.revoke(bad.cert, reason="key_compromise", date=when)
    crl_ = h.issuing.crl()
    root_crl = h.root.crl()

    ccrl = cx.load_der_x509_crl(crl_.dump())
    assert ccrl.is_signature_valid(_cx(h.issuing.cert).public_key())
    entry = ccrl.get_revoked_certificate_by_serial_number(bad.cert.serial_number)
    assert entry is not None and entry.revocation_date_utc == when
    assert entry.extensions.get_extension_for_class(cx.CRLReason).value.reason == cx.ReasonFlags.key_compromise
    assert ccrl.get_revoked_certificate_by_serial_number(good.cert.serial_number) is None

    assert is_revoked(bad.cert, [crl_]) and not is_revoked(good.cert, [crl_])
    assert is_revoked(bad.cert, [crl_], issuer=h.issuing.cert)
    assert not is_revoked(bad.cert, [crl_], at=when - timedelta(seconds=1))

    _pyhanko_validate(good.cert, [h.issuing.cert], [h.root.cert], crls=[crl_, root_crl])
    with pytest.raises((RevokedError, PathValidationError)):
        _pyhanko_validate(bad.cert, [h.issuing.cert], [h.root.cert], crls=[crl_, root_crl])
