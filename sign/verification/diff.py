"""Semantic comparison of the signed revision with the final document.

Every change is classified *allowed* (later signatures, their fields/widgets/appearances, DSS,
document timestamps, metadata, form filling when DocMDP permits, annotations at DocMDP level 3)
or *disallowed* (anything that changes what the signed pages show or how the form behaves).
"""
from __future__ import annotations

import dataclasses
from typing import Any, Container, Iterator

import pikepdf

from .report import Change, Severity

OT = pikepdf.ObjectType
_DICT, _ARRAY, _STREAM = OT.dictionary, OT.array, OT.stream
_PAGE_INHERITED = ("/Resources", "/MediaBox", "/CropBox", "/Rotate")
_CATALOG_HANDLED = {"/AcroForm", "/DSS", "/Extensions", "/Pages", "/Metadata", "/Version"}
_WIDGET_FILL_KEYS = {"/V", "/AP", "/AS", "/P", "/Parent", "/Kids", "/M"}
_ACROFORM_ALLOWED = {"/SigFlags", "/DR"}
MAX_DEPTH = 300

ALLOWED, DISALLOWED = Severity.ALLOWED, Severity.DISALLOWED


def _tc(obj: Any) -> Any:
    return getattr(obj, "_type_code", None)


def _name(obj: Any) -> str | None:
    return str(obj) if _tc(obj) == OT.name_ else None


class _Differ:
    """Finds the first difference between two object graphs (references followed, cycles cut)."""

    def __init__(self, old: pikepdf.Pdf, new: pikepdf.Pdf) -> None:
        self.old_pages = {p.obj.objgen: i for i, p in enumerate(old.pages)}
        self.new_pages = {p.obj.objgen: i for i, p in enumerate(new.pages)}
        self.active: set[tuple[Any, Any]] = set()  # pairs being compared (cycles: assume equal)
        self.done: dict[tuple[Any, Any], str | None] = {}

    def diff(self, a: Any, b: Any, path: str, skip: frozenset[str] = frozenset(),
             depth: int = 0) -> str | None:
        if depth > MAX_DEPTH:
            return f"{path} (structure too deep to compare)"
        ta, tb = _tc(a), _tc(b)
        if ta != tb:
            return f"{path} changed type"
        if ta is None:
            return None if (a == b and type(a) is type(b)) else f"{path} changed ({a!r} -> {b!r})"
        if ta in (_DICT, _ARRAY, _STREAM) and a.is_indirect and b.is_indirect:
            key = (a.objgen, b.objgen, skip)
            if key in self.done:
                return self.done[key]
            if key in self.active:
                return None
            self.active.add(key)
            found = self._diff_container(a, b, ta, path, skip, depth)
            self.active.discard(key)
            self.done[key] = found
            return found
        if ta in (_DICT, _ARRAY, _STREAM):
            return self._diff_container(a, b, ta, path, skip, depth)
        return None if a.unparse() == b.unparse() else f"{path} changed ({a} -> {b})"

    def _diff_container(self, a: Any, b: Any, ta: Any, path: str, skip: frozenset[str],
                        depth: int) -> str | None:
        if ta == _ARRAY:
            return self._diff_array(a, b, path, depth)
        if ta == _DICT and depth and _name(a.get("/Type")) == "/Page" and a.is_indirect:
            same = self.old_pages.get(a.objgen) == self.new_pages.get(b.objgen)
            return None if same else f"{path} now refers to another page"
        if ta == _STREAM:
            if a.read_raw_bytes() != b.read_raw_bytes():
                return f"{path} (stream data changed)"
            skip = skip | {"/Length"}
        return self._diff_dict(a, b, path, skip, depth)

    def _diff_array(self, a: Any, b: Any, path: str, depth: int) -> str | None:
        if len(a) != len(b):
            return f"{path} changed length {len(a)} -> {len(b)}"
        for i, (x, y) in enumerate(zip(a, b)):
            found = self.diff(x, y, f"{path}[{i}]", frozenset(), depth + 1)
            if found:
                return found
        return None

    def _diff_dict(self, a: Any, b: Any, path: str, skip: frozenset[str],
                   depth: int) -> str | None:
        ka = {k for k in a.keys() if k not in skip and not _is_backref(k, a)}
        kb = {k for k in b.keys() if k not in skip and not _is_backref(k, b)}
        for k in sorted(kb - ka):
            return f"{path}{k} added"
        for k in sorted(ka - kb):
            return f"{path}{k} removed"
        for k in sorted(ka):
            found = self.diff(a.get(k), b.get(k), f"{path}{k}", frozenset(), depth + 1)
            if found:
                return found
        return None


