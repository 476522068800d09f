"""Attacks built by the test from a valid signed PDF: universal signature forgery (USF),
signature wrapping (SWA), incremental saving attacks (ISA) incl. shadow-style hide/replace,
and unreadable input."""
from __future__ import annotations

import pytest
from asn1crypto import cms

import verify_testkit as pdfedit
from sign.verify import PdfVerifyError, verify


def _codes(report) -> set[str]:
    return {p.code for s in report.signatures for p in s.problems}


def _one(data: bytes, trust=None):
    report = verify(data, trust=trust)
    assert len(report.signatures) == 1
    return report, report.signatures[0]


# ------------------------------------------------------------------ universal signature forgery
@pytest.mark.parametrize("fill, code", [(b" ", "CONTENTS_EMPTY"), (b"0", "CONTENTS_EMPTY"),
                                        (b"a", "CMS_MALFORMED"), (b"5", "CMS_MALFORMED")])
def test_usf_contents_empty_null_or_garbage(pyhanko_rsa_pdf, rsa_root, fill, code):
    report, sig = _one(pdfedit.set_contents(pyhanko_rsa_pdf, fill=fill), [rsa_root])
    assert not report.valid and not sig.intact and not sig.crypto_valid
    assert code in _codes(report)


def test_usf_missing_byte_range(pyhanko_rsa_pdf):
    report, sig = _one(pyhanko_rsa_pdf.replace(b"/ByteRange", b"/ByteRangX"))
    assert not report.valid and "BYTERANGE_MISSING" in _codes(report)


@pytest.mark.parametrize("mutate, code", [
    (lambda br, n: [0, -1, br[2], br[3]], "BYTERANGE_NEGATIVE"),
    (lambda br, n: [0, br[1], br[2], br[3] + 1000], "BYTERANGE_OUT_OF_FILE"),
    (lambda br, n: [0, br[1], n + 10, 5], "BYTERANGE_OUT_OF_FILE"),
    (lambda br, n: [0, br[2] + 10, br[2], br[3]], "BYTERANGE_OVERLAP"),
    (lambda br, n: [0, br[1], br[2], 10, br[2] + 20, br[3] - 20], "BYTERANGE_MULTIPLE_HOLES"),
    (lambda br, n: [0, br[1]], "BYTERANGE_MALFORMED"),
    (lambda br, n: [5, br[1] - 5, br[2], br[3]], "BYTERANGE_NOT_FROM_START"),
    (lambda br, n: [0, br[1], br[2], br[3] - 10], "SIGNED_END_NOT_AT_REVISION"),
])
def test_usf_broken_byte_range(pyhanko_rsa_pdf, mutate, code):
    _, _, br = pdfedit.byte_range_span(pyhanko_rsa_pdf)
    forged = pdfedit.set_byte_range(pyhanko_rsa_pdf, mutate(br, len(pyhanko_rsa_pdf)))
    report, sig = _one(forged)
    assert not report.valid and not sig.intact
    assert code in _codes(report), _codes(report)


def test_usf_contents_not_a_string(pyhanko_rsa_pdf):
    a, b = pdfedit.contents_hole(pyhanko_rsa_pdf)
    forged = pyhanko_rsa_pdf[:a] + b"null".ljust(b - a) + pyhanko_rsa_pdf[b:]
    report, sig = _one(forged)
    assert not report.valid and "CONTENTS_MISSING" in _codes(report)


def test_usf_byte_range_not_an_array(pyhanko_rsa_pdf):
    m = list(pdfedit._BR.finditer(pyhanko_rsa_pdf))[-1]
    forged = (pyhanko_rsa_pdf[:m.start()] + b"/ByteRange (0 0 0 0)".ljust(m.end() - m.start())
              + pyhanko_rsa_pdf[m.end():])
    report, sig = _one(forged)
    assert not report.valid and "BYTERANGE_MALFORMED" in _codes(report)


def test_usf_certificate_missing(pyhanko_rsa_pdf, rsa_root):
    info = cms.ContentInfo.load(pdfedit.signature_der(pyhanko_rsa_pdf))
    sd = info["content"]
    bare = cms.SignedData({"version": sd["version"], "digest_algorithms": sd["digest_algorithms"],
                           "encap_content_info": sd["encap_content_info"],
                           "signer_infos": sd["signer_infos"]})
    der = cms.ContentInfo({"content_type": "signed_data", "content": bare}).dump()
    report, sig = _one(pdfedit.set_contents(pyhanko_rsa_pdf, der=der), [rsa_root])
    assert not report.valid and not sig.crypto_valid and sig.signer is None
    assert "CERT_MISSING" in _codes(report)


