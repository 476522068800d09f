"""Uploaded seal photos/scans and handwritten signatures -> clean transparent PNGs.

Seal: the ink is found by *red dominance* ``R - max(G, B)`` (paper, shadows, black print and
blue ink all score ~0 whatever their brightness), median-filtered to drop JPEG speckle, mapped
to alpha through a soft ramp; the image is recoloured to pure seal red, cropped to the ink's
bounding box, padded square and resized.

Signature: the ink is what is darker than the paper (paper level = a high percentile of the
luminance, so grey photos work), or the alpha channel of an already transparent upload.

Limits: at most :data:`MAX_BYTES` bytes and :data:`MAX_PIXELS` pixels (checked from the header,
before decoding; Pillow's decompression-bomb errors map to the same error).
"""
from __future__ import annotations

import io
import warnings

from PIL import Image, ImageChops, ImageFilter, ImageOps, UnidentifiedImageError

from sign.seals.errors import SealImageBlank, SealImageInvalid, SealImageTooLarge
from sign.seals.specs import INK_BLACK, INK_BLUE, SEAL_RED

MAX_BYTES = 20 * 1024 * 1024
MAX_PIXELS = 40_000_000
WORK_SIDE = 1600             # photos are reduced to this longest side before analysis
SEAL_SIZE_PX = 400
RED_LOW, RED_HIGH = 35, 110  # red dominance: <= LOW transparent, >= HIGH opaque
MIN_INK_FRACTION = 0.002     # less ink than this (of the working image) = blank
INKS = {"black": INK_BLACK, "blue": INK_BLUE}


def _hex_rgb(color: str) -> tuple[int, int, int]:
    return tuple(int(color[i:i + 2], 16) for i in (1, 3, 5))  # type: ignore[return-value]


def open_image(data: bytes, *, max_pixels: int = MAX_PIXELS, max_bytes: int = MAX_BYTES,
               work_side: int | None = WORK_SIDE) -> Image.Image:
    """Decode untrusted bytes safely: RGBA, EXIF orientation applied, reduced to ``work_side``
    (longest side; ``None`` keeps the full size)."""
    if not isinstance(data, (bytes, bytearray, memoryview)) or not data:
        raise SealImageInvalid("no image data", code="SEAL_IMAGE_INVALID")
    if len(data) > max_bytes:
        raise SealImageTooLarge(f"image file is larger than {max_bytes} bytes", code="SEAL_IMAGE_TOO_LARGE")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(bytes(data)))
            if img.width * img.height > max_pixels:
                raise SealImageTooLarge(f"image has {img.width}x{img.height} pixels; the limit is {max_pixels}",
                                        code="SEAL_IMAGE_TOO_LARGE")
            if work_side:
                img.draft("RGB", (work_side, work_side))  # JPEG: decode at a reduced scale, cheaply
            img.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise SealImageTooLarge(f"image rejected as a decompression bomb: {exc}", code="SEAL_IMAGE_TOO_LARGE") from None
    except SealImageTooLarge:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise SealImageInvalid(f"not a readable image: {exc}", code="SEAL_IMAGE_INVALID") from None
    img = ImageOps.exif_transpose(img)
    if img.mode not in ("RGBA", "RGB"):
        img = img.convert("RGBA" if "A" in img.getbands() or "transparency" in img.info else "RGB")
    if work_side and max(img.size) > work_side:
        img.thumbnail((work_side, work_side), Image.LANCZOS)
    return img.convert("RGBA")


def _on_white(img: Image.Image) -> Image.Image:
    """Flatten transparency onto white paper (a transparent upload then looks like a scan)."""
    paper = Image.new("RGBA", img.size, (255, 255, 255, 255))
    return Image.alpha_composite(paper, img).convert("RGB")


def _ramp(channel: Image.Image, low: int, high: int) -> Image.Image:
    scale = 255.0 / max(1, high - low)
    return channel.point(lambda v: 0 if v <= low else 255 if v >= high else int((v - low) * scale))


