"""RSA / PAdES signing: pyHanko and poppler accept the result; incremental-update invariants."""
from __future__ import annotations

import io

import pikepdf
import pytest
from asn1crypto import cms

from sign.pdf import finish, prepare, sign_pdf, sign_prepared
from sign.pdf.pipeline import PreparedSignature
from sign.specs import SignatureSpec

from .pdf_testkit import make_pdf, pdfsig_validations, pyhanko_status


def _sig_dicts(path):
    with pikepdf.open(path) as pdf:
        return [(str(f.T), f.V) for f in pdf.Root.AcroForm.Fields if "/V" in f] and [
            (str(f.T), dict(SubFilter=str(f.V.SubFilter), M=str(f.V.M)))
            for f in pdf.Root.AcroForm.Fields]


def test_rsa_pades_valid_and_incremental(tmp_path, simple_pdf, rsa_signer, rsa_identity):
    out = tmp_path / "out.pdf"
    res = sign_pdf(simple_pdf, out, rsa_signer, SignatureSpec(reason="投保确认", location="北京"))
    original = simple_pdf.read_bytes()
    signed = out.read_bytes()
    assert signed.startswith(original)  # incremental: the bytes before are untouched
    assert res.field_name == "Signature1" and res.algorithm == "rsa"
    assert res.byte_range[0] == 0 and res.byte_range[2] + res.byte_range[3] == len(signed)
    [(name, status)] = pyhanko_status(out, [rsa_identity.root])
    assert name == "Signature1"
    assert status.intact and status.valid and status.trusted
    assert status.coverage.name == "ENTIRE_FILE"
    assert pdfsig_validations(out) == ["Signature is Valid."]
    with pikepdf.open(out) as pdf:
        sig = pdf.Root.AcroForm.Fields[0].V
        assert sig.SubFilter == pikepdf.Name("/ETSI.CAdES.detached")
        assert str(sig.M).startswith("D:")
        assert int(pdf.Root.AcroForm.SigFlags) == 3
        assert len(pdf.pages[0].Annots) == 1


def test_cms_structure_pades(tmp_path, simple_pdf, rsa_signer):
    out = tmp_path / "out.pdf"
    sign_pdf(simple_pdf, out, rsa_signer)
    with pikepdf.open(out) as pdf:
        der = bytes(pdf.Root.AcroForm.Fields[0].V.Contents)
    info = cms.ContentInfo.load(der, strict=False)  # /Contents is zero-padded
    assert info["content_type"].native == "signed_data"
    si = info["content"]["signer_infos"][0]
    names = [a["type"].native for a in si["signed_attrs"]]
    assert set(names) == {"content_type", "message_digest", "signing_certificate_v2"}
    assert "signing_time" not in names  # PAdES: the time is /M
    assert si["digest_algorithm"]["algorithm"].native == "sha256"
    # our hand-assembled DER (signed attributes sorted as DER SET OF) matches asn1crypto's
    attrs = si["signed_attrs"]
    original = attrs.dump()
    assert cms.CMSAttributes.load(b"\x31" + original[1:]).dump(force=True)[1:] == original[1:]
    assert der[len(info.dump()):].strip(b"\0") == b""


def test_two_signers_each_own_field_earlier_stays_valid(tmp_path, simple_pdf, rsa_signer,
                                                        rsa_identity):
    one, two = tmp_path / "one.pdf", tmp_path / "two.pdf"
    sign_pdf(simple_pdf, one, rsa_signer, SignatureSpec(field_name="Insurer"))
    sign_pdf(one, two, rsa_signer, SignatureSpec(field_name="Applicant"))
    assert two.read_bytes().startswith(one.read_bytes())
    statuses = pyhanko_status(two, [rsa_identity.root])
    assert [n for n, _ in statuses] == ["Insurer", "Applicant"]
    for _, st in statuses:
        assert st.intact and st.valid and st.trusted
    assert statuses[0][1].coverage.name == "ENTIRE_REVISION"
    assert statuses[0][1].docmdp_ok
    assert pdfsig_validations(two) == ["Signature is Valid."] * 2