def test_signature_value_tampered(pyhanko_rsa_pdf, rsa_root):
    info = cms.ContentInfo.load(pdfedit.signature_der(pyhanko_rsa_pdf))
    der = pdfedit.signature_der(pyhanko_rsa_pdf)
    value = info["content"]["signer_infos"][0]["signature"].native
    bad = bytes([value[0] ^ 0xFF]) + value[1:]
    forged = pdfedit.set_contents(pyhanko_rsa_pdf, der=der.replace(value, bad))
    report, sig = _one(forged, [rsa_root])
    assert sig.intact and not sig.crypto_valid and not report.valid
    assert "SIGNATURE_INVALID" in _codes(report)


def test_signed_bytes_tampered(pyhanko_rsa_pdf):
    at = pyhanko_rsa_pdf.index(b"%", 2) + 1  # the binary comment after the header
    forged = pyhanko_rsa_pdf[:at] + b"X" + pyhanko_rsa_pdf[at + 1:]
    assert forged != pyhanko_rsa_pdf
    report, sig = _one(forged)
    assert not sig.intact and "DIGEST_MISMATCH" in _codes(report)


# ------------------------------------------------------------------ signature wrapping
def test_swa_hole_shifted(pyhanko_rsa_pdf):
    _, _, br = pdfedit.byte_range_span(pyhanko_rsa_pdf)
    forged = pdfedit.set_byte_range(pyhanko_rsa_pdf, [0, br[1] - 1, br[2] - 1, br[3] + 1])
    report, sig = _one(forged)
    assert not report.valid and not sig.intact
    assert {"HOLE_NOT_CONTENTS"} & _codes(report)


def test_swa_signed_part_moved_to_the_end(pyhanko_rsa_pdf, rsa_root):
    """Classic wrapping: the 2nd signed part is copied after the file, the /ByteRange re-pointed
    at the copy; the digest still matches but the 'hole' now holds live PDF syntax."""
    data = pyhanko_rsa_pdf
    _, _, (_, a, b, c) = pdfedit.byte_range_span(data)
    part2 = data[b:b + c]
    moved_to = len(data)  # P1 + hole + P2' keep their size; the original P2 is appended
    old = pdfedit._BR.search(part2)
    text = pdfedit.byte_range_text([0, a, moved_to, c], old.end() - old.start())
    part2_mod = part2[:old.start()] + text + part2[old.end():]
    forged = data[:b] + part2_mod + part2
    report, sig = _one(forged, [rsa_root])
    assert not report.valid and not sig.intact
    assert "HOLE_NOT_CONTENTS" in _codes(report)


# ------------------------------------------------------------------ incremental saving attacks
def _kinds(sig) -> set[str]:
    return {c.kind for c in sig.disallowed_changes}


def test_isa_page_content_replaced(pyhanko_rsa_pdf, rsa_root):
    info = pdfedit.page_info(pyhanko_rsa_pdf)
    upd = pdfedit.Update(pyhanko_rsa_pdf)
    n = upd.put_stream(upd.new_number(), b"BT /F1 14 Tf 72 760 Td (premium 9,000.00 CNY) Tj ET")
    upd.put(info["page"][0], pdfedit.unparse(pyhanko_rsa_pdf, info["page"], Contents=b"%d 0 R" % n))
    report, sig = _one(upd.build(), [rsa_root])
    assert sig.intact and sig.crypto_valid and sig.trust.trusted
    assert not report.valid and "PAGE_CONTENT_CHANGED" in _kinds(sig)
    assert any("page 1" in c.description for c in sig.disallowed_changes)


def test_isa_content_object_overwritten(pyhanko_rsa_pdf):
    info = pdfedit.page_info(pyhanko_rsa_pdf)
    upd = pdfedit.Update(pyhanko_rsa_pdf)
    upd.put_stream(info["contents"][0], b"BT /F1 14 Tf 72 760 Td (nothing to see) Tj ET")
    report, sig = _one(upd.build())
    assert not report.valid and "PAGE_CONTENT_CHANGED" in _kinds(sig)


