"""Errors of the document engine: each carries a stable ``code`` and, for validation errors,
``details`` listing every problem (``[{"field": ..., "error": ...}]``).

``http_status`` is a hint for the API layer (422 for bad input, 404 for a missing blob ...).
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence


class DocumentError(Exception):
    code = "DOCUMENT_ERROR"
    http_status = 500

    def __init__(self, message: str, *, code: str | None = None,
                 details: Sequence[Mapping[str, Any]] = ()) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.details = [dict(d) for d in details]

    def to_dict(self) -> dict:
        out: dict = {"code": self.code, "message": self.message}
        if self.details:
            out["details"] = self.details
        return out

    def __str__(self) -> str:
        return f"[{self.code}] {self.message}"


class TemplateError(DocumentError):
    """A template definition (JSON) is invalid: ``details`` = [{"field": path, "error": ...}]."""
    code = "TEMPLATE_INVALID"
    http_status = 422


class FillError(DocumentError):
    """Fill parameters are missing/invalid or do not fit (``FILL_PARAMS_INVALID``)."""
    code = "FILL_PARAMS_INVALID"
    http_status = 422


class PdfInputError(DocumentError):
    """An input is not a readable PDF (``PDF_INVALID``) or has no such page (``PAGE_OUT_OF_RANGE``)."""
    code = "PDF_INVALID"
    http_status = 422


class FontError(DocumentError):
    """The CJK font cannot be loaded (``FONT_UNAVAILABLE``)."""
    code = "FONT_UNAVAILABLE"


class BuildError(DocumentError):
    """A form description cannot be laid out (``BUILD_INVALID``)."""
    code = "BUILD_INVALID"
    http_status = 422


class StorageError(DocumentError):
    """Storage failures: ``BLOB_NOT_FOUND``, ``BLOB_INTEGRITY``, ``STORAGE_BACKEND``,
    ``BLOB_REF_INVALID``, ``BLOB_DECRYPT_FAILED``."""
    code = "STORAGE_BACKEND"
    http_status = 502


class CompareError(DocumentError):
    code = "COMPARE_FAILED"
    http_status = 422
