"""Page content interpretation (GB/T 33190 §9-§12), shared by keyword search, rendering, OFD->PDF.

Coordinates are page millimetres, origin top-left, y downwards. An object's own coordinates
(TextCode X/Y, path points, the image unit square) go through its ``CTM`` and are then offset
by its ``Boundary`` origin. What is read: Layers and nested PageBlocks of the page and of its
templates (drawn first), TextObject (Font, Size, FillColor, TextCode X/Y/DeltaX/DeltaY with the
``g`` abbreviation, CTM), ImageObject (ResourceID, Boundary, CTM), PathObject (AbbreviatedData
M/S/L/Q/B/A/C, Stroke/Fill, LineWidth, colours). Not interpreted: clipping, shading/patterns,
DrawParam inheritance, composite objects, blend modes.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterator, Optional

from lxml import etree

from sign.ofd import xml as X
from sign.ofd.errors import OfdError
from sign.ofd.package import Box, Document, OfdPackage, Page

Matrix = tuple[float, float, float, float, float, float]
IDENTITY: Matrix = (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)
Color = tuple[int, int, int]
BLACK: Color = (0, 0, 0)


@dataclass(frozen=True)
class Glyph:
    char: str
    x: float            # origin on the baseline, page mm
    y: float
    size: float         # em size in mm (after CTM scaling)
    advance: float      # mm to the next glyph (estimate for the last one)

    @property
    def box(self) -> Box:
        """(x, y, w, h) of the glyph cell: from 0.8 em above the baseline to 0.2 em below."""
        return (self.x, self.y - 0.8 * self.size, max(self.advance, 0.3 * self.size), self.size)


@dataclass(frozen=True)
class TextItem:
    font_id: str
    size: float
    color: Color
    glyphs: tuple[Glyph, ...]


@dataclass(frozen=True)
class ImageItem:
    resource_id: str
    box: Box            # page mm


@dataclass(frozen=True)
class PathItem:
    subpaths: tuple[tuple[tuple[float, float], ...], ...]   # polylines in page mm
    closed: tuple[bool, ...]
    stroke: bool
    fill: bool
    line_width: float
    stroke_color: Color
    fill_color: Color


Item = TextItem | ImageItem | PathItem


def mul(m1: Matrix, m2: Matrix) -> Matrix:
    a, b, c, d, e, f = m1
    A, B, C, D, E, F = m2
    return (a * A + b * C, a * B + b * D, c * A + d * C, c * B + d * D, e * A + f * C + E, e * B + f * D + F)


def apply(m: Matrix, x: float, y: float) -> tuple[float, float]:
    return (m[0] * x + m[2] * y + m[4], m[1] * x + m[3] * y + m[5])


def _matrix(value: Optional[str]) -> Matrix:
    if not value:
        return IDENTITY
    try:
        return X.floats(value, 6)  # type: ignore[return-value]
    except ValueError:
        return IDENTITY


def _box(value: Optional[str]) -> Box:
    try:
        return X.floats(value, 4)  # type: ignore[return-value]
    except ValueError:
        return (0.0, 0.0, 0.0, 0.0)


def _color(el: Optional[etree._Element], default: Color) -> Color:
    if el is None or not el.get("Value"):
        return default
    try:
        parts = el.get("Value", "").split()
        if parts and parts[0].startswith("#"):
            vals = [int(p[1:], 16) for p in parts[:3]]
        else:
            vals = [int(float(p)) for p in parts[:3]]
        if len(vals) == 1:
            vals = vals * 3
        return tuple(max(0, min(255, v)) for v in vals[:3])  # type: ignore[return-value]
    except ValueError:
        return default


def deltas(value: Optional[str]) -> list[float]:
    """``"g 3 1.5 2"`` -> [1.5, 1.5, 1.5, 2.0]."""
    if not value:
        return []
    toks = value.split()
    out: list[float] = []
    i = 0
    try:
        while i < len(toks):
            if toks[i] == "g" and i + 2 < len(toks):
                out += [float(toks[i + 2])] * int(float(toks[i + 1]))
                i += 3
            else:
                out.append(float(toks[i]))
                i += 1
    except ValueError:
        return out
    return out


def _text_object(el: etree._Element) -> TextItem:
    bx, by, _bw, _bh = _box(el.get("Boundary"))
    ctm = mul(_matrix(el.get("CTM")), (1, 0, 0, 1, bx, by))
    try:
        size = float(el.get("Size", "3.5"))
    except ValueError:
        size = 3.5
    scale = math.sqrt(abs(ctm[0] * ctm[3] - ctm[1] * ctm[2])) or 1.0
    glyphs: list[Glyph] = []
    cx, cy = 0.0, 0.0
    for code in X.children(el, "TextCode"):
        chars = list(code.text or "")
        try:
            if code.get("X") is not None:
                cx = float(code.get("X", "0"))
            if code.get("Y") is not None:
                cy = float(code.get("Y", "0"))
        except ValueError:
            pass
        dx, dy = deltas(code.get("DeltaX")), deltas(code.get("DeltaY"))
        for i, ch in enumerate(chars):
            adv = dx[i] if i < len(dx) else (dx[-1] if dx else size * (0.5 if ord(ch) < 0x2E80 else 1.0))
            px, py = apply(ctm, cx, cy)
            glyphs.append(Glyph(ch, px, py, size * scale, adv * scale))
            cx += adv
            if i < len(dy):
                cy += dy[i]
    return TextItem(el.get("Font", ""), size * scale, _color(X.child(el, "FillColor"), BLACK), tuple(glyphs))


def _image_object(el: etree._Element) -> ImageItem:
    bx, by, bw, bh = _box(el.get("Boundary"))
    ctm = _matrix(el.get("CTM")) if el.get("CTM") else (bw, 0, 0, bh, 0, 0)
    pts = [apply(ctm, u, v) for u, v in ((0, 0), (1, 0), (0, 1), (1, 1))]
    xs, ys = [p[0] for p in pts], [p[1] for p in pts]
    return ImageItem(el.get("ResourceID", ""), (bx + min(xs), by + min(ys), max(xs) - min(xs), max(ys) - min(ys)))


def _bezier(p0, p1, p2, p3, n: int = 12) -> list[tuple[float, float]]:
    out = []
    for k in range(1, n + 1):
        t = k / n
        u = 1 - t
        out.append((u ** 3 * p0[0] + 3 * u * u * t * p1[0] + 3 * u * t * t * p2[0] + t ** 3 * p3[0],
                    u ** 3 * p0[1] + 3 * u * u * t * p1[1] + 3 * u * t * t * p2[1] + t ** 3 * p3[1]))
    return out


def parse_path_data(data: str) -> tuple[list[list[tuple[float, float]]], list[bool]]:
    """AbbreviatedData -> polylines (object coordinates) and their closed flags."""
    toks = data.split()
    subs: list[list[tuple[float, float]]] = []
    closed: list[bool] = []
    cur: list[tuple[float, float]] = []
    i = 0

    def nums(k: int) -> list[float]:
        nonlocal i
        vals = [float(t) for t in toks[i + 1:i + 1 + k]]
        if len(vals) != k:
            raise ValueError("short path data")
        i += k + 1
        return vals

    try:
        while i < len(toks):
            op = toks[i]
            if op in ("M", "S"):
                if len(cur) > 1:
                    subs.append(cur)
                    closed.append(False)
                x, y = nums(2)
                cur = [(x, y)]
            elif op == "L":
                cur.append(tuple(nums(2)))  # type: ignore[arg-type]
            elif op == "Q":
                x1, y1, x2, y2 = nums(4)
                p0 = cur[-1] if cur else (x1, y1)
                c1 = (p0[0] + 2 / 3 * (x1 - p0[0]), p0[1] + 2 / 3 * (y1 - p0[1]))
                c2 = (x2 + 2 / 3 * (x1 - x2), y2 + 2 / 3 * (y1 - y2))
                cur += _bezier(p0, c1, c2, (x2, y2))
            elif op == "B":
                x1, y1, x2, y2, x3, y3 = nums(6)
                p0 = cur[-1] if cur else (x1, y1)
                cur += _bezier(p0, (x1, y1), (x2, y2), (x3, y3))
            elif op == "A":
                vals = nums(7)
                cur.append((vals[5], vals[6]))  # arcs approximated by their chord
            elif op == "C":
                if cur:
                    subs.append(cur)
                    closed.append(True)
                    cur = [cur[0]]
                i += 1
            else:
                i += 1
    except (ValueError, IndexError):
        pass
    if len(cur) > 1:
        subs.append(cur)
        closed.append(False)
    return subs, closed


def _path_object(el: etree._Element) -> PathItem:
    bx, by, _bw, _bh = _box(el.get("Boundary"))
    ctm = mul(_matrix(el.get("CTM")), (1, 0, 0, 1, bx, by))
    subs, closed = parse_path_data(X.text(el, "AbbreviatedData") or "")
    try:
        lw = float(el.get("LineWidth", "0.353"))
    except ValueError:
        lw = 0.353
    scale = math.sqrt(abs(ctm[0] * ctm[3] - ctm[1] * ctm[2])) or 1.0
    return PathItem(tuple(tuple(apply(ctm, x, y) for x, y in s) for s in subs), tuple(closed),
                    el.get("Stroke", "true").lower() != "false", el.get("Fill", "false").lower() == "true",
                    lw * scale, _color(X.child(el, "StrokeColor"), BLACK), _color(X.child(el, "FillColor"), BLACK))


def _walk(el: etree._Element) -> Iterator[Item]:
    for node in el:
        name = X.local(node)
        if name == "TextObject":
            yield _text_object(node)
        elif name == "ImageObject":
            yield _image_object(node)
        elif name == "PathObject":
            yield _path_object(node)
        elif name in ("Layer", "PageBlock", "Content"):
            yield from _walk(node)


def _template_ids(page_root: etree._Element) -> list[str]:
    return [t.get("TemplateID", "") for t in X.children(page_root, "Template")]


def page_items(pkg: OfdPackage, page: Page, doc: Optional[Document] = None) -> list[Item]:
    """Drawing items of ``page``: its templates' first, then its own content, in order."""
    doc = doc or pkg.document
    root = pkg.xml(page.path)
    items: list[Item] = []
    for tid in _template_ids(root):
        tpath = doc.templates.get(tid)
        if tpath:
            try:
                tcontent = X.child(pkg.xml(tpath), "Content")
                if tcontent is not None:
                    items += list(_walk(tcontent))
            except OfdError:
                pass
    content = X.child(root, "Content")
    if content is not None:
        items += list(_walk(content))
    return items


