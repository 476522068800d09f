"""Signing pre-existing empty signature fields (contract templates)."""
from __future__ import annotations

import pikepdf
import pytest

from sign.pdf import sign_pdf
from sign.specs import AppearanceSpec, SignatureSpec

from .pdf_testkit import pdfsig_validations, pyhanko_status


def _template(path, *, kids: bool = False):
    """Two empty signature fields on page 1: 'Insurer' and 'Applicant' (merged widgets, or a
    field with one widget kid when ``kids``)."""
    pdf = pikepdf.new()
    page = pdf.add_blank_page(page_size=(595, 842))
    fields, annots = [], []
    for name, rect in (("Insurer", [60, 100, 200, 160]), ("Applicant", [350, 100, 490, 160])):
        if kids:
            field = pdf.make_indirect(pikepdf.Dictionary(FT=pikepdf.Name.Sig, T=pikepdf.String(name)))
            widget = pdf.make_indirect(pikepdf.Dictionary(
                Type=pikepdf.Name.Annot, Subtype=pikepdf.Name.Widget, Rect=rect, P=page.obj, F=4,
                Parent=field))
            field.Kids = [widget]
        else:
            field = widget = pdf.make_indirect(pikepdf.Dictionary(
                Type=pikepdf.Name.Annot, Subtype=pikepdf.Name.Widget, FT=pikepdf.Name.Sig,
                T=pikepdf.String(name), Rect=rect, P=page.obj, F=4))
        fields.append(field)
        annots.append(widget)
    page.obj.Annots = pdf.make_indirect(pikepdf.Array(annots))
    pdf.Root.AcroForm = pdf.make_indirect(pikepdf.Dictionary(Fields=fields))
    pdf.save(path)
    return path


@pytest.mark.parametrize("kids", [False, True])
def test_fill_template_fields(tmp_path, rsa_signer, rsa_identity, png_seal, kids):
    src = _template(tmp_path / "tpl.pdf", kids=kids)
    one, two = tmp_path / "one.pdf", tmp_path / "two.pdf"
    # the insurer certifies (P=2: form filling and signing allowed) into its field
    sign_pdf(src, one, rsa_signer, SignatureSpec(field_name="Insurer", certify=2,
                                                 appearance=AppearanceSpec(image=png_seal)))
    # the applicant signs the other pre-existing field, visibly. (pyHanko's diff policy only
    # whitelists appearance changes on merged field/widgets: with /Kids the later signature
    # stays invisible so the earlier one keeps a clean modification analysis.)
    app2 = AppearanceSpec() if kids else AppearanceSpec(image=png_seal)
    sign_pdf(one, two, rsa_signer, SignatureSpec(field_name="Applicant", appearance=app2))
    with pikepdf.open(two) as pdf:
        fields = list(pdf.Root.AcroForm.Fields)
        assert [str(f.T) for f in fields] == ["Insurer", "Applicant"]  # no new field
        assert int(pdf.Root.AcroForm.SigFlags) == 3
        assert len(pdf.pages[0].Annots) == 2
        for f in fields[:1] if kids else fields:
            assert "/V" in f
            w = f.Kids[0] if kids else f
            ap = w.AP.N
            assert [float(v) for v in ap.BBox] == [0, 0, 140, 60]
            assert "/Im0" in ap.Resources.XObject
    statuses = pyhanko_status(two, [rsa_identity.root])
    assert [n for n, _ in statuses] == ["Insurer", "Applicant"]
    for _, st in statuses:
        assert st.intact and st.valid and st.docmdp_ok
    if not kids:  # poppler looks for /V on the widget, so it misses fields with /Kids
        assert pdfsig_validations(two) == ["Signature is Valid."] * 2


def test_fill_template_invisible_keeps_field(tmp_path, rsa_signer, rsa_identity):
    src = _template(tmp_path / "tpl.pdf")
    out = tmp_path / "out.pdf"
    sign_pdf(src, out, rsa_signer, SignatureSpec(field_name="Applicant"))
    with pikepdf.open(out) as pdf:
        f = pdf.Root.AcroForm.Fields[1]
        assert str(f.T) == "Applicant" and "/V" in f and "/AP" not in f
        assert "/V" not in pdf.Root.AcroForm.Fields[0]
    [(_, st)] = pyhanko_status(out, [rsa_identity.root])
    assert st.intact and st.valid
    # the next automatic name does not collide with the template's fields
    out2 = tmp_path / "out2.pdf"
    res = sign_pdf(out, out2, rsa_signer)
    assert res.field_name == "Signature3"
