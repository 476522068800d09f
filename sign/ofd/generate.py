"""Generate an OFD (GB/T 33190, namespace ``http://www.ofdspec.org/2016``) from simple content.

>>> data = generate_ofd([PageSpec([Text("电子保单 No. 123", 20, 20, size=5), Line(20, 28, 190, 28),
...                                 Image(png, 150, 240, 40, 40)])])

Units are millimetres from the page's top-left corner. ``Text.x/y`` is the top-left of the
text line (the baseline sits one ascent below), ``size`` the em size in mm (3.5 mm ~ 10 pt).
Glyph advances (``DeltaX``) come from the CJK font's metrics, so viewers that substitute
another font still place every character where we measured it. The font subset is embedded
(``FontFile``) unless ``embed_font=False``; then readers fall back to their own font for
``FontName``.

Layout: ``OFD.xml``, ``Doc_0/Document.xml``, ``Doc_0/PublicRes.xml`` (fonts),
``Doc_0/DocumentRes.xml`` (images), ``Doc_0/Pages/Page_N/Content.xml``, ``Doc_0/Res/*``.
"""
from __future__ import annotations

import io
import uuid
from dataclasses import dataclass, field
from datetime import date
from typing import Optional, Sequence

from lxml import etree

from sign.ofd import xml as X
from sign.ofd.errors import BAD_CONTENT, BAD_IMAGE, OfdError
from sign.ofd.fonts import cjk_font
from sign.ofd.package import write_zip

Color = tuple[int, int, int]


@dataclass(frozen=True)
class Text:
    text: str
    x: float
    y: float
    size: float = 3.5
    color: Color = (0, 0, 0)


@dataclass(frozen=True)
class Image:
    data: bytes = field(repr=False)   # PNG or JPEG (other formats are converted to PNG)
    x: float = 0.0
    y: float = 0.0
    w: float = 40.0
    h: float = 40.0


@dataclass(frozen=True)
class Line:
    x1: float
    y1: float
    x2: float
    y2: float
    width: float = 0.25
    color: Color = (0, 0, 0)


@dataclass(frozen=True)
class TextRun:
    """Text with an explicit x (mm) per character on one baseline (``y`` = baseline, mm)."""

    text: str
    xs: Sequence[float]
    y: float
    size: float = 3.5
    color: Color = (0, 0, 0)


@dataclass(frozen=True)
class Path:
    """Polylines in page mm; ``closed`` per subpath."""

    subpaths: Sequence[Sequence[tuple[float, float]]]
    closed: Sequence[bool]
    stroke: bool = True
    fill: bool = False
    width: float = 0.25
    stroke_color: Color = (0, 0, 0)
    fill_color: Color = (0, 0, 0)


@dataclass(frozen=True)
class PageSpec:
    items: Sequence[Text | TextRun | Image | Line | Path]
    width: float = 210.0
    height: float = 297.0


def _n(v: float) -> str:
    return f"{v:.3f}".rstrip("0").rstrip(".") or "0"


def _image(data: bytes) -> tuple[bytes, str]:
    from PIL import Image as PILImage
    from PIL import UnidentifiedImageError

    try:
        with PILImage.open(io.BytesIO(data)) as im:
            fmt = (im.format or "").upper()
            if fmt in ("PNG", "JPEG"):
                im.verify()
                return bytes(data), "PNG" if fmt == "PNG" else "JPEG"
            out = io.BytesIO()
            im.convert("RGBA").save(out, "PNG")
            return out.getvalue(), "PNG"
    except (UnidentifiedImageError, OSError, ValueError, PILImage.DecompressionBombError) as exc:
        raise OfdError(BAD_IMAGE, f"not a usable image: {exc}") from None


class _Ids:
    def __init__(self) -> None:
        self.n = 0

    def __call__(self) -> str:
        self.n += 1
        return str(self.n)


