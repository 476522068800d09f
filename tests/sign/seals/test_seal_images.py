"""Generated seal images, uploads (photos of seals, handwritten signatures), black/watermarked copies."""
from __future__ import annotations

import io
import math
import pathlib
import random
import struct
import zlib

import pytest
from PIL import Image, ImageDraw, ImageStat, ImageFilter

from sign.seals.errors import (
    FontNotFound, SealImageBlank, SealImageInvalid, SealImageTooLarge, SealSpecInvalid, SealTextTooLong,
)
from sign.seals.fonts import find_cjk_font
from sign.seals.render import legal_rep_layout, render_seal, render_signature
from sign.seals.specs import SealKind, SealSpec
from sign.seals.upload import clean_seal_image, clean_signature_image
from sign.seals.variants import render_black, render_watermarked

ROOT = pathlib.Path(__file__).resolve().parents[3]
COMPANY = "测试人寿保险股份有限公司"


def load(png: bytes) -> Image.Image:
    img = Image.open(io.BytesIO(png))
    assert img.format == "PNG"
    return img


def pixels(img: Image.Image) -> list:
    """All pixels (Pillow 13 deprecates getdata() for get_flattened_data())."""
    getter = getattr(img, "get_flattened_data", None) or img.getdata
    return list(getter())


def is_red(px) -> bool:
    r, g, b = px[:3]
    return r > 180 and g < 60 and b < 80


def red_fraction(img: Image.Image) -> float:
    """Share of the inked pixels (alpha > 128) whose colour is seal red."""
    inked = [p for p in pixels(img) if p[3] > 128]
    return sum(1 for p in inked if is_red(p)) / max(1, len(inked))


def opaque_fraction(img: Image.Image, box) -> float:
    region = img.crop(box).getchannel("A")
    hist = region.histogram()
    return sum(hist[129:]) / (region.width * region.height)


# --------------------------------------------------------------------------------------------- render


@pytest.fixture(scope="module")
def official_png() -> bytes:
    return render_seal(SealSpec.official(COMPANY, code="1101080012345"))


def test_official_seal_basics(official_png):
    img = load(official_png)
    assert img.size == (400, 400) and img.mode == "RGBA"
    dpi = img.info["dpi"]
    assert abs(dpi[0] - 400 * 25.4 / 42) < 0.5  # 42 mm at 400 px = 241.9 dpi
    for corner in [(0, 0), (399, 0), (0, 399), (399, 399), (30, 30)]:
        assert img.getpixel(corner)[3] == 0, corner
    assert red_fraction(img) > 0.9
    alpha = img.getchannel("A")
    # anti-aliased: intermediate alpha levels exist
    assert len([v for v, n in enumerate(alpha.histogram()) if n and 0 < v < 255]) > 50
    # the star: the centre is solid ink, and the ring runs all round the edge
    assert opaque_fraction(img, (190, 190, 210, 210)) > 0.95
    for angle in range(0, 360, 15):
        x = 200 + 193 * math.sin(math.radians(angle))
        y = 200 - 193 * math.cos(math.radians(angle))
        assert img.getpixel((round(x), round(y)))[3] > 128, angle
    # name on the upper half, code on the lower arc; the middle band between star and ring is clear
    assert opaque_fraction(img, (60, 20, 340, 110)) > 0.08
    assert opaque_fraction(img, (130, 330, 270, 375)) > 0.02
    assert opaque_fraction(img, (100, 270, 300, 320)) < 0.01  # no sub text on this one


def test_sample_png_is_committed(official_png):
    """docs/samples/official_seal.png is the rendering of the spec above (regenerate if it changes)."""
    sample = ROOT / "docs" / "samples" / "official_seal.png"
    img = load(sample.read_bytes())
    assert img.size == (400, 400) and img.mode == "RGBA" and sample.stat().st_size <= 60 * 1024


@pytest.mark.parametrize("kind,sub", [(SealKind.CONTRACT, "合同专用章"), (SealKind.FINANCE, "财务专用章")])
def test_special_seals_have_horizontal_text(kind, sub):
    spec = SealSpec(kind, COMPANY)
    assert spec.sub_text == sub and spec.shape == "round"
    img = load(render_seal(spec))
    assert opaque_fraction(img, (110, 280, 290, 320)) > 0.05  # the horizontal text under the star
    assert opaque_fraction(img, (190, 190, 210, 210)) > 0.95
    assert red_fraction(img) > 0.9