def _is_backref(key: str, d: Any) -> bool:
    if key == "/Parent":
        return True
    return key == "/P" and _tc(d.get("/P")) == _DICT


@dataclasses.dataclass(frozen=True)
class Field:
    name: str
    obj: Any
    is_signature: bool
    widgets: tuple[Any, ...]


def collect_fields(pdf: pikepdf.Pdf, include_orphans: bool = True) -> dict[str, Field]:
    """Terminal form fields by qualified name; widgets missing from /AcroForm are included too."""
    out: dict[str, Field] = {}
    seen: set[Any] = set()
    acro = pdf.Root.get("/AcroForm")
    if _tc(acro) == _DICT and _tc(acro.get("/Fields")) == _ARRAY:
        for f in acro.get("/Fields"):
            _walk_field(f, "", None, out, seen, 0)
    if include_orphans:
        known = {w.objgen for f in out.values() for w in f.widgets if w.is_indirect}
        for page in pdf.pages:
            for annot in _annots(page.obj):
                if _is_widget(annot) and annot.is_indirect and annot.objgen not in known \
                        and annot.get("/Parent") is None:
                    name = str(annot.get("/T", f"<widget {annot.objgen[0]} {annot.objgen[1]}>"))
                    ft = _name(annot.get("/FT"))
                    out.setdefault(name, Field(name, annot, ft == "/Sig", (annot,)))
    return out


def _walk_field(f: Any, prefix: str, ft: str | None, out: dict[str, Field], seen: set[Any],
                depth: int) -> None:
    if _tc(f) != _DICT or depth > 32 or (f.is_indirect and f.objgen in seen):
        return
    if f.is_indirect:
        seen.add(f.objgen)
    part = f.get("/T")
    name = prefix + ("." if prefix and part is not None else "") + (str(part) if part is not None
                                                                     else "")
    ft = _name(f.get("/FT")) or ft
    kids = f.get("/Kids")
    kid_list = list(kids) if _tc(kids) == _ARRAY else []
    if any(_tc(k) == _DICT and "/T" in k for k in kid_list):
        for kid in kid_list:
            _walk_field(kid, name, ft, out, seen, depth + 1)
        return
    widgets = tuple(k for k in kid_list if _tc(k) == _DICT) or (f,)
    out[name or f"<unnamed {len(out)}>"] = Field(name, f, ft == "/Sig", widgets)


def _annot_key(annot: Any, index: int) -> Any:
    return annot.objgen if annot.is_indirect else ("direct", index)


def _describe_annot(annot: Any) -> str:
    subtype = _name(annot.get("/Subtype")) or "?"
    rect = annot.get("/Rect")
    where = f" at {[float(v) for v in rect]}" if _tc(rect) == _ARRAY else ""
    name = annot.get("/T")
    label = f" '{name}'" if name is not None else ""
    return f"{subtype} annotation{label}{where}"


