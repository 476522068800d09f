"""Template definitions: fill fields and signing positions, with JSON (de)serialisation.

Coordinates are PDF points from the bottom-left corner of the page (``rect`` = x, y, w, h);
pages are 1-based. ``TemplateDef.from_dict``/``from_json`` validate everything and raise one
``TemplateError`` whose ``details`` list every problem (``{"field": "fields[2].rect", "error"}``).
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional, Tuple

from .errors import TemplateError

FIELD_TYPES = ("text", "date", "amount", "checkbox", "image", "table")
ALIGNS = ("left", "center", "right")
Rect = Tuple[float, float, float, float]
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")


@dataclass(frozen=True)
class ColumnDef:
    """A table column: ``name`` (key in each row), header ``title``, ``width`` in points."""
    name: str
    title: str = ""
    width: float = 80.0
    align: str = "left"
    max_length: Optional[int] = None


@dataclass(frozen=True)
class FieldDef:
    name: str
    type: str = "text"
    page: int = 1
    rect: Rect = (0.0, 0.0, 100.0, 14.0)
    font_size: float = 10.5
    align: str = "left"
    max_length: Optional[int] = None
    required: bool = True
    label: str = ""                     # human name (Chinese) for messages
    multiline: bool = False             # text: wrap inside rect
    amount_upper: bool = False          # amount: append Chinese uppercase (壹万元整)
    currency: str = ""                  # amount: prefix such as "¥" or "人民币"
    columns: Tuple[ColumnDef, ...] = ()  # table
    row_height: float = 16.0            # table: the rect's top row is the first data row
    min_value: Optional[float] = None   # amount
    max_value: Optional[float] = None   # amount

    @property
    def max_rows(self) -> int:
        return int(self.rect[3] // self.row_height) if self.row_height > 0 else 0


@dataclass(frozen=True)
class SignPosition:
    """Where a role signs: ``page`` + ``rect``, or ``keyword`` (+ ``offset``, ``size``)."""
    role: str
    page: Optional[int] = None
    rect: Optional[Rect] = None
    keyword: Optional[str] = None
    offset: Tuple[float, float] = (0.0, 0.0)
    size: Tuple[float, float] = (90.0, 90.0)
    occurrence: str = "first"

    def appearance_kwargs(self) -> Dict[str, Any]:
        """Keyword arguments for ``sign.specs.AppearanceSpec`` (add ``image=``)."""
        if self.rect is not None:
            return {"page": self.page or 1, "rect": tuple(self.rect)}
        return {"page": self.page, "keyword": self.keyword, "offset": tuple(self.offset),
                "size": tuple(self.size), "occurrence": self.occurrence}


@dataclass(frozen=True)
class TemplateDef:
    code: str
    title: str
    version: int = 1
    fields: Tuple[FieldDef, ...] = ()
    sign_positions: Tuple[SignPosition, ...] = ()
    description: str = ""

    def field(self, name: str) -> FieldDef:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)

    # ------------------------------------------------------------------ JSON
    def to_dict(self) -> Dict[str, Any]:
        return {
            "code": self.code, "title": self.title, "version": self.version,
            "description": self.description,
            "fields": [_field_to_dict(f) for f in self.fields],
            "sign_positions": [_sign_to_dict(s) for s in self.sign_positions],
        }

    def to_json(self, indent: Optional[int] = 2) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=indent)

    @classmethod
    def from_json(cls, text: str | bytes) -> "TemplateDef":
        try:
            data = json.loads(text)
        except ValueError as e:
            raise TemplateError(f"template JSON does not parse: {e}",
                                details=[{"field": "", "error": f"invalid JSON: {e}"}]) from e
        return cls.from_dict(data)

    @classmethod
    def from_dict(cls, data: Any) -> "TemplateDef":
        errs: List[Dict[str, str]] = []
        tpl = _parse_template(data, errs)
        if errs or tpl is None:
            raise TemplateError(f"template definition has {len(errs)} problem(s)", details=errs)
        return tpl

    def validate(self) -> None:
        """Re-check a programmatically built definition (raises ``TemplateError``)."""
        TemplateDef.from_dict(self.to_dict())


# ---------------------------------------------------------------------- helpers
def _field_to_dict(f: FieldDef) -> Dict[str, Any]:
    d: Dict[str, Any] = {"name": f.name, "type": f.type, "page": f.page,
                         "rect": [round(v, 2) for v in f.rect], "font_size": f.font_size,
                         "align": f.align, "max_length": f.max_length, "required": f.required,
                         "label": f.label}
    if f.multiline:
        d["multiline"] = True
    if f.type == "amount":
        d.update(amount_upper=f.amount_upper, currency=f.currency,
                 min_value=f.min_value, max_value=f.max_value)
    if f.type == "table":
        d["columns"] = [{"name": c.name, "title": c.title, "width": c.width, "align": c.align,
                         "max_length": c.max_length} for c in f.columns]
        d["row_height"] = f.row_height
    return d


def _sign_to_dict(s: SignPosition) -> Dict[str, Any]:
    d: Dict[str, Any] = {"role": s.role}
    if s.rect is not None:
        d.update(page=s.page, rect=[round(v, 2) for v in s.rect])
    else:
        d.update(keyword=s.keyword, page=s.page, offset=list(s.offset), size=list(s.size),
                 occurrence=s.occurrence)
    return d


def _num(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _rect(v: Any, path: str, errs: List[Dict[str, str]]) -> Optional[Rect]:
    if (not isinstance(v, (list, tuple)) or len(v) != 4 or not all(_num(x) for x in v)):
        errs.append({"field": path, "error": "must be [x, y, w, h] numbers"})
        return None
    if v[2] <= 0 or v[3] <= 0:
        errs.append({"field": path, "error": "width and height must be > 0"})
        return None
    if v[0] < 0 or v[1] < 0:
        errs.append({"field": path, "error": "x and y must be >= 0"})
        return None
    return (float(v[0]), float(v[1]), float(v[2]), float(v[3]))


def _pair(v: Any, path: str, errs: List[Dict[str, str]], positive: bool) -> Optional[Tuple[float, float]]:
    if not isinstance(v, (list, tuple)) or len(v) != 2 or not all(_num(x) for x in v):
        errs.append({"field": path, "error": "must be [a, b] numbers"})
        return None
    if positive and (v[0] <= 0 or v[1] <= 0):
        errs.append({"field": path, "error": "must be > 0"})
        return None
    return (float(v[0]), float(v[1]))


def _opt_int(d: Mapping, key: str, path: str, errs: List[Dict[str, str]], minimum: int = 1) -> Optional[int]:
    v = d.get(key)
    if v is None:
        return None
    if not isinstance(v, int) or isinstance(v, bool) or v < minimum:
        errs.append({"field": f"{path}.{key}", "error": f"must be an integer >= {minimum}"})
        return None
    return v


def _parse_field(d: Any, path: str, errs: List[Dict[str, str]]) -> Optional[FieldDef]:
    if not isinstance(d, Mapping):
        errs.append({"field": path, "error": "must be an object"})
        return None
    n0 = len(errs)
    name = d.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        errs.append({"field": f"{path}.name", "error": "must match [A-Za-z_][A-Za-z0-9_]{0,63}"})
    ftype = d.get("type", "text")
    if ftype not in FIELD_TYPES:
        errs.append({"field": f"{path}.type", "error": f"must be one of {', '.join(FIELD_TYPES)}"})
    page = _opt_int(d, "page", path, errs) or 1
    rect = _rect(d.get("rect"), f"{path}.rect", errs)
    fs = d.get("font_size", 10.5)
    if not _num(fs) or not 4 <= fs <= 72:
        errs.append({"field": f"{path}.font_size", "error": "must be a number in [4, 72]"})
    align = d.get("align", "left")
    if align not in ALIGNS:
        errs.append({"field": f"{path}.align", "error": "must be left, center or right"})
    max_length = _opt_int(d, "max_length", path, errs)
    for key in ("required", "multiline", "amount_upper"):
        if key in d and not isinstance(d[key], bool):
            errs.append({"field": f"{path}.{key}", "error": "must be true or false"})
    for key in ("label", "currency"):
        if key in d and d[key] is not None and not isinstance(d[key], str):
            errs.append({"field": f"{path}.{key}", "error": "must be a string"})
    for key in ("min_value", "max_value"):
        if d.get(key) is not None and not _num(d[key]):
            errs.append({"field": f"{path}.{key}", "error": "must be a number"})
    columns: List[ColumnDef] = []
    row_height = d.get("row_height", 16.0)
    if ftype == "table":
        cols = d.get("columns")
        if not isinstance(cols, list) or not cols:
            errs.append({"field": f"{path}.columns", "error": "a table needs a non-empty list of columns"})
            cols = []
        seen = set()
        for j, c in enumerate(cols):
            cp = f"{path}.columns[{j}]"
            if not isinstance(c, Mapping):
                errs.append({"field": cp, "error": "must be an object"})
                continue
            cn = c.get("name")
            if not isinstance(cn, str) or not _NAME.match(cn):
                errs.append({"field": f"{cp}.name", "error": "must match [A-Za-z_][A-Za-z0-9_]{0,63}"})
            elif cn in seen:
                errs.append({"field": f"{cp}.name", "error": f"duplicate column {cn!r}"})
            seen.add(cn)
            w = c.get("width", 80.0)
            if not _num(w) or w <= 0:
                errs.append({"field": f"{cp}.width", "error": "must be a number > 0"})
            ca = c.get("align", "left")
            if ca not in ALIGNS:
                errs.append({"field": f"{cp}.align", "error": "must be left, center or right"})
            cml = _opt_int(c, "max_length", cp, errs)
            if isinstance(cn, str) and _num(w) and ca in ALIGNS:
                columns.append(ColumnDef(cn, str(c.get("title") or ""), float(w), ca, cml))
        if not _num(row_height) or row_height <= 0:
            errs.append({"field": f"{path}.row_height", "error": "must be a number > 0"})
        elif rect is not None and rect[3] < row_height:
            errs.append({"field": f"{path}.rect", "error": "shorter than one row"})
        if rect is not None and columns and sum(c.width for c in columns) > rect[2] + 0.5:
            errs.append({"field": f"{path}.columns", "error": "column widths exceed the rect width"})
    if len(errs) > n0:
        return None
    return FieldDef(name=name, type=ftype, page=page, rect=rect, font_size=float(fs), align=align,
                    max_length=max_length, required=d.get("required", True),
                    label=d.get("label") or "", multiline=d.get("multiline", False),
                    amount_upper=d.get("amount_upper", False), currency=d.get("currency") or "",
                    columns=tuple(columns), row_height=float(row_height),
                    min_value=d.get("min_value"), max_value=d.get("max_value"))


def _parse_sign(d: Any, path: str, errs: List[Dict[str, str]]) -> Optional[SignPosition]:
    if not isinstance(d, Mapping):
        errs.append({"field": path, "error": "must be an object"})
        return None
    n0 = len(errs)
    role = d.get("role")
    if not isinstance(role, str) or not role.strip():
        errs.append({"field": f"{path}.role", "error": "must be a non-empty string"})
    page = _opt_int(d, "page", path, errs)
    rect = kw = None
    if d.get("rect") is not None and d.get("keyword") is not None:
        errs.append({"field": path, "error": "rect and keyword are exclusive"})
    elif d.get("rect") is not None:
        rect = _rect(d["rect"], f"{path}.rect", errs)
        if page is None:
            errs.append({"field": f"{path}.page", "error": "required with rect"})
    elif isinstance(d.get("keyword"), str) and d["keyword"].strip():
        kw = d["keyword"]
    else:
        errs.append({"field": path, "error": "needs rect (with page) or a non-empty keyword"})
    offset = _pair(d.get("offset", (0, 0)), f"{path}.offset", errs, False)
    size = _pair(d.get("size", (90, 90)), f"{path}.size", errs, True)
    occ = d.get("occurrence", "first")
    if occ not in ("first", "last", "all"):
        errs.append({"field": f"{path}.occurrence", "error": "must be first, last or all"})
    if len(errs) > n0:
        return None
    return SignPosition(role=role, page=page, rect=rect, keyword=kw, offset=offset, size=size,
                        occurrence=occ)


def _parse_template(data: Any, errs: List[Dict[str, str]]) -> Optional[TemplateDef]:
    if not isinstance(data, Mapping):
        errs.append({"field": "", "error": "template must be a JSON object"})
        return None
    code = data.get("code")
    if not isinstance(code, str) or not re.match(r"^[a-z0-9][a-z0-9_-]{0,63}$", code):
        errs.append({"field": "code", "error": "must match [a-z0-9][a-z0-9_-]{0,63}"})
    title = data.get("title")
    if not isinstance(title, str) or not title.strip():
        errs.append({"field": "title", "error": "must be a non-empty string"})
    version = data.get("version", 1)
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        errs.append({"field": "version", "error": "must be an integer >= 1"})
    raw_fields = data.get("fields", [])
    if not isinstance(raw_fields, list):
        errs.append({"field": "fields", "error": "must be a list"})
        raw_fields = []
    fields = []
    names: set = set()
    for i, fd in enumerate(raw_fields):
        f = _parse_field(fd, f"fields[{i}]", errs)
        if f is None:
            continue
        if f.name in names:
            errs.append({"field": f"fields[{i}].name", "error": f"duplicate field name {f.name!r}"})
        names.add(f.name)
        fields.append(f)
    raw_sign = data.get("sign_positions", [])
    if not isinstance(raw_sign, list):
        errs.append({"field": "sign_positions", "error": "must be a list"})
        raw_sign = []
    signs = [s for i, sd in enumerate(raw_sign)
             if (s := _parse_sign(sd, f"sign_positions[{i}]", errs)) is not None]
    if errs:
        return None
    return TemplateDef(code=code, title=title, version=version, fields=tuple(fields),
                       sign_positions=tuple(signs), description=str(data.get("description") or ""))


def check_against_pdf(tpl: TemplateDef, page_sizes: List[Tuple[float, float]]) -> None:
    """Raise ``TemplateError`` listing fields/positions outside the PDF's pages."""
    errs = []
    for i, f in enumerate(tpl.fields):
        if f.page > len(page_sizes):
            errs.append({"field": f"fields[{i}].page", "error": f"the PDF has {len(page_sizes)} page(s)"})
            continue
        w, h = page_sizes[f.page - 1]
        x, y, fw, fh = f.rect
        if x + fw > w + 0.5 or y + fh > h + 0.5:
            errs.append({"field": f"fields[{i}].rect", "error": f"outside the page ({w:g} x {h:g})"})
    for i, s in enumerate(tpl.sign_positions):
        if s.page is not None and s.page > len(page_sizes):
            errs.append({"field": f"sign_positions[{i}].page", "error": f"the PDF has {len(page_sizes)} page(s)"})
    if errs:
        raise TemplateError(f"template does not fit the PDF: {len(errs)} problem(s)", details=errs)


def check_sign_keywords(pdf_bytes: bytes, tpl: TemplateDef) -> None:
    """Raise ``TemplateError`` listing every keyword signing position whose keyword is not found
    in the PDF (on its page, or anywhere), using the same search as the signer
    (``sign.pdf.text``), so a template is refused at upload rather than at signing time."""
    import io

    import pikepdf

    from sign.pdf.text import find_keyword
    errs = []
    with pikepdf.open(io.BytesIO(pdf_bytes)) as pdf:
        n = len(pdf.pages)
        for i, s in enumerate(tpl.sign_positions):
            if s.keyword is None:
                continue
            if s.page is not None and s.page > n:
                errs.append({"field": f"sign_positions[{i}].page", "error": f"the PDF has {n} page(s)"})
                continue
            pages = [s.page - 1] if s.page else range(n)
            if not find_keyword(pdf, s.keyword, pages):
                errs.append({"field": f"sign_positions[{i}].keyword",
                             "error": f"keyword {s.keyword!r} not found in the PDF"})
    if errs:
        raise TemplateError(f"signing keywords missing: {len(errs)}", details=errs)
