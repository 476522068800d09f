"""Frozen value objects describing *what* to sign and *how it looks*.

They carry no behaviour beyond validation, so they can be built from a request, a CLI or a
config file, hashed, cached, and passed between processes (they pickle).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Optional, Protocol, Tuple, runtime_checkable

from sign.pdf.errors import BadSpecError

Occurrence = Literal["first", "last", "all"]
Algorithm = Literal["rsa", "sm2"]


@runtime_checkable
class TimestamperLike(Protocol):
    """Anything with ``timestamp(digest, hash_alg)`` returning an RFC 3161 token.

    The token may be DER bytes of the TimeStampToken (a CMS ContentInfo) or an asn1crypto
    ``cms.ContentInfo`` (``sign.timestamps.TimeStamper`` / ``InProcessTimeStamper``).
    """

    def timestamp(self, digest: bytes, hash_alg: str): ...  # pragma: no cover


@dataclass(frozen=True)
class AppearanceSpec:
    """Where and how the signature is shown.

    * ``image=None``: invisible signature (widget with an empty /Rect).
    * ``image`` without rect/keyword: only to fill an existing empty signature field
      (``SignatureSpec.field_name``), the image is sized to that field's widget.
    * fixed placement: ``page`` (1-based) + ``rect`` = (x, y, w, h) in PDF points from the
      bottom-left corner of the page *as displayed* (CropBox, after /Rotate); the image is
      drawn upright on rotated pages.
    * keyword placement: ``keyword`` (Chinese fine) + ``occurrence`` first/last/all; the image of
      ``size`` (w, h) is *centred* on the keyword's box, then moved by ``offset`` (dx, dy).
      ``page`` restricts the search to one page; ``None`` searches the whole document.
    """

    image: Optional[bytes] = None
    page: Optional[int] = 1
    rect: Optional[Tuple[float, float, float, float]] = None
    keyword: Optional[str] = None
    occurrence: Occurrence = "first"
    offset: Tuple[float, float] = (0.0, 0.0)
    size: Tuple[float, float] = (120.0, 120.0)

    def __post_init__(self) -> None:
        if self.image is not None and not isinstance(self.image, (bytes, bytearray)):
            raise BadSpecError("AppearanceSpec.image must be PNG bytes or None")
        if self.rect is not None and self.keyword is not None:
            raise BadSpecError("rect and keyword are exclusive")
        if self.rect is not None:
            if len(self.rect) != 4 or self.rect[2] <= 0 or self.rect[3] <= 0:
                raise BadSpecError(f"rect must be (x, y, w, h) with w, h > 0, got {self.rect!r}")
        if self.keyword is not None and not self.keyword.strip():
            raise BadSpecError("keyword must not be empty")
        if self.occurrence not in ("first", "last", "all"):
            raise BadSpecError(f"occurrence must be first, last or all, got {self.occurrence!r}")
        if self.page is not None and self.page < 1:
            raise BadSpecError(f"page counts from 1, got {self.page}")
        if self.rect is not None and self.page is None:
            raise BadSpecError("a rect placement needs a page")
        if len(self.size) != 2 or self.size[0] <= 0 or self.size[1] <= 0:
            raise BadSpecError(f"size must be (w, h) > 0, got {self.size!r}")

    @property
    def visible(self) -> bool:
        return self.image is not None


INVISIBLE = AppearanceSpec()


@dataclass(frozen=True)
class SignatureSpec:
    """One signature to apply.

    ``alg`` is optional: when set it must match the signer's algorithm (a guard against
    using the wrong key); ``None`` takes the signer's.
    ``certify``: DocMDP level for a certification signature (1 no changes, 2 form filling
    and signing, 3 also annotations), only on a document with no signature yet.
    ``contents_size``: bytes reserved for the CMS blob; ``None`` estimates from the chain and
    the timestamper.
    """

    field_name: Optional[str] = None
    reason: Optional[str] = None
    location: Optional[str] = None
    contact: Optional[str] = None
    name: Optional[str] = None
    alg: Optional[Algorithm] = None
    timestamper: Optional[TimestamperLike] = field(default=None, compare=False, hash=False)
    certify: Optional[int] = None
    appearance: AppearanceSpec = INVISIBLE
    contents_size: Optional[int] = None

    def __post_init__(self) -> None:
        if self.alg not in (None, "rsa", "sm2"):
            raise BadSpecError(f"alg must be rsa or sm2, got {self.alg!r}")
        if self.certify not in (None, 1, 2, 3):
            raise BadSpecError(f"certify must be None, 1, 2 or 3, got {self.certify!r}")
        if self.field_name is not None:
            if not self.field_name or "." in self.field_name:
                raise BadSpecError(f"bad field name {self.field_name!r} (non-empty, no dots)")
        if self.contents_size is not None and self.contents_size < 256:
            raise BadSpecError("contents_size too small")
        if self.appearance is None:
            object.__setattr__(self, "appearance", INVISIBLE)
