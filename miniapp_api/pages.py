"""Document pages as images for the mobile viewer [移动端预览]: the signer reads the document
page by page on a phone before confirming intent. Rendered with PyMuPDF (MuPDF), sized for a
phone screen, cached per document hash."""
from __future__ import annotations

import functools

from backend.errors import ValidationFailed

PHONE_WIDTH_PX = 1080
MAX_PAGES = 500


class DocumentUnreadable(ValidationFailed):
    code, message = "DOCUMENT_UNREADABLE", "the document cannot be rendered"


class PageOutOfRange(ValidationFailed):
    code, message = "PAGE_OUT_OF_RANGE", "no such page"


def page_count(pdf: bytes) -> int:
    return _open(pdf).page_count


def render_page(pdf: bytes, page: int, width_px: int = PHONE_WIDTH_PX) -> bytes:
    """Page ``page`` (1-based) as a PNG ``width_px`` wide."""
    return _render(pdf, page, width_px)


@functools.lru_cache(maxsize=256)
def _render(pdf: bytes, page: int, width_px: int) -> bytes:
    document = _open(pdf)
    if not (1 <= page <= min(document.page_count, MAX_PAGES)):
        raise PageOutOfRange(f"page {page} of {document.page_count}")
    target = document[page - 1]
    zoom = width_px / max(1.0, target.rect.width)
    import pymupdf

    return target.get_pixmap(matrix=pymupdf.Matrix(zoom, zoom), alpha=False).tobytes("png")


def _open(pdf: bytes):
    import pymupdf

    try:
        return pymupdf.open(stream=pdf, filetype="pdf")
    except (RuntimeError, ValueError) as exc:
        raise DocumentUnreadable(str(exc)) from None
