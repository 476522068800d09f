"""Seal images generated from text: round 公章 / 合同专用章 / 财务专用章, oval, square 法人章,
handwriting-like personal signatures.

Everything is drawn as a grey-level coverage mask at ``SUPERSAMPLE`` times the output size and
down-sampled (Lanczos), so edges are anti-aliased; the PNG is one solid colour with alpha = mask
(RGBA, transparent background) and carries DPI metadata derived from the physical size.

Geometry of the round seal, in units of the radius R (42 mm seal: R = 21 mm): outer ring width
0.055 R; star outer radius 0.33 R (14 mm star); company name on the upper arc, characters
rotated to follow it and evenly spaced over 210-240 deg; optional horizontal sub text below the
star; optional 13-digit code on the lower arc in small digits facing the centre.
"""
from __future__ import annotations

import hashlib
import io
import math
import random

from PIL import Image, ImageChops, ImageDraw, ImageFilter, ImageFont

from sign.seals.errors import SealSpecInvalid, SealTextTooLong
from sign.seals.fonts import load_font, missing_glyphs
from sign.seals.specs import SealKind, SealSpec

SUPERSAMPLE = 4
DEFAULT_SIZE_PX = 400
MIN_NAME_FONT = 0.125    # smallest company-name glyph, in units of R (42 mm seal: ~2.6 mm)
MAX_NAME_FONT = 0.25
MIN_SPAN_DEG, MAX_SPAN_DEG = 210.0, 240.0


# --------------------------------------------------------------------------------------------
# drawing helpers (all on an "L" coverage mask)
# --------------------------------------------------------------------------------------------


def _glyph(ch: str, font: ImageFont.FreeTypeFont, *, stretch: tuple[float, float] = (1.0, 1.0),
           bold: float = 0.0) -> Image.Image:
    """One character as a square tile centred on the glyph's em box; ``bold`` adds a stroke of
    that fraction of the font size (seal engraving is heavier than the font)."""
    size = font.size
    pad = size // 2
    tile = Image.new("L", (size + 2 * pad, size + 2 * pad), 0)
    stroke = round(size * bold)
    ImageDraw.Draw(tile).text((tile.width / 2, tile.height / 2), ch, fill=255, font=font, anchor="mm",
                              stroke_width=stroke, stroke_fill=255)
    if stretch != (1.0, 1.0):
        tile = tile.resize((max(1, round(tile.width * stretch[0])), max(1, round(tile.height * stretch[1]))),
                           Image.LANCZOS)
    return tile


def _stamp(mask: Image.Image, tile: Image.Image, cx: float, cy: float, angle_deg: float = 0.0) -> None:
    """Composite ``tile`` (rotated CCW by ``angle_deg``) centred at (cx, cy), keeping the max."""
    if angle_deg:
        tile = tile.rotate(angle_deg, resample=Image.BICUBIC, expand=True)
    x0, y0 = round(cx - tile.width / 2), round(cy - tile.height / 2)
    box = (x0, y0, x0 + tile.width, y0 + tile.height)
    region = mask.crop(box)
    mask.paste(ImageChops.lighter(region, tile), box)


def _ellipse_point(cx: float, cy: float, a: float, b: float, t: float) -> tuple[float, float]:
    """Point at angle ``t`` (radians, 0 = top, clockwise) on an ellipse with half-axes a (x), b (y)."""
    return cx + a * math.sin(t), cy - b * math.cos(t)


def _arc_positions(cx: float, cy: float, a: float, b: float, t0: float, t1: float, n: int
                   ) -> list[tuple[float, float, float]]:
    """n points evenly spaced by arc length from t0 to t1, each with the CCW rotation (deg) that
    aligns a glyph's baseline with the direction of travel."""
    steps = 720
    ts = [t0 + (t1 - t0) * i / steps for i in range(steps + 1)]
    pts = [_ellipse_point(cx, cy, a, b, t) for t in ts]
    cum = [0.0]
    for (x0, y0), (x1, y1) in zip(pts, pts[1:]):
        cum.append(cum[-1] + math.hypot(x1 - x0, y1 - y0))
    total = cum[-1]
    out = []
    j = 0
    for i in range(n):
        target = total * (i + 0.5) / n
        while j < steps - 1 and cum[j + 1] < target:
            j += 1
        seg = cum[j + 1] - cum[j] or 1.0
        f = (target - cum[j]) / seg
        t = ts[j] + (ts[j + 1] - ts[j]) * f
        x, y = _ellipse_point(cx, cy, a, b, t)
        direction = 1.0 if t1 > t0 else -1.0
        tx, ty = a * math.cos(t) * direction, b * math.sin(t) * direction
        out.append((x, y, -math.degrees(math.atan2(ty, tx))))
    return out


