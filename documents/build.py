"""Build a simple form PDF from a structured description (title, paragraphs, field rows,
checkboxes, tables, signature boxes). Returns the PDF *and* the field definitions / signing
positions at the places the layout put them, so a template is generated in one step.

All text is real text in one embedded subset of the CJK font; pages are A4 with a footer
(``第 n 页 共 N 页``, template code and version).
"""
from __future__ import annotations

import io
from dataclasses import dataclass
from typing import List, Optional, Tuple, Union

import pikepdf

from .draw import Canvas, baseline, wrap
from .errors import BuildError
from .fonts import CJKFont, default_font, embed_font
from .template import ColumnDef, FieldDef, SignPosition, TemplateDef

A4 = (595.28, 841.89)
FONT_RES = "F1"
_GREY = (0.35, 0.35, 0.35)
_LINE = (0.45, 0.45, 0.45)


@dataclass(frozen=True)
class Title:
    text: str
    size: float = 18.0
    subtitle: str = ""


@dataclass(frozen=True)
class Heading:
    text: str
    size: float = 12.0


@dataclass(frozen=True)
class Paragraph:
    text: str
    size: float = 9.5
    boxed: bool = False          # framed and shaded (e.g. 免责条款)
    title: str = ""              # a bold-ish title line inside the frame


@dataclass(frozen=True)
class FieldItem:
    label: str
    name: str
    type: str = "text"           # text | date | amount | image
    share: float = 1.0           # share of the row width
    required: bool = True
    max_length: Optional[int] = None
    align: str = "left"
    amount_upper: bool = False
    currency: str = ""
    lines: int = 1               # > 1: a multi-line box
    font_size: float = 10.0


@dataclass(frozen=True)
class FieldRow:
    items: Tuple[FieldItem, ...]


@dataclass(frozen=True)
class CheckboxRow:
    label: str
    options: Tuple[Tuple[str, str], ...]   # (field name, text)
    required: bool = False


@dataclass(frozen=True)
class TableBlock:
    name: str
    label: str
    columns: Tuple[Tuple[str, str, float, str], ...]  # (name, title, share, align)
    rows: int = 5
    row_height: float = 16.0
    required: bool = True


@dataclass(frozen=True)
class SignatureBox:
    role: str
    keyword: str                 # e.g. "投保人签名", drawn as "投保人签名：" and searched by it
    date_field: Optional[str] = None
    seal: bool = False           # company seal (bigger box)


@dataclass(frozen=True)
class SignatureRow:
    boxes: Tuple[SignatureBox, ...]


@dataclass(frozen=True)
class Spacer:
    height: float = 8.0


Block = Union[Title, Heading, Paragraph, FieldRow, CheckboxRow, TableBlock, SignatureRow, Spacer]


@dataclass(frozen=True)
class FormSpec:
    code: str
    title: str
    blocks: Tuple[Block, ...]
    version: int = 1
    issuer: str = ""             # header line, e.g. the (fictional) company
    page_size: Tuple[float, float] = A4
    margin: float = 48.0
    description: str = ""


@dataclass(frozen=True)
class BuiltForm:
    pdf: bytes
    template: TemplateDef
    page_count: int


