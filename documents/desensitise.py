"""Desensitised download (文件脱敏下载): a derived, clearly marked copy of a signed PDF in which
every seal/signature appearance is black-and-grey.

* every visible annotation appearance (signature widgets, the ``/Stamp`` copies of a seal,
  filled form fields) is flattened into the page content; the signature fields, ``/AcroForm``
  and ``/Perms`` are removed: the copy is a new, **unsigned** file (a re-signed or
  "invalid signature" look-alike would mislead); the original bytes are not touched;
* inside signature/stamp appearances, image XObjects become greyscale and darkened (their
  ``/SMask`` — the transparency — is kept) and colour operators of vector seals become grey;
* each page gets a grey band with "脱敏副本 仅供查阅" (real text) and a faint diagonal mark.

Limits: a colour-key ``/Mask`` array on a seal image is dropped (the image then loses that
transparency); seals drawn directly into the page content (not as annotations) are unchanged.
"""
from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Dict, Optional, Set, Tuple

import pikepdf

from .draw import Canvas
from .fonts import CJKFont, default_font
from .pdfutil import Flattened, draw_canvases, flatten_annotations, open_pdf, save_pdf, visual_canvas

WATERMARK = "脱敏副本 仅供查阅"
DEFAULT_NOTE = "本文件为脱敏副本，签章已作脱敏处理，不具有签章效力；原件以电子档案为准。"


@dataclass(frozen=True)
class DesensitisedCopy:
    pdf: bytes
    seals: Tuple[Flattened, ...]      # the appearances turned grey (page, rect, kind, field)


def _grey_value(r: float, g: float, b: float, darken: float) -> float:
    return max(0.0, min(1.0, (0.299 * r + 0.587 * g + 0.114 * b) * darken))


def _darken_image(img: pikepdf.Stream, darken: float) -> None:
    try:
        pil = pikepdf.PdfImage(img).as_pil_image()
    except Exception:  # undecodable here (JPX without openjpeg, exotic colour spaces ...)
        # never leave a colour seal behind: one dark-grey sample, the /SMask keeps the shape
        img.write(bytes([int(255 * darken * 0.5)]))
        img.ColorSpace, img.BitsPerComponent = pikepdf.Name.DeviceGray, 8
        img.Width, img.Height = 1, 1
        for key in ("/DecodeParms", "/Decode", "/Filter"):
            if key in img:
                del img[key]
        return
    if pil.mode in ("RGBA", "LA", "PA"):
        pil = pil.convert("RGBA").convert("RGB")
    grey = pil.convert("L")
    # dark grey/black: keep the shape's tonal structure, drop the colour
    lut = [int(v * darken) for v in range(256)]
    grey = grey.point(lut)
    img.write(zlib.compress(grey.tobytes(), 6), filter=pikepdf.Name.FlateDecode)
    img.ColorSpace = pikepdf.Name.DeviceGray
    img.BitsPerComponent = 8
    img.Width, img.Height = grey.width, grey.height
    for key in ("/DecodeParms", "/Decode"):
        if key in img:
            del img[key]
    if isinstance(img.get("/Mask"), pikepdf.Array):
        del img["/Mask"]


def _grey_content(stream: pikepdf.Stream, darken: float) -> None:
    """Rewrite colour operators of a content stream to grey."""
    try:
        instructions = pikepdf.parse_content_stream(stream)
    except pikepdf.PdfError:
        return
    out = []
    changed = False
    for operands, op in instructions:
        name = str(op)
        if name in ("rg", "RG") and len(operands) == 3:
            v = _grey_value(*(float(x) for x in operands), darken)
            out.append(([v], pikepdf.Operator("g" if name == "rg" else "G")))
            changed = True
        elif name in ("k", "K") and len(operands) == 4:
            c, m, y, k = (float(x) for x in operands)
            r, g, b = ((1 - c) * (1 - k), (1 - m) * (1 - k), (1 - y) * (1 - k))
            out.append(([_grey_value(r, g, b, darken)], pikepdf.Operator("g" if name == "k" else "G")))
            changed = True
        elif name in ("sc", "scn", "SC", "SCN") and len(operands) == 3 and all(
                isinstance(x, (int, float, pikepdf.Object)) and not isinstance(x, pikepdf.Name) for x in operands):
            v = _grey_value(*(float(x) for x in operands), darken)
            fill = name in ("sc", "scn")
            out.append(([pikepdf.Name.DeviceGray], pikepdf.Operator("cs" if fill else "CS")))
            out.append(([v], pikepdf.Operator("g" if fill else "G")))
            changed = True
        else:
            out.append((operands, op))
    if changed:
        stream.write(pikepdf.unparse_content_stream(out))


