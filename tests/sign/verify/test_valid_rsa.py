"""Valid RSA signatures: pyHanko-signed and signed by our own pipeline."""
from __future__ import annotations

import datetime as dt

import verify_testkit as pdfedit
from sign.verify import verify


def test_pyhanko_signed_pdf_is_valid_and_trusted(pyhanko_rsa_pdf, rsa_root, rsa_identity):
    report = verify(pyhanko_rsa_pdf, trust=[rsa_root])
    assert report.valid, report.to_dict()
    (sig,) = report.signatures
    assert sig.field_name == "Signature1"
    assert sig.algorithm == "rsa" and sig.digest_algorithm == "sha256"
    assert sig.intact and sig.crypto_valid and sig.covers_whole_file
    assert sig.signer.subject == rsa_identity.cert.subject.human_friendly
    assert sig.signer.serial == format(rsa_identity.cert.serial_number, "x")
    assert sig.trust.checked and sig.trust.trusted
    assert sig.trust.path[0] == rsa_identity.cert.subject.human_friendly
    assert sig.changes_after == () and sig.revisions_after == 0
    assert sig.signing_time is not None
    assert abs(sig.signing_time - dt.datetime.now(dt.timezone.utc)) < dt.timedelta(hours=1)


def test_our_rsa_signature_is_valid(our_rsa_pdf, rsa_root):
    report = verify(our_rsa_pdf, trust=[rsa_root])
    assert report.valid, report.to_dict()
    (sig,) = report.signatures
    assert sig.field_name == "Insurer"
    assert sig.sub_filter == "/ETSI.CAdES.detached"
    assert (sig.algorithm, sig.digest_algorithm) == ("rsa", "sha256")


def test_without_trust_store_crypto_is_checked_but_not_trust(pyhanko_rsa_pdf):
    report = verify(pyhanko_rsa_pdf)
    (sig,) = report.signatures
    assert report.valid and not sig.trust.checked


def test_path_input_and_pem_trust(tmp_path, pyhanko_rsa_pdf, rsa_identity):
    pdf = tmp_path / "signed.pdf"
    pdf.write_bytes(pyhanko_rsa_pdf)
    pem = tmp_path / "roots.pem"
    pem.write_bytes(rsa_identity.chain_pem)  # several certificates in one PEM
    assert verify(str(pdf), trust=[pem]).valid
    assert verify(pdf, trust=[rsa_identity.chain_pem]).valid


def test_second_signature_is_an_allowed_change(pyhanko_rsa_pdf, pyhanko_sign, rsa_identity, rsa_root):
    twice = pyhanko_sign(pyhanko_rsa_pdf, rsa_identity, field="Signature2")
    report = verify(twice, trust=[rsa_root])
    assert report.valid, report.to_dict()
    first, second = report.signatures
    assert not first.covers_whole_file and second.covers_whole_file
    assert first.revisions_after == 1
    kinds = {c.kind for c in first.changes_after}
    assert "SIGNATURE_ADDED" in kinds and all(c.allowed for c in first.changes_after)


def test_our_second_signature_over_pyhanko_one(pyhanko_rsa_pdf, our_sign, rsa_soft_signer, rsa_root):
    twice = our_sign(pyhanko_rsa_pdf, rsa_soft_signer, field_name="Second")
    report = verify(twice, trust=[rsa_root])
    assert report.valid, report.to_dict()
    assert [s.field_name for s in report.signatures] == ["Signature1", "Second"]


def test_certification_level_is_reported(plain_pdf, pyhanko_sign, rsa_identity, rsa_root):
    certified = pyhanko_sign(plain_pdf, rsa_identity, certify=2)
    (sig,) = verify(certified, trust=[rsa_root]).signatures
    assert sig.docmdp_level == 2


def _add_signature_widget(data: bytes) -> bytes:
    """Append a new (unsigned) signature widget on page 1, as a later signer would."""
    upd = pdfedit.Update(data)
    info = pdfedit.page_info(data)
    n = upd.new_number()
    upd.put(n, b"<< /FT /Sig /T (Late) /Type /Annot /Subtype /Widget /Rect [0 0 0 0] /F 132 >>")
    annots = b" ".join(b"%d %d R" % a for a in info["annots"]) + b" %d 0 R" % n
    upd.put(info["page"][0], pdfedit.unparse(data, info["page"], Annots=b"[" + annots + b"]"))
    return upd.build()


