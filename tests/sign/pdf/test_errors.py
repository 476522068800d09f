"""Bad inputs raise clear errors with stable codes (sign.pdf.errors)."""
from __future__ import annotations

import pikepdf
import pytest

from sign.pdf import sign_pdf
from sign.pdf.errors import (BadImageError, BadSpecError, CorruptPdfError, DocMDPError,
                             EncryptedPdfError, FieldExistsError, NotAPdfError,
                             PageOutOfRangeError, PdfSignError, SignatureTooLargeError,
                             SignerError)
from sign.signers import SoftwareSigner
from sign.specs import AppearanceSpec, SignatureSpec


def _fails(exc_type, code, src, out, signer, spec=SignatureSpec()):
    with pytest.raises(exc_type) as ei:
        sign_pdf(src, out, signer, spec)
    assert isinstance(ei.value, PdfSignError)
    assert ei.value.code == code
    assert f"[{code}]" in str(ei.value)
    return ei.value


def test_not_a_pdf(tmp_path, rsa_signer):
    src = tmp_path / "x.pdf"
    src.write_bytes(b"hello, this is not a PDF\n" * 10)
    _fails(NotAPdfError, "not_pdf", src, tmp_path / "o.pdf", rsa_signer)
    _fails(NotAPdfError, "input_unreadable", tmp_path / "missing.pdf", tmp_path / "o.pdf",
           rsa_signer)


@pytest.mark.parametrize("cut", [10, 200, 0.5])
def test_truncated(tmp_path, simple_pdf, rsa_signer, cut):
    data = simple_pdf.read_bytes()
    n = int(len(data) * cut) if isinstance(cut, float) else len(data) - cut
    src = tmp_path / "t.pdf"
    src.write_bytes(data[:n])
    _fails(CorruptPdfError, "truncated_pdf", src, tmp_path / "o.pdf", rsa_signer)


def test_garbage_xref(tmp_path, simple_pdf, rsa_signer):
    data = bytearray(simple_pdf.read_bytes())
    i = data.rindex(b"startxref")
    data[i:] = b"startxref\n12\n%%EOF\n"
    src = tmp_path / "g.pdf"
    src.write_bytes(bytes(data))
    _fails(CorruptPdfError, "corrupt_pdf", src, tmp_path / "o.pdf", rsa_signer)


@pytest.mark.parametrize("user", ["", "secret"])
def test_encrypted(tmp_path, rsa_signer, user):
    src = tmp_path / "enc.pdf"
    pdf = pikepdf.new()
    pdf.add_blank_page()
    pdf.save(src, encryption=pikepdf.Encryption(owner="owner", user=user))
    _fails(EncryptedPdfError, "encrypted_pdf", src, tmp_path / "o.pdf", rsa_signer)


def test_page_out_of_range(tmp_path, simple_pdf, rsa_signer, png_seal):
    spec = SignatureSpec(appearance=AppearanceSpec(image=png_seal, page=3, rect=(0, 0, 10, 10)))
    _fails(PageOutOfRangeError, "page_out_of_range", simple_pdf, tmp_path / "o.pdf", rsa_signer,
           spec)


def test_keyword_not_found(tmp_path, simple_pdf, rsa_signer, png_seal):
    spec = SignatureSpec(appearance=AppearanceSpec(image=png_seal, page=None, keyword="盖章处"))
    err = _fails(PdfSignError, "keyword_not_found", simple_pdf, tmp_path / "o.pdf", rsa_signer,
                 spec)
    assert "盖章处" in str(err)


def test_docmdp_rules(tmp_path, simple_pdf, rsa_signer):
    locked = tmp_path / "locked.pdf"
    sign_pdf(simple_pdf, locked, rsa_signer, SignatureSpec(certify=1))
    _fails(DocMDPError, "docmdp_violation", locked, tmp_path / "o.pdf", rsa_signer)
    signed = tmp_path / "signed.pdf"
    sign_pdf(simple_pdf, signed, rsa_signer)
    _fails(DocMDPError, "docmdp_violation", signed, tmp_path / "o2.pdf", rsa_signer,
           SignatureSpec(certify=2))


def test_field_exists(tmp_path, simple_pdf, rsa_signer):
    one = tmp_path / "one.pdf"
    sign_pdf(simple_pdf, one, rsa_signer, SignatureSpec(field_name="A"))
    _fails(FieldExistsError, "field_exists", one, tmp_path / "o.pdf", rsa_signer,
           SignatureSpec(field_name="A"))


def test_bad_image(tmp_path, simple_pdf, rsa_signer):
    spec = SignatureSpec(appearance=AppearanceSpec(image=b"not a png", rect=(0, 0, 10, 10)))
    _fails(BadImageError, "bad_image", simple_pdf, tmp_path / "o.pdf", rsa_signer, spec)


def test_reserved_space_too_small(tmp_path, simple_pdf, rsa_signer):
    _fails(SignatureTooLargeError, "signature_too_large", simple_pdf, tmp_path / "o.pdf",
           rsa_signer, SignatureSpec(contents_size=512))


def test_bad_specs():
    with pytest.raises(BadSpecError):
        AppearanceSpec(image=b"x", rect=(0, 0, 1, 1), keyword="k")
    with pytest.raises(BadSpecError):
        AppearanceSpec(image=b"x", rect=(0, 0, -1, 1))
    with pytest.raises(BadSpecError):
        AppearanceSpec(page=0)
    with pytest.raises(BadSpecError):
        SignatureSpec(certify=4)
    with pytest.raises(BadSpecError):
        SignatureSpec(alg="dsa")


def test_image_without_placement_needs_existing_field(tmp_path, simple_pdf, rsa_signer, png_seal):
    _fails(BadSpecError, "bad_spec", simple_pdf, tmp_path / "o.pdf", rsa_signer,
           SignatureSpec(appearance=AppearanceSpec(image=png_seal)))


def test_existing_non_signature_field(tmp_path, rsa_signer):
    src = tmp_path / "tx.pdf"
    pdf = pikepdf.new()
    pdf.add_blank_page()
    tx = pdf.make_indirect(pikepdf.Dictionary(FT=pikepdf.Name.Tx, T=pikepdf.String("name")))
    pdf.Root.AcroForm = pikepdf.Dictionary(Fields=[tx])
    pdf.save(src)
    _fails(FieldExistsError, "field_exists", src, tmp_path / "o.pdf", rsa_signer,
           SignatureSpec(field_name="name"))


def test_alg_mismatch(tmp_path, simple_pdf, rsa_signer):
    _fails(BadSpecError, "bad_spec", simple_pdf, tmp_path / "o.pdf", rsa_signer,
           SignatureSpec(alg="sm2"))


def test_signer_errors(rsa_identity, sm2_identity):
    with pytest.raises(SignerError):
        SoftwareSigner.from_pem(b"garbage", rsa_identity.cert_pem)
    with pytest.raises(SignerError):  # key of another identity
        SoftwareSigner.from_pem(sm2_identity.key_pem, rsa_identity.cert_pem)
    with pytest.raises(SignerError):
        SoftwareSigner.from_pem(rsa_identity.key_pem, b"not a cert")


def test_output_unwritable(tmp_path, simple_pdf, rsa_signer):
    _fails(PdfSignError, "output_unwritable", simple_pdf, tmp_path / "no" / "such" / "dir.pdf",
           rsa_signer)
