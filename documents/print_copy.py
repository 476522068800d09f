"""Anti-counterfeit print copy (防伪打印): every page stamped with a QR code that opens the
public verification page ``{base_url}/v/{short_code}``, plus the short code in text.

* ``short_code(document_sha256, key)``: 10 characters of base32 (A–Z, 2–7) of
  HMAC-SHA256(key, sha256 of the archived document) — not guessable without the key, stable
  for a document, 50 bits (collisions are checked by the verification store);
* the QR code is drawn as **vector** rectangles (one per horizontal run of dark modules, on a
  white quiet zone) inside a marked-content sequence ``/DocQR <</Code (...)>> BDC ... EMC``,
  so it prints sharply at any resolution and ``read_qr_matrix`` can read it back;
* signature appearances are flattened (they print in colour) and the signature machinery is
  removed: the print copy is a new, unsigned file; the archived original is untouched.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

import pikepdf

from .draw import Canvas, fmt
from .errors import DocumentError
from .fonts import CJKFont, default_font
from .pdfutil import draw_canvases, flatten_annotations, open_pdf, save_pdf, visual_canvas

QR_TAG = "DocQR"


@dataclass(frozen=True)
class PrintCopy:
    pdf: bytes
    short_code: str
    url: str
    source_sha256: str


def short_code(document_sha256: str, key: bytes, length: int = 10) -> str:
    mac = hmac.new(key, bytes.fromhex(document_sha256), hashlib.sha256).digest()
    return base64.b32encode(mac).decode()[:length]


def verification_url(base_url: str, code: str) -> str:
    return f"{base_url.rstrip('/')}/v/{code}"


def qr_matrix(url: str) -> List[List[bool]]:
    import segno
    qr = segno.make(url, error="m", micro=False)
    return [[bool(v) for v in row] for row in qr.matrix]


def _qr_ops(matrix: List[List[bool]], x: float, y: float, size: float, code: str) -> bytes:
    n = len(matrix)
    quiet = 4
    m = size / (n + 2 * quiet)
    ops = [b"/%s <</Code (%s) /Modules %d>> BDC q" % (QR_TAG.encode(), code.encode(), n),
           b"1 g %s %s %s %s re f" % (fmt(x), fmt(y), fmt(size), fmt(size)), b"0 g"]
    ox, oy = x + quiet * m, y + quiet * m
    for r, row in enumerate(matrix):
        c = 0
        while c < n:
            if row[c]:
                start = c
                while c < n and row[c]:
                    c += 1
                # row 0 is the top row
                ops.append(b"%s %s %s %s re" % (fmt(ox + start * m), fmt(oy + (n - 1 - r) * m),
                                                 fmt((c - start) * m), fmt(m)))
            else:
                c += 1
    ops.append(b"f Q EMC")
    return b"\n".join(ops)


def make_print_copy(pdf_bytes: bytes, *, base_url: str, key: bytes, code: Optional[str] = None,
                    qr_size: float = 64.0, font: Optional[CJKFont] = None,
                    label: str = "防伪验真") -> PrintCopy:
    """Stamp every page of ``pdf_bytes`` (the archived, signed document) with the QR code."""
    if not base_url.startswith(("https://", "http://")):
        raise DocumentError("base_url must be an http(s) URL", code="PRINT_BASE_URL_INVALID")
    font = font or default_font()
    sha = hashlib.sha256(pdf_bytes).hexdigest()
    code = code or short_code(sha, key)
    url = verification_url(base_url, code)
    matrix = qr_matrix(url)
    pdf = open_pdf(pdf_bytes)
    try:
        flatten_annotations(pdf)
        canvases: Dict[int, Canvas] = {}
        for pno, page in enumerate(pdf.pages, 1):
            cv, w, h = visual_canvas(page)
            canvases[pno] = cv
            qx, qy = _place(page, w, h, qr_size)
            cv.raw(_qr_ops(matrix, qx, qy, qr_size, code))
            cv.text_in(font, (qx - 30, qy - 11, qr_size + 30, 10), f"{label} {code}", 7, "right")
            cv.text_in(font, (0, 1, w - 4, 8),
                       f"扫码或访问 {url} 核验本件真伪  打印件第 {pno}/{len(pdf.pages)} 页",
                       5.5, "right", (0.3, 0.3, 0.3))
        draw_canvases(pdf, font, canvases)
        pdf.docinfo["/Subject"] = pikepdf.String(f"print copy {code}")
        return PrintCopy(save_pdf(pdf), code, url, sha)
    finally:
        pdf.close()


def _place(page: pikepdf.Page, w: float, h: float, size: float) -> Tuple[float, float]:
    """QR position (visual coordinates): the first page corner whose footprint (QR + caption)
    has no text — bottom-right, top-right, bottom-left, top-left — else bottom-right."""
    from sign.pdf.geometry import PageGeometry
    from sign.pdf.text import page_glyphs
    margin = 10.0
    corners = [(w - margin - size, margin + 12), (w - margin - size, h - margin - size),
               (margin + 30, margin + 12), (margin + 30, h - margin - size)]
    try:
        boxes = [g.box for g in page_glyphs(page) if g.text.strip()]
    except (pikepdf.PdfError, ValueError, KeyError, TypeError):
        return corners[0]
    geo = PageGeometry.of(page.obj)
    for qx, qy in corners:
        fx0, fy0, fx1, fy1 = geo.visual_rect_to_user(qx - 30, qy - 12, size + 30, size + 12)
        if not any(b[0] < fx1 and b[2] > fx0 and b[1] < fy1 and b[3] > fy0 for b in boxes):
            return qx, qy
    return corners[0]


def read_qr_matrix(pdf_bytes: bytes, page: int = 1) -> Tuple[str, List[List[bool]]]:
    """Read back (code, module matrix) of the vector QR drawn on ``page`` (verification helper
    and test fallback when no image QR decoder is installed)."""
    pdf = open_pdf(pdf_bytes)
    try:
        data = b"\n".join(s.read_bytes() for s in _contents(pdf.pages[page - 1].obj))
    finally:
        pdf.close()
    m = re.search(rb"/DocQR <</Code \(([A-Z2-7]+)\) /Modules (\d+)>> BDC q\n1 g (\S+) (\S+) (\S+) \S+ re f\n0 g\n(.*?)\nf Q EMC",
                  data, re.S)
    if not m:
        raise DocumentError("no QR code on the page", code="QR_NOT_FOUND")
    code, n = m.group(1).decode(), int(m.group(2))
    x, y, size = float(m.group(3)), float(m.group(4)), float(m.group(5))
    mod = size / (n + 8)
    grid = [[False] * n for _ in range(n)]
    for rx, ry, rw, _ in re.findall(rb"(\S+) (\S+) (\S+) (\S+) re", m.group(6)):
        c0 = round((float(rx) - x) / mod) - 4
        r = n - 1 - (round((float(ry) - y) / mod) - 4)
        for c in range(c0, c0 + round(float(rw) / mod)):
            grid[r][c] = True
    return code, grid


def _contents(page: pikepdf.Dictionary):
    c = page.get("/Contents")
    return list(c) if isinstance(c, pikepdf.Array) else [c] if c is not None else []
