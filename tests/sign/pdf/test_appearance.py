"""Visible appearances: image XObject with /SMask, rect placement, keyword placement (中文)."""
from __future__ import annotations

import pikepdf
import pytest

from sign.pdf import sign_pdf
from sign.pdf.errors import KeywordNotFoundError
from sign.pdf.text import find_keyword
from sign.specs import AppearanceSpec, SignatureSpec

from .pdf_testkit import make_pdf, pdfsig_validations, pyhanko_status

CN_PAGES = [
    [(72, 760, "保险合同 编号 2026"), (100, 600, "投保人签名："), (350, 600, "被保险人签名：")],
    [(72, 760, "第二页"), (300, 300, "投保人签名：")],
]


def _widgets(path):
    with pikepdf.open(path) as pdf:
        out = []
        for pi, page in enumerate(pdf.pages):
            for a in page.obj.get("/Annots", []):
                if a.get("/Subtype") in (pikepdf.Name.Widget, pikepdf.Name.Stamp):
                    out.append((pi, [float(v) for v in a.Rect], a))
        return out


def test_rect_placement_with_transparent_png(tmp_path, simple_pdf, rsa_signer, rsa_identity,
                                             png_seal):
    out = tmp_path / "visible.pdf"
    app = AppearanceSpec(image=png_seal, page=1, rect=(400, 100, 120, 120))
    sign_pdf(simple_pdf, out, rsa_signer, SignatureSpec(appearance=app))
    with pikepdf.open(out) as pdf:
        [w] = [a for a in pdf.pages[0].Annots]
        assert [float(v) for v in w.Rect] == [400, 100, 520, 220]
        ap = w.AP.N
        assert ap.Subtype == pikepdf.Name.Form
        assert [float(v) for v in ap.BBox] == [0, 0, 120, 120]
        img = ap.Resources.XObject.Im0
        assert img.Subtype == pikepdf.Name.Image and int(img.Width) == 200
        assert "/SMask" in img and img.SMask.ColorSpace == pikepdf.Name.DeviceGray
        assert len(img.SMask.read_bytes()) == 200 * 200
        assert ap.read_bytes() == b"q 120 0 0 120 0 0 cm /Im0 Do Q"
        assert int(w.F) == 132  # print + locked
    [(_, st)] = pyhanko_status(out, [rsa_identity.root])
    assert st.intact and st.valid
    assert pdfsig_validations(out) == ["Signature is Valid."]


@pytest.mark.parametrize("mode", ["ucs2", "identity"])
def test_find_chinese_keyword(tmp_path, mode):
    src = tmp_path / f"cn-{mode}.pdf"
    make_pdf(src, CN_PAGES, cjk_mode=mode)
    with pikepdf.open(src) as pdf:
        hits = find_keyword(pdf, "投保人签名", range(2))
        assert [h[0] for h in hits] == [0, 1]
        (x0, y0, x1, y1) = hits[0][1]
        # 14 pt CJK glyphs are 1 em wide: five glyphs from x=100
        assert (x0, x1) == pytest.approx((100, 170))
        assert y0 < 600 < y1
        assert find_keyword(pdf, "签名", [0])[1][1][0] == pytest.approx(350 + 4 * 14)
        assert find_keyword(pdf, "2026", [0])  # ASCII in the CID font
        assert find_keyword(pdf, "合同编号", [0])  # whitespace ignored
        assert find_keyword(pdf, "不存在", [0, 1]) == []


def test_pdftotext_agrees_on_generated_chinese_pdf(tmp_path):
    import shutil
    import subprocess

    if shutil.which("pdftotext") is None:
        pytest.skip("poppler-utils not installed")
    src = tmp_path / "cn.pdf"
    make_pdf(src, CN_PAGES)
    text = subprocess.run(["pdftotext", str(src), "-"], capture_output=True, text=True).stdout
    assert "投保人签名" in text and "被保险人签名" in text


@pytest.mark.parametrize("occurrence,expected_pages", [("first", [0]), ("last", [1]),
                                                       ("all", [0, 1])])
