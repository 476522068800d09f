"""PDF helpers shared by the derived-copy modules (desensitised, print copy, comparison):
opening with stable errors, flattening annotation appearances into the page content, stripping
signature machinery, adding a content stream with our CJK font."""
from __future__ import annotations

import io
import warnings
import zlib
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Tuple

import pikepdf

from .draw import Canvas
from .errors import PdfInputError
from .fonts import CJKFont, Subset, embed_font

Box = Tuple[float, float, float, float]

# annotation flags
_HIDDEN, _NOVIEW = 1 << 1, 1 << 5


def open_pdf(data: bytes) -> pikepdf.Pdf:
    if not isinstance(data, (bytes, bytearray)) or not bytes(data[:1024]).lstrip().startswith(b"%PDF") and b"%PDF-" not in bytes(data[:1024]):
        raise PdfInputError("not a PDF", code="PDF_INVALID")
    try:
        pdf = pikepdf.open(io.BytesIO(bytes(data)))
    except pikepdf.PasswordError as e:
        raise PdfInputError("the PDF is encrypted", code="PDF_ENCRYPTED") from e
    except pikepdf.PdfError as e:
        raise PdfInputError(f"unreadable PDF: {e}", code="PDF_INVALID") from e
    return pdf


def save_pdf(pdf: pikepdf.Pdf) -> bytes:
    out = io.BytesIO()
    with warnings.catch_warnings():
        # the input's own orphaned widgets (not in /AcroForm) are not ours to fix
        warnings.simplefilter("ignore", getattr(pikepdf, "PageCopyWarning", UserWarning))
        pdf.save(out, compress_streams=True, object_stream_mode=pikepdf.ObjectStreamMode.generate)
    return out.getvalue()


def page_box(page: pikepdf.Page) -> Box:
    box = page.obj.get("/CropBox") or page.mediabox
    x0, y0, x1, y1 = (float(v) for v in box)
    return (min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1))


def visual_canvas(page: pikepdf.Page) -> Tuple[Canvas, float, float]:
    """A canvas whose coordinates are the page *as displayed* (CropBox, after /Rotate): origin
    at the visible bottom-left corner, returns (canvas, visible width, visible height)."""
    from sign.pdf.geometry import PageGeometry
    geo = PageGeometry.of(page.obj)
    ox, oy = geo.to_user(0, 0)
    ax, ay = geo.to_user(1, 0)
    cx, cy = geo.to_user(0, 1)
    cv = Canvas()
    cv.raw(b"%s %s %s %s %s %s cm" % tuple(f"{v:.4f}".encode() for v in (ax - ox, ay - oy, cx - ox, cy - oy, ox, oy)))
    x0, y0, x1, y1 = geo.box
    w, h = (y1 - y0, x1 - x0) if geo.rotate in (90, 270) else (x1 - x0, y1 - y0)
    return cv, w, h


def _rect(a) -> Box:
    x0, y0, x1, y1 = (float(v) for v in a)
    return (min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1))


def _mat_apply(m, x: float, y: float) -> Tuple[float, float]:
    return (m[0] * x + m[2] * y + m[4], m[1] * x + m[3] * y + m[5])


def _appearance_matrix(ap: pikepdf.Stream, rect: Box) -> Optional[Tuple[float, ...]]:
    """Matrix A of the PDF algorithm (12.5.5): the form's transformed BBox fitted onto /Rect."""
    bbox = _rect(ap.get("/BBox", [0, 0, 0, 0]))
    m = tuple(float(v) for v in ap.get("/Matrix", [1, 0, 0, 1, 0, 0]))
    pts = [_mat_apply(m, x, y) for x in (bbox[0], bbox[2]) for y in (bbox[1], bbox[3])]
    tx0, ty0 = min(p[0] for p in pts), min(p[1] for p in pts)
    tx1, ty1 = max(p[0] for p in pts), max(p[1] for p in pts)
    if tx1 - tx0 <= 0 or ty1 - ty0 <= 0 or rect[2] <= rect[0] or rect[3] <= rect[1]:
        return None
    sx = (rect[2] - rect[0]) / (tx1 - tx0)
    sy = (rect[3] - rect[1]) / (ty1 - ty0)
    return (sx, 0.0, 0.0, sy, rect[0] - tx0 * sx, rect[1] - ty0 * sy)