@dataclasses.dataclass
class Analyzer:
    old: pikepdf.Pdf
    new: pikepdf.Pdf
    level: int  # DocMDP P: 1 no changes, 2 form fill + sign, 3 + annotations
    locked: Container[str] | None = None  # field names locked by FieldMDP (None: none)

    def __post_init__(self) -> None:
        self.differ = _Differ(self.old, self.new)
        self.old_fields = collect_fields(self.old)
        self.new_fields = collect_fields(self.new)
        self.sig_widgets = {w.objgen for f in self.new_fields.values() if f.is_signature
                            for w in f.widgets if w.is_indirect}

    def run(self) -> list[Change]:
        out: list[Change] = []
        for part in (self._trailer, self._catalog, self._acroform, self._pages, self._annotations,
                     self._fields):
            out.extend(part())
        return out

    def _d(self, a: Any, b: Any, path: str, skip: frozenset[str] = frozenset()) -> str | None:
        return self.differ.diff(a, b, path, skip)

    def _trailer(self) -> Iterator[Change]:
        found = self._d(self.old.trailer.get("/Encrypt"), self.new.trailer.get("/Encrypt"),
                        "trailer/Encrypt")
        if found:
            yield Change("ENCRYPTION_CHANGED", DISALLOWED, f"encryption dictionary changed: {found}")

    def _catalog(self) -> Iterator[Change]:
        old, new = self.old.Root, self.new.Root
        keys = (set(old.keys()) | set(new.keys())) - _CATALOG_HANDLED - {"/Type"}
        for key in sorted(keys):
            found = self._d(old.get(key), new.get(key), f"catalog{key}")
            if found:
                yield Change("CATALOG_CHANGED", DISALLOWED,
                             f"document catalog entry {key} changed after signing: {found}")
        if self._d(old.get("/DSS"), new.get("/DSS"), "catalog/DSS"):
            yield Change("DSS_UPDATED", ALLOWED, "validation data (DSS/VRI) added or updated")
        if self._d(old.get("/Extensions"), new.get("/Extensions"), "catalog/Extensions"):
            yield Change("EXTENSIONS_UPDATED", ALLOWED, "developer extensions declared")
        if self._d(old.get("/Version"), new.get("/Version"), "catalog/Version"):
            yield Change("VERSION_UPDATED", ALLOWED, "PDF version declared in the catalog changed")
        if self._d(old.get("/Metadata"), new.get("/Metadata"), "catalog/Metadata"):
            yield Change("METADATA_UPDATED", ALLOWED, "XMP metadata updated (not rendered)")

    def _acroform(self) -> Iterator[Change]:
        old, new = self.old.Root.get("/AcroForm"), self.new.Root.get("/AcroForm")
        if _tc(old) != _DICT and _tc(new) != _DICT:
            return
        old_keys = set(old.keys()) if _tc(old) == _DICT else set()
        new_keys = set(new.keys()) if _tc(new) == _DICT else set()
        for key in sorted((old_keys | new_keys) - {"/Fields"}):
            a = old.get(key) if key in old_keys else None
            b = new.get(key) if key in new_keys else None
            found = self._d(a, b, f"AcroForm{key}")
            if not found:
                continue
            if key in _ACROFORM_ALLOWED:
                yield Change("ACROFORM_UPDATED", ALLOWED, f"form dictionary {key} updated")
            else:
                yield Change("ACROFORM_CHANGED", DISALLOWED, f"form dictionary changed: {found}")

    def _pages(self) -> Iterator[Change]:
        old_pages, new_pages = list(self.old.pages), list(self.new.pages)
        if len(old_pages) != len(new_pages):
            yield Change("PAGES_CHANGED", DISALLOWED,
                         f"page count changed from {len(old_pages)} to {len(new_pages)}")
        for i, (a, b) in enumerate(zip(old_pages, new_pages)):
            found = self._d(a.obj, b.obj, f"page {i + 1} ", frozenset({"/Annots"}))
            found = found or self._inherited(a.obj, b.obj, i)
            if found:
                yield _page_change(found, i)

    def _inherited(self, a: Any, b: Any, index: int) -> str | None:
        for key in _PAGE_INHERITED:
            if key in a or key in b:
                continue
            found = self._d(_inherit(a, key), _inherit(b, key), f"page {index + 1} {key}")
            if found:
                return found
        return None

    def _annotations(self) -> Iterator[Change]:
        for i, (a, b) in enumerate(zip(self.old.pages, self.new.pages)):
            yield from self._page_annotations(i, _annots(a.obj), _annots(b.obj))

    def _page_annotations(self, index: int, old: list[Any], new: list[Any]) -> Iterator[Change]:
        old_by_key = {_annot_key(x, j): x for j, x in enumerate(old)}
        new_keys = set()
        for j, annot in enumerate(new):
            key = _annot_key(annot, j)
            new_keys.add(key)
            before = old_by_key.get(key)
            if before is None:
                yield self._added_annotation(annot, index)
            else:
                yield from self._changed_annotation(before, annot, index)
        for key, annot in old_by_key.items():
            if key not in new_keys:
                sev = ALLOWED if self.level >= 3 and not _is_widget(annot) else DISALLOWED
                yield Change("ANNOTATION_REMOVED", sev,
                             f"page {index + 1}: {_describe_annot(annot)} removed")

    def _added_annotation(self, annot: Any, index: int) -> Change:
        desc = f"page {index + 1}: {_describe_annot(annot)} added"
        if _is_widget(annot) and self._is_signature_widget(annot):
            return Change("SIGNATURE_WIDGET_ADDED", ALLOWED, f"{desc} (signature field)")
        if self.level >= 3 and not _is_widget(annot):
            return Change("ANNOTATION_ADDED", ALLOWED, f"{desc} (DocMDP level 3 permits annotations)")
        return Change("ANNOTATION_ADDED", DISALLOWED, f"{desc}, drawn over the signed page")

    def _changed_annotation(self, before: Any, after: Any, index: int) -> Iterator[Change]:
        if _is_widget(after):
            found = self._d(before, after, f"page {index + 1} widget ", frozenset(_WIDGET_FILL_KEYS))
            if found:
                yield Change("WIDGET_CHANGED", DISALLOWED,
                             f"page {index + 1}: {_describe_annot(after)} changed: {found}")
            return
        found = self._d(before, after, f"page {index + 1} annotation ", frozenset({"/M", "/P"}))
        if found:
            sev = ALLOWED if self.level >= 3 else DISALLOWED
            yield Change("ANNOTATION_CHANGED", sev,
                         f"page {index + 1}: {_describe_annot(before)} changed: {found}")

    def _is_signature_widget(self, annot: Any) -> bool:
        if annot.is_indirect and annot.objgen in self.sig_widgets:
            return True
        node, depth = annot, 0
        while _tc(node) == _DICT and depth < 32:
            if _name(node.get("/FT")) == "/Sig":
                return True
            node, depth = node.get("/Parent"), depth + 1
        return False

    def _fields(self) -> Iterator[Change]:
        for name, field in self.new_fields.items():
            before = self.old_fields.get(name)
            if before is None:
                yield _new_field(field)
            else:
                yield from self._changed_field(before, field)
        for name, field in self.old_fields.items():
            if name not in self.new_fields:
                yield Change("FIELD_REMOVED", DISALLOWED, f"form field '{name}' removed")

    def _changed_field(self, old: Field, new: Field) -> Iterator[Change]:
        name = new.name
        if old.is_signature != new.is_signature:
            yield Change("FIELD_CHANGED", DISALLOWED, f"form field '{name}' changed its type")
            return
        if _name(old.obj.get("/Subtype")) is None and _name(new.obj.get("/Subtype")) is None:
            found = self._d(old.obj, new.obj, f"field '{name}' ", frozenset({"/Kids", "/V"}))
            if found:
                yield Change("FIELD_CHANGED", DISALLOWED, f"form field '{name}' changed: {found}")
        value = self._d(old.obj.get("/V"), new.obj.get("/V"), f"field '{name}' /V")
        appearance = self._appearance_diff(old, new)
        if new.is_signature:
            yield from _signature_field_change(name, old, value, appearance)
            return
        permitted = self.level >= 2 and (self.locked is None or name not in self.locked)
        was_empty = _is_empty_value(old.obj.get("/V"))
        if value:
            shown = f"{_short(old.obj.get('/V'))} -> {_short(new.obj.get('/V'))}"
            if permitted and was_empty:
                yield Change("FORM_FILLED", ALLOWED, f"form field '{name}' filled in: {shown}")
            else:
                why = "it held a value when signed" if not was_empty else "form filling not permitted"
                yield Change("FIELD_VALUE_CHANGED", DISALLOWED,
                             f"form field '{name}' value changed ({why}): {shown}")
        if appearance:
            if value and permitted and was_empty:
                yield Change("FORM_APPEARANCE_UPDATED", ALLOWED,
                             f"form field '{name}' appearance regenerated for its new value")
            else:
                yield Change("FIELD_APPEARANCE_CHANGED", DISALLOWED,
                             f"appearance of form field '{name}' changed"
                             f"{'' if value else ' without a value change'}: {appearance}")

    def _appearance_diff(self, old: Field, new: Field) -> str | None:
        if len(old.widgets) != len(new.widgets):
            return "widgets added or removed"
        for a, b in zip(old.widgets, new.widgets):
            for key in ("/AP", "/AS"):
                found = self._d(a.get(key), b.get(key), f"widget {key}")
                if found:
                    return found
        return None