def generate_ofd(pages: Sequence[PageSpec], *, embed_font: bool = True, font_path: Optional[str] = None,
                 title: Optional[str] = None, author: Optional[str] = None, doc_id: Optional[str] = None,
                 creation_date: Optional[date] = None) -> bytes:
    """Build an OFD package; returns the ZIP bytes."""
    if not pages:
        raise OfdError(BAD_CONTENT, "an OFD needs at least one page")
    font = cjk_font(font_path)
    ids = _Ids()
    files: dict[str, bytes] = {}
    font_id = ids()
    chars = {c for p in pages for it in p.items if isinstance(it, (Text, TextRun)) for c in it.text}

    # PublicRes: the font
    pub = etree.Element(X.q("Res"), nsmap=X.NSMAP, BaseLoc="Res")
    fonts = etree.SubElement(pub, X.q("Fonts"))
    f_el = etree.SubElement(fonts, X.q("Font"), ID=font_id, FontName=font.family, FamilyName=font.family)
    if embed_font and chars:
        files["Doc_0/Res/font_%s.ttf" % font_id] = font.subset(chars)
        etree.SubElement(f_el, X.q("FontFile")).text = "font_%s.ttf" % font_id
    files["Doc_0/PublicRes.xml"] = X.serialize(pub)

    docres = etree.Element(X.q("Res"), nsmap=X.NSMAP, BaseLoc="Res")
    medias = etree.SubElement(docres, X.q("MultiMedias"))
    page_entries: list[tuple[str, str]] = []
    for index, spec in enumerate(pages):
        if spec.width <= 0 or spec.height <= 0:
            raise OfdError(BAD_CONTENT, f"page {index + 1}: width and height must be positive")
        page_el = etree.Element(X.q("Page"), nsmap=X.NSMAP)
        area = etree.SubElement(page_el, X.q("Area"))
        etree.SubElement(area, X.q("PhysicalBox")).text = f"0 0 {_n(spec.width)} {_n(spec.height)}"
        content = etree.SubElement(page_el, X.q("Content"))
        layer = etree.SubElement(content, X.q("Layer"), ID=ids())
        for item in spec.items:
            if isinstance(item, Text):
                _text(layer, item, font, font_id, ids())
            elif isinstance(item, Image):
                data, fmt = _image(item.data)
                mid = ids()
                name = f"image_{mid}.{'png' if fmt == 'PNG' else 'jpg'}"
                files[f"Doc_0/Res/{name}"] = data
                mm = etree.SubElement(medias, X.q("MultiMedia"), ID=mid, Type="Image", Format=fmt)
                etree.SubElement(mm, X.q("MediaFile")).text = name
                if item.w <= 0 or item.h <= 0:
                    raise OfdError(BAD_CONTENT, "image width and height must be positive")
                etree.SubElement(layer, X.q("ImageObject"), ID=ids(), ResourceID=mid,
                                 Boundary=" ".join(_n(v) for v in (item.x, item.y, item.w, item.h)),
                                 CTM=f"{_n(item.w)} 0 0 {_n(item.h)} 0 0")
            elif isinstance(item, Line):
                _line(layer, item, ids())
            elif isinstance(item, TextRun):
                _text_run(layer, item, font, font_id, ids())
            elif isinstance(item, Path):
                _path(layer, item, ids())
            else:
                raise OfdError(BAD_CONTENT, f"unsupported item {type(item).__name__}")
        pid = ids()
        path = f"Pages/Page_{index}/Content.xml"
        files[f"Doc_0/{path}"] = X.serialize(page_el)
        page_entries.append((pid, path))
    if len(medias):
        files["Doc_0/DocumentRes.xml"] = X.serialize(docres)

    first = pages[0]
    docx = etree.Element(X.q("Document"), nsmap=X.NSMAP)
    common = etree.SubElement(docx, X.q("CommonData"))
    etree.SubElement(common, X.q("MaxUnitID")).text = str(ids.n)
    area = etree.SubElement(common, X.q("PageArea"))
    etree.SubElement(area, X.q("PhysicalBox")).text = f"0 0 {_n(first.width)} {_n(first.height)}"
    etree.SubElement(common, X.q("PublicRes")).text = "PublicRes.xml"
    if len(medias):
        etree.SubElement(common, X.q("DocumentRes")).text = "DocumentRes.xml"
    pages_el = etree.SubElement(docx, X.q("Pages"))
    for pid, path in page_entries:
        etree.SubElement(pages_el, X.q("Page"), ID=pid, BaseLoc=path)
    files["Doc_0/Document.xml"] = X.serialize(docx)

    ofd = etree.Element(X.q("OFD"), nsmap=X.NSMAP, Version="1.0", DocType="OFD")
    body = etree.SubElement(ofd, X.q("DocBody"))
    info = etree.SubElement(body, X.q("DocInfo"))
    etree.SubElement(info, X.q("DocID")).text = doc_id or uuid.uuid4().hex
    if title:
        etree.SubElement(info, X.q("Title")).text = title
    if author:
        etree.SubElement(info, X.q("Author")).text = author
    etree.SubElement(info, X.q("CreationDate")).text = (creation_date or date.today()).isoformat()
    etree.SubElement(info, X.q("Creator")).text = "esign sign.ofd"
    etree.SubElement(body, X.q("DocRoot")).text = "Doc_0/Document.xml"
    files["OFD.xml"] = X.serialize(ofd)
    return write_zip(files)


