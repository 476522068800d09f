"""The CJK font used to generate, render and convert OFDs (WenQuanYi Zen Hei / Noto CJK).

Located with :func:`sign.seals.fonts.find_cjk_font`; metrics and subsets by fontTools
(collection index 0 of a ``.ttc``).
"""
from __future__ import annotations

import functools
import io
import logging
from typing import Iterable, Optional

from sign.ofd.errors import FONT_ERROR, OfdError


class CJKFont:
    """Metrics (em fractions) and TrueType subsets of one font."""

    def __init__(self, path: str) -> None:
        from fontTools.ttLib import TTFont

        self.path = path
        try:
            self._tt = TTFont(path, fontNumber=0, lazy=True)
            self.cmap: dict[int, str] = self._tt.getBestCmap() or {}
            self.upem = self._tt["head"].unitsPerEm
            self._hmtx = self._tt["hmtx"]
            self.ascent = self._tt["hhea"].ascent / self.upem
            self.descent = -self._tt["hhea"].descent / self.upem
            names = self._tt["name"]
            self.family = str(names.getDebugName(1) or "CJK")
            self.glyph_order = self._tt.getGlyphOrder()
        except Exception as exc:
            raise OfdError(FONT_ERROR, f"cannot read font {path}: {exc}") from None
        self._gid = {name: i for i, name in enumerate(self.glyph_order)}

    def advance(self, ch: str) -> float:
        """Advance width of ``ch`` in em (0.5 for characters the font lacks)."""
        name = self.cmap.get(ord(ch))
        if name is None:
            return 0.5
        return self._hmtx[name][0] / self.upem

    def gid(self, ch: str) -> int:
        name = self.cmap.get(ord(ch))
        return self._gid.get(name, 0) if name else 0

    def width(self, text: str) -> float:
        return sum(self.advance(c) for c in text)

    def subset(self, chars: Iterable[str], *, retain_gids: bool = False) -> bytes:
        """A TrueType subset holding ``chars`` (``retain_gids`` keeps glyph IDs unchanged)."""
        from fontTools import subset
        from fontTools.ttLib import TTFont

        opts = subset.Options()
        opts.retain_gids = retain_gids
        opts.name_IDs = ["*"]
        opts.notdef_outline = True
        opts.layout_features = []
        opts.hinting = False
        opts.drop_tables += ["EBDT", "EBLC", "EBSC", "BDF ", "FFTM", "PCLT"]
        logging.getLogger("fontTools.subset").setLevel(logging.ERROR)
        try:
            font = TTFont(self.path, fontNumber=0)
            sub = subset.Subsetter(opts)
            sub.populate(unicodes=sorted({ord(c) for c in chars if not c.isspace()} | {0x20}))
            sub.subset(font)
            out = io.BytesIO()
            font.save(out)
        except Exception as exc:
            raise OfdError(FONT_ERROR, f"cannot subset font {self.path}: {exc}") from None
        return out.getvalue()


@functools.lru_cache(maxsize=4)
def cjk_font(path: Optional[str] = None) -> CJKFont:
    from sign.seals.errors import FontNotFound
    from sign.seals.fonts import find_cjk_font

    try:
        return CJKFont(find_cjk_font(path))
    except FontNotFound as exc:
        raise OfdError(FONT_ERROR, str(exc)) from None
