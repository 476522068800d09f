"""Convert an OFD to PDF (for users who need a PDF), with pikepdf.

Text is drawn as real, searchable text: one Type0/CIDFontType2 font (a TrueType subset of the
installed CJK font, Identity-H, /W widths, /ToUnicode), each glyph placed at its OFD position.
Images (PNG/JPEG... via Pillow; alpha as /SMask), simple paths (lines, Béziers flattened) and
the seal stamps of the signatures are drawn too. The PDF is a rendition: it carries no OFD
signature (signatures do not survive a format change; sign the PDF itself if needed).
"""
from __future__ import annotations

import io
import zlib
from typing import Optional

import pikepdf
from PIL import Image

from sign.ofd.content import ImageItem, PathItem, TextItem, page_items
from sign.ofd.fonts import CJKFont, cjk_font
from sign.ofd.package import OfdPackage, read_ofd
from sign.ofd.render import MAX_PIXELS, page_stamps

PT_PER_MM = 72.0 / 25.4


def _n(v: float) -> str:
    return f"{v:.4f}".rstrip("0").rstrip(".") or "0"


class _PdfFont:
    """The subset font and its Type0 dictionary; glyph IDs of the subset."""

    def __init__(self, pdf: pikepdf.Pdf, font: CJKFont, chars: set[str]) -> None:
        from fontTools.ttLib import TTFont

        data = font.subset(chars)
        sub = TTFont(io.BytesIO(data))
        cmap = sub.getBestCmap() or {}
        order = {name: i for i, name in enumerate(sub.getGlyphOrder())}
        hmtx, upem = sub["hmtx"], sub["head"].unitsPerEm
        self.gid: dict[str, int] = {}
        widths: dict[int, int] = {}
        to_uni: dict[int, str] = {}
        for ch in chars:
            name = cmap.get(ord(ch))
            g = order.get(name, 0) if name else 0
            self.gid[ch] = g
            if g:
                widths[g] = round(hmtx[name][0] * 1000 / upem)
                to_uni[g] = ch
        w_array = pikepdf.Array()
        for g in sorted(widths):
            w_array.extend([g, pikepdf.Array([widths[g]])])
        font_file = pikepdf.Stream(pdf, data)
        font_file["/Length1"] = len(data)
        tag = "".join(c for c in font.family if c.isascii() and c.isalnum())[:20] or "CJK"
        name = pikepdf.Name("/ESIGN+" + tag)
        descriptor = pdf.make_indirect(pikepdf.Dictionary(
            Type=pikepdf.Name.FontDescriptor, FontName=name, Flags=4,
            FontBBox=pikepdf.Array([-100, -200, 1100, 900]), ItalicAngle=0,
            Ascent=round(font.ascent * 1000), Descent=-round(font.descent * 1000), CapHeight=700, StemV=80,
            FontFile2=pdf.make_indirect(font_file)))
        cid = pdf.make_indirect(pikepdf.Dictionary(
            Type=pikepdf.Name.Font, Subtype=pikepdf.Name.CIDFontType2, BaseFont=name,
            CIDSystemInfo=pikepdf.Dictionary(Registry=pikepdf.String("Adobe"), Ordering=pikepdf.String("Identity"),
                                             Supplement=0),
            FontDescriptor=descriptor, DW=1000, W=w_array, CIDToGIDMap=pikepdf.Name.Identity))
        self.ref = pdf.make_indirect(pikepdf.Dictionary(
            Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type0, BaseFont=name, Encoding=pikepdf.Name("/Identity-H"),
            DescendantFonts=pikepdf.Array([cid]), ToUnicode=pdf.make_indirect(pikepdf.Stream(pdf, _tounicode(to_uni)))))

    def encode(self, ch: str) -> str:
        return f"{self.gid.get(ch, 0):04X}"


def _tounicode(mapping: dict[int, str]) -> bytes:
    lines = ["/CIDInit /ProcSet findresource begin", "12 dict begin", "begincmap",
             "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def",
             "/CMapName /Adobe-Identity-UCS def", "/CMapType 2 def",
             "1 begincodespacerange", "<0000> <FFFF>", "endcodespacerange"]
    items = sorted(mapping.items())
    for i in range(0, len(items), 100):
        chunk = items[i:i + 100]
        lines.append(f"{len(chunk)} beginbfchar")
        for g, ch in chunk:
            lines.append(f"<{g:04X}> <{ch.encode('utf-16-be').hex().upper()}>")
        lines.append("endbfchar")
    lines += ["endcmap", "CMapName currentdict /CMap defineresource pop", "end", "end"]
    return "\n".join(lines).encode()


