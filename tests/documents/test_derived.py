"""Desensitised copy (seals black/grey, watermark, unsigned) and anti-counterfeit print copy
(QR per page decoding to the verification URL)."""
from __future__ import annotations

import hashlib
import io
import subprocess

import pikepdf
import pytest
from PIL import Image

from documents.desensitise import WATERMARK, desensitise
from documents.errors import DocumentError, PdfInputError
from documents.print_copy import make_print_copy, qr_matrix, read_qr_matrix, short_code

from .doc_testkit import load_template, pdftotext, red_pixels, render, squash

KEY = b"print-copy-key-0123456789abcdef!"
BASE = "https://esign.example.com"


def seal_rect(signed: bytes):
    with pikepdf.open(io.BytesIO(signed)) as d:
        for a in d.pages[0].Annots:
            if a.get("/FT") == "/Sig":
                return tuple(float(v) for v in a.Rect)
    raise AssertionError("no signature widget")


def test_desensitised_copy(signed_policy):
    original = bytes(signed_policy)
    rect = seal_rect(signed_policy)
    assert red_pixels(render(signed_policy), rect) > 50          # the seal is red in the original
    copy = desensitise(signed_policy)
    assert signed_policy == original                              # input untouched
    assert [s.kind for s in copy.seals] == ["signature"]
    im = render(copy.pdf)
    assert red_pixels(im, rect) == 0
    # the seal is still visible, in dark grey
    s = 50 / 72
    crop = im.crop((int(rect[0] * s), int((841.89 - rect[3]) * s), int(rect[2] * s), int((841.89 - rect[1]) * s)))
    assert sum(1 for p in crop.getdata() if max(p) < 120) > 30
    text = squash(pdftotext(copy.pdf))
    assert squash(WATERMARK) in text and "电子保险单" in text
    with pikepdf.open(io.BytesIO(copy.pdf)) as d:
        assert "/AcroForm" not in d.Root and "/Annots" not in d.pages[0]     # unsigned, flattened
    out = subprocess.run(["pdfsig", "-"], input=copy.pdf, capture_output=True).stdout.decode()
    assert "Signature #1" not in out


def test_desensitise_rejects_non_pdf():
    with pytest.raises(PdfInputError) as ei:
        desensitise(b"hello")
    assert ei.value.code == "PDF_INVALID"


def _decode_qr(im: Image.Image) -> list[str]:
    zxingcpp = pytest.importorskip("zxingcpp")
    return [r.text for r in zxingcpp.read_barcodes(im.convert("L"))]


def test_print_copy_qr_on_every_page(signed_policy):
    # a 2-page document: the application + the policy pages merged
    pol = pikepdf.open(io.BytesIO(signed_policy))
    app_pdf, _, _ = load_template("application")
    app = pikepdf.open(io.BytesIO(app_pdf))
    pol.pages.extend(app.pages)
    buf = io.BytesIO()
    pol.save(buf)
    doc = buf.getvalue()
    copy = make_print_copy(doc, base_url=BASE, key=KEY)
    assert copy.short_code == short_code(hashlib.sha256(doc).hexdigest(), KEY)
    assert len(copy.short_code) == 10 and copy.url == f"{BASE}/v/{copy.short_code}"
    assert copy.short_code == make_print_copy(doc, base_url=BASE, key=KEY).short_code   # stable
    assert copy.short_code != short_code(hashlib.sha256(doc).hexdigest(), b"other key")
    text = squash(pdftotext(copy.pdf))
    assert text.count(copy.short_code) >= 2 * 2                   # code + URL on each page
    for page in (1, 2):
        code, matrix = read_qr_matrix(copy.pdf, page)             # the vector drawing read back
        assert code == copy.short_code and matrix == qr_matrix(copy.url)
    try:
        import zxingcpp  # noqa: F401
    except ImportError:
        return                                                     # matrix compare above only
    for page in (1, 2):
        assert _decode_qr(render(copy.pdf, dpi=150, page=page)) == [copy.url]
    # the seal still prints in colour on the copy
    assert red_pixels(render(copy.pdf), seal_rect(signed_policy)) > 50


