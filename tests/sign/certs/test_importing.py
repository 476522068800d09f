"""Import: certificates (PEM/DER/PKCS#7), CA chains, PKCS#12 (RSA and SM2), PEM pairs, garbage."""
from __future__ import annotations

import shutil
import subprocess

import pytest
from cryptography import x509 as cx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs7, pkcs12

from sign.certs.errors import CertificateError
from sign.certs.importing import (
    import_ca_chain, import_certificate, import_certificates, import_pem_identity, import_pkcs12, order_chain,
)
from sign.certs.pem import dump_certificates, dump_crl, load_crls
from sign.certs.profiles import CompanySubject
from sign.certs.validate import validate_chain

GARBAGE = [b"", b"garbage", b"\x30\x82\x01\x00" + b"\x00" * 10, b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"]


def test_single_certificate_pem_and_der(rsa_identity):
    assert import_certificate(rsa_identity.cert_pem).dump() == rsa_identity.cert.dump()
    assert import_certificate(rsa_identity.cert.dump()).dump() == rsa_identity.cert.dump()
    with pytest.raises(CertificateError, match="expected one"):
        import_certificate(rsa_identity.chain_pem)


def test_pkcs7_bundle(rsa_identity):
    certs = [cx.load_der_x509_certificate(c.dump()) for c in rsa_identity.full_chain()]
    der = pkcs7.serialize_certificates(certs, serialization.Encoding.DER)
    pem_ = pkcs7.serialize_certificates(certs, serialization.Encoding.PEM)
    for blob in (der, pem_):
        got = import_certificates(blob)  # a SET OF: order is not kept
        assert sorted(c.dump() for c in got) == sorted(c.dump() for c in rsa_identity.full_chain())


def test_external_ca_chain(ca):
    roots, intermediates = import_ca_chain(dump_certificates([ca.rsa.issuing.cert, ca.rsa.root.cert]))
    assert [c.dump() for c in roots] == [ca.rsa.root.cert.dump()]
    assert [c.dump() for c in intermediates] == [ca.rsa.issuing.cert.dump()]
    ee = ca.rsa.issuing.new_identity(CompanySubject("EE")).cert
    with pytest.raises(CertificateError, match="not CA"):
        import_ca_chain(dump_certificates([ca.rsa.root.cert, ee]))


@pytest.mark.parametrize("blob", GARBAGE)
def test_garbage_certificates(blob):
    with pytest.raises(CertificateError):
        import_certificates(blob)


def test_rsa_pkcs12(rsa_identity):
    key = serialization.load_pem_private_key(rsa_identity.key_pem, None)
    certs = [cx.load_der_x509_certificate(c.dump()) for c in rsa_identity.full_chain()]
    p12 = pkcs12.serialize_key_and_certificates(b"company", key, certs[0], certs[:0:-1],
                                                serialization.BestAvailableEncryption(b"pw"))
    ident = import_pkcs12(p12, "pw")
    assert ident.alg == "rsa" and ident.cert.dump() == rsa_identity.cert.dump()
    assert [c.dump() for c in ident.chain] == [c.dump() for c in rsa_identity.chain]
    assert ident.root.dump() == rsa_identity.root.dump()
    assert validate_chain(ident.cert, ident.chain, trust=[ident.root]).ok
    with pytest.raises(CertificateError, match="wrong password"):
        import_pkcs12(p12, b"nope")


@pytest.mark.parametrize("blob", [b"", b"not a pfx", b"\x30\x03\x02\x01\x03"])
def test_garbage_pkcs12(blob):
    with pytest.raises(CertificateError):
        import_pkcs12(blob, b"pw")


def _openssl_sm2_ok() -> bool:
    if shutil.which("openssl") is None:
        return False
    res = subprocess.run(["openssl", "ecparam", "-list_curves"], capture_output=True, text=True)
    return "SM2" in res.stdout


@pytest.mark.skipif(not _openssl_sm2_ok(), reason="openssl without SM2")
@pytest.mark.parametrize("opts", [[], ["-keypbe", "PBE-SHA1-3DES", "-certpbe", "PBE-SHA1-3DES", "-macalg", "sha1"]],
                         ids=["pbes2-aes", "sha1-3des"])
def test_sm2_pkcs12_made_by_openssl(tmp_path, sm2_identity, opts):
    (tmp_path / "k.pem").write_bytes(sm2_identity.key_pem)
    (tmp_path / "c.pem").write_bytes(sm2_identity.cert_pem)
    (tmp_path / "ch.pem").write_bytes(sm2_identity.chain_pem)
    subprocess.run(["openssl", "pkcs12", "-export", "-inkey", tmp_path / "k.pem", "-in", tmp_path / "c.pem",
                    "-certfile", tmp_path / "ch.pem", "-passout", "pass:秘密", "-out", tmp_path / "x.p12", *opts],
                   check=True, capture_output=True)
    ident = import_pkcs12((tmp_path / "x.p12").read_bytes(), "秘密")
    assert ident.alg == "sm2" and ident.key.to_bytes() == sm2_identity.key.to_bytes()
    assert ident.cert.dump() == sm2_identity.cert.dump()
    assert [c.dump() for c in ident.chain] == [c.dump() for c in sm2_identity.chain]
    assert validate_chain(ident.cert, ident.chain, trust=[sm2_identity.root]).ok
    with pytest.raises(CertificateError, match="wrong password"):
        import_pkcs12((tmp_path / "x.p12").read_bytes(), "wrong")


@pytest.mark.parametrize("which", ["rsa", "sm2"])
def test_pem_pair(which, rsa_identity, sm2_identity):
    src = rsa_identity if which == "rsa" else sm2_identity
    ident = import_pem_identity(src.key_pem, src.cert_pem, src.chain_pem)
    assert ident.alg == which and ident.cert.dump() == src.cert.dump()
    assert [c.dump() for c in ident.chain] == [c.dump() for c in src.chain]
    other = sm2_identity if which == "rsa" else rsa_identity
    with pytest.raises(CertificateError, match="does not match"):
        import_pem_identity(other.key_pem, src.cert_pem)
    with pytest.raises(CertificateError):
        import_pem_identity(b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", src.cert_pem)


def test_encrypted_pem_keys(rsa_identity, sm2_identity):
    from sign.certs.pem import dump_private_key, load_private_key

    for ident in (rsa_identity, sm2_identity):
        enc = dump_private_key(ident.key, password=b"pw")
        assert b"ENCRYPTED" in enc
        loaded = import_pem_identity(enc, ident.cert_pem, password=b"pw")
        assert loaded.cert.dump() == ident.cert.dump()
        with pytest.raises(CertificateError):
            load_private_key(enc, b"bad")


def test_order_chain_and_crl_pem(ca, rsa_identity):
    assert [c.dump() for c in order_chain(rsa_identity.cert, rsa_identity.chain[::-1])] == [
        c.dump() for c in rsa_identity.chain]
    crl_ = ca.rsa.root.crl()
    assert load_crls(dump_crl(crl_))[0].dump() == crl_.dump()
    assert load_crls(crl_.dump())[0].dump() == crl_.dump()
    with pytest.raises(CertificateError):
        load_crls(b"nope")


def test_export_rsa_pkcs12_read_by_cryptography(rsa_identity):
    from sign.certs.pkcs12 import export_pkcs12

    blob = export_pkcs12(rsa_identity, "pw", friendly_name="company")
    p12 = pkcs12.load_pkcs12(blob, b"pw")
    assert p12.cert.friendly_name == b"company"
    assert p12.cert.certificate.public_bytes(serialization.Encoding.DER) == rsa_identity.cert.dump()
    assert len(p12.additional_certs) == 2
    assert p12.key.private_numbers() == rsa_identity.key.private_numbers()
    assert import_pkcs12(blob, "pw").cert.dump() == rsa_identity.cert.dump()


@pytest.mark.skipif(not _openssl_sm2_ok(), reason="openssl without SM2")
def test_export_sm2_pkcs12_read_by_openssl(tmp_path, sm2_identity):
    from sign.certs.pkcs12 import export_pkcs12

    (tmp_path / "x.p12").write_bytes(export_pkcs12(sm2_identity, "pw"))
    out = subprocess.run(["openssl", "pkcs12", "-in", tmp_path / "x.p12", "-passin", "pass:pw", "-nodes"],
                         capture_output=True, check=True).stdout
    key_pem = out[out.index(b"-----BEGIN PRIVATE KEY-----"):]
    from sign.certs.pem import load_private_key

    assert load_private_key(key_pem).to_bytes() == sm2_identity.key.to_bytes()
    assert sm2_identity.cert_pem.strip().splitlines()[1] in out
    ident = import_pkcs12((tmp_path / "x.p12").read_bytes(), "pw")
    assert ident.key.to_bytes() == sm2_identity.key.to_bytes()
    assert [c.dump() for c in ident.chain] == [c.dump() for c in sm2_identity.chain]