def _crop_alpha(alpha: Image.Image, margin: float, square: bool) -> Image.Image:
    """The ink's bounding box (alpha >= 64) plus ``margin``, optionally padded to a square."""
    solid = alpha.point(lambda v: 255 if v >= 64 else 0)
    bbox = solid.getbbox()
    if bbox is None:
        raise SealImageBlank("no ink found in the image", code="SEAL_IMAGE_BLANK")
    alpha = alpha.crop(bbox)
    w, h = alpha.size
    side_w, side_h = (max(w, h),) * 2 if square else (w, h)
    pad = int(max(side_w, side_h) * margin)
    canvas = Image.new("L", (side_w + 2 * pad, side_h + 2 * pad), 0)
    canvas.paste(alpha, ((canvas.width - w) // 2, (canvas.height - h) // 2))
    return canvas


def _colour(alpha: Image.Image, rgb: tuple[int, int, int]) -> Image.Image:
    """Solid ``rgb`` with ``alpha`` (resize the mask *before* colouring: RGBA resampling would
    premultiply and darken the anti-aliased edge)."""
    out = Image.new("RGBA", alpha.size, (*rgb, 0))
    out.putalpha(alpha)
    return out


def _png(img: Image.Image, dpi: float | None = None) -> bytes:
    buf = io.BytesIO()
    kwargs = {"dpi": (dpi, dpi)} if dpi else {}
    img.save(buf, format="PNG", optimize=True, **kwargs)
    return buf.getvalue()


def _percentile(channel: Image.Image, q: float) -> int:
    hist = channel.histogram()
    total, acc = sum(hist), 0
    for level, count in enumerate(hist):
        acc += count
        if acc >= q * total:
            return level
    return 255


def white_balance(rgb: Image.Image) -> Image.Image:
    """Scale each channel so the paper (the 75th percentile: most of a photo is paper) becomes
    white: removes warm/cold lighting casts that would otherwise read as "red"."""
    bands = []
    for band in rgb.split():
        paper = max(1, _percentile(band, 0.75))
        gain = min(3.0, 255.0 / paper)
        bands.append(band.point(lambda v, g=gain: min(255, int(v * g))))
    return Image.merge("RGB", bands)


def red_dominance(img: Image.Image) -> Image.Image:
    """``R - max(G, B)`` clipped at 0 after white balance, as an "L" image."""
    r, g, b = white_balance(_on_white(img)).split()
    return ImageChops.subtract(r, ImageChops.lighter(g, b))


def clean_seal_image(data: bytes, *, size_px: int = SEAL_SIZE_PX, color: str = SEAL_RED,
                     size_mm: float = 42.0, max_pixels: int = MAX_PIXELS) -> bytes:
    """A photo/scan of a physical seal -> transparent, pure-red, cropped, square RGBA PNG.

    Raises :class:`SealImageInvalid`, :class:`SealImageTooLarge`, :class:`SealImageBlank`.
    """
    img = open_image(data, max_pixels=max_pixels)
    dominance = red_dominance(img).filter(ImageFilter.MedianFilter(3))
    alpha = _ramp(dominance, RED_LOW, RED_HIGH)
    alpha = alpha.filter(ImageFilter.MedianFilter(3))  # isolated specks left by JPEG ringing
    ink = sum(alpha.point(lambda v: 1 if v >= 128 else 0).histogram()[1:2])
    if ink < max(40, MIN_INK_FRACTION * img.width * img.height):
        raise SealImageBlank("no red seal ink found in the image", code="SEAL_IMAGE_BLANK")
    square = _crop_alpha(alpha, 0.03, True).resize((size_px, size_px), Image.LANCZOS)
    return _png(_colour(square, _hex_rgb(color)), dpi=size_px * 25.4 / size_mm)


def clean_signature_image(data: bytes, *, ink: str = "black", height_px: int = 200,
                          max_pixels: int = MAX_PIXELS) -> bytes:
    """A handwritten signature (photo, scan or transparent canvas PNG) -> trimmed transparent PNG
    in ``ink`` ("black" or "blue", or ``#RRGGBB``), ``height_px`` high."""
    color = INKS.get(ink, ink)
    if not (isinstance(color, str) and len(color) == 7 and color.startswith("#")):
        raise SealImageInvalid(f"unknown ink {ink!r}; use black, blue or #RRGGBB", code="SEAL_INK_INVALID")
    img = open_image(data, max_pixels=max_pixels)
    src_alpha = img.getchannel("A")
    lo, hi = src_alpha.getextrema()
    if lo < 250:  # transparent upload (canvas): strokes are the opaque pixels
        alpha = src_alpha
    else:
        lum = img.convert("L").filter(ImageFilter.MedianFilter(3))
        paper = _percentile(lum, 0.8)  # the paper level, even on a grey photo
        darkness = lum.point(lambda v: max(0, paper - v))
        alpha = _ramp(darkness, 40, 110)
    ink_px = alpha.point(lambda v: 1 if v >= 128 else 0).histogram()[1]
    if ink_px < max(30, 0.0005 * img.width * img.height):
        raise SealImageBlank("no signature strokes found in the image", code="SEAL_IMAGE_BLANK")
    trimmed = _crop_alpha(alpha, 0.05, False)
    if trimmed.height != height_px:
        trimmed = trimmed.resize((max(1, round(trimmed.width * height_px / trimmed.height)), height_px),
                                 Image.LANCZOS)
    return _png(_colour(trimmed, _hex_rgb(color)))
