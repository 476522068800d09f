"""A tiny content-stream canvas shared by ``build`` and ``fill``.

Text is recorded first and encoded at ``render`` time, once the document's font subset (all
glyphs of all pages) is known. Text is real text (Tj with Identity-H codes of an embedded
subset), so ``pdftotext`` and our keyword search find it.
"""
from __future__ import annotations

from typing import List, Optional, Sequence, Tuple, Union

from .fonts import CJKFont, Subset

Color = Tuple[float, float, float]
_Op = Union[bytes, Tuple[str, float, float, float, Optional[Color], bool]]

# line-break rules: no line starts with closing punctuation, none ends with opening punctuation
_NO_START = set("，。、；：！？）》」』】〕,.;:!?)]}%”’…")
_NO_END = set("（《「『【〔([{“‘")


def fmt(v: float) -> bytes:
    """Compact PDF number."""
    s = f"{v:.3f}".rstrip("0").rstrip(".")
    return (s if s not in ("", "-0") else "0").encode()


def baseline(font: CJKFont, y: float, h: float, size: float) -> float:
    """Baseline that centres a line of ``size`` vertically in [y, y+h]."""
    return y + h / 2.0 - (font.ascent + font.descent) / 2000.0 * size


def wrap(font: CJKFont, text: str, size: float, width: float) -> List[str]:
    """Greedy line breaking: per character for CJK, per word for Latin runs, explicit \\n kept,
    simple kinsoku rules. A word longer than the line is broken by character."""
    lines: List[str] = []
    for para in text.split("\n"):
        tokens: List[str] = []
        buf = ""
        for ch in para:
            if ch.isascii() and (ch.isalnum() or ch in "-_.,/@"):
                buf += ch
            else:
                if buf:
                    tokens.append(buf)
                    buf = ""
                tokens.append(ch)
        if buf:
            tokens.append(buf)
        line = ""
        for tok in tokens:
            cand = line + tok
            if font.width(cand, size) <= width + 1e-6 or not line.strip():
                if font.width(cand, size) > width + 1e-6 and not line.strip() and len(tok) > 1:
                    for ch in tok:  # over-long word
                        if line and font.width(line + ch, size) > width + 1e-6:
                            lines.append(line)
                            line = ""
                        line += ch
                    continue
                line = cand
                continue
            if tok in _NO_START and len(line) > 1:  # pull the last char down with it
                lines.append(line[:-1])
                line = line[-1] + tok
            elif line and line[-1] in _NO_END:
                lines.append(line[:-1])
                line = line[-1] + tok
            else:
                lines.append(line.rstrip(" "))
                line = tok.lstrip(" ")
        lines.append(line)
    return lines


class Canvas:
    """Drawing operations for one page."""

    def __init__(self) -> None:
        self.ops: List[_Op] = []
        self.text_chars: set[str] = set()

    # ------------------------------------------------------------------ text
    def text(self, x: float, y: float, text: str, size: float,
             color: Optional[Color] = None, bold: bool = False) -> None:
        """``bold``: fill + thin stroke of the outlines (text render mode 2), one font only."""
        if text:
            self.ops.append((text, x, y, size, color, bold))
            self.text_chars.update(text)

    def text_in(self, font: CJKFont, rect: Sequence[float], text: str, size: float,
                align: str = "left", color: Optional[Color] = None, pad: float = 1.0) -> None:
        x, y, w, h = rect
        tw = font.width(text, size)
        if align == "center":
            tx = x + (w - tw) / 2
        elif align == "right":
            tx = x + w - tw - pad
        else:
            tx = x + pad
        self.text(tx, baseline(font, y, h, size), text, size, color)

    # ------------------------------------------------------------------ graphics
    def raw(self, data: bytes) -> None:
        self.ops.append(data)

    def rect(self, x: float, y: float, w: float, h: float, *, fill: Optional[Color] = None,
             stroke: Optional[Color] = None, width: float = 0.5, alpha_gs: bytes = b"") -> None:
        parts = [b"q"]
        if alpha_gs:
            parts.append(b"/" + alpha_gs + b" gs")
        if fill:
            parts.append(b"%s %s %s rg" % tuple(fmt(c) for c in fill))
        if stroke:
            parts.append(b"%s %s %s RG %s w" % (*(fmt(c) for c in stroke), fmt(width)))
        parts.append(b"%s %s %s %s re" % (fmt(x), fmt(y), fmt(w), fmt(h)))
        parts.append(b"B" if fill and stroke else b"f" if fill else b"S")
        parts.append(b"Q")
        self.ops.append(b" ".join(parts))

    def line(self, x0: float, y0: float, x1: float, y1: float, *, width: float = 0.5,
             color: Color = (0, 0, 0), dash: bool = False) -> None:
        self.ops.append(b"q %s %s %s RG %s w %s%s %s m %s %s l S Q" % (
            *(fmt(c) for c in color), fmt(width), b"[2 2] 0 d " if dash else b"",
            fmt(x0), fmt(y0), fmt(x1), fmt(y1)))

    def checkbox(self, x: float, y: float, size: float, checked: bool) -> None:
        """☐ / ☑ as vector paths (no glyph needed)."""
        ops = [b"q 0 0 0 RG %s w %s %s %s %s re S" % (fmt(max(0.6, size / 14)), fmt(x), fmt(y),
                                                     fmt(size), fmt(size))]
        if checked:
            s = size
            ops.append(b"%s w 1 J 1 j %s %s m %s %s l %s %s l S" % (
                fmt(max(1.0, s / 8)), fmt(x + 0.2 * s), fmt(y + 0.52 * s), fmt(x + 0.42 * s),
                fmt(y + 0.25 * s), fmt(x + 0.82 * s), fmt(y + 0.8 * s)))
        ops.append(b"Q")
        self.ops.append(b" ".join(ops))

    def image(self, name: str, x: float, y: float, w: float, h: float) -> None:
        self.ops.append(b"q %s 0 0 %s %s %s cm /%s Do Q" % (fmt(w), fmt(h), fmt(x), fmt(y),
                                                            name.encode()))

    # ------------------------------------------------------------------ output
    def render(self, font: CJKFont, sub: Subset, font_name: str) -> bytes:
        out: List[bytes] = []
        fname = font_name.encode()
        for op in self.ops:
            if isinstance(op, bytes):
                out.append(op)
                continue
            text, x, y, size, color, bold = op
            col = b"%s %s %s rg " % tuple(fmt(c) for c in color) if color else b"0 g "
            if bold:
                col += (b"%s %s %s RG " % tuple(fmt(c) for c in color) if color else b"0 G ")
                col += b"2 Tr %s w " % fmt(size * 0.035)
            run = b"BT %s/%s %s Tf 1 0 0 1 %s %s Tm <%s> Tj ET" % (
                col, fname, fmt(size), fmt(x), fmt(y), sub.encode(font, text).hex().encode())
            out.append(b"q " + run + b" Q" if bold else run)  # Tr / w must not leak
        return b"\n".join(out)
