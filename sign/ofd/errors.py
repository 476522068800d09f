"""Errors of the OFD package: one exception type with a stable ``code``."""
from __future__ import annotations

# reading a package (sign.ofd.package)
NOT_ZIP = "not_zip"                    # not a ZIP archive (or truncated)
ZIP_TOO_LARGE = "zip_too_large"        # archive or an entry beyond the size limits
TOO_MANY_FILES = "too_many_files"      # more entries than allowed
ZIP_BOMB = "zip_bomb"                  # suspicious compression ratio
UNSAFE_PATH = "unsafe_path"            # absolute path, '..', backslash or NUL in an entry name
DUPLICATE_ENTRY = "duplicate_entry"    # two entries with the same name
ENCRYPTED_ENTRY = "encrypted_entry"    # password-protected entry
MISSING_PART = "missing_part"          # OFD.xml, Document.xml, a page ... is absent
BAD_XML = "bad_xml"                    # not well-formed XML / forbidden DTD
BAD_STRUCTURE = "bad_structure"        # well-formed but not the OFD structure expected
# signing (sign.ofd.sign)
PAGE_OUT_OF_RANGE = "page_out_of_range"
KEYWORD_NOT_FOUND = "keyword_not_found"
BAD_PLACEMENT = "bad_placement"
SIGNER_ERROR = "signer_error"
BAD_SEAL = "bad_seal"
# generating / rendering
BAD_CONTENT = "bad_content"
BAD_IMAGE = "bad_image"
FONT_ERROR = "font_error"


class OfdError(Exception):
    """``OfdError(code, message)``; ``str()`` is ``[code] message`` like the PDF errors."""

    def __init__(self, code: str, message: str = "") -> None:
        super().__init__(f"[{code}] {message}" if message else f"[{code}]")
        self.code = code
        self.message = message or code
