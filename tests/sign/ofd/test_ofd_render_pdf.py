"""Rendering pages to PNG (mobile preview) and converting OFD -> PDF."""
from __future__ import annotations

import io
import shutil
import subprocess

import pikepdf
import pytest
from PIL import Image

from sign.ofd import OfdError, StampPlacement, ofd_to_pdf, render_page, render_pages, sign_ofd
from sign.seals import make_seal

from .ofd_testkit import KEYWORD, policy_ofd, seal_png


@pytest.fixture(scope="module")
def signed(ca, sm2_identity):
    seal = make_seal(name="测试章", picture=seal_png(), maker=ca.sm2.issuing.identity(),
                     signer_certs=[sm2_identity.cert])
    return sign_ofd(policy_ofd(), sm2_identity, seal, StampPlacement(page=1, box=(120, 100, 40, 40))).data


def _region(img: Image.Image, box_mm, dpi: float) -> Image.Image:
    k = dpi / 25.4
    x, y, w, h = box_mm
    return img.crop((round(x * k), round(y * k), round((x + w) * k), round((y + h) * k)))


def _dark(img: Image.Image) -> int:
    return sum(1 for px in img.convert("L").getdata() if px < 128)


def _red(img: Image.Image) -> int:
    return sum(1 for r, g, b in img.convert("RGB").getdata() if r > 180 and g < 90 and b < 90)


def test_render_png_cjk_text_and_stamp(signed):
    png = render_page(signed, 1, dpi=100)
    img = Image.open(io.BytesIO(png))
    assert img.format == "PNG" and img.size == (round(210 / 25.4 * 100), round(297 / 25.4 * 100))
    # the title "电子保单 第1页" (6 mm, at 20,15): dark CJK strokes where the text is ...
    assert _dark(_region(img, (20, 15, 40, 7), 100)) > 300
    # ... nothing in an empty area, the seal picture in its StampAnnot box, the image at 160,250
    assert _dark(_region(img, (20, 120, 60, 40), 100)) == 0
    assert _red(_region(img, (120, 100, 40, 40), 100)) > 500
    assert _red(_region(img, (160, 250, 20, 20), 100)) > 100
    # the line under the title
    assert _dark(_region(img, (60, 24.5, 100, 1), 100)) > 100
    no_stamp = Image.open(io.BytesIO(render_page(signed, 1, dpi=100, stamps=False)))
    assert _red(_region(no_stamp, (120, 100, 40, 40), 100)) == 0


def test_render_all_pages_and_errors():
    data = policy_ofd(pages=2)
    pngs = render_pages(data, dpi=30)
    assert len(pngs) == 2 and all(p.startswith(b"\x89PNG") for p in pngs)
    with pytest.raises(OfdError) as info:
        render_page(data, 3)
    assert info.value.code == "page_out_of_range"
    with pytest.raises(OfdError) as info:
        render_page(data, 1, dpi=5000)
    assert info.value.code == "bad_content"


def test_render_corpus_invoice(corpus_dir):
    """A real tax invoice (template + content, paths, PNG QR code, vendor fonts we lack)."""
    img = Image.open(io.BytesIO(render_page((corpus_dir / "ofdrw" / "v4signed.ofd").read_bytes(), dpi=80)))
    assert _dark(img) > 5000
    assert _dark(_region(img, (3, 3, 20, 20), 80)) > 200  # the QR code image at the top-left


def test_ofd_to_pdf_real_text(signed, tmp_path):
    pdf_bytes = ofd_to_pdf(signed)
    with pikepdf.open(io.BytesIO(pdf_bytes)) as pdf:
        assert len(pdf.pages) == 1
        box = [float(v) for v in pdf.pages[0].MediaBox]
        assert box == pytest.approx([0, 0, 595.276, 841.89], abs=0.01)
        font = pdf.pages[0].Resources.Font.F1
        assert font.Subtype == "/Type0" and font.Encoding == "/Identity-H" and "/ToUnicode" in font
        assert len(pdf.pages[0].Resources.XObject) == 2  # the PNG image and the seal stamp
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) not installed")
    path = tmp_path / "out.pdf"
    path.write_bytes(pdf_bytes)
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True).stdout.decode()
    assert "电子保单 第1页" in text
    assert "投保人：张三" in text and "500,000" in text
    assert KEYWORD in text


def test_ofd_to_pdf_corpus(corpus_dir, tmp_path):
    pdf_bytes = ofd_to_pdf((corpus_dir / "ofdrw" / "v4signed.ofd").read_bytes())
    with pikepdf.open(io.BytesIO(pdf_bytes)) as pdf:
        assert len(pdf.pages) == 1
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) not installed")
    path = tmp_path / "invoice.pdf"
    path.write_bytes(pdf_bytes)
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, check=True).stdout.decode()
    assert "重庆增值税电子普通发票" in text and "科游迈利有限公司" in text
