"""OFD (GB/T 33190) documents: read, generate, seal-sign (GB/T 38540), verify, render, convert.

Pure library (no web, no ORM). Modules:

* :mod:`sign.ofd.package` — ``read_ofd(bytes) -> OfdPackage`` (safe ZIP reading, structure)
* :mod:`sign.ofd.generate` — ``generate_ofd([PageSpec([Text, Image, Line])]) -> bytes``
* :mod:`sign.ofd.from_pdf` — ``pdf_to_ofd(pdf)``: the PDFs of our templates (``documents``) as OFD
* :mod:`sign.ofd.sign` — ``sign_ofd(data, signer, seal_der, StampPlacement(...)) -> SignedOfd``
* :mod:`sign.ofd.verify` — ``verify_ofd(data, trust=...) -> OfdVerifyReport`` (never raises)
* :mod:`sign.ofd.render` — ``render_page(data, page) -> PNG``; :mod:`sign.ofd.to_pdf` — ``ofd_to_pdf``
* :mod:`sign.ofd.content` — page content interpretation, ``find_keyword``
* :mod:`sign.ofd.cli` — the ``.ofd`` side of ``python -m sign sign|verify``

Errors: :class:`sign.ofd.errors.OfdError` with a stable lower-case ``code``; verification
problems carry upper-case codes (``REF_CHANGED``, ``FILE_ADDED``, ``SES_SIGNATURE_INVALID``...).
SESeal / SES_Signature structures come from :mod:`sign.seals.gbt38540`.
"""
from sign.ofd.content import KeywordHit, find_keyword, page_text
from sign.ofd.errors import OfdError
from sign.ofd.from_pdf import pdf_to_ofd
from sign.ofd.generate import Image, Line, PageSpec, Path, Text, TextRun, generate_ofd
from sign.ofd.package import Limits, OfdPackage, read_ofd
from sign.ofd.render import render_page, render_pages
from sign.ofd.sign import SignedOfd, StampPlacement, sign_ofd
from sign.ofd.to_pdf import ofd_to_pdf
from sign.ofd.verify import OfdVerifyReport, SignatureReport, verify_ofd

__all__ = [
    "Image", "KeywordHit", "Limits", "Line", "OfdError", "OfdPackage", "OfdVerifyReport", "PageSpec", "Path",
    "SignatureReport", "SignedOfd", "StampPlacement", "Text", "TextRun", "find_keyword", "generate_ofd",
    "ofd_to_pdf", "page_text", "pdf_to_ofd", "read_ofd", "render_page", "render_pages", "sign_ofd", "verify_ofd",
]