def test_signature_field_added_is_allowed_at_level_2(plain_pdf, pyhanko_sign, rsa_identity, rsa_root):
    data = _add_signature_widget(pyhanko_sign(plain_pdf, rsa_identity, certify=2))
    (sig,) = verify(data, trust=[rsa_root]).signatures
    assert sig.valid, sig.changes_after
    assert {c.kind for c in sig.changes_after} == {"SIGNATURE_WIDGET_ADDED", "SIGNATURE_ADDED"}


def test_docmdp_level_1_forbids_later_signature_fields(plain_pdf, pyhanko_sign, rsa_identity,
                                                       rsa_root):
    data = _add_signature_widget(pyhanko_sign(plain_pdf, rsa_identity, certify=1))
    (sig,) = verify(data, trust=[rsa_root]).signatures
    assert sig.docmdp_level == 1
    assert not sig.valid and sig.disallowed_changes
    assert "level 1" in sig.disallowed_changes[0].description


def test_timestamped_signature_reports_tsa(plain_pdf, pyhanko_sign, rsa_identity, tsa_identity_rsa,
                                           rsa_root):
    from asn1crypto import keys
    from cryptography.hazmat.primitives import serialization
    from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper

    key_der = tsa_identity_rsa.key.private_bytes(serialization.Encoding.DER,
                                                 serialization.PrivateFormat.PKCS8,
                                                 serialization.NoEncryption())
    stamper = DummyTimeStamper(tsa_cert=tsa_identity_rsa.cert,
                               tsa_key=keys.PrivateKeyInfo.load(key_der))
    signed = pyhanko_sign(plain_pdf, rsa_identity, timestamper=stamper)
    (sig,) = verify(signed, trust=[rsa_root]).signatures
    assert sig.timestamp is not None
    assert sig.timestamp.valid and sig.timestamp.imprint_ok and sig.timestamp.trusted
    assert sig.timestamp.tsa == tsa_identity_rsa.cert.subject.human_friendly
    assert sig.trust.checked_at == sig.timestamp.time


def _png() -> bytes:
    import io as _io
    from PIL import Image
    buf = _io.BytesIO()
    Image.new("RGBA", (40, 40), (220, 0, 0, 255)).save(buf, "PNG")
    return buf.getvalue()


def test_visible_seal_signatures_after_a_signature_are_allowed(our_rsa_pdf, our_sign,
                                                               rsa_soft_signer, sm2_soft_signer,
                                                               rsa_root, sm2_identity):
    """A second (visible, SM2) and third (visible, keyword-placed) signature: stamps live in the
    widgets' appearances, not the page, so the first signature stays valid."""
    from sign.specs import AppearanceSpec

    png = _png()
    two = our_sign(our_rsa_pdf, sm2_soft_signer, field_name="Customer",
                   appearance=AppearanceSpec(image=png, page=1, rect=(300, 100, 80, 80)))
    three = our_sign(two, rsa_soft_signer, field_name="Agent",
                     appearance=AppearanceSpec(image=png, keyword="Policy", size=(60, 60)))
    report = verify(three, trust=[rsa_root, sm2_identity.root])
    assert report.valid, report.to_dict()
    assert [s.field_name for s in report.signatures] == ["Insurer", "Customer", "Agent"]
    assert all(c.allowed for s in report.signatures for c in s.changes_after)


def test_signing_a_pre_existing_empty_field_is_allowed(plain_pdf, pyhanko_sign, rsa_identity,
                                                       rsa_root):
    import io as _io
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields

    w = IncrementalPdfFileWriter(_io.BytesIO(plain_pdf))
    fields.append_signature_field(w, fields.SigFieldSpec("Insurer", box=(50, 50, 150, 100)))
    fields.append_signature_field(w, fields.SigFieldSpec("Customer", box=(200, 50, 300, 100)))
    out = _io.BytesIO()
    w.write(out)
    first = pyhanko_sign(out.getvalue(), rsa_identity, field="Insurer")
    both = pyhanko_sign(first, rsa_identity, field="Customer")
    report = verify(both, trust=[rsa_root])
    assert report.valid, report.to_dict()
    insurer = report.signatures[0]
    assert [c.kind for c in insurer.changes_after if c.kind == "SIGNATURE_ADDED"]
    assert all(c.allowed for c in insurer.changes_after)