def test_isa_font_changed(pyhanko_rsa_pdf):
    info = pdfedit.page_info(pyhanko_rsa_pdf)
    upd = pdfedit.Update(pyhanko_rsa_pdf)
    upd.put(info["font"][0], b"<< /Type /Font /Subtype /Type1 /BaseFont /ZapfDingbats >>")
    report, sig = _one(upd.build())
    assert not report.valid and "PAGE_RESOURCES_CHANGED" in _kinds(sig)
    assert any("/Font/F1" in c.description for c in sig.disallowed_changes)


def test_isa_overlay_xobject_added(pyhanko_rsa_pdf):
    """Shadow 'replace via overlay': a white form XObject with new text drawn over the page."""
    info = pdfedit.page_info(pyhanko_rsa_pdf)
    upd = pdfedit.Update(pyhanko_rsa_pdf)
    fm = upd.put_stream(upd.new_number(),
                        b"1 1 1 rg 0 0 300 30 re f BT 0 0 0 rg /F1 14 Tf 2 8 Td (9,000.00 CNY) Tj ET",
                        b"/Type /XObject /Subtype /Form /BBox [0 0 300 30] "
                        b"/Resources << /Font << /F1 %d 0 R >> >> " % info["font"][0])
    draw = upd.put_stream(upd.new_number(), b"q 1 0 0 1 72 752 cm /Fm9 Do Q")
    resources = b"<< /Font << /F1 %d 0 R >> /XObject << /Fm9 %d 0 R >> >>" % (info["font"][0], fm)
    page = pdfedit.unparse(pyhanko_rsa_pdf, info["page"],
                           Contents=b"[%d 0 R %d 0 R]" % (info["contents"][0], draw),
                           Resources=resources)
    upd.put(info["page"][0], page)
    report, sig = _one(upd.build())
    assert not report.valid
    assert _kinds(sig) & {"PAGE_CONTENT_CHANGED", "PAGE_RESOURCES_CHANGED"}


def test_isa_annotation_added_over_the_page(pyhanko_rsa_pdf):
    info = pdfedit.page_info(pyhanko_rsa_pdf)
    upd = pdfedit.Update(pyhanko_rsa_pdf)
    n = upd.put(upd.new_number(), b"<< /Type /Annot /Subtype /FreeText /Rect [60 740 400 790] "
                                  b"/Contents (VOID) /DA (/Helv 24 Tf 1 0 0 rg) /F 4 >>")
    annots = b" ".join(b"%d %d R" % a for a in info["annots"] + [(n, 0)])
    upd.put(info["page"][0], pdfedit.unparse(pyhanko_rsa_pdf, info["page"],
                                             Annots=b"[" + annots + b"]"))
    report, sig = _one(upd.build())
    assert not report.valid and "ANNOTATION_ADDED" in _kinds(sig)
    assert any("/FreeText" in c.description for c in sig.disallowed_changes)


def test_annotation_added_is_allowed_at_docmdp_level_3(plain_pdf, pyhanko_sign, rsa_identity):
    signed = pyhanko_sign(plain_pdf, rsa_identity, certify=3)
    info = pdfedit.page_info(signed)
    upd = pdfedit.Update(signed)
    n = upd.put(upd.new_number(), b"<< /Type /Annot /Subtype /Text /Rect [10 10 30 30] "
                                  b"/Contents (reviewed) >>")
    annots = b" ".join(b"%d %d R" % a for a in info["annots"] + [(n, 0)])
    upd.put(info["page"][0], pdfedit.unparse(signed, info["page"], Annots=b"[" + annots + b"]"))
    report, sig = _one(upd.build())
    assert sig.docmdp_level == 3
    assert report.valid, sig.changes_after
    assert [c.kind for c in sig.changes_after] == ["ANNOTATION_ADDED"]


def test_isa_object_substituted_through_xref(pyhanko_rsa_pdf):
    """Hide via referenced object: the content stream's xref entry points at another object."""
    info = pdfedit.page_info(pyhanko_rsa_pdf)
    font_at = pyhanko_rsa_pdf.index(b"\n%d 0 obj" % info["font"][0]) + 1
    upd = pdfedit.Update(pyhanko_rsa_pdf)
    upd.point(info["contents"][0], font_at)
    report, sig = _one(upd.build())
    assert not report.valid and "XREF_SUBSTITUTION" in _kinds(sig)


def test_isa_object_deleted(pyhanko_rsa_pdf):
    info = pdfedit.page_info(pyhanko_rsa_pdf)
    upd = pdfedit.Update(pyhanko_rsa_pdf)
    upd.free(info["contents"][0])
    report, sig = _one(upd.build())
    assert not report.valid and "OBJECT_DELETED" in _kinds(sig)


