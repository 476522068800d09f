"""Stable error codes of the signing flows."""
from __future__ import annotations

from backend.errors import AppError, Conflict, NotFound, ValidationFailed


class EnvelopeNotFound(NotFound):
    code, message = "ENVELOPE_NOT_FOUND", "no such envelope"


class SignerNotFound(NotFound):
    code, message = "SIGNER_NOT_FOUND", "no such signer in this envelope"


class EnvelopeStateInvalid(Conflict):
    code = "ENVELOPE_STATE_INVALID"


class EnvelopeExpired(AppError):
    code, status, message = "ENVELOPE_EXPIRED", 410, "the signing deadline has passed"


class SignerNotReady(Conflict):
    code, message = "SIGNER_NOT_READY", "it is not this signer's turn yet"


class SignerAlreadyDone(Conflict):
    code, message = "SIGNER_ALREADY_SIGNED", "this signer has already signed"


class SignerKindInvalid(Conflict):
    code = "SIGNER_KIND_INVALID"


class IdentityCheckRequired(Conflict):
    code, message = "IDENTITY_CHECK_REQUIRED", "the signer's identity check is not done"


class ClausesNotAcknowledged(Conflict):
    code, message = "CLAUSES_NOT_ACKNOWLEDGED", "every exemption clause must be acknowledged"


class MaterialsMissing(Conflict):
    code, message = "MATERIALS_MISSING", "required materials are missing"


class EnvelopeSpecInvalid(ValidationFailed):
    code = "ENVELOPE_SPEC_INVALID"
