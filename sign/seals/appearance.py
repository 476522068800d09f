"""Seal picture -> PNG for visible signatures (PDF appearance streams, previews)."""
from __future__ import annotations

import io

from PIL import Image, UnidentifiedImageError

from sign.seals.errors import SealUnsupported
from sign.seals.gbt38540 import SealInfo, parse_seal

RASTER_TYPES = {"PNG", "JPG", "JPEG", "GIF", "BMP", "TIF", "TIFF", "WEBP"}
VECTOR_TYPES = {"OFD", "SVG", "PDF"}


def seal_appearance_png(seal: bytes | SealInfo, *, max_pixels: int = 40_000_000) -> bytes:
    """The seal's picture as RGBA PNG bytes.

    Raster pictures (PNG/JPG/GIF/BMP...) are decoded and re-encoded as RGBA PNG (a PNG already in
    RGBA is returned as is). Vector pictures (type OFD/SVG/PDF) cannot be rasterised here and
    raise :class:`SealUnsupported` with code ``SEAL_PICTURE_NOT_RASTER``.
    """
    info = seal if isinstance(seal, SealInfo) else parse_seal(seal)
    kind = (info.picture_type or "").strip().upper()
    if kind in VECTOR_TYPES:
        raise SealUnsupported(f"seal picture type {info.picture_type!r} is vector data and cannot be "
                              "rasterised by this library; render it with an OFD/SVG renderer",
                              code="SEAL_PICTURE_NOT_RASTER")
    try:
        with Image.open(io.BytesIO(info.picture)) as img:
            if img.width * img.height > max_pixels:
                raise SealUnsupported("seal picture is too large", code="SEAL_PICTURE_TOO_LARGE")
            if img.format == "PNG" and img.mode == "RGBA":
                return info.picture
            img.load()
            rgba = img.convert("RGBA")
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as exc:
        raise SealUnsupported(f"seal picture (type {info.picture_type!r}) is not a decodable raster image: {exc}",
                              code="SEAL_PICTURE_NOT_RASTER") from None
    out = io.BytesIO()
    rgba.save(out, format="PNG", optimize=True)
    return out.getvalue()