def test_oval_seal():
    img = load(render_seal(SealSpec.oval("测试财产保险有限公司", sub_text="发票专用章", code="1101080012345")))
    assert img.size == (400, 267) and img.mode == "RGBA"
    assert img.getpixel((0, 0))[3] == 0 and red_fraction(img) > 0.9


def test_size_and_dpi_options():
    spec = SealSpec.contract(COMPANY)
    assert load(render_seal(spec, size_px=200)).size == (200, 200)
    img = load(render_seal(spec, dpi=300))
    assert img.size == (496, 496) and abs(img.info["dpi"][0] - 300) < 1
    with pytest.raises(SealSpecInvalid):
        render_seal(spec, size_px=10)


def test_long_name_fits_until_it_does_not():
    twenty = "中国测试人寿保险股份有限公司北京市分公司"
    assert len(twenty) == 20
    render_seal(SealSpec.official(twenty))
    with pytest.raises(SealTextTooLong) as exc:
        render_seal(SealSpec.official(twenty * 2))
    assert exc.value.code == "SEAL_TEXT_TOO_LONG"


def test_legal_rep_square():
    img = load(render_seal(SealSpec.legal_rep("张三")))
    assert img.size == (400, 400) and img.mode == "RGBA"
    # square border: every edge midpoint and the corners just inside are inked
    for xy in [(12, 200), (388, 200), (200, 12), (388, 388), (12, 12)]:
        assert img.getpixel(xy)[3] > 200, xy
    assert img.getpixel((0, 0))[3] == 0
    assert abs(img.info["dpi"][0] - 400 * 25.4 / 20) < 1
    assert red_fraction(img) > 0.9


def test_legal_rep_layouts():
    assert [c[0] for c in legal_rep_layout("张三")] == ["张", "三", "印"]
    assert legal_rep_layout("张三")[0][1:] == (1, 0, 1, 2)  # first char fills the right column
    assert [c[0] for c in legal_rep_layout("欧阳娜")] == ["欧", "阳", "娜", "印"]
    assert [c[0] for c in legal_rep_layout("欧阳娜娜")] == ["欧", "阳", "娜", "娜"]
    assert [c[0] for c in legal_rep_layout("李")] == ["李", "印"]
    with pytest.raises(SealTextTooLong):
        legal_rep_layout("阿卜杜热合曼买买提")


def test_personal_signature():
    png = render_signature("王小明", color="#1A3C9C")
    img = load(png)
    assert img.mode == "RGBA" and img.height == 160 and img.width > 200
    assert img.getpixel((0, 0))[3] == 0
    inked = [p for p in pixels(img) if p[3] > 128]
    assert inked and all(p[2] > p[0] for p in inked)  # blue ink
    assert png == render_signature("王小明", color="#1A3C9C")  # deterministic
    assert render_seal(SealSpec.personal("王小明")) != png


def test_spec_validation():
    with pytest.raises(SealSpecInvalid) as exc:
        SealSpec.official("  ")
    assert exc.value.code == "SEAL_TEXT_EMPTY"
    with pytest.raises(SealSpecInvalid):
        SealSpec.official(COMPANY, code="12345")
    with pytest.raises(SealSpecInvalid):
        SealSpec(SealKind.OFFICIAL, COMPANY, color="red")
    with pytest.raises(SealSpecInvalid):
        SealSpec(SealKind.LEGAL_REP, "张三", code="1101080012345")
    spec = SealSpec.official(COMPANY)
    with pytest.raises(Exception):
        spec.text = "x"  # frozen
    assert spec.rgb == (0xE6, 0x00, 0x12)


def test_font_locator():
    assert find_cjk_font().endswith((".ttc", ".ttf", ".otf"))
    with pytest.raises(FontNotFound) as exc:
        find_cjk_font("/nonexistent/font.ttc", candidates=())
    assert "fonts-wqy-zenhei" in str(exc.value) and exc.value.code == "SEAL_FONT_NOT_FOUND"


# --------------------------------------------------------------------------------------------- black


