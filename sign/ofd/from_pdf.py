"""PDF -> OFD, so that documents built from our PDF templates (``documents.build`` /
``documents.fill``) can be issued as OFD too.

What is carried over, page by page (PDF points, bottom-left origin -> OFD mm, top-left):

* text as real OFD text: the glyphs found by :func:`sign.pdf.text.page_glyphs` (content,
  form XObjects, filled form fields' appearances), grouped into runs per line and size, each
  glyph at its own PDF position (``DeltaX``), drawn with the CJK font (embedded subset);
* vector paths (``m l c v y h re`` painted by ``S s f F f* B B* b b*``) with line width and
  RGB/grey colours, through ``q/Q/cm`` and form XObjects;
* image XObjects (decoded by pikepdf, re-encoded as PNG) at their CTM's bounding box.

Not carried over: clipping, shadings/patterns, dash patterns, text render modes, rotated text
(placed unrotated at its position), annotations other than form-field appearances.
"""
from __future__ import annotations

import io
import math
from decimal import Decimal
from dataclasses import dataclass
from typing import Optional

import pikepdf

from sign.ofd.errors import BAD_CONTENT, OfdError

MM = 25.4 / 72.0
Matrix = tuple[float, float, float, float, float, float]
_ID: Matrix = (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)


def _mul(m1: Matrix, m2: Matrix) -> Matrix:
    a, b, c, d, e, f = m1
    A, B, C, D, E, F = m2
    return (a * A + b * C, a * B + b * D, c * A + d * C, c * B + d * D, e * A + f * C + E, e * B + f * D + F)


def _apply(m: Matrix, x: float, y: float) -> tuple[float, float]:
    return (m[0] * x + m[2] * y + m[4], m[1] * x + m[3] * y + m[5])


@dataclass(frozen=True)
class _Path:
    subpaths: tuple[tuple[tuple[float, float], ...], ...]   # PDF user space after CTM (points)
    closed: tuple[bool, ...]
    stroke: bool
    fill: bool
    width: float
    stroke_rgb: tuple[int, int, int]
    fill_rgb: tuple[int, int, int]


@dataclass(frozen=True)
class _Img:
    png: bytes
    box: tuple[float, float, float, float]   # x0, y0, x1, y1 in points


def _rgb(op: str, vals: list[float]) -> Optional[tuple[int, int, int]]:
    try:
        if op in ("g", "G") and len(vals) == 1:
            v = round(vals[0] * 255)
            return (v, v, v)
        if op in ("rg", "RG") and len(vals) == 3:
            return tuple(max(0, min(255, round(v * 255))) for v in vals)  # type: ignore[return-value]
        if op in ("k", "K") and len(vals) == 4:
            c, m, y, k = vals
            return tuple(max(0, min(255, round(255 * (1 - min(1.0, v + k))))) for v in (c, m, y))  # type: ignore
    except (TypeError, ValueError):
        return None
    return None


