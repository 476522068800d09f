"""SoftwareSigner: PEM loading (encrypted keys), algorithm detection, the sign_raw hook."""
from __future__ import annotations

import hashlib

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

from sign.pdf import sign_pdf
from sign.pdf.errors import SignerError
from sign.signers import Signer, SoftwareSigner
from sign.specs import SignatureSpec

from .pdf_testkit import pyhanko_status


def test_encrypted_rsa_key(rsa_identity):
    enc = rsa_identity.key.private_bytes(serialization.Encoding.PEM,
                                         serialization.PrivateFormat.PKCS8,
                                         serialization.BestAvailableEncryption(b"s3cret"))
    signer = SoftwareSigner.from_pem(enc, rsa_identity.cert_pem, rsa_identity.chain_pem,
                                     password="s3cret")
    assert signer.algorithm == "rsa" and signer.digest_algorithm == "sha256"
    sig = signer.sign_raw(b"data", "sha256")
    rsa_identity.key.public_key().verify(sig, b"data", padding.PKCS1v15(), hashes.SHA256())
    with pytest.raises(SignerError):
        SoftwareSigner.from_pem(enc, rsa_identity.cert_pem, password="wrong")


def test_encrypted_sm2_key(sm2_identity):
    enc = sm2_identity.key.to_pem(b"s3cret")
    signer = SoftwareSigner.from_pem(enc, sm2_identity.cert_pem, sm2_identity.chain_pem,
                                     password=b"s3cret")
    assert signer.algorithm == "sm2" and signer.digest_algorithm == "sm3"
    sig = signer.sign_raw(b"data", "sm3")
    assert sm2_identity.key.public_key().verify(sig, b"data")  # default user ID
    with pytest.raises(SignerError):
        signer.sign_raw(b"data", "sha256")


def test_chain_excludes_signing_cert(rsa_identity):
    signer = SoftwareSigner.from_pem(rsa_identity.key_pem,
                                     rsa_identity.cert_pem + rsa_identity.chain_pem)
    assert [c.dump() for c in signer.cert_chain] == [c.dump() for c in rsa_identity.chain]


class RemoteSigner(Signer):
    """A stand-in for a KeyStore/HSM signer: only the sign_raw hook, the key stays 'remote'."""

    def __init__(self, identity) -> None:
        super().__init__()
        self._identity = identity
        self.calls = 0

    @property
    def signing_cert(self):
        return self._identity.cert

    @property
    def cert_chain(self):
        return self._identity.chain

    def sign_raw(self, data: bytes, digest_alg: str) -> bytes:
        self.calls += 1
        assert digest_alg == "sha256"
        return self._identity.key.sign(data, padding.PKCS1v15(), hashes.SHA256())


def test_custom_signer_hook(tmp_path, simple_pdf, rsa_identity):
    signer = RemoteSigner(rsa_identity)
    out = tmp_path / "remote.pdf"
    res = sign_pdf(simple_pdf, out, signer, SignatureSpec())
    assert signer.calls == 1 and res.algorithm == "rsa"
    data = out.read_bytes()
    br = res.byte_range
    assert res.digest == hashlib.sha256(data[:br[1]] + data[br[2]:]).digest()
    [(_, st)] = pyhanko_status(out, [rsa_identity.root])
    assert st.intact and st.valid
