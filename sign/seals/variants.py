"""Derived seal images: the black (desensitised) version [黑色章样式] and a watermarked copy."""
from __future__ import annotations

import io
import math

from PIL import Image, ImageDraw

from sign.seals.fonts import load_font
from sign.seals.upload import open_image

BLACK = (40, 40, 40)


def _png(img: Image.Image, src_info: dict) -> bytes:
    buf = io.BytesIO()
    kwargs = {"dpi": src_info["dpi"]} if "dpi" in src_info else {}
    img.save(buf, format="PNG", optimize=True, **kwargs)
    return buf.getvalue()


def _load(png: bytes) -> tuple[Image.Image, dict]:
    img = open_image(png, work_side=None)
    with Image.open(io.BytesIO(png)) as raw:
        info = dict(raw.info)
    return img, info


def render_black(png: bytes, *, color: tuple[int, int, int] = BLACK, opacity: float = 1.0) -> bytes:
    """The same seal in dark grey (alpha kept, scaled by ``opacity``) for desensitised downloads."""
    img, info = _load(png)
    alpha = img.getchannel("A")
    if opacity < 1.0:
        alpha = alpha.point(lambda v: int(v * max(0.0, opacity)))
    out = Image.new("RGBA", img.size, (*color, 0))
    out.putalpha(alpha)
    return _png(out, info)


def render_watermarked(png: bytes, text: str = "仅供查看 不作他用", *, black: bool = True,
                       opacity: float = 0.55) -> bytes:
    """A "copy" of the seal: faded (black by default) with a diagonal repeated watermark over it,
    so a downloaded image cannot pass for the real seal."""
    base = Image.open(io.BytesIO(render_black(png, opacity=opacity) if black else png)).convert("RGBA")
    w, h = base.size
    layer = Image.new("RGBA", (w * 2, h * 2), (0, 0, 0, 0))
    font = load_font(max(10, w // 14))
    draw = ImageDraw.Draw(layer)
    step_y = int(font.size * 2.6)
    for row, y in enumerate(range(0, layer.height, step_y)):
        x = -(row % 2) * font.size * 3
        draw.text((x, y), (text + "   ") * 6, font=font, fill=(128, 128, 128, 150))
    layer = layer.rotate(math.degrees(math.atan2(h, w)), resample=Image.BICUBIC)
    layer = layer.crop((w // 2, h // 2, w // 2 + w, h // 2 + h))
    with Image.open(io.BytesIO(png)) as raw:
        info = dict(raw.info)
    return _png(Image.alpha_composite(base, layer), info)