def _image_xobject(pdf: pikepdf.Pdf, data: bytes) -> Optional[pikepdf.Object]:
    try:
        im = Image.open(io.BytesIO(data))
        if im.width * im.height > MAX_PIXELS:
            return None
        im.load()
    except Exception:
        return None
    if im.format == "JPEG" and im.mode in ("RGB", "L"):
        return pdf.make_indirect(pikepdf.Stream(pdf, data, Type=pikepdf.Name.XObject, Subtype=pikepdf.Name.Image,
                                                Width=im.width, Height=im.height, BitsPerComponent=8,
                                                ColorSpace=pikepdf.Name.DeviceRGB if im.mode == "RGB"
                                                else pikepdf.Name.DeviceGray, Filter=pikepdf.Name.DCTDecode))
    rgba = im.convert("RGBA")
    rgb = rgba.convert("RGB").tobytes()
    alpha = rgba.getchannel("A")
    stream = pikepdf.Stream(pdf, zlib.compress(rgb), Type=pikepdf.Name.XObject, Subtype=pikepdf.Name.Image,
                            Width=im.width, Height=im.height, BitsPerComponent=8,
                            ColorSpace=pikepdf.Name.DeviceRGB, Filter=pikepdf.Name.FlateDecode)
    if alpha.getextrema() != (255, 255):
        stream["/SMask"] = pdf.make_indirect(pikepdf.Stream(
            pdf, zlib.compress(alpha.tobytes()), Type=pikepdf.Name.XObject, Subtype=pikepdf.Name.Image,
            Width=im.width, Height=im.height, BitsPerComponent=8, ColorSpace=pikepdf.Name.DeviceGray,
            Filter=pikepdf.Name.FlateDecode))
    return pdf.make_indirect(stream)


def _rgb(c: tuple[int, int, int]) -> str:
    return " ".join(_n(v / 255) for v in c)


def ofd_to_pdf(data: bytes | OfdPackage, *, stamps: bool = True) -> bytes:
    """PDF bytes of every page of the first document."""
    pkg = data if isinstance(data, OfdPackage) else read_ofd(data)
    doc = pkg.document
    pdf = pikepdf.new()
    font = cjk_font()
    per_page = [page_items(pkg, p, doc) for p in doc.pages]
    chars = {g.char for items in per_page for it in items if isinstance(it, TextItem) for g in it.glyphs}
    pfont = _PdfFont(pdf, font, chars) if chars else None
    stamp_list = page_stamps(pkg) if stamps else []
    for page, items in zip(doc.pages, per_page):
        bx, by, bw, bh = pkg.page_box(page, doc)
        ops: list[str] = [f"{_n(PT_PER_MM)} 0 0 {_n(-PT_PER_MM)} 0 {_n(bh * PT_PER_MM)} cm",
                          f"1 0 0 1 {_n(-bx)} {_n(-by)} cm"]  # mm, origin top-left, y down
        xobjects = pikepdf.Dictionary()

        def draw_image(raw: bytes, box) -> None:
            xo = _image_xobject(pdf, raw)
            if xo is None or box[2] <= 0 or box[3] <= 0:
                return
            name = f"/Im{len(xobjects) + 1}"
            xobjects[name] = xo
            # image space is bottom-up: flip inside the box
            ops.append(f"q {_n(box[2])} 0 0 {_n(-box[3])} {_n(box[0])} {_n(box[1] + box[3])} cm {name} Do Q")

        for it in items:
            if isinstance(it, PathItem):
                paint = "B" if it.fill and it.stroke else "f" if it.fill else "S" if it.stroke else "n"
                body = []
                for sub, closed in zip(it.subpaths, it.closed):
                    body.append(f"{_n(sub[0][0])} {_n(sub[0][1])} m " + " ".join(
                        f"{_n(x)} {_n(y)} l" for x, y in sub[1:]) + (" h" if closed else ""))
                if body:
                    ops.append(f"q {_n(it.line_width)} w {_rgb(it.stroke_color)} RG {_rgb(it.fill_color)} rg "
                               + " ".join(body) + f" {paint} Q")
            elif isinstance(it, ImageItem):
                media = doc.media.get(it.resource_id)
                if media is not None and media.file in pkg.files:
                    draw_image(pkg.files[media.file], it.box)
            elif isinstance(it, TextItem) and pfont is not None:
                glyphs = [g for g in it.glyphs if not g.char.isspace()]
                if not glyphs:
                    continue
                ops.append(f"BT /F1 1 Tf {_rgb(it.color)} rg")
                for g in glyphs:
                    ops.append(f"{_n(g.size)} 0 0 {_n(-g.size)} {_n(g.x)} {_n(g.y)} Tm <{pfont.encode(g.char)}> Tj")
                ops.append("ET")
        for st in stamp_list:
            if st.page == page.index + 1:
                draw_image(st.png, st.box)
        resources = pikepdf.Dictionary()
        if pfont is not None:
            resources["/Font"] = pikepdf.Dictionary(F1=pfont.ref)
        if len(xobjects):
            resources["/XObject"] = xobjects
        pdf_page = pikepdf.Dictionary(Type=pikepdf.Name.Page,
                                      MediaBox=pikepdf.Array([0, 0, round(bw * PT_PER_MM, 3), round(bh * PT_PER_MM, 3)]),
                                      Resources=resources,
                                      Contents=pdf.make_indirect(pikepdf.Stream(pdf, zlib.compress(
                                          "\n".join(ops).encode()), Filter=pikepdf.Name.FlateDecode)))
        pdf.pages.append(pikepdf.Page(pdf_page))
    out = io.BytesIO()
    pdf.save(out, compress_streams=True)
    return out.getvalue()
