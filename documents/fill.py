"""Fill a template PDF with parameters (一键套用 / 在线生成保单).

``fill(template_pdf, template_def, params) -> bytes``:

1. every parameter is checked first; one ``FillError`` (``FILL_PARAMS_INVALID``, HTTP 422)
   lists every missing, unknown, invalid or overflowing field (``details`` =
   ``[{"field", "error"}]``, table cells as ``items[2].amount``);
2. values are formatted (date ``2026-11-25`` → ``2026年11月25日``; amount → ``10,000.00`` with an
   optional currency prefix and Chinese uppercase ``（壹万元整）``; checkbox → a vector ☑/☐;
   image → PNG/JPEG placed inside its rect keeping proportions; table → rows of text in a grid);
3. the text is drawn as real text in one embedded subset of the CJK font (Type0/Identity-H +
   ToUnicode) per document, appended to the pages' content (wrapped in q/Q) as an incremental
   update of the template (``documents.fill_update``; the template is parsed once), or — image
   fields, document info, a template qpdf had to repair — written anew by pikepdf (filling
   happens before any signature).

Performance: the parsed font, the template's page geometry and the font subsets (LRU keyed by
glyph set) are cached per process; see ``scripts/bench/fill_bench.py``.
"""
from __future__ import annotations

import base64
import datetime as _dt
import hashlib
import io
import re
import threading
import zlib
from collections import OrderedDict
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, Dict, List, Mapping, Optional, Tuple

import pikepdf

from .draw import Canvas, wrap
from .errors import FillError, PdfInputError
from .fill_update import TemplateBase
from .fonts import CJKFont, default_font, embed_font
from .pdfutil import append_content, own_resources
from .template import FieldDef, TemplateDef, check_against_pdf

FONT_RES = "FillCJK"
_DIGITS = "零壹贰叁肆伍陆柒捌玖"
_MAX_AMOUNT = Decimal("9999999999999999.99")


# ---------------------------------------------------------------------- formatting
def format_date(d: _dt.date) -> str:
    return f"{d.year}年{d.month:02d}月{d.day:02d}日"


def format_amount(v: Decimal) -> str:
    return f"{v:,.2f}"


def _group_upper(g: int) -> str:
    out, zero = "", False
    for i, unit in ((3, "仟"), (2, "佰"), (1, "拾"), (0, "")):
        d = g // 10 ** i % 10
        if d == 0:
            zero = bool(out)
            continue
        if zero:
            out += "零"
            zero = False
        out += _DIGITS[d] + unit
    return out