def _desaturate_form(form: pikepdf.Stream, darken: float, seen: Set[Tuple[int, int]], depth: int = 0) -> None:
    if depth > 8:
        return
    key = form.objgen
    if key != (0, 0):
        if key in seen:
            return
        seen.add(key)
    _grey_content(form, darken)
    res = form.get("/Resources")
    xo = res.get("/XObject") if isinstance(res, pikepdf.Dictionary) else None
    if not isinstance(xo, pikepdf.Dictionary):
        return
    for _, obj in xo.items():
        if not isinstance(obj, pikepdf.Stream):
            continue
        if obj.get("/Subtype") == "/Image":
            if obj.objgen in seen:
                continue
            seen.add(obj.objgen)
            if obj.get("/ImageMask") is True:
                continue  # stencil: painted with the (already grey) fill colour
            _darken_image(obj, darken)
        elif obj.get("/Subtype") == "/Form":
            _desaturate_form(obj, darken, seen, depth + 1)


def desensitise(signed_pdf: bytes, *, watermark: str = WATERMARK, note: str = DEFAULT_NOTE,
                darken: float = 0.45, font: Optional[CJKFont] = None) -> DesensitisedCopy:
    """Derive the desensitised copy of ``signed_pdf`` (bytes in, new bytes out)."""
    font = font or default_font()
    pdf = open_pdf(signed_pdf)
    try:
        seen: Set[Tuple[int, int]] = set()

        def recolour(stream: pikepdf.Stream, kind: str) -> None:
            if kind in ("signature", "stamp"):
                _desaturate_form(stream, darken, seen)

        flat = flatten_annotations(pdf, on_appearance=recolour)
        canvases: Dict[int, Canvas] = {}
        for pno, page in enumerate(pdf.pages, 1):
            cv, w, h = visual_canvas(page)
            canvases[pno] = cv
            x0, y0, x1, y1 = 0.0, 0.0, w, h
            band_h = 20.0
            cv.rect(x0, y1 - band_h - 2, w, band_h, fill=(0.25, 0.25, 0.25), alpha_gs=b"DsBand")
            cv.text_in(font, (x0, y1 - band_h - 2, w, band_h), f"{watermark}　{note}" if note else watermark,
                       9, "center", (1, 1, 1))
            # faint diagonal mark across the page centre
            size = min(w, h) / 10
            tw = font.width(watermark, size)
            cv.raw(b"q /DsFaint gs")
            cx, cy = x0 + w / 2, y0 + h / 2
            cv.raw(b"1 0 0 1 %.2f %.2f cm 0.7071 0.7071 -0.7071 0.7071 0 0 cm" % (cx, cy))
            cv.text(-tw / 2, -size / 3, watermark, size, (0.5, 0.5, 0.5))
            cv.raw(b"Q")
        draw_canvases(pdf, font, canvases, gstates={
            "DsBand": pikepdf.Dictionary(Type=pikepdf.Name.ExtGState, ca=0.85, CA=0.85),
            "DsFaint": pikepdf.Dictionary(Type=pikepdf.Name.ExtGState, ca=0.18, CA=0.18)})
        pdf.docinfo["/Title"] = pikepdf.String(watermark)
        pdf.docinfo["/Subject"] = pikepdf.String("desensitised copy")
        return DesensitisedCopy(save_pdf(pdf), tuple(f for f in flat if f.kind in ("signature", "stamp")))
    finally:
        pdf.close()