def test_black_and_watermarked(official_png):
    black = load(render_black(official_png))
    src = load(official_png)
    assert black.size == src.size and black.mode == "RGBA"
    assert pixels(black.getchannel("A")) == pixels(src.getchannel("A"))
    inked = [p for p in pixels(black) if p[3] > 0]
    assert inked and all(p[0] == p[1] == p[2] < 80 for p in inked)
    assert black.info["dpi"] == pytest.approx(src.info["dpi"])
    marked = load(render_watermarked(official_png))
    assert marked.size == src.size and marked.mode == "RGBA"
    assert not any(is_red(p) for p in pixels(marked) if p[3] > 0)
    # watermark text also lands where the seal is transparent
    assert opaque_fraction(marked, (0, 0, 400, 400)) > opaque_fraction(black, (0, 0, 400, 400)) * 0.5


# --------------------------------------------------------------------------------------------- upload


def _jpeg(img: Image.Image, quality: int = 60) -> bytes:
    buf = io.BytesIO()
    img.convert("RGB").save(buf, format="JPEG", quality=quality)
    return buf.getvalue()


def seal_photo(seed: int = 7) -> bytes:
    """Off-white noisy paper with black print, a blue pen line and a red stamp (star + ring)."""
    rnd = random.Random(seed)
    w, h = 1200, 900
    noise = Image.effect_noise((w, h), 22).convert("L")
    paper = Image.merge("RGB", [noise.point(lambda v, o=o: max(0, min(255, v + o))) for o in (120, 115, 100)])
    draw = ImageDraw.Draw(paper)
    for y in range(80, 820, 40):
        draw.line((80 + rnd.randint(0, 40), y, 1100 - rnd.randint(0, 300), y), fill=(35, 35, 35), width=4)
    draw.line((150, 760, 900, 700), fill=(30, 50, 170), width=6)
    draw.ellipse((560, 300, 860, 600), outline=(196, 38, 52), width=16)
    draw.regular_polygon((710, 450, 70), 5, fill=(200, 40, 48))
    paper = paper.filter(ImageFilter.GaussianBlur(1.2)).rotate(3, fillcolor=(240, 238, 228))
    return _jpeg(paper, 55)


def test_seal_photo_cleaned():
    img = load(clean_seal_image(seal_photo()))
    assert img.size == (400, 400) and img.mode == "RGBA"
    for corner in [(0, 0), (399, 0), (0, 399), (399, 399), (40, 40)]:
        assert img.getpixel(corner)[3] == 0, corner
    inked = [p for p in pixels(img) if p[3] > 0]
    assert inked and all(p[:3] == (0xE6, 0x00, 0x12) for p in inked)  # recoloured pure seal red
    # cropped to the stamp: the ring touches (nearly) all four sides, the star sits in the middle
    bbox = img.getchannel("A").point(lambda v: 255 if v > 128 else 0).getbbox()
    assert bbox[0] < 25 and bbox[1] < 25 and bbox[2] > 375 and bbox[3] > 375
    assert opaque_fraction(img, (185, 185, 215, 215)) > 0.9
    # the black print and blue pen line are gone: the band between star and ring is empty
    assert opaque_fraction(img, (60, 190, 100, 210)) < 0.02


def test_transparent_png_upload():
    stamp = Image.new("RGBA", (300, 200), (0, 0, 0, 0))
    ImageDraw.Draw(stamp).ellipse((60, 10, 240, 190), outline=(220, 0, 0, 255), width=10)
    buf = io.BytesIO()
    stamp.save(buf, format="PNG")
    img = load(clean_seal_image(buf.getvalue(), size_px=256))
    assert img.size == (256, 256) and img.getpixel((128, 128))[3] == 0


def test_not_an_image():
    for junk in (b"", b"hello world", b"%PDF-1.7\n" + b"0" * 100, b"\x89PNG\r\n\x1a\n" + b"\x00" * 50):
        with pytest.raises(SealImageInvalid) as exc:
            clean_seal_image(junk)
        assert exc.value.code == "SEAL_IMAGE_INVALID"


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG claiming a huge size with a tiny (valid zlib) body: the classic decompression bomb."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 1000)) + chunk(b"IEND", b"")


