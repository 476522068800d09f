"""Render OFD pages to PNG with Pillow (phone preview in the mobile viewer).

Draws, in page order: templates then page content (paths, images, text with the installed CJK
font at each glyph's own position, so layout follows the OFD even when the document's font is
not available), then seal stamps of the signatures (the seal picture inside each
``StampAnnot`` Boundary). Not drawn: clipping, gradients, JBIG2 images, annotations other than
stamps. Good enough for a preview; not a print renderer.
"""
from __future__ import annotations

import functools
import io
from dataclasses import dataclass
from typing import Optional

from PIL import Image, ImageDraw, ImageFont

from sign.ofd import xml as X
from sign.ofd.content import ImageItem, PathItem, TextItem, page_items
from sign.ofd.errors import BAD_CONTENT, OfdError
from sign.ofd.fonts import cjk_font
from sign.ofd.package import Box, OfdPackage, read_ofd, resolve

MAX_PIXELS = 40_000_000


@dataclass(frozen=True)
class StampImage:
    page: int          # 1-based
    box: Box           # page mm
    png: bytes         # RGBA seal picture


def _pkg(data: bytes | OfdPackage) -> OfdPackage:
    return data if isinstance(data, OfdPackage) else read_ofd(data)


def page_stamps(pkg: OfdPackage) -> list[StampImage]:
    """Seal pictures of every seal signature with their StampAnnot boxes (unreadable ones skipped)."""
    from sign.seals import parse_seal, parse_ses_signature, seal_appearance_png

    doc = pkg.document
    out: list[StampImage] = []
    if doc.signatures_path is None:
        return out
    try:
        sigs = pkg.xml(doc.signatures_path)
    except OfdError:
        return out
    base = doc.signatures_path.rsplit("/", 1)[0] if "/" in doc.signatures_path else ""
    for entry in X.children(sigs, "Signature"):
        try:
            sig_path = resolve(base, entry.get("BaseLoc"), pkg.files)
            root = pkg.xml(sig_path)
            sdir = sig_path.rsplit("/", 1)[0]
            info = X.child(root, "SignedInfo")
            annots = list(X.children(info, "StampAnnot")) if info is not None else []
            if not annots:
                continue
            seal = None
            value_loc = X.text(root, "SignedValue")
            if value_loc:
                try:
                    seal = parse_ses_signature(pkg.read(resolve(sdir, value_loc, pkg.files))).seal
                except Exception:
                    seal = None
            seal_loc = X.text(info, "Seal", "BaseLoc")
            if seal is None and seal_loc:
                seal = parse_seal(pkg.read(resolve(sdir, seal_loc, pkg.files)))
            if seal is None:
                continue
            png = _ink_only(seal_appearance_png(seal))
        except Exception:
            continue
        for annot in annots:
            page = doc.page_by_id(annot.get("PageRef", ""))
            try:
                box = X.floats(annot.get("Boundary"), 4)
            except ValueError:
                continue
            if page is not None:
                out.append(StampImage(page.index + 1, box, png))  # type: ignore[arg-type]
    return out


def _ink_only(png: bytes) -> bytes:
    """Seal pictures stored without transparency (white background, as in many vendors' seals):
    make near-white pixels transparent so the stamp does not hide the text under it."""
    im = Image.open(io.BytesIO(png)).convert("RGBA")
    if im.getchannel("A").getextrema()[0] < 255:
        return png  # already has transparency
    px = [(r, g, b, 0 if min(r, g, b) > 235 else a) for r, g, b, a in im.getdata()]
    im.putdata(px)
    out = io.BytesIO()
    im.save(out, "PNG")
    return out.getvalue()


@functools.lru_cache(maxsize=64)
def _font(px: int, path: str) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, max(1, px), index=0)


def _open_image(data: bytes) -> Optional[Image.Image]:
    try:
        im = Image.open(io.BytesIO(data))
        if im.width * im.height > MAX_PIXELS:
            return None
        im.load()
        return im.convert("RGBA")
    except Exception:
        return None


def render_page(data: bytes | OfdPackage, page: int = 1, *, dpi: float = 110.0, stamps: bool = True) -> bytes:
    """PNG of page ``page`` (1-based) at ``dpi`` (110 dpi: an A4 page ~ 910 px wide)."""
    pkg = _pkg(data)
    doc = pkg.document
    pg = doc.page(page)
    bx, by, bw, bh = pkg.page_box(pg, doc)
    k = dpi / 25.4
    width, height = max(1, round(bw * k)), max(1, round(bh * k))
    if width * height > MAX_PIXELS:
        raise OfdError(BAD_CONTENT, f"page {page} at {dpi} dpi would be {width}x{height} pixels")
    canvas = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(canvas)
    font_path = cjk_font().path

    def px(x: float, y: float) -> tuple[float, float]:
        return ((x - bx) * k, (y - by) * k)

    for item in page_items(pkg, pg, doc):
        if isinstance(item, PathItem):
            for sub, closed in zip(item.subpaths, item.closed):
                pts = [px(x, y) for x, y in sub]
                if item.fill and len(pts) > 2:
                    draw.polygon(pts, fill=item.fill_color)
                if item.stroke and len(pts) > 1:
                    draw.line(pts + ([pts[0]] if closed else []), fill=item.stroke_color,
                              width=max(1, round(item.line_width * k)))
        elif isinstance(item, ImageItem):
            media = doc.media.get(item.resource_id)
            if media is None or media.file is None or media.file not in pkg.files:
                continue
            _paste(canvas, pkg.files[media.file], item.box, px, k)
        elif isinstance(item, TextItem):
            for g in item.glyphs:
                if g.char.isspace():
                    continue
                draw.text(px(g.x, g.y), g.char, fill=item.color, font=_font(round(g.size * k), font_path),
                          anchor="ls")
    if stamps:
        for st in page_stamps(pkg):
            if st.page == page:
                _paste(canvas, st.png, st.box, px, k)
    out = io.BytesIO()
    canvas.save(out, "PNG", optimize=False)
    return out.getvalue()


def _paste(canvas: Image.Image, data: bytes, box: Box, px, k: float) -> None:
    im = _open_image(data)
    if im is None or box[2] <= 0 or box[3] <= 0:
        return
    x0, y0 = px(box[0], box[1])
    w, h = max(1, round(box[2] * k)), max(1, round(box[3] * k))
    if w * h > MAX_PIXELS:
        return
    im = im.resize((w, h), Image.LANCZOS)
    canvas.paste(im, (round(x0), round(y0)), im)


def render_pages(data: bytes | OfdPackage, *, dpi: float = 110.0) -> list[bytes]:
    pkg = _pkg(data)
    return [render_page(pkg, i + 1, dpi=dpi) for i in range(len(pkg.document.pages))]
