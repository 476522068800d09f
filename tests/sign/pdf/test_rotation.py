"""Rotated pages (/Rotate): the rect is visual and the seal shows upright (checked by rendering
the signed page with poppler's pdftoppm)."""
from __future__ import annotations

import io
import shutil
import subprocess

import pikepdf
import pytest
from PIL import Image

from sign.pdf import sign_pdf
from sign.pdf.geometry import PageGeometry
from sign.specs import AppearanceSpec, SignatureSpec

from .pdf_testkit import make_pdf, pyhanko_status

RED, BLUE = (255, 0, 0), (0, 0, 255)


def _two_tone_png() -> bytes:
    """40 × 80: red top half, blue bottom half (orientation is visible)."""
    im = Image.new("RGB", (40, 80), BLUE)
    im.paste(RED, (0, 0, 40, 40))
    buf = io.BytesIO()
    im.save(buf, "PNG")
    return buf.getvalue()


def _render(path, tmp_path) -> Image.Image:
    if shutil.which("pdftoppm") is None:
        pytest.skip("pdftoppm not installed")
    prefix = tmp_path / "render"
    subprocess.run(["pdftoppm", "-r", "72", "-f", "1", "-l", "1", "-png", str(path), str(prefix)],
                   check=True, timeout=60)
    [png] = list(tmp_path.glob("render*.png"))
    return Image.open(png).convert("RGB")


def _close(px, color) -> bool:
    return all(abs(a - b) < 40 for a, b in zip(px, color))


@pytest.mark.parametrize("rotate", [0, 90, 180, 270])
def test_visual_rect_upright_seal(tmp_path, rsa_signer, rsa_identity, rotate):
    src = tmp_path / "rot.pdf"
    pdf = pikepdf.new()
    page = pdf.add_blank_page(page_size=(400, 300))
    page.obj.Rotate = rotate
    pdf.save(src)
    out = tmp_path / "out.pdf"
    sign_pdf(src, out, rsa_signer, SignatureSpec(appearance=AppearanceSpec(
        image=_two_tone_png(), page=1, rect=(20, 30, 40, 80))))
    img = _render(out, tmp_path)
    vw, vh = (300, 400) if rotate in (90, 270) else (400, 300)
    assert img.size == (vw, vh)
    # visual rect: x 20..60, y 30..110 from the bottom -> rows vh-110 .. vh-30 from the top
    top, bottom = vh - 110, vh - 30
    assert _close(img.getpixel((40, top + 15)), RED), img.getpixel((40, top + 15))
    assert _close(img.getpixel((40, bottom - 15)), BLUE), img.getpixel((40, bottom - 15))
    assert _close(img.getpixel((70, top + 15)), (255, 255, 255))  # outside the rect: page
    [(_, st)] = pyhanko_status(out, [rsa_identity.root])
    assert st.intact and st.valid


def test_keyword_on_rotated_page(tmp_path, rsa_signer):
    src = tmp_path / "kw.pdf"
    make_pdf(src, [[(100, 200, "签名处")]], size=(400, 300))
    with pikepdf.open(src) as pdf:
        pdf.pages[0].obj.Rotate = 90
        pdf.save(tmp_path / "kw90.pdf")
    out = tmp_path / "out.pdf"
    sign_pdf(tmp_path / "kw90.pdf", out, rsa_signer, SignatureSpec(appearance=AppearanceSpec(
        image=_two_tone_png(), page=1, keyword="签名处", size=(40, 80), offset=(0, 50))))
    with pikepdf.open(out) as pdf:
        page = pdf.pages[0].obj
        x0, y0, x1, y1 = [float(v) for v in page.Annots[0].Rect]
        geo = PageGeometry.of(page)
    # size is visual: 40 wide x 80 tall on screen = 80 x 40 in user space for /Rotate 90
    assert (x1 - x0, y1 - y0) == pytest.approx((80, 40))
    # keyword box centre: user (121, 204.2) -> visual; the offset moves it 50 pt up on screen
    kx, ky = geo.to_visual(100 + 21, 200 - 2.8 + 7)
    vx0, vy0, vx1, vy1 = geo.user_rect_to_visual((x0, y0, x1, y1))
    assert ((vx0 + vx1) / 2, (vy0 + vy1) / 2) == pytest.approx((kx, ky + 50))