def test_too_large():
    with pytest.raises(SealImageTooLarge) as exc:
        clean_seal_image(_png_header_only(20000, 20000))  # 400 MP
    assert exc.value.code == "SEAL_IMAGE_TOO_LARGE"
    with pytest.raises(SealImageTooLarge):
        clean_seal_image(_png_header_only(8000, 6000))  # 48 MP > 40 MP limit
    with pytest.raises(SealImageTooLarge):
        clean_seal_image(_jpeg(Image.new("RGB", (300, 300), "white")), max_pixels=50_000)
    with pytest.raises(SealImageTooLarge):
        clean_seal_image(b"\xff" * (21 * 1024 * 1024))


def test_blank_rejected():
    noise = Image.effect_noise((800, 600), 25).convert("L").point(lambda v: min(255, v + 130))
    paper = Image.merge("RGB", [noise] * 3)
    ImageDraw.Draw(paper).line((50, 300, 750, 300), fill=(20, 20, 20), width=5)  # black print only
    with pytest.raises(SealImageBlank) as exc:
        clean_seal_image(_jpeg(paper))
    assert exc.value.code == "SEAL_IMAGE_BLANK"
    with pytest.raises(SealImageBlank):
        clean_signature_image(_jpeg(Image.merge("RGB", [noise] * 3)))


def test_signature_upload():
    photo = Image.new("RGB", (900, 500), (205, 203, 198))
    noise = Image.effect_noise((900, 500), 12).convert("RGB")
    photo = Image.blend(photo, noise, 0.15)
    ImageDraw.Draw(photo).line([(150, 330), (260, 140), (380, 350), (520, 120), (700, 300)],
                               fill=(25, 25, 35), width=9, joint="curve")
    for ink, check in (("black", lambda p: p[0] == p[1] == p[2] < 40), ("blue", lambda p: p[2] > p[0] + 80)):
        img = load(clean_signature_image(_jpeg(photo), ink=ink))
        assert img.mode == "RGBA" and img.height == 200
        assert 1.6 < img.width / img.height < 3.2  # trimmed to the strokes (about 550 x 230 + margins)
        assert img.getpixel((0, 0))[3] == 0 and img.getpixel((img.width - 1, img.height // 2))[3] == 0
        inked = [p for p in pixels(img) if p[3] > 0]
        assert inked and all(check(p) for p in inked)
    # a transparent canvas PNG (e.g. from a signing pad) keeps its strokes
    canvas = Image.new("RGBA", (600, 300), (0, 0, 0, 0))
    ImageDraw.Draw(canvas).line([(100, 200), (300, 80), (500, 220)], fill=(0, 0, 0, 255), width=8)
    buf = io.BytesIO()
    canvas.save(buf, format="PNG")
    assert load(clean_signature_image(buf.getvalue(), height_px=120)).height == 120


def test_warm_lit_photo_and_faded_ink():
    """Orange lamp light on the paper must not turn into "red"; a faded pink stamp still counts."""
    w, h = 900, 700
    noise = Image.effect_noise((w, h), 15).convert("L")
    paper = Image.merge("RGB", [noise.point(lambda v, o=o: max(0, min(255, v + o))) for o in (125, 75, 20)])
    mean = ImageStat.Stat(paper).mean  # noise is random: judge the paper by its mean colour
    assert mean[0] - max(mean[1:]) > 40  # "red dominant" paper
    draw = ImageDraw.Draw(paper)
    draw.ellipse((300, 200, 600, 500), outline=(250, 95, 80), width=14)  # faded stamp under the lamp
    draw.regular_polygon((450, 350, 60), 5, fill=(250, 90, 75))
    img = load(clean_seal_image(_jpeg(paper, 70)))
    for corner in [(0, 0), (399, 399), (40, 360)]:
        assert img.getpixel(corner)[3] == 0, corner
    assert opaque_fraction(img, (185, 185, 215, 215)) > 0.9
    bbox = img.getchannel("A").point(lambda v: 255 if v > 128 else 0).getbbox()
    assert bbox[0] < 25 and bbox[2] > 375


def test_missing_glyph_refused():
    if "wqy-zenhei" not in find_cjk_font():
        pytest.skip("glyph coverage checked against WenQuanYi Zen Hei")
    with pytest.raises(SealSpecInvalid) as exc:
        render_seal(SealSpec.legal_rep("𠮷野"))  # U+20BB7 is not in WenQuanYi Zen Hei
    assert exc.value.code == "SEAL_GLYPH_MISSING" and "U+20BB7" in str(exc.value)
