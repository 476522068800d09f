"""PDF signing: incremental updates with CMS signatures (RSA PAdES / SM2 GM/T 0010).

Public API::

    from sign.pdf import sign_pdf, sign_pdf_dual, prepare, sign_prepared, finish, abort
    from sign.signers import SoftwareSigner
    from sign.specs import SignatureSpec, AppearanceSpec
"""
from sign.pdf.errors import PdfSignError
from sign.pdf.pipeline import (PreparedSignature, SignResult, abort, finish, prepare, sign_pdf,
                               sign_pdf_dual, sign_prepared)

__all__ = ["PdfSignError", "abort", "PreparedSignature", "SignResult", "finish", "prepare", "sign_pdf",
           "sign_pdf_dual", "sign_prepared"]
