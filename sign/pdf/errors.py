"""Errors raised by the PDF signing pipeline.

Every error carries a stable machine-readable ``code`` (used by the CLI, the API layer and logs);
the message is for humans and may change.
"""
from __future__ import annotations


class PdfSignError(Exception):
    """Base class of every error of :mod:`sign.pdf`."""

    code: str = "pdf_sign_error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code

    def __str__(self) -> str:  # "[code] message"
        return f"[{self.code}] {self.args[0] if self.args else ''}"


class NotAPdfError(PdfSignError):
    code = "not_pdf"


class CorruptPdfError(PdfSignError):
    """The file starts like a PDF but its structure cannot be read (truncated, broken xref ...)."""

    code = "corrupt_pdf"


class EncryptedPdfError(PdfSignError):
    code = "encrypted_pdf"


class PageOutOfRangeError(PdfSignError):
    code = "page_out_of_range"


class KeywordNotFoundError(PdfSignError):
    code = "keyword_not_found"


class FieldExistsError(PdfSignError):
    code = "field_exists"


class DocMDPError(PdfSignError):
    """Certification requested on an already signed document, or the document forbids changes."""

    code = "docmdp_violation"


class BadImageError(PdfSignError):
    code = "bad_image"


class SignatureTooLargeError(PdfSignError):
    """The CMS blob does not fit in the space reserved for /Contents."""

    code = "signature_too_large"


class OutputError(PdfSignError):
    """The output cannot be written (missing directory, permissions, disk full)."""

    code = "output_unwritable"


class BadSpecError(PdfSignError):
    code = "bad_spec"


class SignerError(PdfSignError):
    """Key/certificate could not be loaded or the key does not match the certificate."""

    code = "signer_error"


class TimestampError(PdfSignError):
    code = "timestamp_error"


class PreparedSignatureError(PdfSignError):
    """A prepared (paused) signature cannot be finished: file changed, digest mismatch ..."""

    code = "prepared_signature_invalid"