class _Layout:
    def __init__(self, spec: FormSpec, font: CJKFont) -> None:
        self.spec, self.font = spec, font
        self.pw, self.ph = spec.page_size
        self.x0 = spec.margin
        self.x1 = self.pw - spec.margin
        self.width = self.x1 - self.x0
        self.pages: List[Canvas] = []
        self.fields: List[FieldDef] = []
        self.signs: List[SignPosition] = []
        self.y = 0.0
        self.new_page()

    @property
    def page_no(self) -> int:
        return len(self.pages)

    @property
    def cv(self) -> Canvas:
        return self.pages[-1]

    def new_page(self) -> None:
        self.pages.append(Canvas())
        self.y = self.ph - self.spec.margin
        if self.spec.issuer:
            self.cv.text(self.x0, self.y - 9, self.spec.issuer, 9, _GREY)
            self.cv.line(self.x0, self.y - 13, self.x1, self.y - 13, width=0.6, color=_LINE)
            self.y -= 24

    def need(self, h: float) -> None:
        if self.y - h < self.spec.margin + 24:
            self.new_page()

    # ------------------------------------------------------------------ blocks
    def title(self, b: Title) -> None:
        h = b.size * 1.6 + (14 if b.subtitle else 0)
        self.need(h)
        f = self.font
        self.cv.text_in(f, (self.x0, self.y - b.size * 1.4, self.width, b.size * 1.4), b.text, b.size, "center")
        self.y -= b.size * 1.6
        if b.subtitle:
            self.cv.text_in(f, (self.x0, self.y - 12, self.width, 12), b.subtitle, 9, "center", _GREY)
            self.y -= 14
        self.y -= 4

    def heading(self, b: Heading) -> None:
        self.need(b.size * 2 + 20)
        self.y -= 6
        self.cv.rect(self.x0, self.y - b.size * 1.5, 3, b.size * 1.5, fill=(0.75, 0.1, 0.1))
        self.cv.text(self.x0 + 8, baseline(self.font, self.y - b.size * 1.5, b.size * 1.5, b.size),
                     b.text, b.size)
        self.y -= b.size * 1.5 + 6

    def paragraph(self, b: Paragraph) -> None:
        pad = 6.0 if b.boxed else 0.0
        lines = wrap(self.font, b.text, b.size, self.width - 2 * pad)
        lead = b.size * 1.45
        title_h = b.size * 1.6 if b.title else 0.0
        # split across pages line by line
        first = True
        while lines:
            avail = self.y - (self.spec.margin + 24) - 2 * pad - (title_h if first else 0)
            n = max(1, int(avail // lead))
            if n < 2 and len(lines) > 1:
                self.new_page()
                continue
            chunk, lines = lines[:n], lines[n:]
            h = len(chunk) * lead + 2 * pad + (title_h if first else 0)
            top = self.y
            if b.boxed:
                self.cv.rect(self.x0, top - h, self.width, h, fill=(0.97, 0.95, 0.9),
                             stroke=(0.6, 0.2, 0.2), width=0.8)
            yy = top - pad
            if first and b.title:
                self.cv.text(self.x0 + pad, yy - b.size * 1.25, b.title, b.size + 0.5, (0.6, 0.1, 0.1), bold=True)
                yy -= title_h
            for ln in chunk:
                self.cv.text(self.x0 + pad, yy - b.size * 1.15, ln, b.size, bold=b.boxed)
                yy -= lead
            self.y = top - h - 6
            first = False
            if lines:
                self.new_page()

    def field_row(self, b: FieldRow) -> None:
        f = self.font
        row_h = max(20.0, max(it.lines for it in b.items) * 14.0 + 6)
        self.need(row_h + 4)
        total = sum(it.share for it in b.items)
        x = self.x0
        top = self.y
        for it in b.items:
            w = self.width * it.share / total
            label = it.label + "："
            lw = f.width(label, 10) + 2
            if it.lines > 1:
                self.cv.text(x, top - 14, label, 10)
                box = (x + lw, top - row_h + 2, w - lw - 8, row_h - 4)
                self.cv.rect(*box, stroke=_LINE, width=0.5)
                rect = (box[0] + 2, box[1] + 2, box[2] - 4, box[3] - 4)
            else:
                self.cv.text_in(f, (x, top - row_h, lw, row_h), label, 10)
                lx0, lx1 = x + lw, x + w - 8
                ly = top - row_h + 3
                self.cv.line(lx0, ly, lx1, ly, width=0.5, color=_LINE)
                rect = (lx0, ly + 1, lx1 - lx0, row_h - 5)
            self.fields.append(FieldDef(
                name=it.name, type=it.type, page=self.page_no, rect=tuple(round(v, 2) for v in rect),
                font_size=it.font_size, align=it.align, max_length=it.max_length,
                required=it.required, label=it.label, multiline=it.lines > 1,
                amount_upper=it.amount_upper, currency=it.currency,
                min_value=0 if it.type == "amount" else None))
            x += w
        self.y = top - row_h - 4

    def checkbox_row(self, b: CheckboxRow) -> None:
        f = self.font
        h = 20.0
        self.need(h + 4)
        top = self.y
        label = b.label + "："
        x = self.x0
        self.cv.text_in(f, (x, top - h, self.width, h), label, 10)
        x += f.width(label, 10) + 6
        for name, text in b.options:
            self.fields.append(FieldDef(name=name, type="checkbox", page=self.page_no,
                                        rect=(round(x + 1, 2), round(top - h + 4, 2), 10.0, 10.0),
                                        font_size=10, required=b.required, label=text))
            self.cv.checkbox(x + 1, top - h + 4, 10, False)
            x += 16
            self.cv.text_in(f, (x, top - h, 200, h), text, 10)
            x += f.width(text, 10) + 14
        self.y = top - h - 4

    def table(self, b: TableBlock) -> None:
        f = self.font
        head_h = 18.0
        h = head_h + b.rows * b.row_height + 16
        self.need(h)
        self.cv.text(self.x0, self.y - 12, b.label, 10)
        self.y -= 16
        top = self.y
        total = sum(c[2] for c in b.columns)
        widths = [self.width * c[2] / total for c in b.columns]
        self.cv.rect(self.x0, top - head_h, self.width, head_h, fill=(0.92, 0.92, 0.92), stroke=_LINE)
        x = self.x0
        for (name, title, _, _), w in zip(b.columns, widths):
            self.cv.text_in(f, (x, top - head_h, w, head_h), title, 9.5, "center")
            x += w
        body_top = top - head_h
        body_h = b.rows * b.row_height
        self.cv.rect(self.x0, body_top - body_h, self.width, body_h, stroke=_LINE)
        x = self.x0
        for w in widths[:-1]:
            x += w
            self.cv.line(x, top, x, body_top - body_h, width=0.5, color=_LINE)
        self.fields.append(FieldDef(
            name=b.name, type="table", page=self.page_no,
            rect=(round(self.x0, 2), round(body_top - body_h, 2), round(self.width, 2), round(body_h, 2)),
            font_size=9.0, required=b.required, label=b.label, row_height=b.row_height,
            columns=tuple(ColumnDef(n, t, round(w, 2) - 0.01, a) for (n, t, _, a), w in zip(b.columns, widths))))
        self.y = body_top - body_h - 8

    def signature_row(self, b: SignatureRow) -> None:
        f = self.font
        h = 96.0 if any(s.seal for s in b.boxes) else 64.0
        self.need(h + 6)
        top = self.y
        w = self.width / len(b.boxes)
        for i, s in enumerate(b.boxes):
            x = self.x0 + i * w
            label = s.keyword + "："
            lw = f.width(label, 10)
            label_y = top - 16
            self.cv.text(x, label_y, label, 10)
            box = (x + lw + 4, top - h + 20, w - lw - 14, h - 22)
            self.cv.rect(*box, stroke=(0.6, 0.6, 0.6), width=0.5)
            seal_side = min(box[2], box[3], 90.0)  # round seals stay round
            size = (seal_side, seal_side) if s.seal else (min(box[2], 110.0), min(box[3], 40.0))
            # the image is centred on the keyword box, then moved by offset: put it in the box
            kw_w = f.width(s.keyword, 10)
            kw_cx, kw_cy = x + kw_w / 2, label_y + (f.ascent + f.descent) / 2000 * 10 + 1
            offset = (round(box[0] + box[2] / 2 - kw_cx, 2), round(box[1] + box[3] / 2 - kw_cy, 2))
            self.signs.append(SignPosition(role=s.role, keyword=s.keyword, page=None,
                                           offset=offset, size=size))
            if s.date_field:
                dl = "日期："
                self.cv.text(x, top - h + 6, dl, 9)
                dx = x + f.width(dl, 9)
                self.cv.line(dx, top - h + 4, x + w - 10, top - h + 4, width=0.4, color=_LINE)
                self.fields.append(FieldDef(name=s.date_field, type="date", page=self.page_no,
                                            rect=(round(dx, 2), round(top - h + 5, 2), round(x + w - 10 - dx, 2), 12.0),
                                            font_size=9, required=False, label=s.keyword + "日期"))
        self.y = top - h - 8


def build_form(spec: FormSpec, font: Optional[CJKFont] = None) -> BuiltForm:
    """Lay out ``spec``; returns the PDF bytes and the matching ``TemplateDef``."""
    font = font or default_font()
    lay = _Layout(spec, font)
    for b in spec.blocks:
        if isinstance(b, Title):
            lay.title(b)
        elif isinstance(b, Heading):
            lay.heading(b)
        elif isinstance(b, Paragraph):
            lay.paragraph(b)
        elif isinstance(b, FieldRow):
            lay.field_row(b)
        elif isinstance(b, CheckboxRow):
            lay.checkbox_row(b)
        elif isinstance(b, TableBlock):
            lay.table(b)
        elif isinstance(b, SignatureRow):
            lay.signature_row(b)
        elif isinstance(b, Spacer):
            lay.y -= b.height
        else:
            raise BuildError(f"unknown block {type(b).__name__}", code="BUILD_INVALID")
    n = len(lay.pages)
    for i, cv in enumerate(lay.pages, 1):
        cv.text_in(font, (lay.x0, 20, lay.width, 12), f"第 {i} 页 共 {n} 页", 8, "center", _GREY)
        cv.text_in(font, (lay.x0, 20, lay.width, 12), f"{spec.code} v{spec.version}", 7, "right", _GREY)
    chars = set().union(*(c.text_chars for c in lay.pages))
    missing = font.missing("".join(sorted(chars)))
    if missing:
        raise BuildError(f"characters not in the font: {missing[:20]}", code="BUILD_INVALID")
    sub = font.subset(font.gid(ch) for ch in chars)
    pdf = pikepdf.new()
    font_obj = embed_font(pdf, font, sub)
    for cv in lay.pages:
        page = pdf.add_blank_page(page_size=spec.page_size)
        page.obj.Resources = pikepdf.Dictionary(Font=pikepdf.Dictionary({"/" + FONT_RES: font_obj}))
        page.obj.Contents = pdf.make_stream(cv.render(font, sub, FONT_RES))
    pdf.docinfo["/Title"] = pikepdf.String(spec.title)
    pdf.docinfo["/Producer"] = pikepdf.String("documents.build")
    out = io.BytesIO()
    pdf.save(out, compress_streams=True, deterministic_id=True,
             object_stream_mode=pikepdf.ObjectStreamMode.generate)
    tpl = TemplateDef(code=spec.code, title=spec.title, version=spec.version,
                      fields=tuple(lay.fields), sign_positions=tuple(lay.signs),
                      description=spec.description)
    tpl.validate()
    return BuiltForm(pdf=out.getvalue(), template=tpl, page_count=n)


# ---------------------------------------------------------------------- HTML / text input
def _attr_float(el, name: str, default: float) -> float:
    try:
        return float(el.get(name, default))
    except (TypeError, ValueError) as e:
        raise BuildError(f"<{el.tag} {name}=...> must be a number", code="BUILD_INVALID",
                         details=[{"field": f"{el.tag}@{name}", "error": "must be a number"}]) from e


def _text(el) -> str:
    return " ".join("".join(el.itertext()).split())


def blocks_from_html(html: str) -> Tuple[Block, ...]:
    """A small, documented HTML subset → blocks:

    * ``<h1 data-subtitle="...">`` title; ``<h2>``/``<h3>`` heading; ``<p>`` paragraph;
      ``<p class="notice" data-title="免责条款">`` framed paragraph; ``<hr>`` spacer;
    * ``<div class="row">`` of ``<label>标签<input name=".." type="text|date|amount|image"
      maxlength=".." data-share="1" data-lines="1" data-upper data-currency="人民币"
      data-align="left" [optional]></label>`` → one row of fields;
    * ``<fieldset data-label="受益人"><label><input type="checkbox" name="..">法定</label>...``;
    * ``<table name=".." title=".." data-rows="4" data-row-height="16"><tr><th data-name=".."
      data-share="2" data-align="right">标题</th>...</tr></table>``;
    * ``<div class="signatures"><span data-role="insurer" data-seal data-date="seal_date">
      保险人盖章</span>...</div>`` (the span text is the signing keyword).
    """
    import lxml.html
    try:
        root = lxml.html.fragment_fromstring(html, create_parent="div")
    except Exception as e:  # lxml raises several types for garbage
        raise BuildError(f"unreadable HTML: {e}", code="BUILD_INVALID") from e
    blocks: List[Block] = []
    for el in root:
        tag = el.tag if isinstance(el.tag, str) else ""
        cls = (el.get("class") or "").split()
        if tag == "h1":
            blocks.append(Title(_text(el), subtitle=el.get("data-subtitle", "")))
        elif tag in ("h2", "h3"):
            blocks.append(Heading(_text(el), size=12.0 if tag == "h2" else 11.0))
        elif tag == "p":
            blocks.append(Paragraph(_text(el), boxed="notice" in cls, title=el.get("data-title", ""),
                                    size=_attr_float(el, "data-size", 9.5)))
        elif tag == "hr":
            blocks.append(Spacer(_attr_float(el, "data-height", 8.0)))
        elif tag == "div" and "row" in cls:
            items = []
            for label in el.iter("label"):
                inp = label.find(".//input")
                if inp is None or not inp.get("name"):
                    raise BuildError("each <label> in a row needs an <input name=...>", code="BUILD_INVALID")
                ml = inp.get("maxlength")
                items.append(FieldItem(
                    label=" ".join((label.text or "").split()), name=inp.get("name"),
                    type=inp.get("type", "text"), share=_attr_float(inp, "data-share", 1.0),
                    required=inp.get("optional") is None, max_length=int(ml) if ml else None,
                    align=inp.get("data-align", "left"), amount_upper=inp.get("data-upper") is not None,
                    currency=inp.get("data-currency", ""), lines=int(_attr_float(inp, "data-lines", 1))))
            if items:
                blocks.append(FieldRow(tuple(items)))
        elif tag == "fieldset":
            opts = tuple((inp.get("name"), _text(label)) for label in el.iter("label")
                         for inp in label.iter("input") if inp.get("type") == "checkbox")
            blocks.append(CheckboxRow(el.get("data-label", ""), opts, required=el.get("required") is not None))
        elif tag == "table":
            ths = list(el.iter("th"))
            if not el.get("name") or not ths:
                raise BuildError("<table> needs name=... and <th data-name=...> headers", code="BUILD_INVALID")
            cols = tuple((th.get("data-name"), _text(th), _attr_float(th, "data-share", 1.0),
                          th.get("data-align", "left")) for th in ths)
            blocks.append(TableBlock(el.get("name"), el.get("title", ""), cols,
                                     rows=int(_attr_float(el, "data-rows", 5)),
                                     row_height=_attr_float(el, "data-row-height", 16.0),
                                     required=el.get("optional") is None))
        elif tag == "div" and "signatures" in cls:
            boxes = tuple(SignatureBox(sp.get("data-role", "signer"), _text(sp),
                                       date_field=sp.get("data-date"), seal=sp.get("data-seal") is not None)
                          for sp in el.iter("span"))
            blocks.append(SignatureRow(boxes))
        elif tag:
            raise BuildError(f"unsupported element <{tag}>", code="BUILD_INVALID",
                             details=[{"field": tag, "error": "unsupported element"}])
    return tuple(blocks)


def blocks_from_text(text: str) -> Tuple[Block, ...]:
    """Plain text: the first line is the title, blank-line separated paragraphs follow."""
    paras = [" ".join(p.split("\n")).strip() for p in text.strip().split("\n\n")]
    paras = [p for p in paras if p]
    if not paras:
        raise BuildError("empty text", code="BUILD_INVALID")
    lines = text.strip().splitlines()
    blocks: List[Block] = [Title(lines[0].strip())]
    body = "\n".join(lines[1:]).strip()
    blocks += [Paragraph(" ".join(p.split())) for p in body.split("\n\n") if p.strip()]
    return tuple(blocks)


def build_from_html(html: str, *, code: str, title: str = "", version: int = 1, issuer: str = "",
                    font: Optional[CJKFont] = None) -> BuiltForm:
    blocks = blocks_from_html(html) if "<" in html else blocks_from_text(html)
    if not title:
        title = next((b.text for b in blocks if isinstance(b, Title)), code)
    return build_form(FormSpec(code=code, title=title, version=version, issuer=issuer, blocks=blocks),
                      font)
