"""Fixtures of the document-engine tests (no services needed)."""
from __future__ import annotations

import datetime as dt

import pytest

from .doc_testkit import load_template, red_seal_png


@pytest.fixture(scope="session")
def rsa_signer():
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    from sign.signers import SoftwareSigner
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "示例财产保险股份有限公司 测试"),
                      x509.NameAttribute(NameOID.COUNTRY_NAME, "CN")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=30))
            .add_extension(x509.KeyUsage(True, True, False, False, False, False, False, False, False), True)
            .sign(key, hashes.SHA256()))
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return SoftwareSigner.from_pem(key_pem, cert.public_bytes(serialization.Encoding.PEM))


@pytest.fixture(scope="session")
def filled_policy() -> bytes:
    from documents.fill import fill
    pdf, tpl, sample = load_template("e_policy")
    return fill(pdf, tpl, sample)


@pytest.fixture(scope="session")
def signed_policy(tmp_path_factory, filled_policy, rsa_signer) -> bytes:
    """The filled e-policy with a visible red company seal at the keyword 保险人盖章."""
    from sign.pdf import sign_pdf
    from sign.specs import AppearanceSpec, SignatureSpec
    _, tpl, _ = load_template("e_policy")
    pos = next(p for p in tpl.sign_positions if p.role == "insurer")
    d = tmp_path_factory.mktemp("signed")
    src, dst = d / "in.pdf", d / "out.pdf"
    src.write_bytes(filled_policy)
    spec = SignatureSpec(reason="承保", location="北京",
                         appearance=AppearanceSpec(image=red_seal_png(), **pos.appearance_kwargs()))
    sign_pdf(str(src), str(dst), rsa_signer, spec)
    return dst.read_bytes()
