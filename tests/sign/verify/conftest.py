"""Fixtures for the verification tests: documents signed by pyHanko, by our signer (RSA, SM2)."""
from __future__ import annotations

import io
import pathlib
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).parent))  # verify_testkit (helpers)

import verify_testkit as pdfedit  # noqa: E402


def _pyhanko_sign(data: bytes, identity, field: str = "Signature1", certify: int | None = None,
                  timestamper=None) -> bytes:
    from asn1crypto import keys
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers
    from pyhanko_certvalidator.registry import SimpleCertificateStore
    from cryptography.hazmat.primitives import serialization

    key_der = identity.key.private_bytes(serialization.Encoding.DER,
                                         serialization.PrivateFormat.PKCS8,
                                         serialization.NoEncryption())
    signer = signers.SimpleSigner(
        signing_cert=identity.cert, signing_key=keys.PrivateKeyInfo.load(key_der),
        cert_registry=SimpleCertificateStore.from_certs(identity.chain))
    kwargs = {}
    if certify is not None:
        kwargs = {"certify": True, "docmdp_permissions": fields.MDPPerm(certify)}
    meta = signers.PdfSignatureMetadata(field_name=field, **kwargs)
    out = io.BytesIO()
    signers.PdfSigner(meta, signer, timestamper=timestamper).sign_pdf(
        IncrementalPdfFileWriter(io.BytesIO(data)), output=out)
    return out.getvalue()


@pytest.fixture(scope="session")
def pyhanko_sign():
    return _pyhanko_sign


@pytest.fixture(scope="session")
def plain_pdf() -> bytes:
    return pdfedit.make_pdf()


@pytest.fixture(scope="session")
def rsa_root(rsa_identity):
    return rsa_identity.root


@pytest.fixture(scope="session")
def pyhanko_rsa_pdf(plain_pdf, rsa_identity) -> bytes:
    return _pyhanko_sign(plain_pdf, rsa_identity)


def _ours(data: bytes, signer, **spec) -> bytes:
    from sign.pdf import sign_pdf
    from sign.specs import SignatureSpec

    out = io.BytesIO()
    sign_pdf(data, out, signer, SignatureSpec(**spec))
    return out.getvalue()


@pytest.fixture(scope="session")
def our_sign():
    return _ours


@pytest.fixture(scope="session")
def rsa_soft_signer(rsa_identity):
    from sign.signers import SoftwareSigner
    return SoftwareSigner.from_pem(rsa_identity.key_pem, rsa_identity.cert_pem, rsa_identity.chain_pem)


@pytest.fixture(scope="session")
def sm2_soft_signer(sm2_identity):
    from sign.signers import SoftwareSigner
    return SoftwareSigner.from_pem(sm2_identity.key_pem, sm2_identity.cert_pem, sm2_identity.chain_pem)


@pytest.fixture(scope="session")
def our_rsa_pdf(plain_pdf, rsa_soft_signer) -> bytes:
    return _ours(plain_pdf, rsa_soft_signer, field_name="Insurer")


@pytest.fixture(scope="session")
def our_sm2_pdf(plain_pdf, sm2_soft_signer) -> bytes:
    return _ours(plain_pdf, sm2_soft_signer, field_name="InsurerSM2")
