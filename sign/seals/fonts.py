"""Locate a CJK font for seal text (WenQuanYi Zen Hei or Noto CJK)."""
from __future__ import annotations

import functools
import os
from pathlib import Path

from PIL import ImageFont

from sign.seals.errors import FontNotFound

ENV_VAR = "SIGN_SEAL_FONT"
DEBIAN_PACKAGE = "fonts-wqy-zenhei"

# (path, TrueType collection index) in order of preference; index 0 of each collection is fine.
CANDIDATES: tuple[str, ...] = (
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",            # fonts-wqy-zenhei
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",          # fonts-wqy-microhei
    "/usr/share/fonts/opentype/noto/NotoSerifCJK-Bold.ttc",    # fonts-noto-cjk(-extra)
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc",
    "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",       # Fedora/Arch layouts
    "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
)


@functools.lru_cache(maxsize=4)
def find_cjk_font(preferred: str | None = None, candidates: tuple[str, ...] = CANDIDATES) -> str:
    """Path of an installed CJK font: ``preferred``, else ``$SIGN_SEAL_FONT``, else the first of
    :data:`CANDIDATES` (WenQuanYi Zen Hei, then Noto CJK). Raises :class:`FontNotFound` naming the
    Debian package to install."""
    for path in (preferred, os.environ.get(ENV_VAR), *candidates):
        if path and Path(path).is_file():
            return path
    raise FontNotFound(
        f"no CJK font found (looked at {', '.join(CANDIDATES[:2])}, Noto CJK); install the Debian "
        f"package {DEBIAN_PACKAGE} (apt-get install {DEBIAN_PACKAGE}) or fonts-noto-cjk, or set {ENV_VAR}")


@functools.lru_cache(maxsize=64)
def load_font(size: int, path: str | None = None) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(find_cjk_font(path), max(1, int(size)))


@functools.lru_cache(maxsize=4)
def _cmap(path: str) -> frozenset[int]:
    from fontTools.ttLib import TTCollection, TTFont

    if path.lower().endswith((".ttc", ".otc")):
        font = TTCollection(path, lazy=True).fonts[0]
    else:
        font = TTFont(path, lazy=True)
    return frozenset(font.getBestCmap() or {})


def missing_glyphs(text: str, path: str | None = None) -> list[str]:
    """Characters of ``text`` (spaces aside) the seal font cannot draw (they would print as boxes)."""
    cmap = _cmap(find_cjk_font(path))
    return [ch for ch in dict.fromkeys(text) if not ch.isspace() and ord(ch) not in cmap]
