"""Document comparison (文档对比): text-level diff of two PDFs (or two versions).

Text and per-glyph boxes come from our content-stream interpreter (``sign.pdf.text``: ToUnicode
CMaps, CID fonts, form XObjects and annotation appearances) rather than ``pdftotext``: it is
in-process and gives a box for every glyph, so changed characters can be highlighted exactly
(poppler's "words" are whole Chinese lines).

Glyphs are grouped into lines (by baseline), lines into tokens: a run of ASCII letters/digits
(``10000``, ``PDEA2026``, ``1,234.56``) is one token, every other character (CJK) is its own
token. Lines of the whole document are aligned with ``difflib`` (so text moving across a page
break is not reported twice), then tokens within each pair of changed lines.

Result: ``[{"page", "op": replace|insert|delete, "old", "new", "old_page", "new_page",
"old_line", "new_line"}]`` (``page`` is the new version's page, the old one's for a deleted
line) and a highlighted copy of the new version (translucent yellow over changed/inserted
text, a red mark where text was deleted, a summary band on page 1).
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import pikepdf

from .draw import Canvas
from .errors import CompareError
from .fonts import CJKFont, default_font
from .pdfutil import draw_canvases, open_pdf, page_box, save_pdf

Box = Tuple[float, float, float, float]
_ASCII_TOKEN = set("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.,%-_/@:")


@dataclass(frozen=True)
class Token:
    text: str
    box: Box
    space: bool = False      # a gap (word space) precedes the token


@dataclass(frozen=True)
class Line:
    page: int
    tokens: Tuple[Token, ...]

    @property
    def text(self) -> str:
        return join_tokens(self.tokens)

    @property
    def box(self) -> Box:
        bs = [t.box for t in self.tokens]
        return (min(b[0] for b in bs), min(b[1] for b in bs), max(b[2] for b in bs), max(b[3] for b in bs))


@dataclass(frozen=True)
class Change:
    op: str                 # replace | insert | delete
    old: str
    new: str
    old_page: Optional[int]
    new_page: Optional[int]
    old_line: str
    new_line: str
    boxes: Tuple[Box, ...] = ()   # on the new version's page (delete: a marker position)

    @property
    def page(self) -> int:
        return self.new_page if self.new_page is not None else (self.old_page or 1)

    def to_dict(self) -> Dict:
        return {"page": self.page, "op": self.op, "old": self.old, "new": self.new,
                "old_page": self.old_page, "new_page": self.new_page,
                "old_line": self.old_line, "new_line": self.new_line}


@dataclass(frozen=True)
class Comparison:
    changes: Tuple[Change, ...]
    highlighted_pdf: Optional[bytes] = None

    def to_json(self) -> List[Dict]:
        return [c.to_dict() for c in self.changes]


def _union(boxes: Sequence[Box]) -> Box:
    return (min(b[0] for b in boxes), min(b[1] for b in boxes),
            max(b[2] for b in boxes), max(b[3] for b in boxes))


def extract_lines(pdf: pikepdf.Pdf) -> List[Line]:
    from sign.pdf.text import page_glyphs
    lines: List[Line] = []
    for pno, page in enumerate(pdf.pages, 1):
        glyphs = [g for g in page_glyphs(page) if g.text and not g.text.isspace()
                  and g.box[3] > g.box[1]]
        glyphs.sort(key=lambda g: (-(g.box[1] + g.box[3]) / 2, g.box[0]))
        rows: List[List] = []
        for g in glyphs:
            cy = (g.box[1] + g.box[3]) / 2
            h = g.box[3] - g.box[1]
            for row in rows:
                if abs(row[0] - cy) < 0.35 * max(h, row[1]):
                    row[2].append(g)
                    break
            else:
                rows.append([cy, h, [g]])
        rows.sort(key=lambda r: -r[0])
        for _, _, gs in rows:
            gs.sort(key=lambda g: g.box[0])
            tokens: List[Token] = []
            run: List = []
            run_space = False
            prev = None
            for g in gs:
                h = g.box[3] - g.box[1]
                gap = prev is not None and g.box[0] - prev.box[2] > 0.2 * h
                prev = g
                ascii_ = len(g.text) == 1 and g.text in _ASCII_TOKEN
                if ascii_ and run and not gap:
                    run.append(g)
                    continue
                if run:
                    tokens.append(Token("".join(x.text for x in run), _union([x.box for x in run]), run_space))
                    run = []
                if ascii_:
                    run, run_space = [g], bool(gap)
                else:
                    tokens.append(Token(g.text, g.box, bool(gap)))
            if run:
                tokens.append(Token("".join(x.text for x in run), _union([x.box for x in run]), run_space))
            lines.append(Line(pno, tuple(tokens)))
    return lines


def join_tokens(tokens: Sequence[Token]) -> str:
    return "".join((" " if t.space and i else "") + t.text for i, t in enumerate(tokens))


def _diff_line(old: Line, new: Line, out: List[Change]) -> None:
    a = [t.text for t in old.tokens]
    b = [t.text for t in new.tokens]
    sm = difflib.SequenceMatcher(None, a, b, autojunk=False)
    for op, i1, i2, j1, j2 in sm.get_opcodes():
        if op == "equal":
            continue
        if j2 > j1:
            boxes: Tuple[Box, ...] = (_union([t.box for t in new.tokens[j1:j2]]),)
        else:  # deletion: mark between the neighbouring new tokens
            ref = new.tokens[j1 - 1].box if j1 > 0 else new.tokens[0].box if new.tokens else None
            boxes = ((ref[2] if j1 > 0 else ref[0]) - 1, ref[1], (ref[2] if j1 > 0 else ref[0]) + 1, ref[3]) if ref else ()
            boxes = (boxes,) if boxes else ()
        out.append(Change(op, join_tokens(old.tokens[i1:i2]), join_tokens(new.tokens[j1:j2]),
                          old.page, new.page, old.text, new.text, boxes))


def diff_lines(old: Sequence[Line], new: Sequence[Line]) -> List[Change]:
    changes: List[Change] = []
    sm = difflib.SequenceMatcher(None, [ln.text for ln in old], [ln.text for ln in new], autojunk=False)
    for op, i1, i2, j1, j2 in sm.get_opcodes():
        if op == "equal":
            continue
        olds, news = list(old[i1:i2]), list(new[j1:j2])
        # pair the most similar lines in order; the rest are whole-line inserts/deletes
        while olds and news:
            o, n = olds[0], news[0]
            ratio = difflib.SequenceMatcher(None, o.text, n.text, autojunk=False).ratio()
            if ratio >= 0.4 or (len(olds) == 1 and len(news) == 1):
                _diff_line(o, n, changes)
                olds.pop(0)
                news.pop(0)
            elif len(olds) >= len(news):
                o = olds.pop(0)
                changes.append(Change("delete", o.text, "", o.page, None, o.text, "", ()))
            else:
                n = news.pop(0)
                changes.append(Change("insert", "", n.text, None, n.page, "", n.text, (n.box,)))
        for o in olds:
            changes.append(Change("delete", o.text, "", o.page, None, o.text, "", ()))
        for n in news:
            changes.append(Change("insert", "", n.text, None, n.page, "", n.text, (n.box,)))
    return changes


def compare(old_pdf: bytes, new_pdf: bytes, *, highlight: bool = True,
            font: Optional[CJKFont] = None) -> Comparison:
    """Diff ``old_pdf`` → ``new_pdf``; with ``highlight`` also returns the marked-up new version."""
    a = open_pdf(old_pdf)
    b = open_pdf(new_pdf)
    try:
        try:
            changes = diff_lines(extract_lines(a), extract_lines(b))
        except (pikepdf.PdfError, ValueError, KeyError) as e:
            raise CompareError(f"cannot extract text: {e}", code="COMPARE_FAILED") from e
        out = None
        if highlight:
            out = _highlight(b, changes, font or default_font())
        return Comparison(tuple(changes), out)
    finally:
        a.close()
        b.close()


def _highlight(pdf: pikepdf.Pdf, changes: Sequence[Change], font: CJKFont) -> bytes:
    canvases: Dict[int, Canvas] = {}
    for c in changes:
        if c.new_page is None:
            continue
        cv = canvases.setdefault(c.new_page, Canvas())
        for (x0, y0, x1, y1) in c.boxes:
            if c.op == "delete":
                cv.rect(x0, y0 - 1, max(1.5, x1 - x0), y1 - y0 + 2, fill=(0.9, 0.1, 0.1), alpha_gs=b"CmpMark")
            else:
                cv.rect(x0 - 1, y0 - 1, x1 - x0 + 2, y1 - y0 + 2, fill=(1.0, 0.9, 0.0), alpha_gs=b"CmpHi")
    first = canvases.setdefault(1, Canvas())
    x0, y0, x1, y1 = page_box(pdf.pages[0])
    n_rep = sum(1 for c in changes if c.op == "replace")
    n_ins = sum(1 for c in changes if c.op == "insert")
    n_del = sum(1 for c in changes if c.op == "delete")
    summary = f"文档对比：共 {len(changes)} 处差异（修改 {n_rep}，新增 {n_ins}，删除 {n_del}）黄色为新版本中修改或新增的内容"
    first.rect(x0, y1 - 16, x1 - x0, 16, fill=(1.0, 0.97, 0.75), alpha_gs=b"CmpBand")
    first.text_in(font, (x0, y1 - 16, x1 - x0, 16), summary, 8, "center", (0.4, 0.3, 0.0))
    draw_canvases(pdf, font, canvases, gstates={
        "CmpHi": pikepdf.Dictionary(Type=pikepdf.Name.ExtGState, ca=0.4, BM=pikepdf.Name.Multiply),
        "CmpMark": pikepdf.Dictionary(Type=pikepdf.Name.ExtGState, ca=0.8),
        "CmpBand": pikepdf.Dictionary(Type=pikepdf.Name.ExtGState, ca=0.9)})
    return save_pdf(pdf)
