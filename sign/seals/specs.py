"""What a generated seal looks like: :class:`SealSpec` (frozen) and its kinds."""
from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

from sign.seals.errors import SealSpecInvalid

SEAL_RED = "#E60012"
INK_BLACK = "#111111"
INK_BLUE = "#1A3C9C"
_HEX = re.compile(r"^#[0-9A-Fa-f]{6}$")
_CODE = re.compile(r"^[0-9]{13}$")


class SealKind(str, Enum):
    OFFICIAL = "official"        # 公章: round, star, name on the upper arc
    CONTRACT = "contract"        # 合同专用章: round + horizontal 合同专用章
    FINANCE = "finance"          # 财务专用章: round + horizontal 财务专用章
    OVAL = "oval"                # oval variant (e.g. 发票专用章 style), name on the upper arc
    LEGAL_REP = "legal_rep"      # 法人章: square, name in a 2x2 / 3-char grid
    PERSONAL = "personal"        # handwriting-like signature

    @property
    def shape(self) -> str:
        return {SealKind.LEGAL_REP: "square", SealKind.OVAL: "oval", SealKind.PERSONAL: "free"}.get(self, "round")


DEFAULT_SUB_TEXT = {SealKind.CONTRACT: "合同专用章", SealKind.FINANCE: "财务专用章"}
DEFAULT_SIZE_MM = {SealKind.LEGAL_REP: 20.0, SealKind.OVAL: 45.0, SealKind.PERSONAL: 40.0}


@dataclass(frozen=True)
class SealSpec:
    """A seal to draw.

    ``text``: company name (round/oval seals), person name (legal-rep, personal). ``sub_text``:
    horizontal text under the star (合同专用章...; defaults by kind). ``code``: 13-digit
    anti-counterfeit code (防伪码) along the lower arc. ``size_mm``: diameter / side / oval width
    (42 mm for round seals). ``color``: ``#RRGGBB``.
    """

    kind: SealKind
    text: str
    sub_text: str | None = None
    code: str | None = None
    size_mm: float = 42.0
    color: str = SEAL_RED

    def __post_init__(self) -> None:
        kind = SealKind(self.kind)
        object.__setattr__(self, "kind", kind)
        text = (self.text or "").strip()
        if not text:
            raise SealSpecInvalid("seal text is empty", code="SEAL_TEXT_EMPTY")
        object.__setattr__(self, "text", text)
        if self.sub_text is None and kind in DEFAULT_SUB_TEXT:
            object.__setattr__(self, "sub_text", DEFAULT_SUB_TEXT[kind])
        if self.sub_text is not None:
            object.__setattr__(self, "sub_text", self.sub_text.strip() or None)
        if self.code is not None and not _CODE.match(self.code):
            raise SealSpecInvalid("anti-counterfeit code must be 13 digits", code="SEAL_CODE_INVALID")
        if self.code is not None and kind.shape not in ("round", "oval"):
            raise SealSpecInvalid("only round/oval seals carry an anti-counterfeit code", code="SEAL_CODE_INVALID")
        if not _HEX.match(self.color or ""):
            raise SealSpecInvalid(f"color must be #RRGGBB, got {self.color!r}", code="SEAL_COLOR_INVALID")
        if not 10.0 <= float(self.size_mm) <= 80.0:
            raise SealSpecInvalid("size_mm must be within 10..80", code="SEAL_SIZE_INVALID")

    @property
    def rgb(self) -> tuple[int, int, int]:
        return tuple(int(self.color[i:i + 2], 16) for i in (1, 3, 5))  # type: ignore[return-value]

    @property
    def shape(self) -> str:
        return self.kind.shape

    # ---- shortcuts
    @classmethod
    def official(cls, company: str, *, sub_text: str | None = None, code: str | None = None,
                 size_mm: float = 42.0) -> "SealSpec":
        return cls(SealKind.OFFICIAL, company, sub_text, code, size_mm)

    @classmethod
    def contract(cls, company: str, *, code: str | None = None, size_mm: float = 42.0) -> "SealSpec":
        return cls(SealKind.CONTRACT, company, None, code, size_mm)

    @classmethod
    def finance(cls, company: str, *, code: str | None = None, size_mm: float = 42.0) -> "SealSpec":
        return cls(SealKind.FINANCE, company, None, code, size_mm)

    @classmethod
    def oval(cls, company: str, *, sub_text: str | None = None, code: str | None = None,
             size_mm: float = 45.0) -> "SealSpec":
        return cls(SealKind.OVAL, company, sub_text, code, size_mm)

    @classmethod
    def legal_rep(cls, name: str, *, size_mm: float = 20.0) -> "SealSpec":
        return cls(SealKind.LEGAL_REP, name, None, None, size_mm)

    @classmethod
    def personal(cls, name: str, *, color: str = INK_BLACK) -> "SealSpec":
        return cls(SealKind.PERSONAL, name, None, None, DEFAULT_SIZE_MM[SealKind.PERSONAL], color)