@pytest.mark.parametrize("level", [1, 2, 3])
def test_certification_docmdp(tmp_path, simple_pdf, rsa_signer, rsa_identity, level):
    out = tmp_path / "cert.pdf"
    sign_pdf(simple_pdf, out, rsa_signer, SignatureSpec(certify=level))
    with pikepdf.open(out) as pdf:
        sig = pdf.Root.Perms.DocMDP
        ref = sig.Reference[0]
        assert ref.TransformMethod == pikepdf.Name.DocMDP
        assert int(ref.TransformParams.P) == level
        assert sig.objgen == pdf.Root.AcroForm.Fields[0].V.objgen
    [(_, st)] = pyhanko_status(out, [rsa_identity.root])
    assert st.intact and st.valid and st.docmdp_ok
    from pyhanko.pdf_utils.reader import PdfFileReader
    with open(out, "rb") as fh:
        [emb] = PdfFileReader(fh).embedded_signatures
        assert emb.docmdp_level is not None and emb.docmdp_level.value == level


def test_certified_level2_then_approval_signature(tmp_path, simple_pdf, rsa_signer, rsa_identity):
    one, two = tmp_path / "c.pdf", tmp_path / "c2.pdf"
    sign_pdf(simple_pdf, one, rsa_signer, SignatureSpec(certify=2))
    sign_pdf(one, two, rsa_signer)
    statuses = pyhanko_status(two, [rsa_identity.root])
    assert all(st.intact and st.valid and st.docmdp_ok for _, st in statuses)


def test_xref_stream_input(tmp_path, rsa_signer, rsa_identity):
    src = tmp_path / "xs.pdf"
    make_pdf(src, [[(72, 700, "hello")], [(72, 700, "world")]], object_streams=True)
    assert b"/XRef" in src.read_bytes()
    one, two = tmp_path / "xs1.pdf", tmp_path / "xs2.pdf"
    sign_pdf(src, one, rsa_signer)
    sign_pdf(one, two, rsa_signer)
    tail = two.read_bytes()[len(one.read_bytes()):]
    assert b"/Type /XRef" in tail and b"/Prev" in tail  # same kind of xref section
    statuses = pyhanko_status(two, [rsa_identity.root])
    assert len(statuses) == 2 and all(st.intact and st.valid for _, st in statuses)
    assert pdfsig_validations(two) == ["Signature is Valid."] * 2
    with pikepdf.open(two) as pdf:  # qpdf reads it without repairing
        assert len(pdf.pages) == 2
        pdf.pages[1].obj.get("/Annots")  # objects resolve
        assert pdf.get_warnings() == []


def test_timestamp_bt(tmp_path, simple_pdf, rsa_signer, rsa_identity, tsa_server_url):
    from sign.timestamps import TimeStamper

    out = tmp_path / "bt.pdf"
    sign_pdf(simple_pdf, out, rsa_signer, SignatureSpec(timestamper=TimeStamper(tsa_server_url)))
    [(_, st)] = pyhanko_status(out, [rsa_identity.root])
    assert st.intact and st.valid
    assert st.timestamp_validity is not None
    assert st.timestamp_validity.intact and st.timestamp_validity.valid
    assert st.timestamp_validity.trusted
    assert pdfsig_validations(out) == ["Signature is Valid."]


def test_pause_and_resume_via_json(tmp_path, simple_pdf, rsa_signer, rsa_identity):
    out = tmp_path / "paused.pdf"
    prepared = prepare(simple_pdf, out, rsa_signer, SignatureSpec(reason="pause"))
    saved = prepared.to_json()
    # ... intent confirmation happens here, maybe in another process ...
    resumed = PreparedSignature.from_json(saved)
    assert resumed.digest == prepared.digest and resumed.byte_range == prepared.byte_range
    finish(resumed, sign_prepared(resumed, rsa_signer))
    [(_, st)] = pyhanko_status(out, [rsa_identity.root])
    assert st.intact and st.valid


def test_in_memory_streams_and_in_place(tmp_path, simple_pdf, rsa_signer, rsa_identity):
    buf = io.BytesIO()
    sign_pdf(simple_pdf.read_bytes(), buf, rsa_signer)
    sign_pdf(buf, buf, rsa_signer)  # second signature appended in place
    out = tmp_path / "mem.pdf"
    out.write_bytes(buf.getvalue())
    assert out.read_bytes().startswith(simple_pdf.read_bytes())
    statuses = pyhanko_status(out, [rsa_identity.root])
    assert len(statuses) == 2 and all(st.intact and st.valid for _, st in statuses)
    # in place on a path as well
    inplace = tmp_path / "inplace.pdf"
    inplace.write_bytes(simple_pdf.read_bytes())
    sign_pdf(inplace, inplace, rsa_signer)
    [(_, st)] = pyhanko_status(inplace, [rsa_identity.root])
    assert st.intact and st.valid


