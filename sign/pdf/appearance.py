"""Appearance streams: a PNG (seal / handwritten signature) as an image XObject.

The PNG is decoded once with Pillow and cached by content hash: colour samples go to a
``/DeviceRGB`` (or ``/DeviceGray``) Flate image, the alpha channel to a ``/SMask`` so the
seal's transparent background shows the page underneath.
"""
from __future__ import annotations

import hashlib
import io
import zlib
from dataclasses import dataclass
from functools import lru_cache
from typing import Optional

from sign.pdf.errors import BadImageError


@dataclass(frozen=True)
class DecodedImage:
    width: int
    height: int
    colorspace: bytes        # b"/DeviceRGB" | b"/DeviceGray"
    data: bytes              # Flate-compressed samples
    alpha: Optional[bytes]   # Flate-compressed 8-bit alpha (SMask), None if opaque


def decode_png(png: bytes) -> DecodedImage:
    return _decode_cached(hashlib.sha256(png).digest(), png)


@lru_cache(maxsize=32)
def _decode_cached(_key: bytes, png: bytes) -> DecodedImage:
    try:
        from PIL import Image
        im = Image.open(io.BytesIO(png))
        im.load()
    except Exception as exc:
        raise BadImageError(f"cannot read image: {exc}") from exc
    alpha = None
    if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
        im = im.convert("RGBA")
        a = im.getchannel("A")
        if a.getextrema() != (255, 255):
            alpha = zlib.compress(a.tobytes(), 6)
        im = im.convert("RGB")
    if im.mode in ("L", "1"):
        im = im.convert("L")
        cs = b"/DeviceGray"
    else:
        im = im.convert("RGB")
        cs = b"/DeviceRGB"
    return DecodedImage(im.width, im.height, cs, zlib.compress(im.tobytes(), 6), alpha)


def _fmt(v: float) -> bytes:
    s = ("%.4f" % v).rstrip("0").rstrip(".")
    return (s if s not in ("-0", "") else "0").encode()


def image_objects(img: DecodedImage, img_num: int, smask_num: Optional[int]) -> list[tuple[int, bytes]]:
    """(object number, body) of the image XObject and its soft mask."""
    objs = []
    smask_ref = b" /SMask %d 0 R" % smask_num if smask_num is not None else b""
    objs.append((img_num,
                 b"<< /Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace %s"
                 b" /BitsPerComponent 8 /Filter /FlateDecode%s /Length %d >>\nstream\n"
                 % (img.width, img.height, img.colorspace, smask_ref, len(img.data))
                 + img.data + b"\nendstream"))
    if smask_num is not None and img.alpha is not None:
        objs.append((smask_num,
                     b"<< /Type /XObject /Subtype /Image /Width %d /Height %d"
                     b" /ColorSpace /DeviceGray /BitsPerComponent 8 /Filter /FlateDecode"
                     b" /Length %d >>\nstream\n" % (img.width, img.height, len(img.alpha))
                     + img.alpha + b"\nendstream"))
    return objs


def form_xobject(width: float, height: float, img_num: Optional[int], rotate: int = 0) -> bytes:
    """A form XObject of the widget size (user space) drawing the image scaled to fill it,
    counter-rotated so that it shows upright on a page displayed with /Rotate ``rotate``."""
    if img_num is None:
        content = b""
        res = b"<< >>"
    else:
        from sign.pdf.geometry import upright_matrix
        vw, vh = (height, width) if rotate in (90, 270) else (width, height)
        m = upright_matrix(rotate, vw, vh)
        content = b"q " + b" ".join(_fmt(v) for v in m) + b" cm /Im0 Do Q"
        res = b"<< /XObject << /Im0 %d 0 R >> >>" % img_num
    return (b"<< /Type /XObject /Subtype /Form /BBox [0 0 " + _fmt(width) + b" " + _fmt(height)
            + b"] /Resources " + res + b" /Length %d >>\nstream\n" % len(content)
            + content + b"\nendstream")