def test_print_copy_requires_http_base():
    pdf, _, _ = load_template("receipt")
    with pytest.raises(DocumentError) as ei:
        make_print_copy(pdf, base_url="javascript:alert(1)", key=KEY)
    assert ei.value.code == "PRINT_BASE_URL_INVALID"


def _stamp_pdf(rotate: int = 0) -> bytes:
    """A page with a vector red seal in a /Stamp annotation (no image) and some text."""
    from documents.build import FormSpec, Paragraph, Title, build_form
    built = build_form(FormSpec(code="v", title="v", blocks=(Title("回执"), Paragraph("已收到保险合同。"))))
    d = pikepdf.open(io.BytesIO(built.pdf))
    ap = d.make_stream(b"q 0.86 0.08 0.08 rg 0.86 0.08 0.08 RG 6 w 50 50 m 50 77.6 27.6 100 0 100 c S "
                       b"40 40 20 20 re f 1 0 0 0 k 10 10 10 10 re f Q")
    ap.Type, ap.Subtype, ap.BBox = pikepdf.Name.XObject, pikepdf.Name.Form, [0, 0, 100, 100]
    annot = d.make_indirect(pikepdf.Dictionary(Type=pikepdf.Name.Annot, Subtype=pikepdf.Name.Stamp,
                                               Rect=[200, 400, 300, 500], F=4,
                                               AP=pikepdf.Dictionary(N=ap)))
    d.pages[0].Annots = d.make_indirect(pikepdf.Array([annot]))
    if rotate:
        d.pages[0].Rotate = rotate
    buf = io.BytesIO()
    d.save(buf)
    return buf.getvalue()


def test_desensitise_vector_seal_and_rotated_page():
    doc = _stamp_pdf()
    assert red_pixels(render(doc), (200, 400, 300, 500)) > 20
    copy = desensitise(doc)
    assert [s.kind for s in copy.seals] == ["stamp"]
    assert red_pixels(render(copy.pdf), (200, 400, 300, 500)) == 0
    rotated = desensitise(_stamp_pdf(rotate=90)).pdf
    im = render(rotated)
    assert im.width > im.height                                  # shown landscape
    assert sum(1 for r, g, b in im.getdata() if r > 150 and g < 110 and b < 110) == 0
    assert squash(WATERMARK) in squash(pdftotext(rotated))
    # the band is at the top of the page as displayed: dark pixels in the first rows
    top = im.crop((0, 0, im.width, 12))
    assert sum(1 for p in top.getdata() if max(p) < 100) > im.width * 3


def test_print_copy_on_rotated_page():
    copy = make_print_copy(_stamp_pdf(rotate=270), base_url=BASE, key=KEY)
    code, matrix = read_qr_matrix(copy.pdf)
    assert code == copy.short_code and matrix == qr_matrix(copy.url)
    try:
        import zxingcpp  # noqa: F401
    except ImportError:
        return
    assert _decode_qr(render(copy.pdf, dpi=150)) == [copy.url]


def test_undecodable_seal_image_becomes_grey(signed_policy):
    """A seal image we cannot decode is replaced by dark grey rather than left in colour."""
    d = pikepdf.open(io.BytesIO(signed_policy))
    for a in d.pages[0].Annots:
        if a.get("/FT") == "/Sig":
            xo = a.AP.N.Resources.XObject
            for _, im in xo.items():
                if im.get("/Subtype") == "/Image":
                    im.ColorSpace = pikepdf.Array([pikepdf.Name.Lab, pikepdf.Dictionary(WhitePoint=[0.95, 1, 1.09])])
                    im.BitsPerComponent = 3   # nonsense: PdfImage refuses it
    buf = io.BytesIO()
    d.save(buf)
    copy = desensitise(buf.getvalue())
    assert red_pixels(render(copy.pdf), seal_rect(signed_policy)) == 0