def _arc_length(a: float, b: float, span_rad: float) -> float:
    pts = [_ellipse_point(0, 0, a, b, -span_rad / 2 + span_rad * i / 360) for i in range(361)]
    return sum(math.hypot(x1 - x0, y1 - y0) for (x0, y0), (x1, y1) in zip(pts, pts[1:]))


def _star(draw: ImageDraw.ImageDraw, cx: float, cy: float, r: float) -> None:
    inner = r * math.sin(math.radians(18)) / math.sin(math.radians(126))  # regular pentagram (0.382 r)
    pts = []
    for k in range(10):
        rad = r if k % 2 == 0 else inner
        t = math.radians(36 * k)
        pts.append((cx + rad * math.sin(t), cy - rad * math.cos(t)))
    draw.polygon(pts, fill=255)


def _horizontal_text(mask: Image.Image, text: str, font: ImageFont.FreeTypeFont, cx: float, cy: float,
                     max_width: float) -> None:
    tile = Image.new("L", (int(font.size * (len(text) + 2)), int(font.size * 2)), 0)
    ImageDraw.Draw(tile).text((tile.width / 2, tile.height / 2), text, fill=255, font=font, anchor="mm",
                              stroke_width=round(font.size * 0.03), stroke_fill=255)
    bbox = tile.getbbox()
    if bbox is None:
        return
    tile = tile.crop(bbox)
    if tile.width > max_width:  # compress horizontally, as seal engravers do
        tile = tile.resize((max(1, int(max_width)), tile.height), Image.LANCZOS)
    _stamp(mask, tile, cx, cy)


def _finish(mask: Image.Image, spec: SealSpec, out_size: tuple[int, int], width_mm: float) -> bytes:
    alpha = mask.resize(out_size, Image.LANCZOS)
    img = Image.new("RGBA", out_size, (*spec.rgb, 0))
    img.putalpha(alpha)
    dpi = out_size[0] * 25.4 / width_mm
    buf = io.BytesIO()
    img.save(buf, format="PNG", optimize=True, dpi=(dpi, dpi))
    return buf.getvalue()


def _out_size(size_px: int | None, dpi: float | None, width_mm: float, aspect: float = 1.0) -> tuple[int, int]:
    if size_px is None:
        size_px = round(width_mm / 25.4 * dpi) if dpi else DEFAULT_SIZE_PX
    if not 32 <= size_px <= 4000:
        raise SealSpecInvalid("size_px must be within 32..4000", code="SEAL_SIZE_INVALID")
    return size_px, max(1, round(size_px * aspect))


# --------------------------------------------------------------------------------------------
# round / oval seals
# --------------------------------------------------------------------------------------------