@dataclass(frozen=True)
class Flattened:
    page: int        # 1-based
    rect: Box        # on the page, PDF user space
    kind: str        # "signature" | "stamp" | "widget" | other subtype
    field: str


def _is_signature(annot: pikepdf.Dictionary) -> bool:
    if annot.get("/FT") == "/Sig":
        return True
    parent = annot.get("/Parent")
    return isinstance(parent, pikepdf.Dictionary) and parent.get("/FT") == "/Sig"


def flatten_annotations(pdf: pikepdf.Pdf, *, on_appearance: Optional[Callable[[pikepdf.Stream, str], None]] = None,
                        keep_links: bool = True) -> List[Flattened]:
    """Draw every visible annotation's normal appearance into its page content and remove the
    annotation (links kept if ``keep_links``); then drop /AcroForm and /Perms so the result
    is a plain, unsigned document. ``on_appearance(stream, kind)`` is called once per distinct
    appearance stream before it is drawn (to recolour seals ...)."""
    done: List[Flattened] = []
    seen: Dict[Tuple[int, int], bool] = {}
    for pno, page in enumerate(pdf.pages, 1):
        annots = page.obj.get("/Annots")
        if not isinstance(annots, pikepdf.Array):
            continue
        keep = pikepdf.Array()
        ops: List[bytes] = []
        xobjs: Dict[str, pikepdf.Object] = {}
        for annot in list(annots):
            if not isinstance(annot, pikepdf.Dictionary):
                continue
            subtype = str(annot.get("/Subtype", ""))
            if subtype in ("/Link", "/Popup") and keep_links:
                keep.append(annot)
                continue
            flags = int(annot.get("/F", 0))
            ap = annot.get("/AP")
            normal = ap.get("/N") if isinstance(ap, pikepdf.Dictionary) else None
            if isinstance(normal, pikepdf.Dictionary) and not isinstance(normal, pikepdf.Stream):
                state = annot.get("/AS")
                normal = normal.get(str(state)) if state is not None else None
            kind = ("signature" if _is_signature(annot) else "stamp" if subtype == "/Stamp"
                    else "widget" if subtype == "/Widget" else subtype.lstrip("/").lower())
            if flags & (_HIDDEN | _NOVIEW) or not isinstance(normal, pikepdf.Stream):
                continue  # dropped: nothing visible to keep
            rect = _rect(annot.get("/Rect", [0, 0, 0, 0]))
            mat = _appearance_matrix(normal, rect)
            if mat is None:
                continue
            og = normal.objgen
            if og not in seen or og == (0, 0):
                if on_appearance is not None:
                    on_appearance(normal, kind)
                seen[og] = True
            if "/Type" not in normal:
                normal["/Type"] = pikepdf.Name.XObject
            if "/Subtype" not in normal:
                normal["/Subtype"] = pikepdf.Name.Form
            name = f"Flat{pno}_{len(xobjs) + 1}"
            xobjs[name] = normal if normal.is_indirect else pdf.make_indirect(normal)
            ops.append(b"q %s cm /%s Do Q" % (" ".join(f"{v:.4f}" for v in mat).encode(), name.encode()))
            t = annot.get("/T")
            if t is None and isinstance(annot.get("/Parent"), pikepdf.Dictionary):
                t = annot.Parent.get("/T")
            done.append(Flattened(pno, rect, kind, str(t) if t is not None else ""))
        if ops:
            res = own_resources(page.obj)
            xo = res.get("/XObject")
            if not isinstance(xo, pikepdf.Dictionary):
                xo = res["/XObject"] = pikepdf.Dictionary()
            for name, obj in xobjs.items():
                xo["/" + name] = obj
            append_content(pdf, page.obj, b"\n".join(ops))
        if len(keep):
            page.obj["/Annots"] = keep
        elif "/Annots" in page.obj:
            del page.obj["/Annots"]
    root = pdf.Root
    for key in ("/AcroForm", "/Perms"):
        if key in root:
            del root[key]
    return done