def _graphics(container, resources, ctm: Matrix, paths: list[_Path], images: list[_Img], depth: int) -> None:
    if depth > 8:
        return
    try:
        instructions = pikepdf.parse_content_stream(container)
    except Exception:
        return
    xobjs = resources.get("/XObject", pikepdf.Dictionary()) if isinstance(resources, pikepdf.Dictionary) else {}
    state = {"ctm": ctm, "w": 1.0, "s": (0, 0, 0), "f": (0, 0, 0)}
    stack: list[dict] = []
    subs: list[list[tuple[float, float]]] = []
    closed: list[bool] = []
    cur: list[tuple[float, float]] = []

    def pt(x: float, y: float) -> tuple[float, float]:
        return _apply(state["ctm"], x, y)

    def flush_current() -> None:
        nonlocal cur
        if len(cur) > 1:
            subs.append(cur)
            closed.append(False)
        cur = []

    def paint(stroke: bool, fill: bool, close: bool) -> None:
        nonlocal subs, closed, cur
        if close and cur:
            subs.append(cur)
            closed.append(True)
            cur = []
        flush_current()
        m = state["ctm"]
        scale = math.sqrt(abs(m[0] * m[3] - m[1] * m[2])) or 1.0
        if subs and (stroke or fill):
            paths.append(_Path(tuple(tuple(s) for s in subs), tuple(closed), stroke, fill, state["w"] * scale,
                               state["s"], state["f"]))
        subs, closed = [], []

    for ins in instructions:
        if not isinstance(ins, pikepdf.ContentStreamInstruction):
            continue
        op = str(ins.operator)
        args = [float(a) if isinstance(a, (int, float, Decimal)) and not isinstance(a, bool) else a
                for a in ins.operands]
        try:
            if op == "q":
                stack.append(dict(state))
            elif op == "Q" and stack:
                state = stack.pop()
            elif op == "cm" and len(args) == 6:
                state["ctm"] = _mul(tuple(float(a) for a in args), state["ctm"])  # type: ignore[arg-type]
            elif op == "w" and args:
                state["w"] = float(args[0])
            elif op in ("G", "RG", "K", "g", "rg", "k"):
                color = _rgb(op, [float(a) for a in args])
                if color is not None:
                    state["s" if op.isupper() else "f"] = color
            elif op in ("SC", "SCN", "sc", "scn"):
                nums = [float(a) for a in args if isinstance(a, float)]
                color = _rgb({1: "g", 3: "rg", 4: "k"}.get(len(nums), ""), nums)
                if color is not None:
                    state["s" if op.isupper() else "f"] = color
            elif op == "m":
                flush_current()
                cur = [pt(args[0], args[1])]
            elif op == "l" and cur:
                cur.append(pt(args[0], args[1]))
            elif op in ("c", "v", "y") and cur:
                nums = [float(a) for a in args]
                p0 = cur[-1]
                if op == "c":
                    p1, p2, p3 = pt(nums[0], nums[1]), pt(nums[2], nums[3]), pt(nums[4], nums[5])
                elif op == "v":
                    p1, p2, p3 = p0, pt(nums[0], nums[1]), pt(nums[2], nums[3])
                else:
                    p1, p2, p3 = pt(nums[0], nums[1]), pt(nums[2], nums[3]), pt(nums[2], nums[3])
                for k in range(1, 9):
                    t = k / 8
                    u = 1 - t
                    cur.append((u ** 3 * p0[0] + 3 * u * u * t * p1[0] + 3 * u * t * t * p2[0] + t ** 3 * p3[0],
                                u ** 3 * p0[1] + 3 * u * u * t * p1[1] + 3 * u * t * t * p2[1] + t ** 3 * p3[1]))
            elif op == "h" and cur:
                subs.append(cur)
                closed.append(True)
                cur = [cur[0]]
            elif op == "re" and len(args) == 4:
                flush_current()
                x, y, w, h = (float(a) for a in args)
                subs.append([pt(x, y), pt(x + w, y), pt(x + w, y + h), pt(x, y + h)])
                closed.append(True)
            elif op in ("S", "s"):
                paint(True, False, op == "s")
            elif op in ("f", "F", "f*"):
                paint(False, True, True)
            elif op in ("B", "B*", "b", "b*"):
                paint(True, True, True)
            elif op == "n":
                flush_current()
                subs, closed = [], []
            elif op == "Do" and args:
                xo = xobjs.get(str(args[0])) if hasattr(xobjs, "get") else None
                if not isinstance(xo, pikepdf.Stream):
                    continue
                sub = xo.get("/Subtype")
                if sub == "/Image":
                    png = _image_png(xo)
                    if png is not None:
                        corners = [pt(u, v) for u, v in ((0, 0), (1, 0), (0, 1), (1, 1))]
                        xs, ys = [c[0] for c in corners], [c[1] for c in corners]
                        images.append(_Img(png, (min(xs), min(ys), max(xs), max(ys))))
                elif sub == "/Form":
                    matrix = xo.get("/Matrix")
                    fm: Matrix = tuple(float(v) for v in matrix) if isinstance(matrix, pikepdf.Array) and len(
                        matrix) == 6 else _ID  # type: ignore[assignment]
                    _graphics(xo, xo.get("/Resources", resources), _mul(fm, state["ctm"]), paths, images, depth + 1)
        except (IndexError, TypeError, ValueError, KeyError, pikepdf.PdfError):
            continue