def amount_upper(v: Decimal) -> str:
    """Chinese uppercase amount (大写金额): 10000 → 壹万元整, 1.05 → 壹元零伍分."""
    neg = v < 0
    cents = int((abs(v) * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    yuan, rest = divmod(cents, 100)
    jiao, fen = divmod(rest, 10)
    s = ""
    if yuan:
        groups = []
        n = yuan
        while n:
            groups.append(n % 10000)
            n //= 10000
        zero_pending = False
        for gi in range(len(groups) - 1, -1, -1):
            g = groups[gi]
            if g == 0:
                zero_pending = bool(s)
                continue
            if s and (zero_pending or g < 1000):
                s += "零"
            s += _group_upper(g) + ("", "万", "亿", "万亿")[gi]
            zero_pending = False
        s += "元"
    if not jiao and not fen:
        s = (s or "零元") + "整"
    else:
        if jiao:
            s += _DIGITS[jiao] + "角"
        elif yuan:
            s += "零"
        s += _DIGITS[fen] + "分" if fen else "整"
    return ("负" if neg else "") + s


# ---------------------------------------------------------------------- prepared values
@dataclass(frozen=True)
class _Image:
    data: bytes          # raw samples
    width: int
    height: int
    colorspace: str      # /DeviceRGB or /DeviceGray
    smask: Optional[bytes]
    dct: bool            # JPEG passthrough


def _decode_image(value: Any) -> _Image:
    if isinstance(value, str):
        m = re.match(r"^data:image/[a-z]+;base64,", value)
        raw = base64.b64decode(value[m.end():] if m else value, validate=True)
    elif isinstance(value, (bytes, bytearray)):
        raw = bytes(value)
    else:
        raise ValueError("must be PNG/JPEG bytes or a base64 string")
    from PIL import Image
    im = Image.open(io.BytesIO(raw))
    im.load()
    if im.format == "JPEG" and im.mode in ("RGB", "L"):
        return _Image(raw, im.width, im.height, "/DeviceRGB" if im.mode == "RGB" else "/DeviceGray",
                      None, True)
    if im.width * im.height > 4096 * 4096:
        raise ValueError("image larger than 16 megapixels")
    smask = None
    if im.mode in ("RGBA", "LA", "P", "PA") or "transparency" in im.info:
        im = im.convert("RGBA")
        smask = zlib.compress(im.getchannel("A").tobytes(), 6)
        im = im.convert("RGB")
    elif im.mode not in ("RGB", "L"):
        im = im.convert("RGB")
    return _Image(zlib.compress(im.tobytes(), 6), im.width, im.height,
                  "/DeviceGray" if im.mode == "L" else "/DeviceRGB", smask, False)


def _image_xobject(pdf: pikepdf.Pdf, img: _Image) -> pikepdf.Object:
    st = pikepdf.Stream(pdf, b"")
    st.write(img.data, filter=pikepdf.Name.DCTDecode if img.dct else pikepdf.Name.FlateDecode)
    st.Type, st.Subtype = pikepdf.Name.XObject, pikepdf.Name.Image
    st.Width, st.Height, st.BitsPerComponent = img.width, img.height, 8
    st.ColorSpace = pikepdf.Name(img.colorspace)
    if img.smask is not None:
        sm = pikepdf.Stream(pdf, b"")
        sm.write(img.smask, filter=pikepdf.Name.FlateDecode)
        sm.Type, sm.Subtype = pikepdf.Name.XObject, pikepdf.Name.Image
        sm.Width, sm.Height, sm.BitsPerComponent = img.width, img.height, 8
        sm.ColorSpace = pikepdf.Name.DeviceGray
        st.SMask = pdf.make_indirect(sm)
    return pdf.make_indirect(st)


class _Errors:
    def __init__(self) -> None:
        self.items: List[Dict[str, str]] = []

    def add(self, field: str, error: str, label: str = "") -> None:
        d = {"field": field, "error": error}
        if label:
            d["label"] = label
        self.items.append(d)


def _text_value(font: CJKFont, f: FieldDef, path: str, value: Any, errs: _Errors,
                size: float, width: float, max_length: Optional[int], multiline: bool,
                height: float) -> Optional[List[str]]:
    """Check a text value; returns its lines, or None after recording the error(s)."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float, Decimal)):
        errs.add(path, "must be a string", f.label)
        return None
    text = str(value).replace("\r\n", "\n")
    if not multiline:
        text = text.strip()
    if max_length is not None and len(text) > max_length:
        errs.add(path, f"longer than {max_length} characters ({len(text)})", f.label)
        return None
    bad = font.missing(text.replace("\n", "")) if multiline else font.missing(text)
    if bad:
        shown = "".join(ch if ord(ch) >= 32 else repr(ch) for ch in bad[:10])
        errs.add(path, f"characters not available in the font: {shown}", f.label)
        return None
    if multiline:
        lines = wrap(font, text, size, width - 2)
        if len(lines) * size * 1.25 > height + 0.5:
            errs.add(path, f"does not fit: {len(lines)} lines, the box holds "
                           f"{int(height // (size * 1.25))}", f.label)
            return None
        return lines
    if font.width(text, size) > width - 2 + 1e-6:
        errs.add(path, f"too wide for its box ({font.width(text, size):.0f} > {width - 2:.0f} pt)",
                 f.label)
        return None
    return [text]


def _parse_amount(f: FieldDef, value: Any, errs: _Errors) -> Optional[Decimal]:
    if isinstance(value, bool) or not isinstance(value, (int, float, str, Decimal)):
        errs.add(f.name, "must be a number", f.label)
        return None
    try:
        d = Decimal(str(value).replace(",", "").strip())
    except InvalidOperation:
        errs.add(f.name, "must be a number", f.label)
        return None
    if not d.is_finite():
        errs.add(f.name, "must be a finite number", f.label)
        return None
    if d != d.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP):
        errs.add(f.name, "at most 2 decimals", f.label)
        return None
    lo = Decimal(str(f.min_value)) if f.min_value is not None else Decimal(0)
    hi = Decimal(str(f.max_value)) if f.max_value is not None else _MAX_AMOUNT
    if d < lo or d > hi:
        errs.add(f.name, f"must be between {lo} and {hi}", f.label)
        return None
    return d.quantize(Decimal("0.01"))


def _parse_date(value: Any) -> Optional[_dt.date]:
    if isinstance(value, _dt.datetime):
        return value.date()
    if isinstance(value, _dt.date):
        return value
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
        try:
            return _dt.date.fromisoformat(value.strip())
        except ValueError:
            return None
    return None


def _empty(v: Any) -> bool:
    return v is None or (isinstance(v, str) and not v.strip()) or (isinstance(v, (list, tuple)) and not v)


def prepare(tpl: TemplateDef, params: Mapping[str, Any], font: CJKFont
            ) -> Tuple[Dict[int, Canvas], Dict[int, Dict[str, _Image]]]:
    """Validate all parameters and lay them out; raises one ``FillError`` listing every problem."""
    errs = _Errors()
    if not isinstance(params, Mapping):
        raise FillError("parameters must be an object",
                        details=[{"field": "", "error": "must be an object"}])
    known = {f.name for f in tpl.fields}
    for key in params:
        if key not in known:
            errs.add(str(key), "unknown field")
    canvases: Dict[int, Canvas] = {}
    images: Dict[int, Dict[str, _Image]] = {}

    def canvas(page: int) -> Canvas:
        return canvases.setdefault(page, Canvas())

    for f in tpl.fields:
        value = params.get(f.name)
        if _empty(value) and not (f.type == "checkbox" and value is not None):
            if f.required:
                errs.add(f.name, "required", f.label)
            continue
        x, y, w, h = f.rect
        if f.type == "text":
            lines = _text_value(font, f, f.name, value, errs, f.font_size, w, f.max_length,
                                f.multiline, h)
            if lines is None:
                continue
            if f.multiline:
                lead = f.font_size * 1.25
                top = y + h
                for i, ln in enumerate(lines):
                    canvas(f.page).text_in(font, (x, top - (i + 1) * lead, w, lead), ln,
                                           f.font_size, f.align)
            else:
                canvas(f.page).text_in(font, f.rect, lines[0], f.font_size, f.align)
        elif f.type == "date":
            d = _parse_date(value)
            if d is None:
                errs.add(f.name, "must be a date yyyy-mm-dd", f.label)
                continue
            text = format_date(d)
            if _text_value(font, f, f.name, text, errs, f.font_size, w, None, False, h) is None:
                continue
            canvas(f.page).text_in(font, f.rect, text, f.font_size, f.align)
        elif f.type == "amount":
            d = _parse_amount(f, value, errs)
            if d is None:
                continue
            text = f"{f.currency}{format_amount(d)}"
            if f.amount_upper:
                text += f"（{amount_upper(d)}）"
            if _text_value(font, f, f.name, text, errs, f.font_size, w, f.max_length, False, h) is None:
                continue
            canvas(f.page).text_in(font, f.rect, text, f.font_size, f.align)
        elif f.type == "checkbox":
            if not isinstance(value, bool):
                errs.add(f.name, "must be true or false", f.label)
                continue
            s = min(w, h, max(f.font_size, 6.0))
            cx = x + (w - s) / 2 if f.align == "center" else x + w - s if f.align == "right" else x
            canvas(f.page).checkbox(cx, y + (h - s) / 2, s, value)
        elif f.type == "image":
            try:
                img = _decode_image(value)
            except Exception as e:  # PIL raises many types for bad data
                errs.add(f.name, f"not a readable PNG/JPEG image ({type(e).__name__})", f.label)
                continue
            scale = min(w / img.width, h / img.height)
            iw, ih = img.width * scale, img.height * scale
            ix = x + (w - iw) / 2 if f.align == "center" else x + w - iw if f.align == "right" else x
            name = f"FillIm{len(images.get(f.page, {})) + 1}"
            images.setdefault(f.page, {})[name] = img
            canvas(f.page).image(name, ix, y + (h - ih) / 2, iw, ih)
        elif f.type == "table":
            _table(font, f, value, errs, canvas(f.page))
    if errs.items:
        n = len(errs.items)
        raise FillError(f"{n} field{'s' if n > 1 else ''} missing or invalid: "
                        + ", ".join(e["field"] for e in errs.items), details=errs.items)
    return canvases, images


def _table(font: CJKFont, f: FieldDef, rows: Any, errs: _Errors, cv: Canvas) -> None:
    if not isinstance(rows, (list, tuple)) or not all(isinstance(r, Mapping) for r in rows):
        errs.add(f.name, "must be a list of row objects", f.label)
        return
    if len(rows) > f.max_rows:
        errs.add(f.name, f"{len(rows)} rows, the table holds {f.max_rows}", f.label)
        return
    x, y, w, h = f.rect
    top = y + h
    cols = {c.name for c in f.columns}
    ok = True
    planned = []
    for i, row in enumerate(rows):
        for key in row:
            if key not in cols:
                errs.add(f"{f.name}[{i}].{key}", "unknown column", f.label)
                ok = False
        cx = x
        for c in f.columns:
            path = f"{f.name}[{i}].{c.name}"
            v = row.get(c.name)
            if _empty(v):
                cx += c.width
                continue
            if isinstance(v, (int, float, Decimal)) and not isinstance(v, bool) and c.align == "right":
                v = format_amount(Decimal(str(v)))
            lines = _text_value(font, f, path, v, errs, f.font_size, c.width, c.max_length, False,
                                f.row_height)
            if lines is None:
                ok = False
            else:
                planned.append(((cx, top - (i + 1) * f.row_height, c.width, f.row_height),
                                lines[0], c.align))
            cx += c.width
    if not ok:
        return
    grey = (0.55, 0.55, 0.55)
    for i in range(len(rows)):
        yy = top - (i + 1) * f.row_height
        cv.line(x, yy, x + sum(c.width for c in f.columns), yy, width=0.4, color=grey)
    cx = x
    bottom = top - len(rows) * f.row_height
    for c in f.columns[:-1]:
        cx += c.width
        cv.line(cx, top, cx, bottom, width=0.4, color=grey)
    for rect, text, align in planned:
        cv.text_in(font, rect, text, f.font_size, align, pad=2.0)


# ---------------------------------------------------------------------- PDF writing
class TemplateFiller:
    """A template PDF + definition checked once; ``fill(params)`` many times."""

    def __init__(self, template_pdf: bytes, tpl: TemplateDef, font: Optional[CJKFont] = None) -> None:
        self.pdf_bytes = bytes(template_pdf)
        self.tpl = tpl
        self.font = font or default_font()
        try:
            with pikepdf.open(io.BytesIO(self.pdf_bytes)) as pdf:
                if pdf.is_encrypted:
                    raise PdfInputError("the template PDF is encrypted", code="PDF_ENCRYPTED")
                sizes = []
                for p in pdf.pages:
                    mb = [float(v) for v in p.mediabox]
                    sizes.append((mb[2] - mb[0], mb[3] - mb[1]))
        except pikepdf.PdfError as e:
            raise PdfInputError(f"the template is not a readable PDF: {e}") from e
        check_against_pdf(tpl, sizes)
        self.page_sizes = sizes
        # the fast path: fills appended to the template as incremental updates (None: rewrite)
        self.base = TemplateBase.build(self.pdf_bytes, {f.page for f in tpl.fields})

    def fill(self, params: Mapping[str, Any], *, info: Optional[Mapping[str, str]] = None) -> bytes:
        canvases, images = prepare(self.tpl, params, self.font)
        font = self.font
        chars = set().union(*(c.text_chars for c in canvases.values())) if canvases else set()
        sub = font.subset(g for ch in chars if (g := font.gid(ch)) is not None)
        if self.base is not None and not images and not info:
            return self.base.fill(canvases, font, sub, bool(chars), FONT_RES)
        pdf = pikepdf.open(io.BytesIO(self.pdf_bytes))
        try:
            font_obj = embed_font(pdf, font, sub) if chars else None
            for page_no, cv in canvases.items():
                page = pdf.pages[page_no - 1].obj
                res = own_resources(page)
                fname = FONT_RES
                if font_obj is not None:
                    fonts = res.get("/Font")
                    if not isinstance(fonts, pikepdf.Dictionary):
                        fonts = res["/Font"] = pikepdf.Dictionary()
                    while ("/" + fname) in fonts:
                        fname += "X"
                    fonts["/" + fname] = font_obj
                page_images = images.get(page_no, {})
                if page_images:
                    xo = res.get("/XObject")
                    if not isinstance(xo, pikepdf.Dictionary):
                        xo = res["/XObject"] = pikepdf.Dictionary()
                    for name, img in page_images.items():
                        xo["/" + name] = _image_xobject(pdf, img)
                data = cv.render(font, sub, fname)
                append_content(pdf, page, data)
            if info:
                for k, v in info.items():
                    pdf.docinfo["/" + k] = pikepdf.String(v)
            out = io.BytesIO()
            pdf.save(out, compress_streams=True,
                     stream_decode_level=pikepdf.StreamDecodeLevel.none,
                     object_stream_mode=pikepdf.ObjectStreamMode.preserve)
            return out.getvalue()
        finally:
            pdf.close()


_FILLERS: "OrderedDict[Tuple[bytes, Any, int], TemplateFiller]" = OrderedDict()
_FILLERS_LOCK = threading.Lock()


def filler_for(template_pdf: bytes, tpl: TemplateDef, font: Optional[CJKFont] = None) -> TemplateFiller:
    """A cached ``TemplateFiller`` (per process, 32 most recent templates)."""
    font = font or default_font()
    try:
        hash(tpl)
        tkey: Any = tpl
    except TypeError:  # built by hand with lists instead of tuples
        tkey = tpl.to_json(indent=None)
    key = (hashlib.sha256(template_pdf).digest(), tkey, id(font))
    with _FILLERS_LOCK:
        hit = _FILLERS.get(key)
        if hit is not None:
            _FILLERS.move_to_end(key)
            return hit
    filler = TemplateFiller(template_pdf, tpl, font)
    with _FILLERS_LOCK:
        _FILLERS[key] = filler
        while len(_FILLERS) > 32:
            _FILLERS.popitem(last=False)
    return filler


def fill(template_pdf: bytes, tpl: TemplateDef, params: Mapping[str, Any], *,
         font: Optional[CJKFont] = None, info: Optional[Mapping[str, str]] = None) -> bytes:
    """Fill ``template_pdf`` per ``tpl`` with ``params``; returns the new PDF's bytes.

    Raises ``FillError`` (``FILL_PARAMS_INVALID``, details listing every field) before drawing
    anything, ``PdfInputError`` for an unreadable template and ``TemplateError`` when the
    definition does not fit the PDF."""
    return filler_for(template_pdf, tpl, font).fill(params, info=info)


__all__ = ["fill", "prepare", "TemplateFiller", "filler_for", "amount_upper", "format_amount",
           "format_date"]