def _render_round(spec: SealSpec, size_px: int | None, dpi: float | None) -> bytes:
    oval = spec.shape == "oval"
    aspect = 2 / 3 if oval else 1.0
    out = _out_size(size_px, dpi, spec.size_mm, aspect)
    w, h = out[0] * SUPERSAMPLE, out[1] * SUPERSAMPLE
    mask = Image.new("L", (w, h), 0)
    draw = ImageDraw.Draw(mask)
    cx, cy = w / 2, h / 2
    a, b = w / 2 * 0.98, h / 2 * 0.98          # outer edge half-axes
    unit = min(a, b) if oval else a             # "R" for font sizes
    ring = 0.055 * unit if not oval else 0.06 * unit
    draw.ellipse((cx - a, cy - b, cx + a, cy + b), fill=255)
    draw.ellipse((cx - a + ring, cy - b + ring, cx + a - ring, cy + b - ring), fill=0)
    inner_a, inner_b = a - ring, b - ring
    if oval:  # a thin second inner line, usual on oval seals
        gap = 0.04 * unit
        draw.ellipse((cx - inner_a + gap, cy - inner_b + gap, cx + inner_a - gap, cy + inner_b - gap),
                     outline=255, width=max(1, int(0.015 * unit)))
        inner_a, inner_b = inner_a - gap, inner_b - gap
    # company name on the upper arc
    text = spec.text
    n = len(text)
    span = math.radians(min(MAX_SPAN_DEG, MIN_SPAN_DEG + max(0, n - 10) * 3.0))
    if oval:
        span = math.radians(min(200.0, 150.0 + max(0, n - 8) * 4.0))
    size = MAX_NAME_FONT * unit * (0.8 if oval else 1.0)
    for _ in range(8):
        inset = 0.05 * unit + size / 2
        per_char = _arc_length(inner_a - inset, inner_b - inset, span) / n
        size = min(MAX_NAME_FONT * unit * (0.8 if oval else 1.0), per_char / 1.08)
    if size < MIN_NAME_FONT * unit:
        raise SealTextTooLong(
            f"{n} characters do not fit the seal's arc at the minimum glyph size "
            f"({MIN_NAME_FONT} R); shorten the name or use a larger seal", code="SEAL_TEXT_TOO_LONG")
    inset = 0.05 * unit + size / 2
    font = load_font(int(size))
    stretch = (1.0, 1.15)  # seal characters are a little taller than wide
    for ch, (x, y, rot) in zip(text, _arc_positions(cx, cy, inner_a - inset, inner_b - inset,
                                                    -span / 2, span / 2, n)):
        if not ch.isspace():
            _stamp(mask, _glyph(ch, font, stretch=stretch, bold=0.035), x, y, rot)
    # star (round) / nothing (oval: the sub text takes the centre)
    if not oval:
        _star(draw, cx, cy, 0.33 * unit)
    # horizontal sub text
    if spec.sub_text:
        sub_size = int(0.17 * unit) if not oval else int(0.22 * unit)
        sub_y = cy + (0.50 * unit if not oval else 0.05 * unit)
        _horizontal_text(mask, spec.sub_text, load_font(sub_size), cx, sub_y,
                         max_width=(1.15 if not oval else 1.5) * unit)
    # anti-counterfeit code
    if spec.code:
        digit_size = int(0.085 * unit)
        dfont = load_font(digit_size)
        if oval:
            _horizontal_text(mask, spec.code, dfont, cx, cy + 0.45 * unit, max_width=1.4 * unit)
        else:
            r_code = a - ring - 0.05 * unit - digit_size / 2
            half = math.radians(38)
            for ch, (x, y, rot) in zip(spec.code, _arc_positions(cx, cy, r_code, r_code,
                                                                 math.pi + half, math.pi - half, len(spec.code))):
                _stamp(mask, _glyph(ch, dfont), x, y, rot)
    return _finish(mask, spec, out, spec.size_mm)


# --------------------------------------------------------------------------------------------
# square legal-representative seal
# --------------------------------------------------------------------------------------------


def legal_rep_layout(name: str) -> list[tuple[str, int, int, int, int]]:
    """Characters and their grid cells ``(char, col, row, col_span, row_span)`` on a grid of
    ``cols x 2``; columns are read right to left, top to bottom (traditional seal order).

    1 char + 印 -> 2x1; 2 chars + 印 -> 3-char layout (first char over the whole right column);
    3 chars + 印 or 4 chars -> 2x2; 5-6 chars -> 3x2.
    """
    chars = list(name)
    if len(chars) in (1, 2, 3):
        chars.append("印")
    n = len(chars)
    if n == 2:
        return [(chars[0], 1, 0, 1, 2), (chars[1], 0, 0, 1, 2)]
    if n == 3:
        return [(chars[0], 1, 0, 1, 2), (chars[1], 0, 0, 1, 1), (chars[2], 0, 1, 1, 1)]
    if n == 4:
        return [(chars[0], 1, 0, 1, 1), (chars[1], 1, 1, 1, 1), (chars[2], 0, 0, 1, 1), (chars[3], 0, 1, 1, 1)]
    if n <= 6:
        cols = 3
        cells = []
        for i, ch in enumerate(chars):
            col = cols - 1 - i // 2
            cells.append((ch, col, i % 2, 1, 1 if not (n == 5 and i == 4) else 2))
        return cells
    raise SealTextTooLong(f"a square seal holds at most 6 characters, got {len(name)}", code="SEAL_TEXT_TOO_LONG")


