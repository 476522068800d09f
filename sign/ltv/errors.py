"""Errors of :mod:`sign.ltv`: one exception type with a stable lower-case ``code``."""
from __future__ import annotations

NOT_SIGNED = "not_signed"                # nothing to protect: the document has no signature
UNSUPPORTED_INPUT = "unsupported_input"  # neither a PDF nor an OFD
TIMESTAMP_ERROR = "timestamp_error"      # the TSA refused / answered badly
BAD_MATERIAL = "bad_material"            # an unreadable certificate / CRL given as validation data
ARCHIVE_ERROR = "archive_error"          # an OFD archive part that cannot be read or written
OUTPUT_ERROR = "output_error"            # the output cannot be written
PROGRESS_ERROR = "progress_error"        # the archive job's progress file is unreadable
TSA_EXPIRES_SOON = "tsa_expires_soon"    # a renewal would itself be due: the TSA certificate is too short-lived

CODES = frozenset({NOT_SIGNED, UNSUPPORTED_INPUT, TIMESTAMP_ERROR, BAD_MATERIAL, ARCHIVE_ERROR,
                   OUTPUT_ERROR, PROGRESS_ERROR, TSA_EXPIRES_SOON})


class LtvError(Exception):
    """A long-term-validation operation failed; ``code`` is one of :data:`CODES`."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"[{code}] {message}")
        self.code = code
        self.message = message
