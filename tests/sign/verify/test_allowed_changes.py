"""Changes after signing that are allowed (or not) by DocMDP: form filling, document timestamps."""
from __future__ import annotations

import io

import verify_testkit as pdfedit
from sign.verify import verify


def test_filling_an_empty_field_is_allowed_at_level_2(pyhanko_sign, rsa_identity, rsa_root):
    signed = pyhanko_sign(pdfedit.make_form_pdf(), rsa_identity, certify=2)
    (sig,) = verify(pdfedit.fill_field(signed, "Zhang San"), trust=[rsa_root]).signatures
    assert sig.valid, sig.changes_after
    kinds = [c.kind for c in sig.changes_after]
    assert "FORM_FILLED" in kinds and "FORM_APPEARANCE_UPDATED" in kinds
    assert any("Zhang San" in c.description for c in sig.changes_after)


def test_filling_is_not_allowed_at_level_1(pyhanko_sign, rsa_identity):
    signed = pyhanko_sign(pdfedit.make_form_pdf(), rsa_identity, certify=1)
    (sig,) = verify(pdfedit.fill_field(signed, "Zhang San")).signatures
    assert not sig.valid
    assert "FIELD_VALUE_CHANGED" in {c.kind for c in sig.disallowed_changes}


def test_changing_a_signed_value_is_not_allowed(pyhanko_sign, rsa_identity):
    signed = pyhanko_sign(pdfedit.make_form_pdf("Zhang San"), rsa_identity)
    (sig,) = verify(pdfedit.fill_field(signed, "Li Si")).signatures
    assert not sig.valid
    change = next(c for c in sig.disallowed_changes if c.kind == "FIELD_VALUE_CHANGED")
    assert "Zhang San" in change.description and "Li Si" in change.description


def test_document_timestamp_after_signature_is_allowed(pyhanko_rsa_pdf, tsa_identity_rsa, rsa_root):
    from asn1crypto import keys
    from cryptography.hazmat.primitives import serialization
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign.signers import PdfTimeStamper
    from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper

    key = keys.PrivateKeyInfo.load(tsa_identity_rsa.key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    stamper = DummyTimeStamper(tsa_cert=tsa_identity_rsa.cert, tsa_key=key)
    out = io.BytesIO()
    PdfTimeStamper(stamper).timestamp_pdf(IncrementalPdfFileWriter(io.BytesIO(pyhanko_rsa_pdf)),
                                          "sha256", output=out)
    report = verify(out.getvalue(), trust=[rsa_root])
    sig, doc_ts = report.signatures
    assert doc_ts.kind == "doc_timestamp" and doc_ts.intact and doc_ts.crypto_valid
    assert doc_ts.timestamp is not None and doc_ts.timestamp.imprint_ok
    assert "DOC_TIMESTAMP_ADDED" in {c.kind for c in sig.changes_after}
    assert sig.valid, sig.changes_after
    assert report.valid, _debug_dump(report)


def _debug_dump(report):  # pragma: no cover - debugging aid
    import json
    return json.dumps(report.to_dict(), indent=1, default=str)


def test_pyhanko_pades_b_lta_dss_and_archive_timestamp(plain_pdf, ca, rsa_identity, tsa_identity_rsa,
                                                       rsa_root):
    """PAdES B-LTA by pyHanko: DSS (certs + CRLs) and a document timestamp after the signature."""
    from asn1crypto import keys
    from cryptography.hazmat.primitives import serialization
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers
    from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper
    from pyhanko_certvalidator import ValidationContext
    from pyhanko_certvalidator.registry import SimpleCertificateStore

    def key(identity):
        return keys.PrivateKeyInfo.load(identity.key.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption()))

    signer = signers.SimpleSigner(signing_cert=rsa_identity.cert, signing_key=key(rsa_identity),
                                  cert_registry=SimpleCertificateStore.from_certs(rsa_identity.chain))
    stamper = DummyTimeStamper(tsa_cert=tsa_identity_rsa.cert, tsa_key=key(tsa_identity_rsa),
                               certs_to_embed=SimpleCertificateStore.from_certs(tsa_identity_rsa.chain))
    vc = ValidationContext(trust_roots=[rsa_root], allow_fetching=False,
                           crls=[ca.rsa.issuing.crl(), ca.rsa.root.crl()])
    meta = signers.PdfSignatureMetadata(field_name="Insurer", embed_validation_info=True,
                                        validation_context=vc, use_pades_lta=True,
                                        subfilter=fields.SigSeedSubFilter.PADES)
    out = io.BytesIO()
    signers.PdfSigner(meta, signer, timestamper=stamper).sign_pdf(
        IncrementalPdfFileWriter(io.BytesIO(plain_pdf)), output=out)
    report = verify(out.getvalue(), trust=[rsa_root])
    assert report.valid, _debug_dump(report)
    sig, archive = report.signatures
    assert sig.timestamp is not None and sig.timestamp.valid
    assert sig.trust.revocation == "good"  # CRLs from the DSS
    assert {"DSS_UPDATED", "DOC_TIMESTAMP_ADDED"} <= {c.kind for c in sig.changes_after}
    assert archive.kind == "doc_timestamp"