def _render_square(spec: SealSpec, size_px: int | None, dpi: float | None) -> bytes:
    out = _out_size(size_px, dpi, spec.size_mm)
    side = out[0] * SUPERSAMPLE
    mask = Image.new("L", (side, side), 0)
    draw = ImageDraw.Draw(mask)
    margin = side * 0.02
    border = side * 0.07
    draw.rectangle((margin, margin, side - margin, side - margin), fill=255)
    draw.rectangle((margin + border, margin + border, side - margin - border, side - margin - border), fill=0)
    cells = legal_rep_layout(spec.text)
    cols = max(c[1] + c[3] for c in cells)
    inner0 = margin + border + side * 0.035
    inner = side - 2 * inner0
    cw, ch_ = inner / cols, inner / 2
    font = load_font(int(side * 0.5))
    for char, col, row, cspan, rspan in cells:
        tile = _glyph(char, font, bold=0.03)
        bbox = tile.getbbox()
        if bbox is None:
            continue
        tile = tile.crop(bbox)
        tw, th = cw * cspan * 0.9, ch_ * rspan * 0.9
        tile = tile.resize((max(1, int(tw)), max(1, int(th))), Image.LANCZOS)
        _stamp(mask, tile, inner0 + cw * (col + cspan / 2), inner0 + ch_ * (row + rspan / 2))
    return _finish(mask, spec, out, spec.size_mm)


# --------------------------------------------------------------------------------------------
# personal signature
# --------------------------------------------------------------------------------------------


def _check_glyphs(text: str) -> None:
    missing = missing_glyphs(text)
    if missing:
        raise SealSpecInvalid(f"the seal font has no glyph for {''.join(missing)!r} "
                              f"(U+{', U+'.join(f'{ord(c):04X}' for c in missing)})", code="SEAL_GLYPH_MISSING")


def render_signature(name: str, *, color: str = "#111111", height_px: int = 160, seed: int | None = None) -> bytes:
    """A handwriting-like rendering of ``name``: each glyph slightly rotated, shifted and
    scaled, the line sheared like slanted handwriting. Deterministic per name unless ``seed``."""
    spec = SealSpec(SealKind.PERSONAL, name, color=color)
    _check_glyphs(spec.text)
    rnd = random.Random(seed if seed is not None else int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big"))
    ss = SUPERSAMPLE
    size = int(height_px * 0.62 * ss)
    font = load_font(size)
    n = len(spec.text)
    w = int(size * (0.92 * n + 1.2))
    h = int(height_px * ss)
    mask = Image.new("L", (w, h), 0)
    x = size * 0.7
    for ch in spec.text:
        if ch.isspace():
            x += size * 0.4
            continue
        scale = rnd.uniform(0.9, 1.1)
        tile = _glyph(ch, load_font(int(size * scale)))
        thick = tile.filter(ImageFilter.MaxFilter(3))
        _stamp(mask, thick, x, h / 2 + rnd.uniform(-0.06, 0.06) * size, rnd.uniform(-7, 7))
        x += size * rnd.uniform(0.82, 0.95) * scale
    shear = 0.22
    mask = mask.transform((w + int(h * shear), h), Image.AFFINE, (1, shear, -h * shear, 0, 1, 0),
                          resample=Image.BICUBIC)
    bbox = mask.getbbox()
    if bbox:
        pad = int(0.08 * h)
        mask = mask.crop((max(0, bbox[0] - pad), 0, min(mask.width, bbox[2] + pad), h))
    out = (max(1, mask.width // ss), height_px)
    return _finish(mask, spec, out, out[0] * 25.4 / 200)  # 200 dpi nominal


# --------------------------------------------------------------------------------------------
# entry point
# --------------------------------------------------------------------------------------------


def render_seal(spec: SealSpec, *, size_px: int | None = None, dpi: float | None = None) -> bytes:
    """PNG bytes (RGBA, transparent background) of ``spec``.

    ``size_px`` is the width in pixels (default 400; oval seals are 3:2, others square); or give
    ``dpi`` to derive it from ``spec.size_mm``. The PNG's pHYs DPI always matches the physical size.
    Raises :class:`SealTextTooLong` (``SEAL_TEXT_TOO_LONG``) when the text cannot fit, and
    :class:`SealSpecInvalid` (``SEAL_GLYPH_MISSING``) for characters the font lacks (rare
    characters would otherwise print as empty boxes on a legal seal).
    """
    _check_glyphs(spec.text + (spec.sub_text or "") + (spec.code or ""))
    if spec.kind is SealKind.PERSONAL:
        return render_signature(spec.text, color=spec.color, height_px=size_px or 160)
    if spec.shape == "square":
        return _render_square(spec, size_px, dpi)
    return _render_round(spec, size_px, dpi)