def test_existing_annotations_and_acroform_kept(tmp_path, rsa_signer, rsa_identity):
    src = tmp_path / "form.pdf"
    pdf = pikepdf.new()
    page = pdf.add_blank_page()
    link = pdf.make_indirect(pikepdf.Dictionary(Type=pikepdf.Name.Annot, Subtype=pikepdf.Name.Link,
                                                Rect=[10, 10, 50, 50], Border=[0, 0, 0]))
    text_field = pdf.make_indirect(pikepdf.Dictionary(
        Type=pikepdf.Name.Annot, Subtype=pikepdf.Name.Widget, FT=pikepdf.Name.Tx,
        T=pikepdf.String("name"), Rect=[100, 100, 200, 120], P=page.obj, F=4))
    page.obj.Annots = pdf.make_indirect(pikepdf.Array([link, text_field]))
    pdf.Root.AcroForm = pikepdf.Dictionary(Fields=[text_field], DA=pikepdf.String("/Helv 0 Tf 0 g"))
    pdf.save(src)
    out = tmp_path / "form-signed.pdf"
    sign_pdf(src, out, rsa_signer)
    with pikepdf.open(out) as pdf:
        assert len(pdf.pages[0].Annots) == 3
        assert [str(f.T) for f in pdf.Root.AcroForm.Fields] == ["name", "Signature1"]
        assert str(pdf.Root.AcroForm.DA) == "/Helv 0 Tf 0 g"
    [(_, st)] = pyhanko_status(out, [rsa_identity.root])
    assert st.intact and st.valid


def test_in_memory_prepared_roundtrip(simple_pdf, rsa_signer, rsa_identity, tmp_path):
    buf = io.BytesIO()
    prepared = prepare(simple_pdf.read_bytes(), buf, rsa_signer, SignatureSpec())
    resumed = PreparedSignature.from_json(prepared.to_json())
    finish(resumed, sign_prepared(resumed, rsa_signer))
    out = tmp_path / "mem.pdf"
    out.write_bytes(resumed.stream.getvalue())
    [(_, st)] = pyhanko_status(out, [rsa_identity.root])
    assert st.intact and st.valid


def test_failure_rolls_back(tmp_path, simple_pdf, rsa_signer):
    from sign.pdf.errors import SignatureTooLargeError, TimestampError

    class BrokenTSA:
        def timestamp(self, digest, hash_alg):
            raise ConnectionError("TSA down")

    out = tmp_path / "o.pdf"
    with pytest.raises(TimestampError):
        sign_pdf(simple_pdf, out, rsa_signer, SignatureSpec(timestamper=BrokenTSA()))
    assert not out.exists()
    inplace = tmp_path / "inplace.pdf"
    inplace.write_bytes(simple_pdf.read_bytes())
    with pytest.raises(SignatureTooLargeError):
        sign_pdf(inplace, inplace, rsa_signer, SignatureSpec(contents_size=300))
    assert inplace.read_bytes() == simple_pdf.read_bytes()


def test_certify_keeps_other_perms(tmp_path, rsa_signer):
    src = tmp_path / "perms.pdf"
    pdf = pikepdf.new()
    pdf.add_blank_page()
    pdf.Root.Perms = pikepdf.Dictionary(Other=pikepdf.Dictionary(Marker=1))
    pdf.save(src)
    out = tmp_path / "out.pdf"
    sign_pdf(src, out, rsa_signer, SignatureSpec(certify=3))
    with pikepdf.open(out) as pdf:
        assert int(pdf.Root.Perms.Other.Marker) == 1 and "/DocMDP" in pdf.Root.Perms


def test_earlier_signature_modification_level(tmp_path, rsa_signer, rsa_identity, png_seal):
    from sign.specs import AppearanceSpec

    from .pdf_testkit import make_pdf

    src = tmp_path / "in.pdf"
    make_pdf(src, [[(72, 700, "Insurer:"), (300, 700, "Applicant:")]])
    one, two = tmp_path / "1.pdf", tmp_path / "2.pdf"
    # not certifying: pyHanko's default diff policy refuses *new visible* signature fields after
    # a certification signature (allow_new_visible_after_certify=False)
    sign_pdf(src, one, rsa_signer, SignatureSpec(
        appearance=AppearanceSpec(image=png_seal, page=1, keyword="Insurer:", size=(60, 60))))
    sign_pdf(one, two, rsa_signer, SignatureSpec(
        appearance=AppearanceSpec(image=png_seal, page=1, keyword="Applicant:", size=(60, 60))))
    statuses = pyhanko_status(two, [rsa_identity.root])
    first = statuses[0][1]
    assert first.intact and first.valid and first.docmdp_ok
    assert first.modification_level.name == "FORM_FILLING"  # a visible field was added
