"""Verify signed PDFs: integrity, cryptography (RSA/ECDSA/SM2), trust, and changes after signing.

    >>> from sign.verify import verify
    >>> report = verify("signed.pdf", trust=[root_cert_pem])
    >>> report.valid, [s.disallowed_changes for s in report.signatures]

``PdfVerifyError`` (with a stable ``code``) is raised only when the input cannot be read as a
PDF at all; every problem with a signature is reported in its ``SignatureReport``.
"""
from __future__ import annotations

import datetime as _dt
import os
from typing import Any, Iterable, Union

from .verification.engine import parse_pdf_date
from .verification.engine import verify as _verify
from .verification.errors import PdfVerifyError
from .verification.report import (Change, Problem, Severity, SignatureReport, SignerInfo,
                                  TimestampInfo, TrustResult, VerificationReport)
from .verification.trust import load_certificates

PdfSource = Union[bytes, bytearray, memoryview, str, "os.PathLike[str]"]

__all__ = ["verify", "VerificationReport", "SignatureReport", "SignerInfo", "TimestampInfo",
           "TrustResult", "Change", "Problem", "Severity", "PdfVerifyError", "load_certificates",
           "parse_pdf_date"]


def verify(pdf_bytes_or_path: PdfSource, trust: Iterable[Any] | Any | None = None,
           at: _dt.datetime | None = None, *, crls: Iterable[Any] = ()) -> VerificationReport:
    """Verify every signature of a PDF.

    ``trust``: trust anchors -- a list of certificates (asn1crypto, cryptography, PEM/DER bytes,
    PEM file paths), a ``sign.certs`` TrustStore, or None (no trust decision: ``trust.checked``
    is False). ``at``: the time certificates must be valid at; by default the timestamp time
    when a valid timestamp exists, else the claimed signing time. ``crls``: extra CRLs
    (asn1crypto ``CertificateList``) besides those embedded in the signature and the DSS;
    revocation is checked through ``sign.certs.validate`` when a trust store is given.
    """
    return _verify(pdf_bytes_or_path, trust, at, tuple(crls))
