"""Errors raised by PDF signature verification (stable codes, no tracebacks for callers)."""
from __future__ import annotations


class PdfVerifyError(Exception):
    """The input cannot be verified at all (not a PDF, truncated beyond repair, unreadable).

    ``code`` is stable and meant for programs: NOT_A_PDF, EMPTY_INPUT, UNREADABLE_FILE,
    PDF_PARSE_ERROR, TRUNCATED, ENCRYPTED, INPUT_TYPE, VERIFY_ERROR.
    Per-signature problems use the same VERIFY_ERROR code in ``SignatureReport.problems``.
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


NOT_A_PDF = "NOT_A_PDF"
EMPTY_INPUT = "EMPTY_INPUT"
UNREADABLE_FILE = "UNREADABLE_FILE"
PDF_PARSE_ERROR = "PDF_PARSE_ERROR"
TRUNCATED = "TRUNCATED"
VERIFY_ERROR = "VERIFY_ERROR"
ENCRYPTED = "ENCRYPTED"
INPUT_TYPE = "INPUT_TYPE"
