"""Mobile handwritten signatures [手写签名]: canvas strokes or a PNG, normalised on the server.

Strokes are lists of points ``{"x", "y", "t" (ms), "p" (pressure 0..1, optional)}`` in canvas
pixels. They are drawn at 2x with a pressure-dependent pen and anti-aliased down, trimmed to the
ink, on a transparent background in the chosen ink colour. Rejected as ``SIGNATURE_BLANK``: no
strokes, too little ink (total stroke length), a dot or a tiny scribble (bounding box area);
``SIGNATURE_TOO_LARGE``: oversized payloads. A PNG upload goes through the same trimming and
recolouring (``sign.seals.upload.clean_signature_image``).
"""
from __future__ import annotations

import dataclasses
import io
import math
from typing import Any

from PIL import Image, ImageDraw

from backend.errors import ValidationFailed

MAX_STROKES = 100
MAX_POINTS = 20_000
MAX_CANVAS = 4096
MIN_TOTAL_LENGTH = 150.0  # canvas pixels of ink
MIN_BOX_SIDE = 40.0  # the signature spans at least this much in its larger dimension
INKS = {"black": (17, 17, 17), "blue": (26, 60, 156)}
SCALE = 2


class SignatureBlank(ValidationFailed):
    code, message = "SIGNATURE_BLANK", "the signature is blank or too small; please sign again"


class SignatureTooLarge(ValidationFailed):
    code, status, message = "SIGNATURE_TOO_LARGE", 413, "the signature payload is too large"


class SignatureInvalid(ValidationFailed):
    code, message = "SIGNATURE_INVALID", "the signature strokes are malformed"


@dataclasses.dataclass(frozen=True)
class Point:
    x: float
    y: float
    t: float = 0.0
    p: float = 0.5


def parse_strokes(raw: Any) -> list[list[Point]]:
    if not isinstance(raw, list):
        raise SignatureInvalid("strokes must be a list of point lists")
    if len(raw) > MAX_STROKES or sum(len(s) for s in raw if isinstance(s, list)) > MAX_POINTS:
        raise SignatureTooLarge()
    strokes = []
    for stroke in raw:
        if not isinstance(stroke, list):
            raise SignatureInvalid("each stroke must be a list of points")
        strokes.append([_point(p) for p in stroke])
    return [s for s in strokes if s]


def _point(raw: Any) -> Point:
    try:
        point = Point(float(raw["x"]), float(raw["y"]), float(raw.get("t", 0)),
                      min(1.0, max(0.0, float(raw.get("p", 0.5)))))
    except (TypeError, KeyError, ValueError):
        raise SignatureInvalid("a point needs numeric x and y") from None
    if not (0 <= point.x <= MAX_CANVAS and 0 <= point.y <= MAX_CANVAS):
        raise SignatureInvalid("a point lies outside the canvas")
    return point


def _length(stroke: list[Point]) -> float:
    return sum(math.dist((a.x, a.y), (b.x, b.y)) for a, b in zip(stroke, stroke[1:]))


def check_ink(strokes: list[list[Point]]) -> None:
    points = [p for s in strokes for p in s]
    if not points:
        raise SignatureBlank()
    width = max(p.x for p in points) - min(p.x for p in points)
    height = max(p.y for p in points) - min(p.y for p in points)
    if sum(_length(s) for s in strokes) < MIN_TOTAL_LENGTH or max(width, height) < MIN_BOX_SIDE:
        raise SignatureBlank()


def render_strokes(raw: Any, *, ink: str = "black", height_px: int = 200) -> bytes:
    """Strokes → trimmed transparent PNG ``height_px`` high (aspect kept)."""
    strokes = parse_strokes(raw)
    check_ink(strokes)
    points = [p for s in strokes for p in s]
    left, top = min(p.x for p in points), min(p.y for p in points)
    pad = 8
    w = int((max(p.x for p in points) - left + 2 * pad) * SCALE) + 1
    h = int((max(p.y for p in points) - top + 2 * pad) * SCALE) + 1
    mask = Image.new("L", (w, h), 0)
    draw = ImageDraw.Draw(mask)
    for stroke in strokes:
        xy = [((p.x - left + pad) * SCALE, (p.y - top + pad) * SCALE) for p in stroke]
        for (a, b), point in zip(zip(xy, xy[1:]), stroke[1:]):
            width = max(2, int((2.0 + 4.0 * point.p) * SCALE))
            draw.line([a, b], fill=255, width=width)
            draw.ellipse([b[0] - width / 2, b[1] - width / 2, b[0] + width / 2, b[1] + width / 2],
                         fill=255)
    out_h = height_px
    out_w = max(1, round(w * out_h / h))
    mask = mask.resize((out_w, out_h), Image.LANCZOS)
    image = Image.new("RGBA", mask.size, INKS.get(ink, INKS["black"]) + (0,))
    image.putalpha(mask)
    buf = io.BytesIO()
    image.save(buf, "PNG", optimize=True)
    return buf.getvalue()


def normalise_png(data: bytes, *, ink: str = "black", height_px: int = 200) -> bytes:
    """An uploaded signature picture → trimmed, transparent, recoloured PNG (blank refused)."""
    from sign.seals import SealError
    from sign.seals.upload import clean_signature_image

    try:
        return clean_signature_image(data, ink=ink, height_px=height_px)
    except SealError as exc:
        error = SignatureBlank if "BLANK" in exc.code else SignatureInvalid
        raise error(str(exc)) from None