def page_glyphs(pkg: OfdPackage, page: Page, doc: Optional[Document] = None) -> list[Glyph]:
    return [g for it in page_items(pkg, page, doc) if isinstance(it, TextItem) for g in it.glyphs]


def page_text(pkg: OfdPackage, page: Page, doc: Optional[Document] = None) -> str:
    return "".join(g.char for g in page_glyphs(pkg, page, doc))


def union(boxes: list[Box]) -> Box:
    x0 = min(b[0] for b in boxes)
    y0 = min(b[1] for b in boxes)
    x1 = max(b[0] + b[2] for b in boxes)
    y1 = max(b[1] + b[3] for b in boxes)
    return (x0, y0, x1 - x0, y1 - y0)


@dataclass(frozen=True)
class KeywordHit:
    page: int          # 1-based
    box: Box           # union of the keyword's glyph cells, page mm


def find_keyword(pkg: OfdPackage, keyword: str, *, page: Optional[int] = None,
                 doc: Optional[Document] = None) -> list[KeywordHit]:
    """Every occurrence of ``keyword`` (whitespace in the page text ignored), page by page."""
    doc = doc or pkg.document
    needle = "".join(keyword.split())
    if not needle:
        return []
    hits: list[KeywordHit] = []
    for p in doc.pages:
        if page is not None and p.index + 1 != page:
            continue
        glyphs = [g for g in page_glyphs(pkg, p, doc) if not g.char.isspace()]
        hay = "".join(g.char for g in glyphs)
        start = hay.find(needle)
        while start >= 0:
            hits.append(KeywordHit(p.index + 1, union([g.box for g in glyphs[start:start + len(needle)]])))
            start = hay.find(needle, start + 1)
    return hits