def test_keyword_placement(tmp_path, rsa_signer, rsa_identity, png_seal, occurrence,
                           expected_pages):
    src = tmp_path / "cn.pdf"
    make_pdf(src, CN_PAGES)
    out = tmp_path / f"kw-{occurrence}.pdf"
    app = AppearanceSpec(image=png_seal, page=None, keyword="投保人签名", occurrence=occurrence,
                         offset=(10, -5), size=(80, 60))
    sign_pdf(src, out, rsa_signer, SignatureSpec(appearance=app))
    widgets = _widgets(out)
    assert [w[0] for w in widgets] == expected_pages
    if occurrence == "first":
        x0, y0, x1, y1 = widgets[0][1]
        assert (x1 - x0, y1 - y0) == pytest.approx((80, 60))
        # centred on the keyword box (100..170, 597.2..611.2) then moved by the offset
        assert ((x0 + x1) / 2, (y0 + y1) / 2) == pytest.approx((135 + 10, 604.2 - 5))
    if occurrence == "all":  # one signature field + a locked stamp with the same appearance
        with pikepdf.open(out) as pdf:
            [field] = [f for f in pdf.Root.AcroForm.Fields]
            assert field.FT == pikepdf.Name.Sig and "/Kids" not in field
            stamp = [a for a in pdf.pages[1].Annots][0]
            assert stamp.Subtype == pikepdf.Name.Stamp and int(stamp.F) == 132
            assert stamp.AP.N.objgen == field.AP.N.objgen
    [(_, st)] = pyhanko_status(out, [rsa_identity.root])
    assert st.intact and st.valid
    assert pdfsig_validations(out) == ["Signature is Valid."]


def test_keyword_restricted_to_page(tmp_path, rsa_signer, png_seal):
    src = tmp_path / "cn.pdf"
    make_pdf(src, CN_PAGES, cjk_mode="identity")
    out = tmp_path / "p2.pdf"
    app = AppearanceSpec(image=png_seal, page=2, keyword="投保人签名")
    sign_pdf(src, out, rsa_signer, SignatureSpec(appearance=app))
    assert [w[0] for w in _widgets(out)] == [1]
    with pytest.raises(KeywordNotFoundError) as ei:
        sign_pdf(src, tmp_path / "x.pdf", rsa_signer,
                 SignatureSpec(appearance=AppearanceSpec(image=png_seal, page=2, keyword="被保险人")))
    assert ei.value.code == "keyword_not_found"


def test_visible_sm2_and_second_visible_signature(tmp_path, sm2_signer, rsa_signer, rsa_identity,
                                                 png_seal):
    src = tmp_path / "cn.pdf"
    make_pdf(src, CN_PAGES)
    one, two = tmp_path / "one.pdf", tmp_path / "two.pdf"
    sign_pdf(src, one, sm2_signer, SignatureSpec(
        appearance=AppearanceSpec(image=png_seal, page=1, keyword="投保人签名")))
    sign_pdf(one, two, rsa_signer, SignatureSpec(
        appearance=AppearanceSpec(image=png_seal, page=1, keyword="被保险人签名")))
    assert len(_widgets(two)) == 2
    statuses = dict(pyhanko_status(two, [rsa_identity.root], fields=["Signature2"]))
    assert statuses["Signature2"].intact and statuses["Signature2"].valid


def test_keyword_in_filled_form_field(tmp_path, rsa_signer, png_seal):
    """Text that only exists in a widget's appearance (a filled form field) is found."""
    src = tmp_path / "form.pdf"
    pdf = pikepdf.new()
    page = pdf.add_blank_page(page_size=(595, 842))
    font = pdf.make_indirect(pikepdf.Dictionary(Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type1,
                                                BaseFont=pikepdf.Name.Helvetica))
    ap = pdf.make_stream(b"/Tx BMC BT /Helv 10 Tf 2 5 Td (ACME Insurance Ltd) Tj ET EMC",
                         Type=pikepdf.Name.XObject, Subtype=pikepdf.Name.Form, BBox=[0, 0, 200, 20],
                         Resources=pikepdf.Dictionary(Font=pikepdf.Dictionary(Helv=font)))
    field = pdf.make_indirect(pikepdf.Dictionary(
        Type=pikepdf.Name.Annot, Subtype=pikepdf.Name.Widget, FT=pikepdf.Name.Tx,
        T=pikepdf.String("company"), V=pikepdf.String("ACME Insurance Ltd"),
        Rect=[300, 400, 500, 420], P=page.obj, F=4, AP=pikepdf.Dictionary(N=ap)))
    page.obj.Annots = [field]
    pdf.Root.AcroForm = pikepdf.Dictionary(Fields=[field])
    pdf.save(src)
    with pikepdf.open(src) as pdf:
        [(pi, (x0, y0, x1, y1))] = find_keyword(pdf, "ACME", [0])
        assert pi == 0 and 300 < x0 < x1 < 340 and 400 < y0 < y1 < 420
    out = tmp_path / "out.pdf"
    sign_pdf(src, out, rsa_signer, SignatureSpec(appearance=AppearanceSpec(
        image=png_seal, page=1, keyword="ACME Insurance", size=(50, 50))))
    with pikepdf.open(out) as pdf:
        [sig_widget] = [a for a in pdf.pages[0].Annots if a.get("/FT") == pikepdf.Name.Sig]
        x0, y0, x1, y1 = [float(v) for v in sig_widget.Rect]
        assert 300 < (x0 + x1) / 2 < 420 and 395 < (y0 + y1) / 2 < 425
