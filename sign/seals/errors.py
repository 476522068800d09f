"""Errors of :mod:`sign.seals`, each with a stable ``code`` (callers map codes to HTTP answers)."""
from __future__ import annotations


class SealError(Exception):
    """Base class: ``code`` is a stable upper-case identifier, ``str(exc)`` a human message."""

    code = "SEAL_ERROR"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.code}: {self})"


class FontNotFound(SealError):
    """No CJK font installed (install ``fonts-wqy-zenhei`` or ``fonts-noto-cjk``)."""

    code = "SEAL_FONT_NOT_FOUND"


class SealSpecInvalid(SealError):
    """A :class:`~sign.seals.specs.SealSpec` field is out of range (empty name, bad colour...)."""

    code = "SEAL_SPEC_INVALID"


class SealTextTooLong(SealError):
    """The text does not fit the seal at the smallest allowed font size."""

    code = "SEAL_TEXT_TOO_LONG"


class SealImageInvalid(SealError):
    """Uploaded bytes are not a decodable raster image."""

    code = "SEAL_IMAGE_INVALID"


class SealImageTooLarge(SealError):
    """Uploaded image exceeds the pixel limit (or is a decompression bomb)."""

    code = "SEAL_IMAGE_TOO_LARGE"


class SealImageBlank(SealError):
    """Uploaded image holds no seal ink (nothing red / nothing dark)."""

    code = "SEAL_IMAGE_BLANK"


class SealFormatError(SealError):
    """Bytes are not a GM/T 0031 / GB/T 38540 SESeal or SES_Signature structure."""

    code = "SEAL_FORMAT_INVALID"


class SealUnsupported(SealError):
    """A well-formed structure uses something this library cannot process (algorithm, picture type)."""

    code = "SEAL_UNSUPPORTED"
