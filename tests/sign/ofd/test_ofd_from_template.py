"""OFD from the same templates as the PDFs: documents.build (HTML form) -> PDF -> OFD -> sign."""
from __future__ import annotations

import io

import pytest
from PIL import Image

from documents.build import build_from_html
from sign.ofd import (
    OfdError, PageSpec, Path, StampPlacement, TextRun, find_keyword, generate_ofd, page_text, pdf_to_ofd, read_ofd,
    render_page, sign_ofd, verify_ofd,
)
from sign.ofd.content import PathItem, page_items
from sign.seals import make_seal

from .ofd_testkit import seal_png

FORM = ("<h1>个人意外险投保单</h1><div class='row'><label>投保人<input name='holder'></label></div>"
        "<div class='signatures'><span data-role='policyholder'>投保人签名</span></div>")


@pytest.fixture(scope="module")
def form_pdf() -> bytes:
    return build_from_html(FORM, code="accident_form").pdf


def test_template_pdf_to_ofd(form_pdf):
    ofd = pdf_to_ofd(form_pdf)
    pkg = read_ofd(ofd)
    page = pkg.document.pages[0]
    box = pkg.page_box(page)
    assert box[2] == pytest.approx(210.0, abs=0.1) and box[3] == pytest.approx(297.0, abs=0.1)
    text = page_text(pkg, page)
    assert "个人意外险投保单" in text and "投保人：" in text and "投保人签名：" in text
    paths = [it for it in page_items(pkg, page) if isinstance(it, PathItem)]
    assert len(paths) >= 2  # the field underline and the signature box
    (hit,) = find_keyword(pkg, "投保人签名")
    assert 10 < hit.box[0] < 30 and 30 < hit.box[1] < 50  # top-left area of the A4 page, in mm
    img = Image.open(io.BytesIO(render_page(ofd, dpi=60)))
    assert sum(1 for px in img.convert("L").getdata() if px < 128) > 200


def test_template_ofd_signed_at_keyword(form_pdf, ca, sm2_identity):
    seal = make_seal(name="测试保险股份有限公司", picture=seal_png(), maker=ca.sm2.issuing.identity(),
                     signer_certs=[sm2_identity.cert])
    signed = sign_ofd(pdf_to_ofd(form_pdf), sm2_identity, seal,
                      StampPlacement(keyword="投保人签名", size=(40, 40), offset=(45, 0)))
    report = verify_ofd(signed.data, trust=[ca.sm2.root.cert], intermediates=[ca.sm2.issuing.cert])
    assert report.valid, report.codes


def test_text_runs_and_paths_direct():
    ofd = generate_ofd([PageSpec([TextRun("甲乙", [10.0, 20.0], 30.0, size=5),
                                  Path([[(10, 40), (50, 40), (50, 60)]], [True], fill=True,
                                       fill_color=(255, 0, 0))])])
    pkg = read_ofd(ofd)
    (hit,) = find_keyword(pkg, "乙")
    assert hit.box[0] == pytest.approx(20.0)
    img = Image.open(io.BytesIO(render_page(ofd, dpi=50))).convert("RGB")
    k = 50 / 25.4
    assert img.getpixel((round(45 * k), round(50 * k))) == (255, 0, 0)   # inside the filled triangle
    with pytest.raises(OfdError) as info:
        generate_ofd([PageSpec([TextRun("甲乙", [10.0], 30.0)])])
    assert info.value.code == "bad_content"


def test_not_a_pdf():
    with pytest.raises(OfdError) as info:
        pdf_to_ofd(b"not a pdf")
    assert info.value.code == "bad_content"