def _signature_field_change(name: str, old: Field, value: str | None,
                            appearance: str | None) -> Iterator[Change]:
    if old.obj.get("/V") is None and value:
        yield Change("SIGNATURE_ADDED", ALLOWED, f"signature field '{name}' signed")
        return
    if value:
        yield Change("SIGNATURE_CHANGED", DISALLOWED, f"signature '{name}' was replaced: {value}")
    if appearance:
        yield Change("SIGNATURE_APPEARANCE_CHANGED", DISALLOWED,
                     f"appearance of signature field '{name}' changed: {appearance}")


def _is_empty_value(value: Any) -> bool:
    if value is None:
        return True
    if _tc(value) == OT.string:
        return not bytes(value).strip()
    if _tc(value) == OT.name_:
        return str(value) == "/Off"
    return _tc(value) == _ARRAY and len(value) == 0


def _new_field(field: Field) -> Change:
    if field.is_signature:
        kind = "DOC_TIMESTAMP_ADDED" if _is_doc_ts(field.obj.get("/V")) else "SIGNATURE_ADDED"
        signed = " and signed" if field.obj.get("/V") is not None else ""
        return Change(kind, ALLOWED, f"signature field '{field.name}' added{signed}")
    return Change("FIELD_ADDED", DISALLOWED, f"form field '{field.name}' added after signing")


