from __future__ import annotations

from cryptography import x509 as cx


def test_rsa_identity_shape(rsa_identity, ca):
    ident = rsa_identity
    assert ident.alg == "rsa"
    assert ident.chain[0].dump() == ca.rsa.issuing.cert.dump()
    assert ident.root.dump() == ca.rsa.root.cert.dump()
    assert ident.key_pem.startswith(b"-----BEGIN PRIVATE KEY-----")
    leaf = cx.load_pem_x509_certificate(ident.cert_pem)
    issuer = cx.load_der_x509_certificate(ident.chain[0].dump())
    leaf.verify_directly_issued_by(issuer)
    assert len(cx.load_pem_x509_certificates(ident.chain_pem)) == 2