def page_resources(page: pikepdf.Dictionary) -> Optional[pikepdf.Object]:
    """The /Resources that apply to ``page``: its own, or the nearest inherited one."""
    res = page.get("/Resources")
    node = page.get("/Parent")
    while res is None and isinstance(node, pikepdf.Dictionary):
        res = node.get("/Resources")
        node = node.get("/Parent")
    return res


def own_resources(page: pikepdf.Dictionary) -> pikepdf.Dictionary:
    """The page's own /Resources (inherited ones copied in), with private /Font and /XObject
    dictionaries so pages sharing resources are not affected by additions."""
    res = page_resources(page)
    new = pikepdf.Dictionary()
    if isinstance(res, pikepdf.Dictionary):
        for k, v in res.items():
            new[k] = (pikepdf.Dictionary(dict(v.items()))
                      if k in ("/Font", "/XObject", "/ExtGState") and isinstance(v, pikepdf.Dictionary) else v)
    page["/Resources"] = new
    return new


def append_content(pdf: pikepdf.Pdf, page: pikepdf.Dictionary, data: bytes) -> None:
    """Append ``data`` after the page content, isolated from its graphics state (q ... Q)."""
    old = page.get("/Contents")
    olds = list(old) if isinstance(old, pikepdf.Array) else [old] if old is not None else []
    ours = pikepdf.Stream(pdf, b"")
    ours.write(zlib.compress(b"\nQ\n" + data + b"\n", 6), filter=pikepdf.Name.FlateDecode)
    page["/Contents"] = pikepdf.Array([pdf.make_stream(b"q\n"), *olds, pdf.make_indirect(ours)])


def add_resource(res: pikepdf.Dictionary, kind: str, prefix: str, obj: pikepdf.Object) -> str:
    d = res.get(kind)
    if not isinstance(d, pikepdf.Dictionary):
        d = res[kind] = pikepdf.Dictionary()
    name = prefix
    i = 1
    while "/" + name in d:
        i += 1
        name = f"{prefix}{i}"
    d["/" + name] = obj
    return name


def draw_canvases(pdf: pikepdf.Pdf, font: CJKFont, canvases: Dict[int, Canvas],
                  gstates: Optional[Dict[str, pikepdf.Dictionary]] = None) -> None:
    """Render per-page canvases (1-based page numbers) with one shared subset font."""
    chars = set().union(*(c.text_chars for c in canvases.values())) if canvases else set()
    sub: Optional[Subset] = font.subset(g for ch in chars if (g := font.gid(ch)) is not None) if chars else None
    font_obj = embed_font(pdf, font, sub) if sub else None
    gs_objs = {k: pdf.make_indirect(v) for k, v in (gstates or {}).items()}
    for pno, cv in canvases.items():
        page = pdf.pages[pno - 1].obj
        res = own_resources(page)
        fname = add_resource(res, "/Font", "DocCJK", font_obj) if font_obj is not None else "DocCJK"
        egs = res.get("/ExtGState")
        if gs_objs:
            if not isinstance(egs, pikepdf.Dictionary):
                egs = res["/ExtGState"] = pikepdf.Dictionary()
            for k, v in gs_objs.items():
                egs["/" + k] = v
        append_content(pdf, page, cv.render(font, sub, fname) if sub else cv.render(font, _EMPTY, fname))


class _EmptySubset:
    def encode(self, font, text):  # pragma: no cover - no text drawn then
        return b""


_EMPTY = _EmptySubset()