def _is_doc_ts(v: Any) -> bool:
    return _tc(v) == _DICT and _name(v.get("/Type")) == "/DocTimeStamp"


def _page_change(found: str, index: int) -> Change:
    if "/Contents" in found.split(" ", 2)[-1][:12]:
        return Change("PAGE_CONTENT_CHANGED", DISALLOWED, f"page content changed: {found}")
    if "/Resources" in found:
        return Change("PAGE_RESOURCES_CHANGED", DISALLOWED,
                      f"page resources (fonts/XObjects) changed: {found}")
    return Change("PAGE_CHANGED", DISALLOWED, f"page {index + 1} changed: {found}")


def _is_widget(annot: Any) -> bool:
    return _tc(annot) == _DICT and _name(annot.get("/Subtype")) == "/Widget"


def _annots(page: Any) -> list[Any]:
    annots = page.get("/Annots")
    return [a for a in annots if _tc(a) == _DICT] if _tc(annots) == _ARRAY else []


def _inherit(page: Any, key: str) -> Any:
    node, depth = page, 0
    while _tc(node) == _DICT and depth < 64:
        if key in node:
            return node.get(key)
        node, depth = node.get("/Parent"), depth + 1
    return None


def _short(value: Any) -> str:
    text = repr(None) if value is None else (str(value) if _tc(value) in (OT.string, OT.name_)
                                             else type(value).__name__)
    return repr(text[:40]) if isinstance(text, str) else text
