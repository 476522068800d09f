"""Internal CA (SM2, GM/T 0015 profile): independent checks with gmssl and openssl."""
from __future__ import annotations

import shutil
import subprocess

import pytest

from sign.certs.ca import create_hierarchy
from sign.certs.pem import dump_certificate, load_certificate, load_private_key
from sign.certs.profiles import CompanySubject, hash_id_number
from tests.gmssl_check import gmssl_verify_cert as gmssl_verify

SM2_CURVE = "1.2.156.10197.1.301"
SM2_WITH_SM3 = "1.2.156.10197.1.501"


def _cert_ok(cert, issuer) -> bool:
    return gmssl_verify(issuer, cert["signature_value"].native, cert["tbs_certificate"].dump())


def test_sm2_profile(sm2_identity):
    for cert in sm2_identity.full_chain():
        assert cert["signature_algorithm"]["algorithm"].dotted == SM2_WITH_SM3
        assert cert["tbs_certificate"]["signature"]["algorithm"].dotted == SM2_WITH_SM3
        assert cert["signature_algorithm"]["parameters"].native is None
        spki = cert.public_key["algorithm"]
        assert spki["algorithm"].dotted == "1.2.840.10045.2.1"  # id-ecPublicKey
        assert spki["parameters"].chosen.dotted == SM2_CURVE
    cert = sm2_identity.cert
    assert cert.key_usage_value.native == {"digital_signature", "non_repudiation"}
    assert cert.key_identifier and cert.authority_key_identifier == sm2_identity.chain[0].key_identifier
    assert cert.basic_constraints_value["ca"].native is False
    assert cert.crl_distribution_points


def test_sm2_signatures_verify_with_gmssl(sm2_identity):
    leaf, issuing, root = sm2_identity.full_chain()
    assert _cert_ok(leaf, issuing)
    assert _cert_ok(issuing, root)
    assert _cert_ok(root, root)
    assert not _cert_ok(leaf, root)


def test_sm2_event_certificate(event_identity_sm2, id_hash_key):
    cert = event_identity_sm2.cert
    subject = cert.subject.native
    assert subject["common_name"] == "张三"
    assert subject["serial_number"] == hash_id_number("11010119900307777X", id_hash_key)
    assert b"11010119900307777X" not in cert.dump()
    assert _cert_ok(cert, event_identity_sm2.chain[0])


def test_sm2_tsa_certificate(tsa_identity_sm2):
    eku = tsa_identity_sm2.cert.extended_key_usage_value
    assert eku.native == ["time_stamping"]
    assert "extended_key_usage" in tsa_identity_sm2.cert.critical_extensions


def test_sm2_crl_signature_verifies_with_gmssl():
    h = create_hierarchy("sm2", org="SM2 CRL CA")
    ident = h.issuing.new_identity(CompanySubject("SM2 Revoked Co"))
    h.issuing.revoke(ident.cert, reason="superseded")
    crl_ = h.issuing.crl()
    assert crl_["signature_algorithm"]["algorithm"].dotted == SM2_WITH_SM3
    assert gmssl_verify(h.issuing.cert, crl_["signature"].native, crl_["tbs_cert_list"].dump())
    entry = crl_["tbs_cert_list"]["revoked_certificates"][0]
    assert entry["user_certificate"].native == ident.cert.serial_number
    assert entry.crl_reason_value.native == "superseded"


def test_sm2_pem_round_trip(sm2_identity):
    key = load_private_key(sm2_identity.key_pem)
    assert key.to_bytes() == sm2_identity.key.to_bytes()
    assert load_certificate(sm2_identity.cert_pem).dump() == sm2_identity.cert.dump()


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl not installed")
def test_openssl_parses_sm2_and_rsa_certificates(sm2_identity, rsa_identity):
    for ident in (sm2_identity, rsa_identity):
        out = subprocess.run(["openssl", "x509", "-noout", "-text"], input=dump_certificate(ident.cert),
                             capture_output=True, check=True).stdout.decode()
        assert "Digital Signature, Non Repudiation" in out
        assert "CA:FALSE" in out
    out = subprocess.run(["openssl", "x509", "-noout", "-text"], input=sm2_identity.cert_pem,
                         capture_output=True, check=True).stdout.decode()
    assert "SM2" in out or SM2_WITH_SM3 in out


def _openssl_sm2() -> bool:
    if shutil.which("openssl") is None:
        return False
    return "SM2" in subprocess.run(["openssl", "ecparam", "-list_curves"], capture_output=True, text=True).stdout


@pytest.mark.skipif(not _openssl_sm2(), reason="openssl without SM2")
def test_openssl_verifies_each_sm2_signature_with_the_gmt_user_id(tmp_path, sm2_identity):
    leaf, issuing, root = sm2_identity.full_chain()
    for name, cert in (("leaf", leaf), ("int", issuing), ("root", root)):
        (tmp_path / f"{name}.pem").write_bytes(dump_certificate(cert))

    def verify(ca_file: str, target: str, *opts: str) -> bool:
        res = subprocess.run(["openssl", "verify", *opts, "-CAfile", tmp_path / ca_file, tmp_path / target],
                             capture_output=True, text=True)
        return res.returncode == 0

    distid = ("-vfyopt", "distid:1234567812345678")
    assert verify("root.pem", "int.pem", *distid)
    assert verify("int.pem", "leaf.pem", *distid, "-partial_chain")
    assert not verify("root.pem", "int.pem")  # OpenSSL's default (empty) id does not match


@pytest.mark.skipif(not _openssl_sm2(), reason="openssl without SM2")
def test_openssl_made_sm2_certificate_validates(tmp_path):
    """OpenSSL 3 signs SM2 certificates with an empty user id; validation accepts that too."""
    from sign.certs.validate import signed_by, validate_chain

    key, crt = tmp_path / "k.pem", tmp_path / "c.pem"
    subprocess.run(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:SM2", "-out", key],
                   check=True, capture_output=True)
    subprocess.run(["openssl", "req", "-new", "-x509", "-key", key, "-sm3", "-subj", "/CN=OpenSSL SM2 Root",
                    "-days", "2", "-out", crt], check=True, capture_output=True)
    cert = load_certificate(crt.read_bytes())
    assert cert["signature_algorithm"]["algorithm"].dotted == SM2_WITH_SM3
    assert signed_by(cert, cert)
    assert validate_chain(cert, trust=[cert], purpose="any").ok