def test_isa_optional_content_added_to_catalog(pyhanko_rsa_pdf):
    import io, pikepdf
    with pikepdf.open(io.BytesIO(pyhanko_rsa_pdf)) as pdf:
        root = pdf.Root.objgen
    upd = pdfedit.Update(pyhanko_rsa_pdf)
    ocg = upd.put(upd.new_number(), b"<< /Type /OCG /Name (hidden) >>")
    props = b"<< /OCGs [%d 0 R] /D << /OFF [%d 0 R] >> >>" % (ocg, ocg)
    upd.put(root[0], pdfedit.unparse(pyhanko_rsa_pdf, root, OCProperties=props))
    report, sig = _one(upd.build())
    assert not report.valid and "CATALOG_CHANGED" in _kinds(sig)
    assert any("/OCProperties" in c.description for c in sig.disallowed_changes)


def test_dss_added_is_allowed(pyhanko_rsa_pdf, rsa_root):
    import io, pikepdf
    with pikepdf.open(io.BytesIO(pyhanko_rsa_pdf)) as pdf:
        root = pdf.Root.objgen
    upd = pdfedit.Update(pyhanko_rsa_pdf)
    cert = upd.put_stream(upd.new_number(), rsa_root.dump())
    dss = upd.put(upd.new_number(), b"<< /Certs [%d 0 R] >>" % cert)
    upd.put(root[0], pdfedit.unparse(pyhanko_rsa_pdf, root, DSS=b"%d 0 R" % dss))
    report, sig = _one(upd.build(), [rsa_root])
    assert report.valid, sig.changes_after
    assert [c.kind for c in sig.changes_after] == ["DSS_UPDATED"]


def test_unreferenced_objects_are_harmless(pyhanko_rsa_pdf):
    upd = pdfedit.Update(pyhanko_rsa_pdf)
    upd.put(upd.new_number(), b"<< /Junk true >>")
    report, sig = _one(upd.build())
    assert report.valid and sig.changes_after == () and sig.revisions_after == 1


# ------------------------------------------------------------------ unreadable input
@pytest.mark.parametrize("data, code", [
    (b"", "EMPTY_INPUT"),
    (b"hello, this is not a PDF at all", "NOT_A_PDF"),
    (b"%PDF-1.7\n" + bytes(range(256)) * 8, "PDF_PARSE_ERROR"),
])
def test_unreadable_input_raises_stable_code(data, code):
    with pytest.raises(PdfVerifyError) as err:
        verify(data)
    assert err.value.code == code


@pytest.mark.parametrize("keep", [0.1, 0.5, 0.9, 0.99])
def test_truncated_signed_pdf(pyhanko_rsa_pdf, keep):
    cut = pyhanko_rsa_pdf[:int(len(pyhanko_rsa_pdf) * keep)]
    with pytest.raises(PdfVerifyError) as err:
        verify(cut)
    assert err.value.code in {"TRUNCATED", "PDF_PARSE_ERROR"}


def test_missing_file(tmp_path):
    with pytest.raises(PdfVerifyError) as err:
        verify(tmp_path / "nope.pdf")
    assert err.value.code == "UNREADABLE_FILE"


def test_unsigned_pdf_is_not_valid(plain_pdf):
    report = verify(plain_pdf)
    assert not report.valid and report.signatures == ()
    assert [p.code for p in report.problems] == ["NO_SIGNATURES"]


def test_random_corruption_never_escapes(pyhanko_rsa_pdf, rsa_root):
    """Seeded byte-level fuzzing: every outcome is a report or a PdfVerifyError."""
    import random

    rng = random.Random(20261125)
    for _ in range(150):
        data = bytearray(pyhanko_rsa_pdf)
        for _ in range(rng.randrange(1, 6)):
            pos = rng.randrange(len(data))
            action = rng.randrange(3)
            if action == 0:
                data[pos] = rng.randrange(256)
            elif action == 1:
                del data[pos:pos + rng.randrange(1, 40)]
            else:
                data[pos:pos] = bytes(rng.choice(b"0123456789<>[]/ Robj") for _ in range(5))
        try:
            report = verify(bytes(data), trust=[rsa_root])
        except PdfVerifyError as exc:
            assert exc.code
        else:
            assert isinstance(report.valid, bool)