def _annotation_graphics(page_obj, paths: list[_Path], images: list[_Img]) -> None:
    """Normal appearances of visible annotations (form fields: underlines, boxes) at their /Rect."""
    annots = page_obj.get("/Annots")
    for annot in annots if isinstance(annots, pikepdf.Array) else []:
        try:
            if not isinstance(annot, pikepdf.Dictionary) or int(annot.get("/F", 0)) & 2:
                continue
            ap = annot.get("/AP")
            normal = ap.get("/N") if isinstance(ap, pikepdf.Dictionary) else None
            if isinstance(normal, pikepdf.Dictionary) and not isinstance(normal, pikepdf.Stream):
                state = annot.get("/AS")
                normal = normal.get(str(state)) if state is not None else None
            if not isinstance(normal, pikepdf.Stream):
                continue
            rect = [float(v) for v in annot["/Rect"]]
            bbox = [float(v) for v in normal.get("/BBox", pikepdf.Array([0, 0, 1, 1]))]
            bw, bh = bbox[2] - bbox[0], bbox[3] - bbox[1]
            if bw == 0 or bh == 0:
                continue
            sx, sy = (rect[2] - rect[0]) / bw, (rect[3] - rect[1]) / bh
            m: Matrix = (sx, 0.0, 0.0, sy, rect[0] - bbox[0] * sx, rect[1] - bbox[1] * sy)
            _graphics(normal, normal.get("/Resources", pikepdf.Dictionary()), m, paths, images, 1)
        except (KeyError, TypeError, ValueError, IndexError, pikepdf.PdfError):
            continue


def _image_png(xo: pikepdf.Stream) -> Optional[bytes]:
    try:
        from pikepdf import PdfImage

        pil = PdfImage(xo).as_pil_image()
        if pil.width * pil.height > 40_000_000:
            return None
        out = io.BytesIO()
        pil.convert("RGBA" if pil.mode in ("RGBA", "LA", "P") else "RGB").save(out, "PNG")
        return out.getvalue()
    except Exception:
        return None


def pdf_to_ofd(pdf_bytes: bytes, *, embed_font: bool = True) -> bytes:
    """An OFD with the text, vector paths and images of every page of ``pdf_bytes``."""
    from sign.ofd.generate import Image, PageSpec, Path, generate_ofd
    from sign.pdf.text import page_glyphs

    try:
        pdf = pikepdf.open(io.BytesIO(pdf_bytes))
    except Exception as exc:
        raise OfdError(BAD_CONTENT, f"not a readable PDF: {type(exc).__name__}: {exc}") from None
    specs = []
    with pdf:
        for page in pdf.pages:
            try:
                llx, lly, urx, ury = (float(v) for v in page.mediabox)
            except Exception:
                llx, lly, urx, ury = 0.0, 0.0, 595.276, 841.89
            height = ury - lly

            def mm(x: float, y: float) -> tuple[float, float]:
                return ((x - llx) * MM, (height - (y - lly)) * MM)

            items: list = []
            paths: list[_Path] = []
            images: list[_Img] = []
            _graphics(page.obj, page.obj.get("/Resources", pikepdf.Dictionary()), _ID, paths, images, 0)
            _annotation_graphics(page.obj, paths, images)
            for p in paths:
                items.append(Path(tuple(tuple(mm(x, y) for x, y in s) for s in p.subpaths), p.closed,
                                  stroke=p.stroke, fill=p.fill, width=p.width * MM, stroke_color=p.stroke_rgb,
                                  fill_color=p.fill_rgb))
            for im in images:
                x0, y0 = mm(im.box[0], im.box[3])
                x1, y1 = mm(im.box[2], im.box[1])
                if x1 - x0 > 0.01 and y1 - y0 > 0.01:
                    items.append(Image(im.png, x0, y0, x1 - x0, y1 - y0))
            items += _runs(page_glyphs(page), mm)
            specs.append(PageSpec(items, width=(urx - llx) * MM, height=height * MM))
    if not specs:
        raise OfdError(BAD_CONTENT, "the PDF has no pages")
    return generate_ofd(specs, embed_font=embed_font)


def _runs(glyphs, mm) -> list:
    """Glyphs -> TextRun items: consecutive glyphs on one baseline with one size."""
    from sign.ofd.generate import TextRun

    runs: list = []
    cur: list[tuple[str, float, float, float]] = []   # char, x mm, baseline mm, size mm

    def flush() -> None:
        if cur:
            runs.append(TextRun("".join(c for c, *_ in cur), [x for _c, x, _y, _s in cur], cur[0][2], cur[0][3]))
            cur.clear()

    for g in glyphs:
        if not g.text or g.text.isspace():
            flush()
            continue
        x0, y0, x1, y1 = g.box
        size_pt = y1 - y0
        if size_pt <= 0:
            continue
        base_pt = y0 + 0.2 * size_pt
        x, base = mm(x0, base_pt)
        size = size_pt * MM
        if cur and (abs(cur[-1][2] - base) > 0.05 or abs(cur[-1][3] - size) > 0.05 or x < cur[-1][1]):
            flush()
        for ch in g.text:
            cur.append((ch, x, base, size))
    flush()
    return runs