def _text(layer: etree._Element, item: Text, font, font_id: str, oid: str) -> None:
    if item.size <= 0:
        raise OfdError(BAD_CONTENT, "text size must be positive")
    text = item.text.replace("\r", "").replace("\n", " ")
    if not text:
        return
    adv = [font.advance(c) * item.size for c in text]
    width = sum(adv)
    obj = etree.SubElement(layer, X.q("TextObject"), ID=oid,
                           Boundary=" ".join(_n(v) for v in (item.x, item.y, width, item.size * 1.2)),
                           Font=font_id, Size=_n(item.size))
    if item.color != (0, 0, 0):
        etree.SubElement(obj, X.q("FillColor"), Value=" ".join(str(c) for c in item.color))
    code = etree.SubElement(obj, X.q("TextCode"), X="0", Y=_n(font.ascent * item.size))
    if len(text) > 1:
        code.set("DeltaX", " ".join(_n(a) for a in adv[:-1]))
    code.text = text


def _line(layer: etree._Element, item: Line, oid: str) -> None:
    x0, y0 = min(item.x1, item.x2), min(item.y1, item.y2)
    w, h = abs(item.x2 - item.x1), abs(item.y2 - item.y1)
    obj = etree.SubElement(layer, X.q("PathObject"), ID=oid, LineWidth=_n(item.width),
                           Boundary=" ".join(_n(v) for v in (x0, y0, max(w, item.width), max(h, item.width))))
    if item.color != (0, 0, 0):
        etree.SubElement(obj, X.q("StrokeColor"), Value=" ".join(str(c) for c in item.color))
    etree.SubElement(obj, X.q("AbbreviatedData")).text = (
        f"M {_n(item.x1 - x0)} {_n(item.y1 - y0)} L {_n(item.x2 - x0)} {_n(item.y2 - y0)}")


def _text_run(layer: etree._Element, item: TextRun, font, font_id: str, oid: str) -> None:
    if not item.text or len(item.xs) != len(item.text) or item.size <= 0:
        raise OfdError(BAD_CONTENT, "TextRun needs one x per character and a positive size")
    x0 = item.xs[0]
    last = font.advance(item.text[-1]) * item.size
    width = max(item.xs) - x0 + last
    top = item.y - font.ascent * item.size
    obj = etree.SubElement(layer, X.q("TextObject"), ID=oid,
                           Boundary=" ".join(_n(v) for v in (x0, top, max(width, 0.01), item.size * 1.2)),
                           Font=font_id, Size=_n(item.size))
    if item.color != (0, 0, 0):
        etree.SubElement(obj, X.q("FillColor"), Value=" ".join(str(c) for c in item.color))
    code = etree.SubElement(obj, X.q("TextCode"), X="0", Y=_n(font.ascent * item.size))
    if len(item.text) > 1:
        code.set("DeltaX", " ".join(_n(b - a) for a, b in zip(item.xs, item.xs[1:])))
    code.text = item.text


def _path(layer: etree._Element, item: Path, oid: str) -> None:
    pts = [p for sub in item.subpaths for p in sub]
    if not pts:
        return
    x0, y0 = min(p[0] for p in pts), min(p[1] for p in pts)
    x1, y1 = max(p[0] for p in pts), max(p[1] for p in pts)
    obj = etree.SubElement(layer, X.q("PathObject"), ID=oid, LineWidth=_n(item.width),
                           Boundary=" ".join(_n(v) for v in (x0, y0, max(x1 - x0, item.width, 0.01),
                                                             max(y1 - y0, item.width, 0.01))))
    if not item.stroke:
        obj.set("Stroke", "false")
    if item.fill:
        obj.set("Fill", "true")
    if item.stroke_color != (0, 0, 0):
        etree.SubElement(obj, X.q("StrokeColor"), Value=" ".join(str(c) for c in item.stroke_color))
    if item.fill and item.fill_color != (0, 0, 0):
        etree.SubElement(obj, X.q("FillColor"), Value=" ".join(str(c) for c in item.fill_color))
    ops = []
    for sub, closed in zip(item.subpaths, item.closed):
        if not sub:
            continue
        ops.append(f"M {_n(sub[0][0] - x0)} {_n(sub[0][1] - y0)}")
        ops += [f"L {_n(x - x0)} {_n(y - y0)}" for x, y in sub[1:]]
        if closed:
            ops.append("C")
    etree.SubElement(obj, X.q("AbbreviatedData")).text = " ".join(ops)
